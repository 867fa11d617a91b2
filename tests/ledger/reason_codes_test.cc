// Every ReasonCode: a test that provokes it and checks that nothing changed (state root and
// holdings of every account identical before and after).
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "crypto/digest.h"
#include "ledger/limits.h"
#include "ledger/state_machine.h"
#include "tests/ledger/ledger_fixture.h"
#include "tests/testing/status_matchers.h"

namespace itmo::ledger::testing {
namespace {

// The codes ExpectTx saw produced (in this process).
std::set<int>& Produced() {
  static std::set<int> produced;
  return produced;
}
class ReasonCodeTest : public ::testing::Test {
 public:
  // Runs this scenario on a fresh harness outside gtest's own driver (the guard does).
  void Run() {
    SetUp();
    if (::testing::Test::HasFatalFailure()) return;
    Body();
  }
  virtual void Body() {}
  void SetUp() override {
    Ok(AuthorizeBody("CHE", "A1", 10000));
    Ok(IssueBody("CHE-NR", "che-1", 1, 1000, 2025, "A1"));
    Ok(IssueBody("CHE-NR", "che-1", 1001, 2000));
    Ok(TransferBody(Ref("CHE-NR", "che-1"), Ref("GHA-NR", "gha-1"), {Range("CHE-NR", 1, 100)}));
    Ok(AuthorizeBody("CHE", "A2", 50));
    Ok(IssueBody("CHE-NR", "che-1", 3001, 3100, 2025, "A2"));
  }
  void Ok(v1::TransactionBody body, std::vector<std::string> signers = {}) {
    auto out = h.RunOne(std::move(body), std::move(signers));
    ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  }
  void ExpectTx(const v1::SignedTransaction& tx, v1::ReasonCode code) {
    Observed before = h.Observe();
    v1::TransactionOutcome out = h.RunSigned(tx);
    EXPECT_EQ(out.status(), v1::TX_REJECTED);
    EXPECT_EQ(out.code(), code) << v1::ReasonCode_Name(out.code()) << ": " << out.message();
    Produced().insert(out.code());
    EXPECT_FALSE(out.message().empty());
    EXPECT_TRUE(before == h.Observe()) << "state changed";
  }
  void Expect(v1::TransactionBody body, v1::ReasonCode code,
              std::vector<std::string> signers = {}) {
    ExpectTx(h.Sign(std::move(body), std::move(signers)), code);
  }
  static v1::TransactionBody Change(const std::string& party, const std::string& id,
                                    uint32_t version) {
    v1::TransactionBody b;
    b.set_submitter_kind(v1::SUBMITTER_PARTY);
    b.set_submitter(party);
    b.mutable_change_authorization()->set_authorization_id(id);
    b.mutable_change_authorization()->set_expected_version(version);
    return b;
  }
  v1::AccountRef che1 = Ref("CHE-NR", "che-1");
  v1::AccountRef gha1 = Ref("GHA-NR", "gha-1");
  LedgerHarness h;
};

// Every scenario, by name, so the guard can run them all in one process.
using ScenarioFactory = std::function<std::unique_ptr<ReasonCodeTest>()>;
std::vector<std::pair<std::string, ScenarioFactory>>& Scenarios() {
  static std::vector<std::pair<std::string, ScenarioFactory>> scenarios;
  return scenarios;
}
bool RegisterScenario(const std::string& name, ScenarioFactory factory) {
  Scenarios().emplace_back(name, std::move(factory));
  return true;
}

// A scenario that provokes one code: a normal test, and registered for the guard below.
#define REASON_SCENARIO(Name)                                                     \
  class Scenario##Name final : public ReasonCodeTest {                            \
   public:                                                                        \
    void Body() override;                                                         \
                                                                                  \
   private:                                                                       \
    void TestBody() override {}                                                   \
  };                                                                              \
  const bool kRegistered##Name =                                                  \
      RegisterScenario(#Name, [] { return std::make_unique<Scenario##Name>(); }); \
  TEST_F(ReasonCodeTest, Name) { Scenario##Name().Run(); }                        \
  void Scenario##Name::Body()

REASON_SCENARIO(MalformedTransaction) {
  v1::SignedTransaction tx = h.Sign(TransferBody(che1, gha1, {Range("CHE-NR", 101, 101)}));
  tx.set_body("\xff\xff\xff garbage");
  crypto::KeyPair key = KeyFor("registry:CHE-NR");
  tx.mutable_signatures(0)->set_signature(std::string(
      crypto::AsStringView(key.Sign(crypto::kContextTransaction, kChainId, tx.body()))));
  ExpectTx(tx, v1::REASON_MALFORMED_TRANSACTION);
  v1::TransactionBody no_action;
  no_action.set_submitter_kind(v1::SUBMITTER_REGISTRY);
  no_action.set_submitter("CHE-NR");
  Expect(no_action, v1::REASON_MALFORMED_TRANSACTION, {"CHE-NR"});
}

REASON_SCENARIO(WrongChainId) {
  auto body = TransferBody(che1, gha1, {Range("CHE-NR", 101, 101)});
  body.set_chain_id("other-chain");
  Expect(body, v1::REASON_WRONG_CHAIN_ID);
}

REASON_SCENARIO(MissingSignature) {
  Expect(TransferBody(che1, gha1, {Range("CHE-NR", 101, 101)}), v1::REASON_MISSING_SIGNATURE,
         {"GHA-NR"});
  v1::TransactionBody body;
  v1::CooperativeApproach* c = body.mutable_register_approach()->mutable_approach();
  c->set_id("CA0200");
  c->add_parties("GHA");
  c->add_parties("SWE");
  Expect(body, v1::REASON_MISSING_SIGNATURE, {"GHA"});  // SWE's authority did not sign.
}

REASON_SCENARIO(BadSignature) {
  v1::SignedTransaction tx = h.Sign(TransferBody(che1, gha1, {Range("CHE-NR", 101, 101)}));
  tx.mutable_signatures(0)->mutable_signature()->at(3) ^= 0x10;
  ExpectTx(tx, v1::REASON_BAD_SIGNATURE);
}

REASON_SCENARIO(UnauthorizedSigner) {
  Expect(TransferBody(che1, gha1, {Range("CHE-NR", 101, 101)}), v1::REASON_UNAUTHORIZED_SIGNER,
         {"CHE-NR", "rogue"});
}

REASON_SCENARIO(DuplicateTransaction) {
  auto body = TransferBody(che1, gha1, {Range("CHE-NR", 101, 110)});
  body.set_client_tx_id("dup-1");
  auto first = h.RunOne(body);
  ASSERT_EQ(first.code(), v1::REASON_OK);
  body.mutable_transfer()->mutable_ranges(0)->set_first(111);
  body.mutable_transfer()->mutable_ranges(0)->set_last(120);
  Expect(body, v1::REASON_DUPLICATE_TRANSACTION);
}

REASON_SCENARIO(InvalidClientTxId) {
  auto body = TransferBody(che1, gha1, {Range("CHE-NR", 101, 101)});
  body.set_client_tx_id(std::string(kClientTxIdBytesMax + 1, 'x'));
  Expect(body, v1::REASON_INVALID_CLIENT_TX_ID);
}

REASON_SCENARIO(UnknownSubmitter) {
  auto body = TransferBody(Ref("XXX-NR", "a"), gha1, {Range("CHE-NR", 101, 101)});
  Expect(body, v1::REASON_UNKNOWN_SUBMITTER, {"rogue"});
}

REASON_SCENARIO(TooManySignatures) {
  v1::SignedTransaction tx = h.Sign(TransferBody(che1, gha1, {Range("CHE-NR", 101, 101)}));
  for (size_t i = 0; i < kSignaturesMax; ++i) {
    crypto::KeyPair key = KeyFor("extra-" + std::to_string(i));
    v1::Signature* s = tx.add_signatures();
    s->set_public_key(std::string(crypto::AsStringView(key.public_key())));
    s->set_signature(std::string(
        crypto::AsStringView(key.Sign(crypto::kContextTransaction, kChainId, tx.body()))));
  }
  ExpectTx(tx, v1::REASON_TOO_MANY_SIGNATURES);
}

REASON_SCENARIO(SubmitterMismatch) {
  auto body = TransferBody(gha1, che1, {Range("CHE-NR", 1, 10)});
  body.set_submitter_kind(v1::SUBMITTER_REGISTRY);
  body.set_submitter("CHE-NR");
  Expect(body, v1::REASON_SUBMITTER_MISMATCH);
}

REASON_SCENARIO(TransactionTooLarge) {
  auto body = CancelBody(che1, {Range("CHE-NR", 1001, 1001)});
  body.mutable_cancel()->set_note(std::string(kTransactionBytesMax, 'n'));
  Expect(body, v1::REASON_TRANSACTION_TOO_LARGE);
}

REASON_SCENARIO(InvalidRange) {
  Expect(TransferBody(che1, gha1, {Range("CHE-NR", 200, 150)}), v1::REASON_INVALID_RANGE);
  Expect(IssueBody("CHE-NR", "che-1", 0, 5), v1::REASON_INVALID_RANGE);
}

REASON_SCENARIO(OverlappingRanges) {
  Expect(TransferBody(che1, gha1, {Range("CHE-NR", 101, 150), Range("CHE-NR", 150, 160)}),
         v1::REASON_OVERLAPPING_RANGES);
}

REASON_SCENARIO(TooManyRanges) {
  std::vector<v1::UnitRange> ranges;
  for (uint64_t i = 0; i <= kRangesPerTxMax; ++i) {
    ranges.push_back(Range("CHE-NR", 101 + i, 101 + i));
  }
  Expect(TransferBody(che1, gha1, ranges), v1::REASON_TOO_MANY_RANGES);
}

REASON_SCENARIO(InvalidVintage) {
  Expect(IssueBody("CHE-NR", "che-1", 5001, 5010, 2020), v1::REASON_INVALID_VINTAGE);
  Expect(IssueBody("CHE-NR", "che-1", 5001, 5010, 2031),
         v1::REASON_INVALID_VINTAGE);  // After 2030.
}

REASON_SCENARIO(InvalidField) {
  auto body = CancelBody(che1, {Range("CHE-NR", 1001, 1001)});
  body.mutable_cancel()->set_reason(v1::CANCELLATION_REASON_UNSPECIFIED);
  Expect(body, v1::REASON_INVALID_FIELD);
  Expect(Change("CHE", "A1", 1), v1::REASON_INVALID_FIELD);  // Nothing to change.
}

REASON_SCENARIO(InvalidConversionFactor) {
  auto body = IssueBody("CHE-NR", "che-1", 5001, 5010);
  body.mutable_issue()->mutable_blocks(0)->set_conversion_denominator(0);
  Expect(body, v1::REASON_INVALID_CONVERSION_FACTOR);
}

REASON_SCENARIO(TooManyBlocks) {
  auto body = IssueBody("CHE-NR", "che-1", 5001, 5001);
  for (uint64_t i = 1; i <= kIssueBlocksMax; ++i) {
    v1::IssuanceSpec spec = body.issue().blocks(0);
    spec.set_first(5001 + i);
    spec.set_last(5001 + i);
    *body.mutable_issue()->add_blocks() = spec;
  }
  Expect(body, v1::REASON_TOO_MANY_BLOCKS);
}

REASON_SCENARIO(FieldTooLong) {
  auto body = CancelBody(che1, {Range("CHE-NR", 1001, 1001)});
  body.mutable_cancel()->set_note(std::string(kTextBytesMax + 1, 'n'));
  Expect(body, v1::REASON_FIELD_TOO_LONG);
}

REASON_SCENARIO(UnknownRegistry) {
  Expect(TransferBody(che1, Ref("XX-NR", "a"), {Range("CHE-NR", 101, 101)}),
         v1::REASON_UNKNOWN_REGISTRY);
}

REASON_SCENARIO(UnknownAccount) {
  Expect(TransferBody(che1, Ref("GHA-NR", "nope"), {Range("CHE-NR", 101, 101)}),
         v1::REASON_UNKNOWN_ACCOUNT);
}

REASON_SCENARIO(UnknownParty) {
  v1::TransactionBody open;
  *open.mutable_open_account()->mutable_account()->mutable_ref() = Ref("UN-IR", "fra-1");
  open.mutable_open_account()->mutable_account()->set_holder_party("FRA");
  Expect(open, v1::REASON_UNKNOWN_PARTY);
}

REASON_SCENARIO(AccountExists) {
  v1::TransactionBody open;
  *open.mutable_open_account()->mutable_account()->mutable_ref() = che1;
  open.mutable_open_account()->mutable_account()->set_holder_party("CHE");
  Expect(open, v1::REASON_ACCOUNT_EXISTS);
}

REASON_SCENARIO(AccountClosed) {
  Expect(TransferBody(che1, Ref("CHE-NR", "che-closed"), {Range("CHE-NR", 101, 101)}),
         v1::REASON_ACCOUNT_CLOSED);
}

REASON_SCENARIO(UnknownApproach) {
  Expect(IssueBody("CHE-NR", "che-1", 5001, 5010, 2025, "", "CA9999"), v1::REASON_UNKNOWN_APPROACH);
}

REASON_SCENARIO(ApproachExists) {
  v1::TransactionBody body;
  v1::CooperativeApproach* c = body.mutable_register_approach()->mutable_approach();
  c->set_id("CA0001");
  c->add_parties("CHE");
  c->add_parties("GHA");
  Expect(body, v1::REASON_APPROACH_EXISTS, {"CHE", "GHA"});
}

REASON_SCENARIO(PartyNotInApproach) {
  Expect(AuthorizeBody("PER", "P1", 10), v1::REASON_PARTY_NOT_IN_APPROACH);
}

REASON_SCENARIO(AccountNotOfParty) {
  Expect(UseNdcBody("GHA", che1, {Range("CHE-NR", 101, 101)}), v1::REASON_ACCOUNT_NOT_OF_PARTY);
}

REASON_SCENARIO(SameAccount) {
  Expect(TransferBody(che1, che1, {Range("CHE-NR", 101, 101)}), v1::REASON_SAME_ACCOUNT);
}

REASON_SCENARIO(WrongRegistry) {
  auto body = IssueBody("GHA-NR", "gha-1", 5001, 5010);
  body.set_submitter_kind(v1::SUBMITTER_REGISTRY);
  body.set_submitter("CHE-NR");
  Expect(body, v1::REASON_WRONG_REGISTRY);
}

REASON_SCENARIO(SerialOverlap) {
  Expect(IssueBody("CHE-NR", "che-1", 1990, 2010), v1::REASON_SERIAL_OVERLAP);
}

REASON_SCENARIO(UnitsNotFound) {
  Expect(TransferBody(che1, gha1, {Range("CHE-NR", 1990, 2010)}), v1::REASON_UNITS_NOT_FOUND);
}

REASON_SCENARIO(UnitsNotHeld) {
  Expect(TransferBody(che1, gha1, {Range("CHE-NR", 50, 150)}), v1::REASON_UNITS_NOT_HELD);
}

REASON_SCENARIO(UnitsTerminal) {
  Ok(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 10)}));
  Expect(UseNdcBody("GHA", gha1, {Range("CHE-NR", 5, 15)}), v1::REASON_UNITS_TERMINAL);
}

REASON_SCENARIO(UnitsQuarantined) {
  Ok(QuarantineBody({Range("CHE-NR", 101, 110)}, true));
  Expect(TransferBody(che1, gha1, {Range("CHE-NR", 101, 101)}), v1::REASON_UNITS_QUARANTINED);
}

REASON_SCENARIO(UnitsWrongState) {
  Expect(TransferBody(che1, Ref("CHE-NR", "che-2"), {Range("CHE-NR", 1001, 1010)}),
         v1::REASON_UNITS_WRONG_STATE);
}

REASON_SCENARIO(UnitsNotQuarantined) {
  Expect(QuarantineBody({Range("CHE-NR", 101, 110)}, false), v1::REASON_UNITS_NOT_QUARANTINED);
}

REASON_SCENARIO(NoAuthorization) {
  Expect(TransferBody(che1, gha1, {Range("CHE-NR", 1001, 1010)}), v1::REASON_NO_AUTHORIZATION);
}

REASON_SCENARIO(AuthorizationRevoked) {
  auto change = Change("CHE", "A2", 1);
  change.mutable_change_authorization()->set_revoke(true);
  Ok(change);
  Expect(IssueBody("CHE-NR", "che-1", 5001, 5010, 2025, "A2"), v1::REASON_AUTHORIZATION_REVOKED);
  Expect(Change("CHE", "A2", 2), v1::REASON_AUTHORIZATION_REVOKED);
}

REASON_SCENARIO(CapExceeded) {
  Expect(TransferBody(che1, gha1, {Range("CHE-NR", 3001, 3051)}), v1::REASON_CAP_EXCEEDED);
}

REASON_SCENARIO(PurposeNotAuthorized) {
  Expect(UseOimpBody(gha1, {Range("CHE-NR", 1, 10)}), v1::REASON_PURPOSE_NOT_AUTHORIZED);
}

REASON_SCENARIO(VintageNotAuthorized) {
  auto auth = AuthorizeBody("CHE", "A3", 100);
  auth.mutable_authorize()->mutable_authorization()->set_vintage_last(2024);
  Ok(auth);
  Expect(IssueBody("CHE-NR", "che-1", 5001, 5010, 2025, "A3"), v1::REASON_VINTAGE_NOT_AUTHORIZED);
}

REASON_SCENARIO(SectorNotAuthorized) {
  auto auth = AuthorizeBody("CHE", "A3", 100);
  auth.mutable_authorize()->mutable_authorization()->add_sectors("forestry");
  Ok(auth);
  Expect(IssueBody("CHE-NR", "che-1", 5001, 5010, 2025, "A3"), v1::REASON_SECTOR_NOT_AUTHORIZED);
}

REASON_SCENARIO(VintageOutsideNdcPeriod) {
  h.time_ms = kTime2030Ms + 2 * kYearMs;  // 2032: a use inside the 2031-2035 period (5016).
  Expect(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 10)}, 2031, 2035),
         v1::REASON_VINTAGE_OUTSIDE_NDC_PERIOD);
}

REASON_SCENARIO(UnknownAuthorization) {
  Expect(IssueBody("CHE-NR", "che-1", 5001, 5010, 2025, "nope"), v1::REASON_UNKNOWN_AUTHORIZATION);
}

REASON_SCENARIO(AuthorizationExists) {
  Expect(AuthorizeBody("CHE", "A1", 10), v1::REASON_AUTHORIZATION_EXISTS);
}

REASON_SCENARIO(AuthorizationVersionMismatch) {
  auto change = Change("CHE", "A1", 7);
  change.mutable_change_authorization()->set_new_cap(5000);
  Expect(change, v1::REASON_AUTHORIZATION_VERSION_MISMATCH);
}

REASON_SCENARIO(InvalidCapChange) {
  auto change = Change("CHE", "A1", 1);
  change.mutable_change_authorization()->set_new_cap(99);  // Below the 100 first transferred.
  Expect(change, v1::REASON_INVALID_CAP_CHANGE);
  change.mutable_change_authorization()->set_new_cap(20000);  // Not lower.
  Expect(change, v1::REASON_INVALID_CAP_CHANGE);
}

REASON_SCENARIO(UnknownNdcPeriod) {
  Expect(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 10)}, 2021, 2025),
         v1::REASON_UNKNOWN_NDC_PERIOD);
}

REASON_SCENARIO(AuthorizationWrongParty) {
  auto change = Change("GHA", "A1", 1);
  change.mutable_change_authorization()->set_new_cap(5000);
  Expect(change, v1::REASON_AUTHORIZATION_WRONG_PARTY);
}

REASON_SCENARIO(ActivityNotAuthorized) {
  auto auth = AuthorizeBody("CHE", "A3", 100);
  auth.mutable_authorize()->mutable_authorization()->add_activity_types("solar");
  Ok(auth);
  Expect(IssueBody("CHE-NR", "che-1", 5001, 5010, 2025, "A3"), v1::REASON_ACTIVITY_NOT_AUTHORIZED);
}

// 5015 and 5016 (added by issue 8) get their scenarios here too, so the guard sees them.
REASON_SCENARIO(OmgeNotAdjusted) {
  // ISSUED units: no Party adjusted for them, so an OMGE cancellation would claim nothing.
  Expect(CancelBody(che1, {Range("CHE-NR", 1001, 1010)}, v1::CANCELLATION_OMGE),
         v1::REASON_OMGE_NOT_ADJUSTED);
}

REASON_SCENARIO(UseYearOutsideNdcPeriod) {
  // Consensus year 2030, NDC period 2031-2035.
  Expect(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 10)}, 2031, 2035),
         v1::REASON_USE_YEAR_OUTSIDE_NDC_PERIOD);
}

// The guard: runs every scenario above in this process, each on a fresh ledger, and requires
// that every ReasonCode of the proto descriptor (except REASON_OK) was actually PRODUCED by one of
// them. A code added to tx.proto fails here until a REASON_SCENARIO provokes it.
TEST(ReasonCodeGuard, EveryCodeIsProducedByAScenario) {
  Produced().clear();
  for (const auto& [name, factory] : Scenarios()) {
    SCOPED_TRACE(name);
    factory()->Run();
  }
  const google::protobuf::EnumDescriptor* d = v1::ReasonCode_descriptor();
  int missing = 0;
  for (int i = 0; i < d->value_count(); ++i) {
    const int code = d->value(i)->number();
    if (code == v1::REASON_OK) continue;
    if (!Produced().contains(code)) {
      ++missing;
      ADD_FAILURE() << d->value(i)->name() << " (" << code << ") is produced by no scenario";
    }
  }
  EXPECT_EQ(missing, 0);
  EXPECT_GE(Scenarios().size(), static_cast<size_t>(d->value_count() - 1));
}

}  // namespace
}  // namespace itmo::ledger::testing
