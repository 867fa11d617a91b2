// File: tests/sim/prng.h
// The simulator's only source of randomness: xoshiro256** seeded through splitmix64 from one 64-bit
// seed. Everything random in a simulation run (fault mix, delays, drops, payloads, byzantine
// choices) is drawn from one Prng in a fixed order, so one seed replays one run exactly. Not
// thread-safe: one Prng per simulation, owned by its single thread.
#pragma once

#include <cstdint>

#include "base/check.h"

namespace itmo::sim {

// splitmix64: seeds xoshiro and derives sub-seeds (e.g. per-replica secrets).
inline uint64_t SplitMix64(uint64_t& state) {
  state += 0x9E3779B97F4A7C15ULL;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class Prng final {
 public:
  explicit Prng(uint64_t seed) {
    uint64_t sm = seed;
    for (uint64_t& word : s_) word = SplitMix64(sm);
  }

  // xoshiro256** (Blackman and Vigna, 2018).
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, bound). Lemire's multiply-shift with rejection: no modulo bias.
  // REQUIRES: bound > 0.
  uint64_t Below(uint64_t bound) {
    ITMO_CHECK(bound > 0);
    const uint64_t threshold = (0 - bound) % bound;
    for (;;) {
      const unsigned __int128 m = static_cast<unsigned __int128>(Next()) * bound;
      if (static_cast<uint64_t>(m) >= threshold) return static_cast<uint64_t>(m >> 64);
    }
  }

  // Uniform in [low, high]. REQUIRES: low <= high.
  uint64_t Range(uint64_t low, uint64_t high) {
    ITMO_CHECK(low <= high);
    if (high - low == UINT64_MAX) return Next();
    return low + Below(high - low + 1);
  }

  // True with probability percent/100 (integer percent, no floating point).
  bool Percent(uint64_t percent) {
    ITMO_CHECK(percent <= 100);
    return Below(100) < percent;
  }

  // True with probability per_mille/1000.
  bool PerMille(uint64_t per_mille) {
    ITMO_CHECK(per_mille <= 1000);
    return Below(1000) < per_mille;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace itmo::sim
