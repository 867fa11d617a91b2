// File: node/internal/peer_backoff.h
// Exponential reconnect backoff with deterministic jitter. Each delay is drawn from
// [3/4 * current, current] with a PRNG seeded by the caller (never std::random_device), then
// current doubles up to max_ms. Reset() after a successful connection. Not thread-safe: one per
// dialer thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>

#include "base/check.h"

namespace itmo::node::internal {

class PeerBackoff final {
 public:
  // REQUIRES: 1 <= min_ms <= max_ms.
  PeerBackoff(uint32_t min_ms, uint32_t max_ms, uint64_t seed)
      : min_ms_(min_ms), max_ms_(max_ms), current_ms_(min_ms), rng_(seed) {
    ITMO_CHECK(min_ms >= 1);
    ITMO_CHECK(min_ms <= max_ms);
  }

  // Returns the next delay in milliseconds and doubles the base delay (capped at max_ms).
  uint32_t NextDelayMs() {
    ITMO_CHECK(current_ms_ >= min_ms_);
    ITMO_CHECK(current_ms_ <= max_ms_);
    const uint64_t jitter_range = current_ms_ / 4;
    const uint64_t jitter = jitter_range == 0 ? 0 : rng_() % (jitter_range + 1);
    const uint32_t delay = static_cast<uint32_t>(current_ms_ - jitter);
    current_ms_ = static_cast<uint32_t>(
        std::min<uint64_t>(static_cast<uint64_t>(current_ms_) * 2, static_cast<uint64_t>(max_ms_)));
    return delay;
  }

  void Reset() { current_ms_ = min_ms_; }
  uint32_t current_ms() const { return current_ms_; }

 private:
  const uint32_t min_ms_;
  const uint32_t max_ms_;
  uint32_t current_ms_;
  std::mt19937_64 rng_;
};

}  // namespace itmo::node::internal
