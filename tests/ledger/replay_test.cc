// Determinism and durability: identical roots on two stores, order-independent roots for
// independent transactions, nothing lost across a reopen, corruption detected on open.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "ledger/state_machine.h"
#include "tests/ledger/ledger_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace itmo::ledger::testing {
namespace {

using ::itmo::testing::StatusIs;

// A scripted history: one block per inner vector, mixing accepted and rejected transactions.
std::vector<std::vector<v1::SignedTransaction>> Script(LedgerHarness& signer) {
  auto che1 = Ref("CHE-NR", "che-1");
  auto gha1 = Ref("GHA-NR", "gha-1");
  auto swe1 = Ref("SWE-NR", "swe-1");
  std::vector<std::vector<v1::SignedTransaction>> blocks;
  blocks.push_back({signer.Sign(AuthorizeBody("CHE", "A1", 400)),
                    signer.Sign(AuthorizeBody("GHA", "G1", 100, false, {"CORSIA"},
                                              v1::FIRST_TRANSFER_USE_OR_CANCELLATION))});
  blocks.push_back({signer.Sign(IssueBody("CHE-NR", "che-1", 1, 1000, 2025, "A1")),
                    signer.Sign(IssueBody("GHA-NR", "gha-1", 1, 500, 2026, "G1"))});
  blocks.push_back(
      {signer.Sign(TransferBody(che1, gha1, {Range("CHE-NR", 100, 299)})),
       signer.Sign(TransferBody(che1, swe1, {Range("CHE-NR", 250, 260)})),  // Rejected.
       signer.Sign(TransferBody(che1, swe1, {Range("CHE-NR", 300, 499)}))});
  blocks.push_back({signer.Sign(UseNdcBody("GHA", gha1, {Range("CHE-NR", 100, 149)})),
                    signer.Sign(UseOimpBody(gha1, {Range("GHA-NR", 1, 20)})),
                    signer.Sign(QuarantineBody({Range("CHE-NR", 600, 610)}, true))});
  blocks.push_back({signer.Sign(CancelBody(swe1, {Range("CHE-NR", 300, 310)})),
                    signer.Sign(TransferBody(che1, swe1, {Range("CHE-NR", 500, 700)}))});  // Cap.
  return blocks;
}

TEST(ReplayTest, SameTransactionsGiveSameRootsAtEveryHeight) {
  LedgerHarness a;
  LedgerHarness b(/*in_memory=*/true);
  auto script = Script(a);
  EXPECT_EQ(a.ledger().state_root(), b.ledger().state_root());
  for (size_t i = 0; i < script.size(); ++i) {
    auto out_a = a.Run(script[i]);
    auto out_b = b.Run(script[i], /*signatures_verified=*/true);
    ASSERT_EQ(out_a.size(), out_b.size());
    for (size_t j = 0; j < out_a.size(); ++j) {
      EXPECT_EQ(out_a[j].SerializeAsString(), out_b[j].SerializeAsString());
    }
    EXPECT_EQ(a.ledger().state_root(), b.ledger().state_root()) << "height " << i + 1;
    EXPECT_EQ(a.ledger().height(), i + 1);
  }
  EXPECT_TRUE(a.Observe() == b.Observe());
}

TEST(ReplayTest, IndependentTransactionsInAnyOrderGiveTheSameRoot) {
  LedgerHarness a;
  LedgerHarness b;
  auto che1 = Ref("CHE-NR", "che-1");
  std::vector<v1::SignedTransaction> setup = {
      a.Sign(AuthorizeBody("CHE", "A1", 400)),
      a.Sign(IssueBody("CHE-NR", "che-1", 1, 1000, 2025, "A1"))};
  a.Run(setup);
  b.Run(setup);
  auto t1 = a.Sign(TransferBody(che1, Ref("GHA-NR", "gha-1"), {Range("CHE-NR", 1, 10)}));
  auto t2 = a.Sign(TransferBody(che1, Ref("SWE-NR", "swe-1"), {Range("CHE-NR", 20, 30)}));
  auto t3 = a.Sign(TransferBody(che1, Ref("CHE-NR", "che-2"), {Range("CHE-NR", 500, 600)}));
  auto t4 = a.Sign(QuarantineBody({Range("CHE-NR", 900, 950)}, true));
  a.Run({t1, t2});
  a.Run({t3, t4});
  b.Run({t4, t3, t2});
  b.Run({t1});
  EXPECT_EQ(a.ledger().state_root(), b.ledger().state_root());
  EXPECT_TRUE(a.Observe() == b.Observe());
  // And a dependent difference shows in the root.
  a.Run({a.Sign(CancelBody(che1, {Range("CHE-NR", 700, 700)}))});
  EXPECT_NE(a.ledger().state_root(), b.ledger().state_root());
}

TEST(ReplayTest, ReopenMidSequenceLosesNothing) {
  LedgerHarness reference(/*in_memory=*/true);
  LedgerHarness h;
  auto script = Script(h);
  for (size_t i = 0; i < script.size(); ++i) {
    reference.Run(script[i], true);
    h.Run(script[i]);
    if (i == 2) {
      Observed before = h.Observe();
      auto history = h.ledger().GetUnitHistory("CHE-NR", 120);
      ASSERT_TRUE(history.ok());
      h.Reopen();
      EXPECT_EQ(h.ledger().height(), 3u);
      EXPECT_TRUE(before == h.Observe());
      auto again = h.ledger().GetUnitHistory("CHE-NR", 120);
      ASSERT_TRUE(again.ok());
      ASSERT_EQ(again->size(), history->size());
      for (size_t j = 0; j < history->size(); ++j) {
        EXPECT_EQ((*again)[j].SerializeAsString(), (*history)[j].SerializeAsString());
      }
      auto body = v1::TransactionBody();
      ASSERT_TRUE(body.ParseFromString(script[0][0].body()));
      ASSERT_OK_AND_ASSIGN(auto outcome,
                           h.ledger().GetOutcome(body.submitter(), body.client_tx_id()));
      ASSERT_TRUE(outcome.has_value());
      EXPECT_EQ(outcome->status(), v1::TX_ACCEPTED);
      // R12 survives the reopen.
      auto dup = h.Run({script[0][0]});
      EXPECT_EQ(dup[0].code(), v1::REASON_DUPLICATE_TRANSACTION);
      reference.Run({script[0][0]}, true);
    }
  }
  EXPECT_EQ(h.ledger().state_root(), reference.ledger().state_root());
  EXPECT_TRUE(h.Observe() == reference.Observe());
}

TEST(ReplayTest, OpenDetectsCorruptionAndAnotherChain) {
  itmo::testing::TempDir dir;
  std::string path = dir.File("db");
  {
    LedgerHarness h(path);
    h.RunOne(IssueBody("CHE-NR", "che-1", 1, 100));
  }
  storage::StoreOptions options;
  options.column_families = StateMachine::ColumnFamilies();
  crypto::Ed25519Verifier verifier;
  {
    ASSERT_OK_AND_ASSIGN(auto store, storage::Store::Open(path, options));
    v1::Genesis other = MakeGenesis();
    other.set_chain_id("other-chain");
    EXPECT_THAT(StateMachine::Open(store.get(), other, &verifier),
                StatusIs(absl::StatusCode::kFailedPrecondition));
    v1::Genesis bad = MakeGenesis();
    bad.mutable_parties(0)->set_authority_key("short");
    EXPECT_THAT(StateMachine::Open(store.get(), bad, &verifier),
                StatusIs(absl::StatusCode::kInvalidArgument));
    ASSERT_OK_AND_ASSIGN(auto family, store->Family("ledger_state"));
    storage::WriteBatch batch;
    batch.Put(family, "u/CHE-NR", "tampered");
    ASSERT_OK(store->Write(batch, {.sync = true}));
    EXPECT_THAT(StateMachine::Open(store.get(), MakeGenesis(), &verifier),
                StatusIs(absl::StatusCode::kDataLoss));
  }
}

}  // namespace
}  // namespace itmo::ledger::testing
