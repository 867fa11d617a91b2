// Happy paths of every action, with the exact resulting blocks, and the envelope/query contract.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ledger/state_machine.h"
#include "tests/ledger/ledger_fixture.h"
#include "tests/testing/status_matchers.h"

namespace itmo::ledger::testing {
namespace {

using ::itmo::testing::StatusIs;

void ExpectBlock(const v1::UnitBlock& b, uint64_t first, uint64_t last, v1::UnitState state,
                 const v1::AccountRef& holder) {
  EXPECT_EQ(b.first(), first);
  EXPECT_EQ(b.last(), last);
  EXPECT_EQ(b.state(), state) << v1::UnitState_Name(b.state());
  EXPECT_EQ(b.holder().registry_id(), holder.registry_id());
  EXPECT_EQ(b.holder().account_id(), holder.account_id());
}

TEST(ActionsTest, GenesisStateIsHeightZeroWithAccounts) {
  LedgerHarness h;
  EXPECT_EQ(h.ledger().height(), 0u);
  ASSERT_OK_AND_ASSIGN(auto account, h.ledger().GetAccount(Ref("CHE-NR", "che-1")));
  ASSERT_TRUE(account.has_value());
  EXPECT_EQ(account->holder_party(), "CHE");
  EXPECT_THAT(h.ledger().GetHoldings(Ref("CHE-NR", "nope")), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(auto key, h.ledger().SubmitterKey(v1::SUBMITTER_REGISTRY, "CHE-NR"));
  EXPECT_EQ(key, KeyFor("registry:CHE-NR").public_key());
}

TEST(ActionsTest, IssueCreatesOneIssuedBlock) {
  LedgerHarness h;
  auto out = h.RunOne(IssueBody("CHE-NR", "che-1", 1, 3000));
  ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  EXPECT_EQ(out.status(), v1::TX_ACCEPTED);
  auto blocks = h.Blocks(Ref("CHE-NR", "che-1"));
  ASSERT_EQ(blocks.size(), 1u);
  ExpectBlock(blocks[0], 1, 3000, v1::UNIT_STATE_ISSUED, Ref("CHE-NR", "che-1"));
  EXPECT_EQ(blocks[0].first_transferring_party(), "CHE");
  EXPECT_EQ(blocks[0].vintage(), 2025u);
  EXPECT_EQ(blocks[0].issued_height(), 1u);
  ASSERT_OK_AND_ASSIGN(auto holdings, h.ledger().GetHoldings(Ref("CHE-NR", "che-1")));
  EXPECT_EQ(holdings.held_units(), "3000");
  ASSERT_EQ(holdings.totals_size(), 1);
  EXPECT_EQ(holdings.totals(0).units(), "3000");
  EXPECT_EQ(holdings.totals(0).state(), v1::UNIT_STATE_ISSUED);
}

TEST(ActionsTest, AuthorizeAttachesAndFirstTransferAddsAdjustment) {
  LedgerHarness h;
  ASSERT_EQ(h.RunOne(IssueBody("CHE-NR", "che-1", 1, 1000)).code(), v1::REASON_OK);
  auto auth = AuthorizeBody("CHE", "A1", 500);
  *auth.mutable_authorize()->add_attach() = Range("CHE-NR", 1, 400);
  auto out = h.RunOne(auth);
  ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  auto blocks = h.Blocks(Ref("CHE-NR", "che-1"));
  ASSERT_EQ(blocks.size(), 2u);
  ExpectBlock(blocks[0], 1, 400, v1::UNIT_STATE_AUTHORIZED, Ref("CHE-NR", "che-1"));
  ExpectBlock(blocks[1], 401, 1000, v1::UNIT_STATE_ISSUED, Ref("CHE-NR", "che-1"));
  EXPECT_EQ(blocks[0].authorization_id(), "A1");
  // International transfer to GHA: the first transfer.
  out = h.RunOne(
      TransferBody(Ref("CHE-NR", "che-1"), Ref("GHA-NR", "gha-1"), {Range("CHE-NR", 1, 300)}));
  ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  EXPECT_TRUE(out.first_transfer());
  auto gha = h.Blocks(Ref("GHA-NR", "gha-1"));
  ASSERT_EQ(gha.size(), 1u);
  ExpectBlock(gha[0], 1, 300, v1::UNIT_STATE_ACTIVE, Ref("GHA-NR", "gha-1"));
  EXPECT_TRUE(gha[0].first_transferred());
  EXPECT_EQ(gha[0].first_transfer_year(), 2030u);
  EXPECT_EQ(gha[0].authorization_snapshot().id(), "A1");
  EXPECT_TRUE(gha[0].authorization_snapshot().ndc());
  ASSERT_OK_AND_ASSIGN(auto a, h.ledger().GetAuthorization("A1"));
  EXPECT_EQ(a->first_transferred(), 300u);
  ASSERT_OK_AND_ASSIGN(auto adj, h.ledger().GetAdjustments("CHE", 2021, 2035));
  ASSERT_EQ(adj.size(), 1u);
  EXPECT_EQ(adj[0].year(), 2030u);
  EXPECT_EQ(AddedUnits(adj[0]), 300u);
  EXPECT_EQ(adj[0].added_tco2e(), "300.000");
  EXPECT_EQ(adj[0].net_tco2e(), "300.000");
}

TEST(ActionsTest, UseNdcSubtractsFromUsingParty) {
  LedgerHarness h;
  ASSERT_EQ(h.RunOne(AuthorizeBody("CHE", "A1", 500)).code(), v1::REASON_OK);
  ASSERT_EQ(h.RunOne(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1")).code(), v1::REASON_OK);
  ASSERT_EQ(h.RunOne(TransferBody(Ref("CHE-NR", "che-1"), Ref("GHA-NR", "gha-1"),
                                  {Range("CHE-NR", 1, 100)}))
                .code(),
            v1::REASON_OK);
  auto out = h.RunOne(UseNdcBody("GHA", Ref("GHA-NR", "gha-1"), {Range("CHE-NR", 11, 20)}));
  ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  auto blocks = h.Blocks(Ref("GHA-NR", "gha-1"));
  ASSERT_EQ(blocks.size(), 3u);
  ExpectBlock(blocks[1], 11, 20, v1::UNIT_STATE_USED_NDC, Ref("GHA-NR", "gha-1"));
  EXPECT_EQ(blocks[1].retirement().using_party(), "GHA");
  EXPECT_EQ(blocks[1].retirement().year(), 2030u);
  ASSERT_OK_AND_ASSIGN(auto adj, h.ledger().GetAdjustments("GHA", 2030, 2030));
  ASSERT_EQ(adj.size(), 1u);
  EXPECT_EQ(SubtractedUnits(adj[0]), 10u);
  EXPECT_EQ(adj[0].net_tco2e(), "-10.000");
}

TEST(ActionsTest, UseOimpAndCancel) {
  LedgerHarness h;
  ASSERT_EQ(h.RunOne(AuthorizeBody("CHE", "A1", 500, true, {"CORSIA"},
                                   v1::FIRST_TRANSFER_USE_OR_CANCELLATION))
                .code(),
            v1::REASON_OK);
  ASSERT_EQ(h.RunOne(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1")).code(), v1::REASON_OK);
  // OIMP use of AUTHORIZED units under USE_OR_CANCELLATION: first transfer and use at once.
  // It books CHE's addition, so CHE's authority co-signs with the holding registry.
  auto out =
      h.RunOne(UseOimpBody(Ref("CHE-NR", "che-1"), {Range("CHE-NR", 1, 10)}), {"CHE-NR", "CHE"});
  ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  EXPECT_TRUE(out.first_transfer());
  v1::UnitBlock used = h.BlockAt("CHE-NR", 5);
  ExpectBlock(used, 1, 10, v1::UNIT_STATE_USED_OIMP, Ref("CHE-NR", "che-1"));
  EXPECT_TRUE(used.first_transferred());
  EXPECT_EQ(used.retirement().oimp_purpose(), "CORSIA");
  out =
      h.RunOne(CancelBody(Ref("CHE-NR", "che-1"), {Range("CHE-NR", 11, 20)}, v1::CANCELLATION_OMGE),
               {"CHE-NR", "CHE"});
  ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  v1::UnitBlock cancelled = h.BlockAt("CHE-NR", 15);
  ExpectBlock(cancelled, 11, 20, v1::UNIT_STATE_CANCELLED, Ref("CHE-NR", "che-1"));
  EXPECT_EQ(cancelled.retirement().cancellation_reason(), v1::CANCELLATION_OMGE);
  ASSERT_OK_AND_ASSIGN(auto a, h.ledger().GetAuthorization("A1"));
  EXPECT_EQ(a->first_transferred(), 20u);
}

TEST(ActionsTest, ChangeAuthorizationRevokesUnitsNotFirstTransferred) {
  LedgerHarness h;
  ASSERT_EQ(h.RunOne(AuthorizeBody("CHE", "A1", 500)).code(), v1::REASON_OK);
  ASSERT_EQ(h.RunOne(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1")).code(), v1::REASON_OK);
  ASSERT_EQ(h.RunOne(TransferBody(Ref("CHE-NR", "che-1"), Ref("GHA-NR", "gha-1"),
                                  {Range("CHE-NR", 1, 40)}))
                .code(),
            v1::REASON_OK);
  v1::TransactionBody change;
  change.set_submitter_kind(v1::SUBMITTER_PARTY);
  change.set_submitter("CHE");
  change.mutable_change_authorization()->set_authorization_id("A1");
  change.mutable_change_authorization()->set_expected_version(1);
  change.mutable_change_authorization()->set_revoke(true);
  auto out = h.RunOne(change);
  ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  ExpectBlock(h.BlockAt("CHE-NR", 50), 41, 100, v1::UNIT_STATE_REVOKED, Ref("CHE-NR", "che-1"));
  ExpectBlock(h.BlockAt("CHE-NR", 1), 1, 40, v1::UNIT_STATE_ACTIVE, Ref("GHA-NR", "gha-1"));
  ASSERT_OK_AND_ASSIGN(auto a, h.ledger().GetAuthorization("A1"));
  EXPECT_EQ(a->status(), v1::AUTHORIZATION_REVOKED);
  EXPECT_EQ(a->version(), 2u);
}

TEST(ActionsTest, ChangeAuthorizationLowersCap) {
  LedgerHarness h;
  ASSERT_EQ(h.RunOne(AuthorizeBody("CHE", "A1", 500)).code(), v1::REASON_OK);
  v1::TransactionBody change;
  change.set_submitter_kind(v1::SUBMITTER_PARTY);
  change.set_submitter("CHE");
  change.mutable_change_authorization()->set_authorization_id("A1");
  change.mutable_change_authorization()->set_expected_version(1);
  change.mutable_change_authorization()->set_new_cap(200);
  ASSERT_EQ(h.RunOne(change).code(), v1::REASON_OK);
  ASSERT_OK_AND_ASSIGN(auto a, h.ledger().GetAuthorization("A1"));
  EXPECT_EQ(a->cap(), 200u);
  EXPECT_EQ(a->version(), 2u);
}

TEST(ActionsTest, RegisterApproachAndOpenAccount) {
  LedgerHarness h;
  v1::TransactionBody body;
  v1::CooperativeApproach* c = body.mutable_register_approach()->mutable_approach();
  c->set_id("CA0100");
  c->add_parties("GHA");
  c->add_parties("SWE");
  auto out = h.RunOne(body, {"GHA", "SWE"});
  ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  v1::TransactionBody open;
  v1::Account* a = open.mutable_open_account()->mutable_account();
  *a->mutable_ref() = Ref("SWE-NR", "swe-9");
  a->set_holder_party("SWE");
  out = h.RunOne(open);
  ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  ASSERT_OK_AND_ASSIGN(auto account, h.ledger().GetAccount(Ref("SWE-NR", "swe-9")));
  ASSERT_TRUE(account.has_value());
  // The new approach is usable for issuance by SWE.
  out = h.RunOne(IssueBody("SWE-NR", "swe-9", 1, 10, 2025, "", "CA0100"));
  EXPECT_EQ(out.code(), v1::REASON_OK) << out.message();
}

TEST(ActionsTest, SetQuarantineAndClear) {
  LedgerHarness h;
  ASSERT_EQ(h.RunOne(IssueBody("CHE-NR", "che-1", 1, 100)).code(), v1::REASON_OK);
  ASSERT_EQ(h.RunOne(QuarantineBody({Range("CHE-NR", 10, 19)}, true)).code(), v1::REASON_OK);
  v1::UnitBlock q = h.BlockAt("CHE-NR", 10);
  EXPECT_TRUE(q.quarantined());
  EXPECT_EQ(q.first(), 10u);
  EXPECT_EQ(q.last(), 19u);
  ASSERT_EQ(h.RunOne(QuarantineBody({Range("CHE-NR", 10, 19)}, false)).code(), v1::REASON_OK);
  EXPECT_FALSE(h.BlockAt("CHE-NR", 10).quarantined());
}

TEST(ActionsTest, HistoryOfASerialListsEveryAction) {
  LedgerHarness h;
  ASSERT_EQ(h.RunOne(AuthorizeBody("CHE", "A1", 500)).code(), v1::REASON_OK);
  ASSERT_EQ(h.RunOne(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1")).code(), v1::REASON_OK);
  ASSERT_EQ(h.RunOne(TransferBody(Ref("CHE-NR", "che-1"), Ref("GHA-NR", "gha-1"),
                                  {Range("CHE-NR", 1, 50)}))
                .code(),
            v1::REASON_OK);
  ASSERT_EQ(h.RunOne(UseNdcBody("GHA", Ref("GHA-NR", "gha-1"), {Range("CHE-NR", 5, 5)})).code(),
            v1::REASON_OK);
  ASSERT_OK_AND_ASSIGN(auto history, h.ledger().GetUnitHistory("CHE-NR", 5));
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].action(), "issue");
  EXPECT_EQ(history[1].action(), "transfer");
  EXPECT_TRUE(history[1].first_transfer());
  EXPECT_EQ(history[1].from().registry_id(), "CHE-NR");
  EXPECT_EQ(history[1].to().registry_id(), "GHA-NR");
  EXPECT_EQ(history[2].action(), "use");
  EXPECT_EQ(history[2].range().first(), 5u);
  ASSERT_OK_AND_ASSIGN(auto other, h.ledger().GetUnitHistory("CHE-NR", 70));
  EXPECT_EQ(other.size(), 1u);  // Issued only.
  EXPECT_THAT(h.ledger().GetUnitHistory("CHE-NR", 7000), StatusIs(absl::StatusCode::kNotFound));
}

TEST(ActionsTest, VerifyTransactionChecksSignaturesAndChain) {
  LedgerHarness h;
  crypto::Ed25519Verifier verifier;
  v1::SignedTransaction tx = h.Sign(IssueBody("CHE-NR", "che-1", 1, 10));
  ASSERT_OK_AND_ASSIGN(v1::TransactionBody body, VerifyTransaction(tx, kChainId, verifier));
  EXPECT_EQ(body.submitter(), "CHE-NR");
  EXPECT_THAT(VerifyTransaction(tx, "other-chain", verifier),
              StatusIs(absl::StatusCode::kInvalidArgument));
  tx.mutable_signatures(0)->mutable_signature()->at(0) ^= 1;
  EXPECT_THAT(VerifyTransaction(tx, kChainId, verifier),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(TransactionId(tx), crypto::Blake2b256(tx.body()));
}

TEST(ActionsTest, ExecuteBlockRequiresNextHeightAndAbortRestores) {
  LedgerHarness h;
  storage::WriteBatch batch;
  EXPECT_THAT(h.ledger().ExecuteBlock({5, kTime2030Ms}, {}, false, &batch),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  crypto::Digest root = h.ledger().state_root();
  auto outcomes = h.ledger().ExecuteBlock(
      {1, kTime2030Ms}, {h.Sign(IssueBody("CHE-NR", "che-1", 1, 10))}, false, &batch);
  ASSERT_TRUE(outcomes.ok());
  EXPECT_EQ((*outcomes)[0].code(), v1::REASON_OK);
  EXPECT_TRUE(h.ledger().block_pending());
  EXPECT_THAT(h.ledger().GetHoldings(Ref("CHE-NR", "che-1")),
              StatusIs(absl::StatusCode::kUnavailable));
  h.ledger().AbortBlock();
  EXPECT_EQ(h.ledger().height(), 0u);
  EXPECT_EQ(h.ledger().state_root(), root);
  EXPECT_TRUE(h.Blocks(Ref("CHE-NR", "che-1")).empty());
  // The same transaction executes again after the abort.
  auto out = h.RunOne(IssueBody("CHE-NR", "che-1", 1, 10));
  EXPECT_EQ(out.code(), v1::REASON_OK);
  EXPECT_NE(h.ledger().state_root(), root);
}

TEST(ActionsTest, YearOfTimestamp) {
  EXPECT_EQ(YearOfTimestamp(0), 1970u);
  EXPECT_EQ(YearOfTimestamp(kTime2030Ms), 2030u);
  EXPECT_EQ(YearOfTimestamp(1704067199999), 2023u);  // 2023-12-31T23:59:59.999Z
  EXPECT_EQ(YearOfTimestamp(1704067200000), 2024u);
  EXPECT_EQ(YearOfTimestamp(-1), 1969u);
}

}  // namespace
}  // namespace itmo::ledger::testing
