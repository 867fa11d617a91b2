#include "tests/sim/twins.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/check.h"
#include "tests/sim/prng.h"

namespace itmo::sim {
namespace {

constexpr uint64_t kRoundChoices = kTwinsRoundsMax - kTwinsRoundsMin + 1;

uint64_t PartitionSpace(uint32_t rounds) {
  uint64_t space = 1;
  for (uint32_t r = 0; r < rounds; ++r) space *= kTwinsPartitions;
  return space;
}

}  // namespace

std::string TwinsScenario::Describe() const {
  return absl::StrCat("twins scenario ", index, ": twin of v", twin_validator, ", ",
                      partitions.size(), " rounds, partitions [", absl::StrJoin(partitions, ","),
                      "]");
}

uint64_t TwinsSpaceSize() {
  uint64_t size = 0;
  for (uint32_t rounds = kTwinsRoundsMin; rounds <= kTwinsRoundsMax; ++rounds) {
    size += kTwinsValidators * PartitionSpace(rounds);
  }
  return size;
}

TwinsScenario TwinsScenarioAt(uint64_t index) {
  ITMO_CHECK(index < TwinsSpaceSize());
  TwinsScenario scenario;
  scenario.index = index;
  uint32_t rounds = kTwinsRoundsMin;
  uint64_t rest = index;
  while (rest >= kTwinsValidators * PartitionSpace(rounds)) {
    rest -= kTwinsValidators * PartitionSpace(rounds);
    ++rounds;
  }
  ITMO_CHECK(rounds <= kTwinsRoundsMax);
  scenario.twin_validator = static_cast<uint32_t>(rest % kTwinsValidators);
  rest /= kTwinsValidators;
  for (uint32_t r = 0; r < rounds; ++r) {
    scenario.partitions.push_back(static_cast<uint8_t>(rest % kTwinsPartitions));
    rest /= kTwinsPartitions;
  }
  return scenario;
}

std::vector<uint64_t> SampleTwinsIndices(uint64_t seed, uint64_t count) {
  Prng prng(seed);
  std::vector<uint64_t> indices;
  indices.reserve(count);
  // Stratified over R so that every round count is covered evenly, not in proportion to its
  // (exponentially larger) share of the space.
  for (uint64_t i = 0; i < count; ++i) {
    const uint32_t rounds = kTwinsRoundsMin + static_cast<uint32_t>(i % kRoundChoices);
    uint64_t base = 0;
    for (uint32_t r = kTwinsRoundsMin; r < rounds; ++r)
      base += kTwinsValidators * PartitionSpace(r);
    indices.push_back(base + prng.Below(kTwinsValidators * PartitionSpace(rounds)));
  }
  ITMO_CHECK(indices.size() == count);
  return indices;
}

SimResult RunTwinsScenario(const TwinsScenario& scenario, const SimOptions& base) {
  ITMO_CHECK(scenario.twin_validator < kTwinsValidators);
  ITMO_CHECK(scenario.partitions.size() >= kTwinsRoundsMin);
  FaultPlan plan;
  plan.validators = kTwinsValidators;
  plan.twins = true;
  plan.twin_validator = scenario.twin_validator;
  plan.tick_ms = 4;
  plan.network.delay_ticks_min = 1;  // Milliseconds, despite the name.
  plan.network.delay_ticks_max = 3;
  plan.timeout_ticks_base = 3;
  plan.timeout_ticks_max = 12;
  // A round whose partition leaves no quorum on any side cannot end; the scenario then heals.
  plan.fault_ms = uint64_t{plan.timeout_ticks_max} * plan.tick_ms * scenario.partitions.size() * 2;
  for (uint8_t partition : scenario.partitions) {
    ITMO_CHECK(partition < kTwinsPartitions);
    std::vector<uint8_t> sides(kTwinsInstances, 0);
    for (uint32_t e = 0; e + 1 < kTwinsInstances; ++e) sides[e] = (partition >> e) & 1;
    plan.round_partitions.push_back(std::move(sides));
  }
  SimOptions options = base;
  options.seed = scenario.index;
  return RunSimulationWithPlan(options, plan);
}

}  // namespace itmo::sim
