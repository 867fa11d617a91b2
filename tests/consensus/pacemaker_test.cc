#include "consensus/pacemaker.h"

#include "gtest/gtest.h"

namespace itmo::consensus {
namespace {

TEST(PacemakerTest, TimesOutAfterBaseTicksAndRepeats) {
  Pacemaker pacemaker(5, 80);
  ASSERT_TRUE(pacemaker.AdvanceTo(1, 0));
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(pacemaker.OnTick()) << i;
  EXPECT_TRUE(pacemaker.OnTick());
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(pacemaker.OnTick()) << i;
  EXPECT_TRUE(pacemaker.OnTick()) << "the timer restarts to re-broadcast the timeout";
}

TEST(PacemakerTest, BackoffDoublesPerRoundWithoutQcUpToTheCap) {
  EXPECT_EQ(Pacemaker::DurationTicks(5, 80, 1, 0), 5u);
  EXPECT_EQ(Pacemaker::DurationTicks(5, 80, 2, 0), 10u);
  EXPECT_EQ(Pacemaker::DurationTicks(5, 80, 3, 0), 20u);
  EXPECT_EQ(Pacemaker::DurationTicks(5, 80, 4, 0), 40u);
  EXPECT_EQ(Pacemaker::DurationTicks(5, 80, 5, 0), 80u);
  EXPECT_EQ(Pacemaker::DurationTicks(5, 80, 6, 0), 80u);
  EXPECT_EQ(Pacemaker::DurationTicks(5, 80, 1'000'000, 0), 80u);
  EXPECT_EQ(Pacemaker::DurationTicks(5, 80, 10, 9), 5u) << "a QC resets the backoff";
}

TEST(PacemakerTest, AdvancesOnlyForwardAndResetsTheTimer) {
  Pacemaker pacemaker(4, 64);
  ASSERT_TRUE(pacemaker.AdvanceTo(1, 0));
  EXPECT_FALSE(pacemaker.OnTick());
  EXPECT_FALSE(pacemaker.OnTick());
  EXPECT_TRUE(pacemaker.AdvanceTo(3, 1));  // Round 2 ended in a TC.
  EXPECT_EQ(pacemaker.round(), 3u);
  EXPECT_EQ(pacemaker.elapsed_ticks(), 0u);
  EXPECT_EQ(pacemaker.duration_ticks(), 8u);
  EXPECT_FALSE(pacemaker.AdvanceTo(3, 2));
  EXPECT_FALSE(pacemaker.AdvanceTo(2, 1));
  EXPECT_EQ(pacemaker.round(), 3u);
  for (int i = 0; i < 7; ++i) EXPECT_FALSE(pacemaker.OnTick());
  EXPECT_TRUE(pacemaker.OnTick());
}

}  // namespace
}  // namespace itmo::consensus
