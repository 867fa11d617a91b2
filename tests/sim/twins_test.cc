// The Twins-style suite: 10,000 scenarios sampled (fixed seed) from the enumerated space of n = 4
// with one twin pair and a partition per round over 6-8 rounds, in 10 shards of 1,000.
#include "tests/sim/twins.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/sim/isolated.h"

namespace itmo::sim {
namespace {

constexpr uint64_t kSampleSeed = 20'261'126;
constexpr uint64_t kShards = 10;
constexpr uint64_t kScenariosPerShard = 1'000;

TEST(TwinsTest, EnumerationIsDeterministicAndCoversTheSpace) {
  EXPECT_EQ(TwinsSpaceSize(), 4ull * ((1ull << 24) + (1ull << 28) + (1ull << 32)));
  const std::vector<uint64_t> a = SampleTwinsIndices(kSampleSeed, 300);
  EXPECT_EQ(a, SampleTwinsIndices(kSampleSeed, 300));
  uint32_t by_rounds[9] = {};
  uint32_t by_twin[4] = {};
  for (uint64_t index : a) {
    const TwinsScenario scenario = TwinsScenarioAt(index);
    ASSERT_GE(scenario.partitions.size(), kTwinsRoundsMin);
    ASSERT_LE(scenario.partitions.size(), kTwinsRoundsMax);
    ++by_rounds[scenario.partitions.size()];
    ++by_twin[scenario.twin_validator];
  }
  EXPECT_EQ(by_rounds[6], 100u);
  EXPECT_EQ(by_rounds[7], 100u);
  EXPECT_EQ(by_rounds[8], 100u);
  for (uint32_t count : by_twin) EXPECT_GT(count, 40u);
  const TwinsScenario first = TwinsScenarioAt(0);
  EXPECT_EQ(first.twin_validator, 0u);
  EXPECT_EQ(first.partitions, std::vector<uint8_t>(6, 0));
}

class TwinsShardTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(TwinsShardTest, AllScenariosSafeAndLive) {
  const std::vector<uint64_t> indices =
      SampleTwinsIndices(kSampleSeed, kShards * kScenariosPerShard);
  std::vector<std::string> failures;
  uint64_t committed = 0;
  for (uint64_t i = GetParam() * kScenariosPerShard; i < (GetParam() + 1) * kScenariosPerShard;
       ++i) {
    const TwinsScenario scenario = TwinsScenarioAt(indices[i]);
    // Forked: a CHECK failure inside the core fails this scenario, not the whole shard.
    const IsolatedResult result =
        RunIsolated([&]() { return RunTwinsScenario(scenario, SimOptions{}); });
    committed += result.height;
    if (!result.ok) failures.push_back(scenario.Describe() + ": " + result.reason);
  }
  EXPECT_GT(committed, kScenariosPerShard);
  EXPECT_TRUE(failures.empty()) << failures.size()
                                << " failing scenarios, first: " << failures.front();
}

INSTANTIATE_TEST_SUITE_P(Shards, TwinsShardTest, ::testing::Range<uint64_t>(0, kShards));

}  // namespace
}  // namespace itmo::sim
