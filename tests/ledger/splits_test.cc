// Splitting unit blocks (R2, R3): exact pieces, identical attributes, the top of the 64-bit range.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "ledger/state_machine.h"
#include "tests/ledger/ledger_fixture.h"
#include "tests/testing/status_matchers.h"

namespace itmo::ledger::testing {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// The attributes a split must copy: everything but range, holder and state-dependent fields.
std::string Attributes(v1::UnitBlock b) {
  b.clear_first();
  b.clear_last();
  b.clear_holder();
  return b.SerializeAsString();
}

uint64_t TotalUnits(const std::vector<v1::UnitBlock>& blocks) {
  uint64_t total = 0;
  for (const auto& b : blocks) total += b.last() - b.first() + 1;
  return total;
}

class SplitsTest : public ::testing::Test {
 protected:
  void Ok(v1::TransactionBody body) {
    auto out = h.RunOne(std::move(body));
    ASSERT_EQ(out.code(), v1::REASON_OK) << out.message();
  }
  LedgerHarness h;
  v1::AccountRef che1 = Ref("CHE-NR", "che-1");
  v1::AccountRef che2 = Ref("CHE-NR", "che-2");
  v1::AccountRef gha1 = Ref("GHA-NR", "gha-1");
};

TEST_F(SplitsTest, MiddleOfABlockLeavesThreeIdenticalBlocks) {
  Ok(AuthorizeBody("CHE", "A1", 100000));
  Ok(IssueBody("CHE-NR", "che-1", 1, 3000, 2025, "A1"));
  v1::UnitBlock original = h.BlockAt("CHE-NR", 1);
  Ok(TransferBody(che1, che2, {Range("CHE-NR", 1000, 1999)}));
  auto left_and_right = h.Blocks(che1);
  auto middle = h.Blocks(che2);
  ASSERT_EQ(left_and_right.size(), 2u);
  ASSERT_EQ(middle.size(), 1u);
  EXPECT_EQ(left_and_right[0].first(), 1u);
  EXPECT_EQ(left_and_right[0].last(), 999u);
  EXPECT_EQ(middle[0].first(), 1000u);
  EXPECT_EQ(middle[0].last(), 1999u);
  EXPECT_EQ(left_and_right[1].first(), 2000u);
  EXPECT_EQ(left_and_right[1].last(), 3000u);
  for (const auto& b : {left_and_right[0], middle[0], left_and_right[1]}) {
    EXPECT_EQ(Attributes(b), Attributes(original));
    EXPECT_EQ(b.state(), v1::UNIT_STATE_AUTHORIZED);  // Domestic: not a first transfer.
  }
  EXPECT_EQ(TotalUnits(left_and_right) + TotalUnits(middle), 3000u);
}

TEST_F(SplitsTest, RangeOfLengthOne) {
  Ok(AuthorizeBody("CHE", "A1", 100000));
  Ok(IssueBody("CHE-NR", "che-1", 1, 10, 2025, "A1"));
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 5, 5)}));
  auto mine = h.Blocks(che1);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].last(), 4u);
  EXPECT_EQ(mine[1].first(), 6u);
  auto theirs = h.Blocks(gha1);
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_EQ(theirs[0].first(), 5u);
  EXPECT_EQ(theirs[0].last(), 5u);
  ASSERT_OK_AND_ASSIGN(auto a, h.ledger().GetAuthorization("A1"));
  EXPECT_EQ(a->first_transferred(), 1u);
  // First and last unit of a block.
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 1, 1), Range("CHE-NR", 10, 10)}));
  EXPECT_EQ(TotalUnits(h.Blocks(che1)), 7u);
  EXPECT_EQ(TotalUnits(h.Blocks(gha1)), 3u);
}

TEST_F(SplitsTest, FirstGreaterThanLastIsRejected) {
  Ok(IssueBody("CHE-NR", "che-1", 1, 10));
  Observed before = h.Observe();
  auto out = h.RunOne(CancelBody(che1, {Range("CHE-NR", 6, 5)}));
  EXPECT_EQ(out.code(), v1::REASON_INVALID_RANGE);
  EXPECT_TRUE(before == h.Observe());
}

TEST_F(SplitsTest, TopOfTheSerialSpace) {
  Ok(AuthorizeBody("CHE", "A1", 100000));
  Ok(IssueBody("CHE-NR", "che-1", kMax - 9, kMax, 2025, "A1"));
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", kMax, kMax)}));
  v1::UnitBlock top = h.BlockAt("CHE-NR", kMax);
  EXPECT_EQ(top.first(), kMax);
  EXPECT_EQ(top.last(), kMax);
  EXPECT_EQ(top.holder().account_id(), "gha-1");
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", kMax - 9, kMax - 9)}));
  Ok(TransferBody(che1, che2, {Range("CHE-NR", kMax - 5, kMax - 1)}));
  EXPECT_EQ(TotalUnits(h.Blocks(che1)), 3u);
  EXPECT_EQ(TotalUnits(h.Blocks(che2)), 5u);
  EXPECT_EQ(TotalUnits(h.Blocks(gha1)), 2u);
  // A range that runs past the last issued serial below the top: not found, nothing changed.
  Ok(IssueBody("GHA-NR", "gha-2", kMax - 100, kMax - 2));
  Observed before = h.Observe();
  auto out = h.RunOne(CancelBody(Ref("GHA-NR", "gha-2"), {Range("GHA-NR", kMax - 3, kMax)}));
  EXPECT_EQ(out.code(), v1::REASON_UNITS_NOT_FOUND);
  EXPECT_TRUE(before == h.Observe());
  // Overlap check at the very top (R1).
  out = h.RunOne(IssueBody("CHE-NR", "che-1", kMax, kMax, 2025));
  EXPECT_EQ(out.code(), v1::REASON_SERIAL_OVERLAP);
  out = h.RunOne(IssueBody("GHA-NR", "gha-2", kMax - 2, kMax, 2025));
  EXPECT_EQ(out.code(), v1::REASON_SERIAL_OVERLAP);
  out = h.RunOne(IssueBody("GHA-NR", "gha-2", kMax - 1, kMax, 2025));
  EXPECT_EQ(out.code(), v1::REASON_OK);
  out = h.RunOne(IssueBody("GHA-NR", "gha-2", kMax, kMax, 2025));
  EXPECT_EQ(out.code(), v1::REASON_SERIAL_OVERLAP);
  EXPECT_EQ(TotalUnits(h.Blocks(Ref("GHA-NR", "gha-2"))), 101u);
}

TEST_F(SplitsTest, RangeStraddlingTwoVintagesIsHandledPerBlock) {
  Ok(AuthorizeBody("CHE", "A1", 100000));
  Ok(IssueBody("CHE-NR", "che-1", 1, 100, 2024, "A1"));
  Ok(IssueBody("CHE-NR", "che-1", 101, 200, 2025, "A1"));
  Ok(TransferBody(che1, gha1, {Range("CHE-NR", 51, 150)}));
  auto theirs = h.Blocks(gha1);
  ASSERT_EQ(theirs.size(), 2u);
  EXPECT_EQ(theirs[0].first(), 51u);
  EXPECT_EQ(theirs[0].last(), 100u);
  EXPECT_EQ(theirs[0].vintage(), 2024u);
  EXPECT_EQ(theirs[1].first(), 101u);
  EXPECT_EQ(theirs[1].last(), 150u);
  EXPECT_EQ(theirs[1].vintage(), 2025u);
  auto mine = h.Blocks(che1);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].last(), 50u);
  EXPECT_EQ(mine[1].first(), 151u);
  ASSERT_OK_AND_ASSIGN(auto holdings, h.ledger().GetHoldings(gha1));
  ASSERT_EQ(holdings.totals_size(), 2);
  EXPECT_EQ(holdings.totals(0).vintage(), 2024u);
  EXPECT_EQ(holdings.totals(0).units(), "50");
}

TEST_F(SplitsTest, StraddleWithOneFailingBlockRejectsTheWholeTransaction) {
  Ok(AuthorizeBody("CHE", "A1", 100000));
  Ok(IssueBody("CHE-NR", "che-1", 1, 100, 2024, "A1"));
  Ok(IssueBody("CHE-NR", "che-1", 101, 200, 2025));  // Not authorized.
  Observed before = h.Observe();
  auto out = h.RunOne(TransferBody(che1, gha1, {Range("CHE-NR", 51, 150)}));
  EXPECT_EQ(out.code(), v1::REASON_NO_AUTHORIZATION);
  EXPECT_TRUE(before == h.Observe());
  ASSERT_OK_AND_ASSIGN(auto a, h.ledger().GetAuthorization("A1"));
  EXPECT_EQ(a->first_transferred(), 0u);
}

TEST_F(SplitsTest, SeveralRangesInOneBlockAndOverlaps) {
  Ok(AuthorizeBody("CHE", "A1", 100000));
  Ok(IssueBody("CHE-NR", "che-1", 1, 100, 2025, "A1"));
  Ok(TransferBody(che1, che2, {Range("CHE-NR", 30, 40), Range("CHE-NR", 10, 20)}));
  auto mine = h.Blocks(che1);
  ASSERT_EQ(mine.size(), 3u);
  EXPECT_EQ(mine[0].last(), 9u);
  EXPECT_EQ(mine[1].first(), 21u);
  EXPECT_EQ(mine[1].last(), 29u);
  EXPECT_EQ(mine[2].first(), 41u);
  EXPECT_EQ(TotalUnits(h.Blocks(che2)), 22u);
  Observed before = h.Observe();
  auto out = h.RunOne(TransferBody(che1, che2, {Range("CHE-NR", 50, 60), Range("CHE-NR", 55, 56)}));
  EXPECT_EQ(out.code(), v1::REASON_OVERLAPPING_RANGES);
  out = h.RunOne(TransferBody(che1, che2, {Range("CHE-NR", 50, 60), Range("CHE-NR", 50, 60)}));
  EXPECT_EQ(out.code(), v1::REASON_OVERLAPPING_RANGES);
  EXPECT_TRUE(before == h.Observe());
}

}  // namespace
}  // namespace itmo::ledger::testing
