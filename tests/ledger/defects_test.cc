// Issue 8, "Article 6 accounting without holes": one regression test (or more) per defect, each
// failing on the code before its fix, and a test for each reason code the issue added.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "ledger/internal/quantity.h"
#include "ledger/state_machine.h"
#include "tests/ledger/ledger_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace itmo::ledger::testing {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
using U128Micro = internal::U128;

class DefectsTest : public ::testing::Test {
 protected:
  void Ok(v1::TransactionBody body, std::vector<std::string> signers = {}) {
    auto out = h.RunOne(std::move(body), std::move(signers));
    ASSERT_EQ(out.code(), v1::REASON_OK) << v1::ReasonCode_Name(out.code()) << " " << out.message();
  }
  v1::ReasonCode Code(v1::TransactionBody body, std::vector<std::string> signers = {}) {
    return h.RunOne(std::move(body), std::move(signers)).code();
  }
  static v1::TransactionBody Change(const std::string& id, uint32_t version) {
    v1::TransactionBody b;
    b.set_submitter_kind(v1::SUBMITTER_PARTY);
    b.set_submitter("CHE");
    b.mutable_change_authorization()->set_authorization_id(id);
    b.mutable_change_authorization()->set_expected_version(version);
    return b;
  }
  static v1::TransactionBody Revoke(const std::string& id, uint32_t version) {
    v1::TransactionBody b = Change(id, version);
    b.mutable_change_authorization()->set_revoke(true);
    return b;
  }
  static v1::TransactionBody ToOimp(const std::string& id, uint32_t version,
                                    v1::FirstTransferDefinition definition) {
    v1::TransactionBody b = Change(id, version);
    b.mutable_change_authorization()->set_change_purposes(true);
    b.mutable_change_authorization()->set_ndc(false);
    b.mutable_change_authorization()->add_oimp_purposes("CORSIA");
    b.mutable_change_authorization()->set_first_transfer_definition(definition);
    return b;
  }
  v1::Adjustment AdjustmentOf(const std::string& party, uint32_t year = 2030) {
    auto adj = h.ledger().GetAdjustments(party, year, year);
    ITMO_CHECK(adj.ok());
    if (adj->empty()) return v1::Adjustment();
    return (*adj)[0];
  }
  uint64_t FirstTransferred(const std::string& id) {
    auto a = h.ledger().GetAuthorization(id);
    ITMO_CHECK(a.ok() && a->has_value());
    return (*a)->first_transferred();
  }
  LedgerHarness h;
  v1::AccountRef che1 = Ref("CHE-NR", "che-1");
  v1::AccountRef che2 = Ref("CHE-NR", "che-2");
  v1::AccountRef gha1 = Ref("GHA-NR", "gha-1");
  v1::AccountRef che_ir = Ref("UN-IR", "che-ir");
  v1::AccountRef gha_ir = Ref("UN-IR", "gha-ir");
};

// 1. A move between two Parties' accounts in the international registry is international.
TEST_F(DefectsTest, TransferBetweenPartiesInsideTheInternationalRegistryIsAFirstTransfer) {
  Ok(AuthorizeBody("CHE", "A1", 1000));
  Ok(IssueFactorBody("UN-IR", "che-ir", 1, 100, kTonnes, 2025, "A1", "CHE"));
  auto out = h.RunOne(TransferBody(che_ir, gha_ir, {Range("UN-IR", 1, 40)}));
  ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  EXPECT_TRUE(out.first_transfer());
  EXPECT_EQ(h.BlockAt("UN-IR", 1).state(), v1::UNIT_STATE_ACTIVE);
  EXPECT_EQ(FirstTransferred("A1"), 40u);
  EXPECT_EQ(AddedUnits(AdjustmentOf("CHE")), 40u);
  Ok(Revoke("A1", 1));  // The first-transferred units are ITMOs now: revocation cannot touch them.
  EXPECT_EQ(h.BlockAt("UN-IR", 1).state(), v1::UNIT_STATE_ACTIVE);
  EXPECT_EQ(h.BlockAt("UN-IR", 50).state(), v1::UNIT_STATE_REVOKED);
  Ok(UseNdcBody("GHA", gha_ir, {Range("UN-IR", 1, 40)}));
}

// 2. Units attached later to an ISSUANCE-definition OIMP authorization are first transferred by
// the attach (the issuance happened already), so they can be used for the OIMP.
TEST_F(DefectsTest, AttachToIssuanceDefinitionFirstTransfersOnce) {
  Ok(IssueBody("CHE-NR", "che-1", 1, 100));
  auto auth = AuthorizeBody("CHE", "O1", 60, false, {"CORSIA"}, v1::FIRST_TRANSFER_ISSUANCE);
  *auth.mutable_authorize()->add_attach() = Range("CHE-NR", 1, 50);
  auto out = h.RunOne(auth);
  ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  EXPECT_TRUE(out.first_transfer());
  EXPECT_EQ(h.BlockAt("CHE-NR", 1).state(), v1::UNIT_STATE_ACTIVE);
  EXPECT_EQ(FirstTransferred("O1"), 50u);
  EXPECT_EQ(AddedUnits(AdjustmentOf("CHE")), 50u);
  Ok(UseOimpBody(che1, {Range("CHE-NR", 1, 10)}));  // No first transfer: registry alone signs.
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 11, 20)}));
  EXPECT_EQ(AddedUnits(AdjustmentOf("CHE")), 50u);  // Exactly once.
  auto again = AuthorizeBody("CHE", "O2", 100, false, {"CORSIA"}, v1::FIRST_TRANSFER_ISSUANCE);
  *again.mutable_authorize()->add_attach() = Range("CHE-NR", 51, 100);
  EXPECT_EQ(Code(again), v1::REASON_OK);
}

TEST_F(DefectsTest, ChangePurposesToIssuanceDefinitionFirstTransfersAttachedUnits) {
  Ok(AuthorizeBody("CHE", "A1", 100));
  Ok(IssueBody("CHE-NR", "che-1", 1, 80, 2025, "A1"));
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 10)}));   // 10 first transferred (NDC).
  Ok(TransferBody(che1, che2, {Range("CHE-NR", 30, 39)}));  // Fragmented, still AUTHORIZED.
  auto out = h.RunOne(ToOimp("A1", 1, v1::FIRST_TRANSFER_ISSUANCE));
  ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  EXPECT_TRUE(out.first_transfer());
  EXPECT_EQ(FirstTransferred("A1"), 80u);
  EXPECT_EQ(h.BlockAt("CHE-NR", 35).state(), v1::UNIT_STATE_ACTIVE);
  EXPECT_EQ(h.BlockAt("CHE-NR", 35).authorization_snapshot().first_transfer_definition(),
            v1::FIRST_TRANSFER_ISSUANCE);
  EXPECT_TRUE(h.BlockAt("CHE-NR", 5).authorization_snapshot().ndc());  // Kept its snapshot.
  EXPECT_EQ(AddedUnits(AdjustmentOf("CHE")), 80u);
  Ok(UseOimpBody(che2, {Range("CHE-NR", 30, 39)}));
  // The cap binds the change too.
  Ok(AuthorizeBody("CHE", "A2", 100));
  Ok(IssueBody("CHE-NR", "che-1", 101, 180, 2025, "A2"));
  auto lower = ToOimp("A2", 1, v1::FIRST_TRANSFER_AUTHORIZATION);
  lower.mutable_change_authorization()->set_new_cap(50);
  EXPECT_EQ(Code(lower), v1::REASON_CAP_EXCEEDED);
  // USE_OR_CANCELLATION: nothing now, the first transfer comes at use.
  out = h.RunOne(ToOimp("A2", 1, v1::FIRST_TRANSFER_USE_OR_CANCELLATION));
  ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  EXPECT_FALSE(out.first_transfer());
  EXPECT_EQ(h.BlockAt("CHE-NR", 150).state(), v1::UNIT_STATE_AUTHORIZED);
  Ok(UseOimpBody(che1, {Range("CHE-NR", 101, 110)}), {"CHE-NR", "CHE"});
  EXPECT_EQ(FirstTransferred("A2"), 10u);
}

// 3a. Own units: used towards the own NDC only when the Party booked their addition.
TEST_F(DefectsTest, PartyUsesOwnUnitsOnlyAfterItsOwnAddition) {
  Ok(AuthorizeBody("CHE", "A1", 1000, true, {"CORSIA"}, v1::FIRST_TRANSFER_ISSUANCE));
  Ok(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1"));  // First transferred at issuance.
  Ok(UseNdcBody("CHE", che1, {Range("CHE-NR", 1, 10)}));
  v1::Adjustment che = AdjustmentOf("CHE");
  EXPECT_EQ(AddedUnits(che), 100u);
  EXPECT_EQ(SubtractedUnits(che), 10u);  // Both stand: nothing counted twice.
  EXPECT_EQ(che.net_tco2e(), "90.000");
  // NDC-only units before their first transfer: CHE booked nothing for them.
  Ok(AuthorizeBody("CHE", "A2", 1000));
  Ok(IssueBody("CHE-NR", "che-1", 201, 300, 2025, "A2"));
  EXPECT_EQ(Code(UseNdcBody("CHE", che1, {Range("CHE-NR", 201, 210)})),
            v1::REASON_UNITS_WRONG_STATE);
  // Units that came back to CHE after their first transfer.
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 201, 210)}));
  Ok(TransferBody(gha1, che2, {Range("CHE-NR", 201, 210)}));
  Ok(UseNdcBody("CHE", che2, {Range("CHE-NR", 201, 210)}));
  EXPECT_EQ(SubtractedUnits(AdjustmentOf("CHE")), 20u);
}

// 3b. OMGE cancellation of units no Party adjusted is refused (new code 5015).
TEST_F(DefectsTest, OmgeCancellationOfUnadjustedUnitsIsRefused) {
  Ok(IssueBody("CHE-NR", "che-1", 1, 100));
  Ok(AuthorizeBody("CHE", "A1", 1000));
  Ok(IssueBody("CHE-NR", "che-1", 101, 200, 2025, "A1"));
  Observed before = h.Observe();
  auto out = h.RunOne(CancelBody(che1, {Range("CHE-NR", 1, 10)}, v1::CANCELLATION_OMGE));
  EXPECT_EQ(out.code(), v1::REASON_OMGE_NOT_ADJUSTED) << out.message();
  EXPECT_EQ(Code(CancelBody(che1, {Range("CHE-NR", 101, 110)}, v1::CANCELLATION_OMGE)),
            v1::REASON_OMGE_NOT_ADJUSTED);
  EXPECT_TRUE(before == h.Observe());
  Ok(CancelBody(che1, {Range("CHE-NR", 1, 10)}, v1::CANCELLATION_VOLUNTARY));
  Ok(CancelBody(che1, {Range("CHE-NR", 101, 110)}, v1::CANCELLATION_OTHER));
  EXPECT_EQ(h.BlockAt("CHE-NR", 5).retirement().cancellation_reason(), v1::CANCELLATION_VOLUNTARY);
  EXPECT_FALSE(h.BlockAt("CHE-NR", 105).first_transferred());
  EXPECT_TRUE(AdjustmentOf("CHE").entries().empty());  // Recorded as what it is.
  // Adjusted units may go to OMGE.
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 111, 120)}));
  Ok(CancelBody(gha1, {Range("CHE-NR", 111, 120)}, v1::CANCELLATION_OMGE));
}

// 3c. A USE_OR_CANCELLATION first transfer books the host's addition: the host signs it too.
TEST_F(DefectsTest, FirstTransferAtUseOrCancellationNeedsTheHostSignature) {
  Ok(AuthorizeBody("CHE", "O1", 1000, false, {"CORSIA"}, v1::FIRST_TRANSFER_USE_OR_CANCELLATION));
  Ok(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "O1"));
  Observed before = h.Observe();
  EXPECT_EQ(Code(UseOimpBody(che1, {Range("CHE-NR", 1, 10)})), v1::REASON_MISSING_SIGNATURE);
  EXPECT_EQ(Code(CancelBody(che1, {Range("CHE-NR", 1, 10)}, v1::CANCELLATION_OMGE)),
            v1::REASON_MISSING_SIGNATURE);
  EXPECT_EQ(Code(UseOimpBody(che1, {Range("CHE-NR", 1, 10)}), {"CHE-NR", "CHE", "GHA"}),
            v1::REASON_UNAUTHORIZED_SIGNER);
  EXPECT_EQ(Code(UseOimpBody(che1, {Range("CHE-NR", 1, 10)}), {"CHE-NR", "GHA"}),
            v1::REASON_MISSING_SIGNATURE);
  EXPECT_TRUE(before == h.Observe());
  Ok(UseOimpBody(che1, {Range("CHE-NR", 1, 10)}), {"CHE-NR", "CHE"});
  Ok(CancelBody(che1, {Range("CHE-NR", 11, 20)}, v1::CANCELLATION_OMGE), {"CHE-NR", "CHE"});
  EXPECT_EQ(AddedUnits(AdjustmentOf("CHE")), 20u);
  // A plain cancellation of adjusted units: the host has nothing to sign.
  Ok(AuthorizeBody("CHE", "A1", 1000));
  Ok(IssueBody("CHE-NR", "che-1", 201, 300, 2025, "A1"));
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 201, 210)}));
  EXPECT_EQ(Code(CancelBody(gha1, {Range("CHE-NR", 201, 205)}), {"GHA-NR", "CHE"}),
            v1::REASON_UNAUTHORIZED_SIGNER);
  Ok(CancelBody(gha1, {Range("CHE-NR", 201, 205)}));
}

// 3d. The year of use must fall inside the NDC period used for (new code 5016).
TEST_F(DefectsTest, YearOfUseOutsideTheNdcPeriodIsRefused) {
  Ok(AuthorizeBody("CHE", "A1", 1000, true, {}, v1::FIRST_TRANSFER_DEFINITION_UNSPECIFIED,
                   "CA0002"));
  Ok(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1", "CA0002"));
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 100)}));
  auto out = h.RunOne(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 10)}, 2031, 2035));  // In 2030.
  EXPECT_EQ(out.code(), v1::REASON_USE_YEAR_OUTSIDE_NDC_PERIOD) << out.message();
  h.time_ms = kTime2030Ms + 2 * kYearMs;  // 2032.
  EXPECT_EQ(Code(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 10)}, 2021, 2030)),
            v1::REASON_USE_YEAR_OUTSIDE_NDC_PERIOD);
  Ok(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 10)}, 2031, 2035));
  EXPECT_EQ(AdjustmentOf("GHA", 2032).entries(0).ndc_period().first_year(), 2031u);
}

// 4. Tonnes do not depend on how blocks were split.
TEST_F(DefectsTest, TonnesDoNotDependOnSplits) {
  Ok(AuthorizeBody("CHE", "A1", 100000));
  Ok(IssueFactorBody("CHE-NR", "che-1", 1, 1000, kMwhGrid, 2025, "A1"));
  Ok(IssueFactorBody("CHE-NR", "che-1", 2001, 3000, kMwhGrid, 2025, "A1"));
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 1000)}));   // One piece: 450 t.
  for (uint64_t first = 2001; first <= 3000; first += 250) {  // 1,000 pieces of one unit.
    std::vector<v1::UnitRange> ranges;
    for (uint64_t s = first; s < first + 250; ++s) ranges.push_back(Range("CHE-NR", s, s));
    Ok(TransferBody(che1, gha1, ranges));
  }
  v1::Adjustment che = AdjustmentOf("CHE");
  ASSERT_EQ(che.entries_size(), 1);
  EXPECT_EQ(che.entries(0).metric(), "MWh");
  EXPECT_EQ(che.entries(0).units(), "2000");
  EXPECT_EQ(che.entries(0).tco2e_micro(), "900000000");  // 2000 * 9/20 t, exactly.
  EXPECT_EQ(che.entries(0).tco2e(), "900.000");
  EXPECT_EQ(che.added_tco2e(), "900.000");
}

TEST_F(DefectsTest, UnitsOfDifferentMetricsAreNeverAddedTogether) {
  Ok(AuthorizeBody("CHE", "A1", 100000));
  Ok(IssueFactorBody("CHE-NR", "che-1", 1, 100, kTonnes, 2025, "A1"));
  Ok(IssueFactorBody("CHE-NR", "che-1", 101, 200, kMwhGrid, 2025, "A1"));
  Ok(IssueFactorBody("CHE-NR", "che-1", 201, 300, kMwhGrid2026, 2026, "A1"));
  Ok(IssueFactorBody("CHE-NR", "che-1", 301, 303, kKgCo2, 2026, "A1"));
  Ok(IssueFactorBody("CHE-NR", "che-1", 401, 410, kMethaneTonnes, 2026, "A1"));
  Ok(TransferBody(che1, gha1,
                  {Range("CHE-NR", 1, 100), Range("CHE-NR", 101, 200), Range("CHE-NR", 201, 300),
                   Range("CHE-NR", 301, 303), Range("CHE-NR", 401, 410)}));
  v1::Adjustment che = AdjustmentOf("CHE");
  ASSERT_EQ(che.entries_size(), 5);  // One per (metric, factor).
  std::vector<std::string> units;
  for (const auto& e : che.entries()) {
    units.push_back(e.metric() + ":" + e.units() + ":" + e.tco2e());
  }
  EXPECT_EQ(units, (std::vector<std::string>{"MWh:100:40.000", "MWh:100:45.000", "kgCO2e:3:0.003",
                                             "tCH4:10:280.000", "tCO2e:100:100.000"}));
  EXPECT_EQ(che.added_tco2e_micro(), "465003000");
  EXPECT_EQ(che.added_tco2e(), "465.003");
}

TEST_F(DefectsTest, TonnesAreRoundedOnceHalfToEven) {
  Ok(AuthorizeBody("CHE", "A1", 100000));
  const Factor per_2000{"kWh", 1, 2000};  // 500 micro-tonnes per unit.
  Ok(IssueFactorBody("CHE-NR", "che-1", 1, 100, per_2000, 2025, "A1"));
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 1)}));
  EXPECT_EQ(AdjustmentOf("CHE").added_tco2e(), "0.000");  // 0.0005 -> 0.000 (even).
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 2, 3)}));
  EXPECT_EQ(AdjustmentOf("CHE").added_tco2e(), "0.002");  // 0.0015 -> 0.002.
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 4, 5)}));
  EXPECT_EQ(AdjustmentOf("CHE").added_tco2e(), "0.002");  // 0.0025 -> 0.002.
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 6, 6)}));
  EXPECT_EQ(AdjustmentOf("CHE").added_tco2e(), "0.003");  // 0.0030.
  Ok(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 5)}));
  EXPECT_EQ(AdjustmentOf("GHA").net_tco2e(), "-0.002");  // -0.0025 -> -0.002.
  EXPECT_EQ(AdjustmentOf("GHA").net_tco2e_micro(), "-2500");
  EXPECT_EQ(internal::RoundMicroToMilli(-3500), "-0.004");
  EXPECT_EQ(internal::RoundMicroToMilli(-400), "0.000");
}

TEST_F(DefectsTest, ConversionFactorIsBounded) {
  for (auto [num, den] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0, 1}, {1, 0}, {1'000'001, 1}, {1, 3}, {1, 2'000'000}, {kMax, kMax}}) {
    auto out = h.RunOne(IssueFactorBody("CHE-NR", "che-1", 1, 10, {"MWh", num, den}));
    EXPECT_EQ(out.code(), v1::REASON_INVALID_CONVERSION_FACTOR) << num << "/" << den;
  }
  Ok(IssueFactorBody("CHE-NR", "che-1", 1, 10, {"MWh", 1'000'000, 1'000'000}));
}

// Property: whatever random sequence of splits and transfers carries units across, the Party's
// t CO2e for them equals the exact rational of the whole quantity.
TEST_F(DefectsTest, RandomSplitsAndTransfersKeepExactTonnes) {
  std::mt19937_64 random(20261202);  // Fixed seed: deterministic.
  const std::vector<Factor> factors = {kMwhGrid, kMwhGrid2026, kKgCo2, {"MWh", 7, 8}};
  Ok(AuthorizeBody("CHE", "A1", 1'000'000));
  uint64_t next = 1;
  std::map<std::string, U128Micro> expected;  // metric:num/den -> exact micro-tonnes.
  for (int round = 0; round < 6; ++round) {
    const Factor& f = factors[round % factors.size()];
    const uint64_t count = 500 + random() % 1500;
    const uint64_t first = next;
    const uint64_t last = next + count - 1;
    next = last + 1;
    Ok(IssueFactorBody("CHE-NR", "che-1", first, last, f, 2025, "A1"));
    // Random internal splits between che-1 and che-2 (no first transfer), then random pieces out.
    std::vector<bool> in_che2(count, false);
    for (int move = 0; move < 20; ++move) {
      uint64_t a = random() % count;
      uint64_t b = std::min<uint64_t>(count - 1, a + random() % 50);
      bool holder = in_che2[a];
      uint64_t end = a;
      while (end + 1 <= b && in_che2[end + 1] == holder) ++end;
      Ok(TransferBody(holder ? che2 : che1, holder ? che1 : che2,
                      {Range("CHE-NR", first + a, first + end)}));
      for (uint64_t i = a; i <= end; ++i) in_che2[i] = !holder;
    }
    uint64_t i = 0;
    while (i < count) {  // Everything leaves in random runs of one holder.
      bool holder = in_che2[i];
      uint64_t end = i;
      uint64_t limit = i + random() % 97;
      while (end + 1 < count && end + 1 <= limit && in_che2[end + 1] == holder) ++end;
      Ok(TransferBody(holder ? che2 : che1, gha1, {Range("CHE-NR", first + i, first + end)}));
      i = end + 1;
    }
    expected[f.metric + ":" + std::to_string(f.numerator) + "/" + std::to_string(f.denominator)] +=
        static_cast<U128Micro>(count) * f.numerator * (1'000'000 / f.denominator);
  }
  v1::Adjustment che = AdjustmentOf("CHE");
  U128Micro total = 0;
  for (const auto& e : che.entries()) {
    std::string key = e.metric() + ":" + std::to_string(e.conversion_numerator()) + "/" +
                      std::to_string(e.conversion_denominator());
    ASSERT_TRUE(expected.contains(key)) << key;
    EXPECT_EQ(e.tco2e_micro(), internal::U128ToDecimal(expected[key])) << key;
    total += expected[key];
  }
  EXPECT_EQ(che.entries_size(), static_cast<int>(expected.size()));
  EXPECT_EQ(che.added_tco2e_micro(), internal::U128ToDecimal(total));
  EXPECT_EQ(che.added_tco2e(), internal::RoundMicroToMilli(static_cast<internal::I128>(total)));
}

// 5. Quarantine holds against revocation, and clearing it stays possible.
TEST_F(DefectsTest, QuarantineHoldsAgainstRevocation) {
  Ok(AuthorizeBody("CHE", "A1", 1000));
  Ok(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1"));
  Ok(QuarantineBody({Range("CHE-NR", 10, 20)}, true));
  Observed before = h.Observe();
  auto out = h.RunOne(Revoke("A1", 1));
  EXPECT_EQ(out.code(), v1::REASON_UNITS_QUARANTINED) << out.message();
  EXPECT_TRUE(before == h.Observe());
  Ok(QuarantineBody({Range("CHE-NR", 10, 20)}, false));
  Ok(Revoke("A1", 1));
  EXPECT_EQ(h.BlockAt("CHE-NR", 15).state(), v1::UNIT_STATE_REVOKED);
  EXPECT_FALSE(h.BlockAt("CHE-NR", 15).quarantined());
}

TEST_F(DefectsTest, QuarantineHoldsAgainstEachOfTheNineActions) {
  Ok(IssueBody("CHE-NR", "che-1", 1, 100));  // ISSUED.
  Ok(AuthorizeBody("CHE", "A1", 1000));
  Ok(IssueBody("CHE-NR", "che-1", 201, 300, 2025, "A1"));     // AUTHORIZED.
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 201, 250)}));  // ACTIVE in gha-1.
  Ok(QuarantineBody({Range("CHE-NR", 1, 10), Range("CHE-NR", 201, 210), Range("CHE-NR", 251, 260)},
                    true));
  auto quarantined = [&] {
    for (uint64_t s : {5, 205, 255}) {
      if (!h.BlockAt("CHE-NR", s).quarantined()) return false;
    }
    return true;
  };
  const v1::UnitBlock issued = h.BlockAt("CHE-NR", 5);
  const v1::UnitBlock active = h.BlockAt("CHE-NR", 205);
  const v1::UnitBlock authorized = h.BlockAt("CHE-NR", 255);
  // 1, 2: RegisterApproach and OpenAccount touch no unit.
  v1::TransactionBody approach;
  approach.mutable_register_approach()->mutable_approach()->set_id("CA0009");
  approach.mutable_register_approach()->mutable_approach()->add_parties("CHE");
  Ok(approach);
  v1::TransactionBody open;
  *open.mutable_open_account()->mutable_account()->mutable_ref() = Ref("CHE-NR", "che-9");
  open.mutable_open_account()->mutable_account()->set_holder_party("CHE");
  Ok(open);
  // 3: Issue cannot reissue them.
  EXPECT_EQ(Code(IssueBody("CHE-NR", "che-1", 5, 5)), v1::REASON_SERIAL_OVERLAP);
  // 4: Authorize cannot attach them.
  auto attach = AuthorizeBody("CHE", "A2", 1000);
  *attach.mutable_authorize()->add_attach() = Range("CHE-NR", 1, 10);
  EXPECT_EQ(Code(attach), v1::REASON_UNITS_QUARANTINED);
  // 5: ChangeAuthorization can neither revoke nor first transfer them.
  EXPECT_EQ(Code(Revoke("A1", 1)), v1::REASON_UNITS_QUARANTINED);
  EXPECT_EQ(Code(ToOimp("A1", 1, v1::FIRST_TRANSFER_AUTHORIZATION)), v1::REASON_UNITS_QUARANTINED);
  // 6, 7, 8: Transfer, Use (NDC and OIMP), Cancel.
  EXPECT_EQ(Code(TransferBody(che1, gha1, {Range("CHE-NR", 255, 255)})),
            v1::REASON_UNITS_QUARANTINED);
  EXPECT_EQ(Code(TransferBody(gha1, Ref("GHA-NR", "gha-2"), {Range("CHE-NR", 205, 205)})),
            v1::REASON_UNITS_QUARANTINED);
  EXPECT_EQ(Code(UseNdcBody("GHA", gha1, {Range("CHE-NR", 205, 205)})),
            v1::REASON_UNITS_QUARANTINED);
  EXPECT_EQ(Code(UseOimpBody(gha1, {Range("CHE-NR", 205, 205)})), v1::REASON_UNITS_QUARANTINED);
  EXPECT_EQ(Code(CancelBody(che1, {Range("CHE-NR", 1, 1)})), v1::REASON_UNITS_QUARANTINED);
  EXPECT_EQ(Code(CancelBody(gha1, {Range("CHE-NR", 205, 205)})), v1::REASON_UNITS_QUARANTINED);
  // 9: SetQuarantine: only the clearing correction.
  EXPECT_EQ(Code(QuarantineBody({Range("CHE-NR", 5, 5)}, true)), v1::REASON_UNITS_QUARANTINED);
  EXPECT_TRUE(quarantined());
  EXPECT_EQ(h.BlockAt("CHE-NR", 5).SerializeAsString(), issued.SerializeAsString());
  EXPECT_EQ(h.BlockAt("CHE-NR", 205).SerializeAsString(), active.SerializeAsString());
  EXPECT_EQ(h.BlockAt("CHE-NR", 255).SerializeAsString(), authorized.SerializeAsString());
  Ok(QuarantineBody({Range("CHE-NR", 1, 10), Range("CHE-NR", 201, 210), Range("CHE-NR", 251, 260)},
                    false));
  Ok(Revoke("A1", 1));
}

// 6. Totals past 2^64 are exact, never wrapped, saturated or clamped.
TEST_F(DefectsTest, TotalsPast2To64AreExact) {
  Ok(AuthorizeBody("CHE", "A1", kMax));
  Ok(AuthorizeBody("CHE", "A2", kMax));
  Ok(IssueBody("CHE-NR", "che-1", 1, kMax, 2025, "A1"));
  Ok(IssueFactorBody("UN-IR", "che-ir", 1, kMax, kTonnes, 2025, "A2", "CHE"));
  Ok(TransferBody(che1, che_ir, {Range("CHE-NR", 1, kMax)}));  // CHE to CHE: no first transfer.
  ASSERT_OK_AND_ASSIGN(auto holdings, h.ledger().GetHoldings(che_ir));
  EXPECT_EQ(holdings.held_units(), "36893488147419103230");  // 2 * (2^64 - 1).
  ASSERT_EQ(holdings.totals_size(), 1);
  EXPECT_EQ(holdings.totals(0).units(), "36893488147419103230");
  Ok(TransferBody(che_ir, gha_ir, {Range("CHE-NR", 1, kMax), Range("UN-IR", 1, kMax)}));
  v1::Adjustment che = AdjustmentOf("CHE");
  ASSERT_EQ(che.entries_size(), 1);
  EXPECT_EQ(che.entries(0).units(), "36893488147419103230");
  EXPECT_EQ(che.added_tco2e(), "36893488147419103230.000");
  EXPECT_EQ(che.net_tco2e(), "36893488147419103230.000");
  Ok(UseNdcBody("GHA", gha_ir, {Range("CHE-NR", 1, kMax), Range("UN-IR", 1, kMax)}));
  v1::Adjustment gha = AdjustmentOf("GHA");
  EXPECT_EQ(gha.net_tco2e(), "-36893488147419103230.000");
  ASSERT_OK_AND_ASSIGN(holdings, h.ledger().GetHoldings(gha_ir));
  EXPECT_EQ(holdings.held_units(), "0");
  EXPECT_EQ(holdings.retired_units(), "36893488147419103230");
}

TEST_F(DefectsTest, LargeFactorOnTheWholeSerialSpaceIsExact) {
  Ok(AuthorizeBody("CHE", "A1", kMax));
  Ok(IssueFactorBody("CHE-NR", "che-1", 1, kMax, {"tSF6", 1'000'000, 1}, 2025, "A1"));
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, kMax)}));
  // (2^64 - 1) * 10^6 t, over 2^64 in tonnes and over 2^84 in micro-tonnes.
  EXPECT_EQ(AdjustmentOf("CHE").added_tco2e(), "18446744073709551615000000.000");
}

// 7. Revocation works at any fragmentation.
TEST_F(DefectsTest, RevocationWorksAtAnyFragmentation) {
  constexpr uint64_t kUnits = 140'000;
  Ok(AuthorizeBody("CHE", "A1", kUnits));
  Ok(IssueBody("CHE-NR", "che-1", 1, kUnits, 2025, "A1"));
  for (uint64_t s = 1; s <= kUnits; s += 2 * 256) {  // Every other unit to che-2.
    v1::TransactionBody body = TransferBody(che1, che2, {});
    for (uint64_t u = s; u < s + 2 * 256 && u <= kUnits; u += 2) {
      *body.mutable_transfer()->add_ranges() = Range("CHE-NR", u, u);
    }
    auto out = h.Run({h.Sign(body)}, /*signatures_verified=*/true)[0];
    ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  }
  ASSERT_GT(h.Blocks(che1).size() + h.Blocks(che2).size(), size_t{1} << 17);
  Ok(Revoke("A1", 1));
  EXPECT_EQ(h.BlockAt("CHE-NR", 1).state(), v1::UNIT_STATE_REVOKED);
  EXPECT_EQ(h.BlockAt("CHE-NR", kUnits).state(), v1::UNIT_STATE_REVOKED);
  EXPECT_EQ(Code(TransferBody(che1, gha1, {Range("CHE-NR", 2, 2)})), v1::REASON_UNITS_TERMINAL);
  ASSERT_OK_AND_ASSIGN(auto holdings, h.ledger().GetHoldings(che2));
  ASSERT_EQ(holdings.totals_size(), 1);
  EXPECT_EQ(holdings.totals(0).state(), v1::UNIT_STATE_REVOKED);
  EXPECT_EQ(holdings.held_units(), "70000");  // REVOKED units stay in the account (DOMAIN.md).
  h.Reopen();
  EXPECT_EQ(h.BlockAt("CHE-NR", 3).state(), v1::UNIT_STATE_REVOKED);
}

TEST_F(DefectsTest, GenesisRejectsAnAccountOfAnotherPartyInANationalRegistry) {
  v1::Genesis genesis = MakeGenesis();
  v1::Account* a = genesis.add_accounts();
  *a->mutable_ref() = Ref("CHE-NR", "gha-in-che");
  a->set_holder_party("GHA");
  itmo::testing::TempDir dir;
  storage::StoreOptions options;
  options.column_families = StateMachine::ColumnFamilies();
  options.in_memory = true;
  ASSERT_OK_AND_ASSIGN(auto store, storage::Store::Open(dir.File("db"), options));
  crypto::Ed25519Verifier verifier;
  EXPECT_THAT(StateMachine::Open(store.get(), genesis, &verifier),
              itmo::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(DefectsTest, HoldingsSeparateHeldFromRetired) {
  Ok(AuthorizeBody("CHE", "A1", 1000));
  Ok(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1"));
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 60)}));
  Ok(UseNdcBody("GHA", gha1, {Range("CHE-NR", 1, 20)}));
  Ok(CancelBody(gha1, {Range("CHE-NR", 21, 30)}, v1::CANCELLATION_OMGE));
  ASSERT_OK_AND_ASSIGN(auto holdings, h.ledger().GetHoldings(gha1));
  EXPECT_EQ(holdings.held_units(), "30");
  EXPECT_EQ(holdings.retired_units(), "30");
}

}  // namespace
}  // namespace itmo::ledger::testing
