// Tests for node/internal/peer_backoff.h: bounds, doubling, cap, reset and seeded determinism.
#include "node/internal/peer_backoff.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace itmo::node::internal {
namespace {

TEST(PeerBackoffTest, DoublesWithinJitterBoundsUpToMax) {
  PeerBackoff backoff(50, 5000, 7);
  uint32_t base = 50;
  for (int i = 0; i < 20; ++i) {
    const uint32_t delay = backoff.NextDelayMs();
    EXPECT_LE(delay, base) << "attempt " << i;
    EXPECT_GE(delay, base - base / 4) << "attempt " << i;
    base = base * 2 > 5000 ? 5000 : base * 2;
  }
  EXPECT_EQ(backoff.current_ms(), 5000u);
}

TEST(PeerBackoffTest, ResetReturnsToMin) {
  PeerBackoff backoff(50, 5000, 1);
  for (int i = 0; i < 5; ++i) backoff.NextDelayMs();
  EXPECT_EQ(backoff.current_ms(), 1600u);
  backoff.Reset();
  EXPECT_EQ(backoff.current_ms(), 50u);
  EXPECT_LE(backoff.NextDelayMs(), 50u);
}

TEST(PeerBackoffTest, SameSeedSameDelaysDifferentSeedDiffers) {
  auto run = [](uint64_t seed) {
    PeerBackoff backoff(1000, 1000, seed);
    std::vector<uint32_t> delays;
    for (int i = 0; i < 32; ++i) delays.push_back(backoff.NextDelayMs());
    return delays;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

TEST(PeerBackoffTest, TinyRangeHasNoJitter) {
  PeerBackoff backoff(1, 2, 3);
  EXPECT_EQ(backoff.NextDelayMs(), 1u);
  EXPECT_EQ(backoff.NextDelayMs(), 2u);
  EXPECT_EQ(backoff.NextDelayMs(), 2u);
}

}  // namespace
}  // namespace itmo::node::internal
