// One test per DOMAIN.md rule R1-R14, each failing if the rule were removed.
#include <gtest/gtest.h>

#include <algorithm>

#include "ledger/state_machine.h"
#include "tests/ledger/ledger_fixture.h"
#include "tests/testing/status_matchers.h"

namespace itmo::ledger::testing {
namespace {

class RulesTest : public ::testing::Test {
 protected:
  void Ok(v1::TransactionBody body, std::vector<std::string> signers = {}) {
    auto out = h.RunOne(std::move(body), std::move(signers));
    ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  }
  v1::ReasonCode Code(v1::TransactionBody body) { return h.RunOne(std::move(body)).code(); }
  // CHE authorizes A1 (NDC, cap 1000) and issues [1, 500] under it into che-1.
  void Standard() {
    Ok(AuthorizeBody("CHE", "A1", 1000));
    Ok(IssueBody("CHE-NR", "che-1", 1, 500, 2025, "A1"));
  }
  LedgerHarness h;
  v1::AccountRef che1 = Ref("CHE-NR", "che-1");
  v1::AccountRef che2 = Ref("CHE-NR", "che-2");
  v1::AccountRef gha1 = Ref("GHA-NR", "gha-1");
  v1::AccountRef swe1 = Ref("SWE-NR", "swe-1");
};

TEST_F(RulesTest, R1UniqueSerials) {
  Ok(IssueBody("CHE-NR", "che-1", 1, 100));
  Ok(CancelBody(che1, {Range("CHE-NR", 1, 100)}));
  EXPECT_EQ(Code(IssueBody("CHE-NR", "che-1", 50, 60)),
            v1::REASON_SERIAL_OVERLAP);  // Even cancelled.
  EXPECT_EQ(Code(IssueBody("CHE-NR", "che-1", 100, 100)), v1::REASON_SERIAL_OVERLAP);
  EXPECT_EQ(Code(IssueBody("CHE-NR", "che-1", 101, 200)), v1::REASON_OK);
  EXPECT_EQ(Code(IssueBody("GHA-NR", "gha-1", 1, 100)),
            v1::REASON_OK);  // Per originating registry.
}

TEST_F(RulesTest, R2Conservation) {
  Standard();
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 100, 199), Range("CHE-NR", 300, 300)}));
  Ok(TransferBody(gha1, Ref("GHA-NR", "gha-2"), {Range("CHE-NR", 150, 160)}));
  Ok(UseNdcBody("GHA", Ref("GHA-NR", "gha-2"), {Range("CHE-NR", 155, 155)}));
  uint64_t total = 0;
  std::vector<uint64_t> covered;
  for (const auto& account : {che1, gha1, Ref("GHA-NR", "gha-2")}) {
    for (const auto& b : h.Blocks(account)) {
      total += b.last() - b.first() + 1;
      EXPECT_EQ(b.vintage(), 2025u);
      EXPECT_EQ(b.underlying_block_ids(0), "VCS-1-100");
      covered.push_back(b.first());
      covered.push_back(b.last());
    }
  }
  EXPECT_EQ(total, 500u);
  std::sort(covered.begin(), covered.end());
  EXPECT_EQ(covered.front(), 1u);
  EXPECT_EQ(covered.back(), 500u);
  for (size_t i = 1; i + 1 < covered.size(); i += 2) EXPECT_EQ(covered[i] + 1, covered[i + 1]);
}

TEST_F(RulesTest, R3OneHolder) {
  Standard();
  Ok(TransferBody(che1, che2, {Range("CHE-NR", 100, 199)}));
  Observed before = h.Observe();
  EXPECT_EQ(Code(TransferBody(che1, gha1, {Range("CHE-NR", 50, 150)})), v1::REASON_UNITS_NOT_HELD);
  EXPECT_TRUE(before == h.Observe());
  EXPECT_EQ(h.BlockAt("CHE-NR", 50).holder().account_id(), "che-1");
}

TEST_F(RulesTest, R4Terminal) {
  Standard();
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 100)}));
  Ok(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 10)}));
  Ok(CancelBody(che1, {Range("CHE-NR", 101, 110)}));
  EXPECT_EQ(Code(TransferBody(gha1, Ref("GHA-NR", "gha-2"), {Range("CHE-NR", 1, 1)})),
            v1::REASON_UNITS_TERMINAL);
  EXPECT_EQ(Code(CancelBody(gha1, {Range("CHE-NR", 5, 5)})), v1::REASON_UNITS_TERMINAL);
  EXPECT_EQ(Code(UseOimpBody(gha1, {Range("CHE-NR", 5, 5)})), v1::REASON_UNITS_TERMINAL);
  EXPECT_EQ(Code(QuarantineBody({Range("CHE-NR", 5, 5)}, true)), v1::REASON_UNITS_TERMINAL);
  EXPECT_EQ(Code(TransferBody(che1, che2, {Range("CHE-NR", 101, 101)})), v1::REASON_UNITS_TERMINAL);
  EXPECT_EQ(h.BlockAt("CHE-NR", 5).state(), v1::UNIT_STATE_USED_NDC);
}

TEST_F(RulesTest, R5AuthorizationFirst) {
  Ok(IssueBody("CHE-NR", "che-1", 1, 100));
  EXPECT_EQ(Code(TransferBody(che1, gha1, {Range("CHE-NR", 1, 10)})), v1::REASON_NO_AUTHORIZATION);
  auto auth = AuthorizeBody("CHE", "A1", 1000);
  auth.mutable_authorize()->mutable_authorization()->add_sectors("energy");
  *auth.mutable_authorize()->add_attach() = Range("CHE-NR", 1, 100);
  Ok(auth);
  v1::TransactionBody revoke;
  revoke.set_submitter_kind(v1::SUBMITTER_PARTY);
  revoke.set_submitter("CHE");
  revoke.mutable_change_authorization()->set_authorization_id("A1");
  revoke.mutable_change_authorization()->set_expected_version(1);
  revoke.mutable_change_authorization()->set_revoke(true);
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 10)}));
  Ok(revoke);
  EXPECT_EQ(h.BlockAt("CHE-NR", 50).state(), v1::UNIT_STATE_REVOKED);
  EXPECT_EQ(Code(TransferBody(che1, gha1, {Range("CHE-NR", 11, 20)})), v1::REASON_UNITS_TERMINAL);
  EXPECT_EQ(h.BlockAt("CHE-NR", 5).state(), v1::UNIT_STATE_ACTIVE);  // Already first transferred.
}

TEST_F(RulesTest, R6OneFirstTransfer) {
  Standard();
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 100)}));
  Ok(TransferBody(gha1, che2, {Range("CHE-NR", 1, 100)}));                   // Back to CHE.
  auto out = h.RunOne(TransferBody(che2, swe1, {Range("CHE-NR", 1, 100)}));  // Out again.
  ASSERT_EQ(out.code(), v1::REASON_OK);
  EXPECT_FALSE(out.first_transfer());
  ASSERT_OK_AND_ASSIGN(auto adj, h.ledger().GetAdjustments("CHE", 2021, 2035));
  ASSERT_EQ(adj.size(), 1u);
  EXPECT_EQ(AddedUnits(adj[0]), 100u);
  ASSERT_OK_AND_ASSIGN(auto a, h.ledger().GetAuthorization("A1"));
  EXPECT_EQ(a->first_transferred(), 100u);
  // A domestic move of authorized units is no first transfer either.
  out = h.RunOne(TransferBody(che1, Ref("UN-IR", "che-ir"), {Range("CHE-NR", 101, 110)}));
  ASSERT_EQ(out.code(), v1::REASON_OK);
  EXPECT_FALSE(out.first_transfer());
  EXPECT_EQ(h.BlockAt("CHE-NR", 105).state(), v1::UNIT_STATE_AUTHORIZED);
}

TEST_F(RulesTest, R7Purpose) {
  Standard();
  Ok(AuthorizeBody("CHE", "O1", 1000, false, {"CORSIA"}, v1::FIRST_TRANSFER_ISSUANCE));
  Ok(IssueBody("CHE-NR", "che-1", 1001, 1100, 2025, "O1"));
  EXPECT_EQ(h.BlockAt("CHE-NR", 1001).state(),
            v1::UNIT_STATE_ACTIVE);  // First transfer at issuance.
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 100), Range("CHE-NR", 1001, 1100)}));
  EXPECT_EQ(Code(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1001, 1010)})),
            v1::REASON_PURPOSE_NOT_AUTHORIZED);
  EXPECT_EQ(Code(UseOimpBody(gha1, {Range("CHE-NR", 1, 10)})), v1::REASON_PURPOSE_NOT_AUTHORIZED);
  EXPECT_EQ(Code(UseOimpBody(gha1, {Range("CHE-NR", 1001, 1010)}, "OTHER")),
            v1::REASON_PURPOSE_NOT_AUTHORIZED);
  Ok(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 10)}));
  EXPECT_EQ(Code(UseOimpBody(gha1, {Range("CHE-NR", 1, 10)})), v1::REASON_UNITS_TERMINAL);
  Ok(UseOimpBody(gha1, {Range("CHE-NR", 1001, 1010)}));
  EXPECT_EQ(Code(UseNdcBody("SWE", gha1, {Range("CHE-NR", 11, 20)})),
            v1::REASON_ACCOUNT_NOT_OF_PARTY);
}

TEST_F(RulesTest, R8Cap) {
  Ok(AuthorizeBody("CHE", "A1", 50));
  Ok(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1"));
  auto outs = h.Run({h.Sign(TransferBody(che1, gha1, {Range("CHE-NR", 1, 30)})),
                     h.Sign(TransferBody(che1, swe1, {Range("CHE-NR", 31, 60)})),
                     h.Sign(TransferBody(che1, swe1, {Range("CHE-NR", 31, 50)}))});
  EXPECT_EQ(outs[0].code(), v1::REASON_OK);
  EXPECT_EQ(outs[1].code(), v1::REASON_CAP_EXCEEDED);
  EXPECT_EQ(outs[2].code(), v1::REASON_OK);
  ASSERT_OK_AND_ASSIGN(auto a, h.ledger().GetAuthorization("A1"));
  EXPECT_EQ(a->first_transferred(), 50u);
  EXPECT_EQ(Code(TransferBody(che1, gha1, {Range("CHE-NR", 51, 51)})), v1::REASON_CAP_EXCEEDED);
  Ok(AuthorizeBody("CHE", "O1", 10, false, {"CORSIA"}, v1::FIRST_TRANSFER_ISSUANCE));
  EXPECT_EQ(Code(IssueBody("CHE-NR", "che-1", 1001, 1011, 2025, "O1")), v1::REASON_CAP_EXCEEDED);
}

TEST_F(RulesTest, R9VintageAndPeriod) {
  EXPECT_EQ(Code(IssueBody("CHE-NR", "che-1", 1, 10, 2020)), v1::REASON_INVALID_VINTAGE);
  auto auth = AuthorizeBody("CHE", "A2", 1000, true, {}, v1::FIRST_TRANSFER_DEFINITION_UNSPECIFIED,
                            "CA0002");
  Ok(auth);
  Ok(AuthorizeBody("CHE", "A1", 1000));
  Ok(IssueBody("CHE-NR", "che-1", 1, 10, 2025, "A1"));
  Ok(IssueBody("CHE-NR", "che-1", 11, 20, 2025, "A2", "CA0002"));
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 20)}));
  h.time_ms = kTime2030Ms + 2 * kYearMs;  // 2032: the year of use lies in 2031-2035.
  EXPECT_EQ(Code(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 5)}, 2031, 2035)),
            v1::REASON_VINTAGE_OUTSIDE_NDC_PERIOD);
  Ok(UseNdcBody("GHA", gha1, {Range("CHE-NR", 11, 15)}, 2031, 2035));  // CA0002 flags instead.
  EXPECT_TRUE(h.BlockAt("CHE-NR", 11).retirement().vintage_outside_period());
  h.time_ms = kTime2030Ms;
  Ok(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 5)}, 2021, 2030));
  EXPECT_FALSE(h.BlockAt("CHE-NR", 1).retirement().vintage_outside_period());
}

TEST_F(RulesTest, R10Quarantine) {
  Standard();
  Ok(QuarantineBody({Range("CHE-NR", 1, 100)}, true));
  EXPECT_EQ(Code(TransferBody(che1, gha1, {Range("CHE-NR", 1, 1)})), v1::REASON_UNITS_QUARANTINED);
  EXPECT_EQ(Code(CancelBody(che1, {Range("CHE-NR", 50, 150)})), v1::REASON_UNITS_QUARANTINED);
  EXPECT_EQ(Code(QuarantineBody({Range("CHE-NR", 1, 1)}, true)), v1::REASON_UNITS_QUARANTINED);
  Ok(QuarantineBody({Range("CHE-NR", 1, 100)}, false));
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 1)}));
}

TEST_F(RulesTest, R11OneRecordPerTransfer) {
  Standard();
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 100)}));
  ASSERT_OK_AND_ASSIGN(auto history, h.ledger().GetUnitHistory("CHE-NR", 42));
  int transfers = 0;
  for (const auto& e : history) {
    if (e.action() != "transfer") continue;
    ++transfers;
    EXPECT_EQ(e.from().registry_id(), "CHE-NR");  // The sender's "transfer"...
    EXPECT_EQ(e.to().registry_id(), "GHA-NR");    // ...is the acquirer's "acquisition".
    EXPECT_EQ(e.range().first(), 1u);
    EXPECT_EQ(e.range().last(), 100u);
  }
  EXPECT_EQ(transfers, 1);
}

TEST_F(RulesTest, R12Idempotency) {
  Standard();
  auto body = TransferBody(che1, gha1, {Range("CHE-NR", 1, 10)});
  body.set_client_tx_id("once");
  v1::SignedTransaction bad = h.Sign(body);
  bad.mutable_signatures(0)->mutable_signature()->at(0) ^= 1;
  EXPECT_EQ(h.RunSigned(bad).code(), v1::REASON_BAD_SIGNATURE);  // Does not burn the id.
  ASSERT_OK_AND_ASSIGN(auto none, h.ledger().GetOutcome("CHE-NR", "once"));
  EXPECT_FALSE(none.has_value());
  auto first = h.RunOne(body);
  ASSERT_EQ(first.code(), v1::REASON_OK);
  body.mutable_transfer()->mutable_ranges(0)->set_first(11);
  body.mutable_transfer()->mutable_ranges(0)->set_last(20);
  auto second = h.RunOne(body);
  EXPECT_EQ(second.code(), v1::REASON_DUPLICATE_TRANSACTION);
  ASSERT_OK_AND_ASSIGN(auto stored, h.ledger().GetOutcome("CHE-NR", "once"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->tx_id(), first.tx_id());
  EXPECT_EQ(stored->status(), v1::TX_ACCEPTED);
  EXPECT_TRUE(h.ledger().IsClientTxIdUsed("CHE-NR", "once"));
  EXPECT_EQ(h.BlockAt("CHE-NR", 15).holder().account_id(), "che-1");
  // A rejected transaction burns its id too; duplicates within one block are caught.
  auto rejected = TransferBody(che1, gha1, {Range("CHE-NR", 900, 901)});
  rejected.set_client_tx_id("burnt");
  auto ok_body = TransferBody(che1, gha1, {Range("CHE-NR", 30, 31)});
  ok_body.set_client_tx_id("burnt");
  auto outs = h.Run({h.Sign(rejected), h.Sign(ok_body)});
  EXPECT_EQ(outs[0].code(), v1::REASON_UNITS_NOT_FOUND);
  EXPECT_EQ(outs[1].code(), v1::REASON_DUPLICATE_TRANSACTION);
  ASSERT_OK_AND_ASSIGN(auto burnt, h.ledger().GetOutcome("CHE-NR", "burnt"));
  EXPECT_EQ(burnt->code(), v1::REASON_UNITS_NOT_FOUND);
}

TEST_F(RulesTest, R13Order) {
  LedgerHarness other;
  for (LedgerHarness* l : {&h, &other}) {
    ASSERT_EQ(l->RunOne(AuthorizeBody("CHE", "A1", 1000)).code(), v1::REASON_OK);
    ASSERT_EQ(l->RunOne(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1")).code(), v1::REASON_OK);
  }
  auto to_gha = h.Sign(TransferBody(che1, gha1, {Range("CHE-NR", 1, 50)}));
  auto to_swe = h.Sign(TransferBody(che1, swe1, {Range("CHE-NR", 40, 60)}));
  auto a = h.Run({to_gha, to_swe});
  auto b = other.Run({to_swe, to_gha});
  EXPECT_EQ(a[0].code(), v1::REASON_OK);
  EXPECT_EQ(a[1].code(), v1::REASON_UNITS_NOT_HELD);
  EXPECT_EQ(b[0].code(), v1::REASON_OK);
  EXPECT_EQ(b[1].code(), v1::REASON_UNITS_NOT_HELD);
  EXPECT_EQ(h.BlockAt("CHE-NR", 45).holder().account_id(), "gha-1");
  EXPECT_EQ(other.BlockAt("CHE-NR", 45).holder().account_id(), "swe-1");
  // The same order on another node gives the same codes and root.
  LedgerHarness replica;
  ASSERT_EQ(replica.RunOne(AuthorizeBody("CHE", "A1", 1000)).code(), v1::REASON_OK);
  ASSERT_EQ(replica.RunOne(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1")).code(), v1::REASON_OK);
  auto c = replica.Run({to_gha, to_swe});
  EXPECT_EQ(c[1].code(), a[1].code());
  EXPECT_EQ(replica.ledger().state_root(), h.ledger().state_root());
}

TEST_F(RulesTest, R14Time) {
  Standard();
  h.time_ms = kTime2030Ms - 3 * kYearMs;  // 2027.
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 10)}));
  EXPECT_EQ(h.BlockAt("CHE-NR", 1).first_transfer_year(), 2027u);
  ASSERT_OK_AND_ASSIGN(auto adj, h.ledger().GetAdjustments("CHE", 2027, 2027));
  ASSERT_EQ(adj.size(), 1u);
  EXPECT_EQ(AddedUnits(adj[0]), 10u);
  EXPECT_EQ(Code(IssueBody("CHE-NR", "che-1", 1001, 1010, 2028)), v1::REASON_INVALID_VINTAGE);
  h.time_ms = kTime2030Ms;
  Ok(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 10)}));
  ASSERT_OK_AND_ASSIGN(auto gha, h.ledger().GetAdjustments("GHA", 2021, 2035));
  ASSERT_EQ(gha.size(), 1u);
  EXPECT_EQ(gha[0].year(), 2030u);
}

}  // namespace
}  // namespace itmo::ledger::testing
