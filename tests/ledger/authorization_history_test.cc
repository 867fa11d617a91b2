// Issue 8 defect 8: every version of an authorization is kept (who signed, when, what changed), the
// state root covers the versions, every first transfer names the version in force, and replaying
// or reopening gives the identical history.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ledger/state_machine.h"
#include "tests/ledger/ledger_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace itmo::ledger::testing {
namespace {

using ::itmo::testing::StatusIs;
using ::testing::ElementsAre;

v1::TransactionBody Change(const std::string& id, uint32_t version) {
  v1::TransactionBody b;
  b.set_submitter_kind(v1::SUBMITTER_PARTY);
  b.set_submitter("CHE");
  b.mutable_change_authorization()->set_authorization_id(id);
  b.mutable_change_authorization()->set_expected_version(version);
  return b;
}

// Authorize A1 (v1), first transfer 1..100, lower the cap (v2), first transfer 101..200, add an
// OIMP purpose (v3), revoke (v4). Returns the tx ids of the four authorization transactions.
std::vector<std::string> RunScript(LedgerHarness& h) {
  const v1::AccountRef che1 = Ref("CHE-NR", "che-1");
  const v1::AccountRef gha1 = Ref("GHA-NR", "gha-1");
  std::vector<std::string> ids;
  auto ok = [&](v1::TransactionBody body) {
    v1::TransactionOutcome out = h.RunOne(std::move(body));
    EXPECT_EQ(out.code(), v1::REASON_OK) << out.message();
    return out.tx_id();
  };
  ids.push_back(ok(AuthorizeBody("CHE", "A1", 500)));
  ok(IssueBody("CHE-NR", "che-1", 1, 300, 2025, "A1"));
  ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 100)}));
  v1::TransactionBody lower = Change("A1", 1);
  lower.mutable_change_authorization()->set_new_cap(400);
  h.time_ms += kYearMs;
  ids.push_back(ok(lower));
  ok(TransferBody(che1, gha1, {Range("CHE-NR", 101, 200)}));
  v1::TransactionBody purposes = Change("A1", 2);
  purposes.mutable_change_authorization()->set_change_purposes(true);
  purposes.mutable_change_authorization()->set_ndc(true);
  purposes.mutable_change_authorization()->add_oimp_purposes("CORSIA");
  purposes.mutable_change_authorization()->set_first_transfer_definition(
      v1::FIRST_TRANSFER_USE_OR_CANCELLATION);
  ids.push_back(ok(purposes));
  v1::TransactionBody revoke = Change("A1", 3);
  revoke.mutable_change_authorization()->set_revoke(true);
  ids.push_back(ok(revoke));
  return ids;
}

std::vector<std::string> Serialized(const std::vector<v1::AuthorizationVersion>& versions) {
  std::vector<std::string> out;
  for (const v1::AuthorizationVersion& v : versions) out.push_back(v.SerializeAsString());
  return out;
}

TEST(AuthorizationHistoryTest, KeepsEveryVersionWithWhoWhenAndWhatChanged) {
  LedgerHarness h;
  const std::vector<std::string> tx_ids = RunScript(h);
  ASSERT_OK_AND_ASSIGN(auto versions, h.ledger().GetAuthorizationVersions("A1"));
  ASSERT_EQ(versions.size(), 4u);
  for (size_t i = 0; i < versions.size(); ++i) {
    const v1::AuthorizationVersion& v = versions[i];
    EXPECT_EQ(v.authorization_id(), "A1");
    EXPECT_EQ(v.version(), i + 1);
    EXPECT_EQ(v.terms().version(), i + 1);
    EXPECT_EQ(v.terms().first_transferred(), 0u);  // Terms, not the running counter.
    EXPECT_EQ(v.tx_id(), tx_ids[i]) << "version " << i + 1;
    EXPECT_EQ(v.submitter(), "CHE");
    EXPECT_FALSE(v.client_tx_id().empty());
    ASSERT_EQ(v.signer_keys_size(), 1);
    EXPECT_EQ(v.signer_keys(0).size(), 32u);
  }
  // Version 1 at height 1, consensus time; the cap change one year later at height 4.
  EXPECT_EQ(versions[0].height(), 1u);
  EXPECT_EQ(versions[0].timestamp_ms(), kTime2030Ms);
  EXPECT_THAT(versions[0].changes(), ElementsAre(v1::AUTHORIZATION_CHANGE_CREATED));
  EXPECT_EQ(versions[0].terms().cap(), 500u);
  EXPECT_EQ(versions[0].terms().status(), v1::AUTHORIZATION_ACTIVE);
  EXPECT_EQ(versions[1].height(), 4u);
  EXPECT_EQ(versions[1].timestamp_ms(), kTime2030Ms + kYearMs);
  EXPECT_THAT(versions[1].changes(), ElementsAre(v1::AUTHORIZATION_CHANGE_CAP_LOWERED));
  EXPECT_EQ(versions[1].terms().cap(), 400u);
  EXPECT_EQ(versions[1].first_transferred_before(), 100u);
  EXPECT_THAT(versions[2].changes(), ElementsAre(v1::AUTHORIZATION_CHANGE_PURPOSES_CHANGED));
  EXPECT_THAT(versions[2].terms().oimp_purposes(), ElementsAre("CORSIA"));
  EXPECT_TRUE(versions[2].terms().ndc());
  EXPECT_EQ(versions[2].first_transferred_before(), 200u);
  EXPECT_THAT(versions[3].changes(), ElementsAre(v1::AUTHORIZATION_CHANGE_REVOKED));
  EXPECT_EQ(versions[3].terms().status(), v1::AUTHORIZATION_REVOKED);
  // The old terms are still there: version 1's cap and purposes did not change in place.
  EXPECT_TRUE(versions[0].terms().oimp_purposes().empty());
  // The current record is the last version, plus the running counter.
  ASSERT_OK_AND_ASSIGN(auto current, h.ledger().GetAuthorization("A1"));
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(current->version(), 4u);
  EXPECT_EQ(current->first_transferred(), 200u);
  EXPECT_EQ(current->cap(), versions[3].terms().cap());
}

TEST(AuthorizationHistoryTest, EachFirstTransferNamesTheVersionInForce) {
  LedgerHarness h;
  RunScript(h);
  EXPECT_EQ(h.BlockAt("CHE-NR", 50).authorization_snapshot().version(), 1u);
  EXPECT_EQ(h.BlockAt("CHE-NR", 150).authorization_snapshot().version(), 2u);
  EXPECT_EQ(h.BlockAt("CHE-NR", 150).authorization_snapshot().cap(), 400u);
  for (const auto& [serial, version] : {std::pair<uint64_t, uint32_t>{50, 1}, {150, 2}}) {
    ASSERT_OK_AND_ASSIGN(auto history, h.ledger().GetUnitHistory("CHE-NR", serial));
    int first_transfers = 0;
    for (const v1::UnitHistoryEntry& e : history) {
      if (!e.first_transfer()) {
        EXPECT_EQ(e.authorization_version(), 0u);
        continue;
      }
      ++first_transfers;
      EXPECT_EQ(e.authorization_id(), "A1");
      EXPECT_EQ(e.authorization_version(), version) << "serial " << serial;
    }
    EXPECT_EQ(first_transfers, 1) << "serial " << serial;
  }
}

TEST(AuthorizationHistoryTest, HistoryIsIdenticalAfterReplayAndReopen) {
  itmo::testing::TempDir dir;
  LedgerHarness a(dir.File("a"));
  LedgerHarness b(/*in_memory=*/true);
  RunScript(a);
  RunScript(b);
  ASSERT_OK_AND_ASSIGN(auto va, a.ledger().GetAuthorizationVersions("A1"));
  ASSERT_OK_AND_ASSIGN(auto vb, b.ledger().GetAuthorizationVersions("A1"));
  ASSERT_EQ(va.size(), 4u);
  EXPECT_EQ(Serialized(va), Serialized(vb));
  EXPECT_EQ(a.ledger().state_root(), b.ledger().state_root());
  a.Reopen();
  ASSERT_OK_AND_ASSIGN(auto reopened, a.ledger().GetAuthorizationVersions("A1"));
  EXPECT_EQ(Serialized(reopened), Serialized(va));
  EXPECT_EQ(a.ledger().state_root(), b.ledger().state_root());
}

// The versions are state: a changed or deleted version record no longer matches the root.
TEST(AuthorizationHistoryTest, StateRootCoversTheVersions) {
  itmo::testing::TempDir dir;
  const std::string path = dir.File("db");
  std::string key;
  std::string original;
  {
    LedgerHarness h(path);
    RunScript(h);
    ASSERT_OK_AND_ASSIGN(auto family, h.store().Family("ledger_state"));
    key = "y/A1";
    key.push_back('\0');
    key.append(std::string("\0\0\0\1", 4));
    ASSERT_OK_AND_ASSIGN(auto stored, h.store().Get(family, key));
    ASSERT_TRUE(stored.has_value()) << "version 1 is stored in the state table";
    original = *stored;
  }
  storage::StoreOptions options;
  options.column_families = StateMachine::ColumnFamilies();
  crypto::Ed25519Verifier verifier;
  ASSERT_OK_AND_ASSIGN(auto store, storage::Store::Open(path, options));
  ASSERT_OK_AND_ASSIGN(auto family, store->Family("ledger_state"));
  v1::AuthorizationVersion forged;
  ASSERT_TRUE(forged.ParseFromString(original));
  forged.mutable_terms()->set_cap(5000);  // Rewrite the terms of version 1.
  storage::WriteBatch tamper;
  tamper.Put(family, key, forged.SerializeAsString());
  ASSERT_OK(store->Write(tamper, {.sync = true}));
  EXPECT_THAT(StateMachine::Open(store.get(), MakeGenesis(), &verifier),
              StatusIs(absl::StatusCode::kDataLoss));
  storage::WriteBatch drop;
  drop.Delete(family, key);
  ASSERT_OK(store->Write(drop, {.sync = true}));
  EXPECT_THAT(StateMachine::Open(store.get(), MakeGenesis(), &verifier),
              StatusIs(absl::StatusCode::kDataLoss));
  storage::WriteBatch restore;
  restore.Put(family, key, original);
  ASSERT_OK(store->Write(restore, {.sync = true}));
  EXPECT_OK(StateMachine::Open(store.get(), MakeGenesis(), &verifier).status());
}

}  // namespace
}  // namespace itmo::ledger::testing
