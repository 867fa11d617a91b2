// File: tests/sim/twins.h
// A Twins-style enumerated suite (Bano et al., "Twins: BFT Systems Made Robust", 2022): n = 4
// validators, one of which runs twice with one key (the byzantine twin pair: it equivocates as a
// leader and double-votes whenever the two instances see different blocks), and a partition of the
// five instances per round for the first R rounds (R in 6..8). A message of round r only crosses
// within a side of round r's partition; after round R everything heals and the honest replicas must
// commit. Leaders follow the protocol's round robin (validators[(round + epoch) mod n]), so the
// scenario's leader dimension is the choice of the twinned validator (which rounds the twins lead)
// and which side each twin and each leader sits on in every round.
//
// The full space is twinned validator (4) x R (3) x partitions (16 two-way splits of 5 instances,
// including "no split") per round; a scenario is named by its index in that space, and the suite
// runs a fixed-seed sample of indices.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/sim/simulation.h"

namespace itmo::sim {

inline constexpr uint32_t kTwinsValidators = 4;
inline constexpr uint32_t kTwinsInstances = kTwinsValidators + 1;
inline constexpr uint32_t kTwinsPartitions = 16;  // 2^(instances - 1): instance 4 fixes side 0.
inline constexpr uint32_t kTwinsRoundsMin = 6;
inline constexpr uint32_t kTwinsRoundsMax = 8;

struct TwinsScenario {
  uint64_t index = 0;
  uint32_t twin_validator = 0;
  std::vector<uint8_t> partitions;  // Per round: 0..kTwinsPartitions - 1.

  std::string Describe() const;
};

// Number of scenarios in the full space.
uint64_t TwinsSpaceSize();
// Decodes index (< TwinsSpaceSize()) into its scenario.
TwinsScenario TwinsScenarioAt(uint64_t index);
// `count` distinct-by-construction sample indices drawn from `seed` (deterministic).
std::vector<uint64_t> SampleTwinsIndices(uint64_t seed, uint64_t count);
// Runs one scenario with base's mutation and trace (the network seed is the scenario index).
SimResult RunTwinsScenario(const TwinsScenario& scenario, const SimOptions& base);

}  // namespace itmo::sim
