// File: consensus/pacemaker.h
// The round timer, in ticks. Entering round r starts a timer of base * 2^k ticks (capped at max),
// where k = r - (high_qc_round + 1) is the number of rounds since the last QC: every round that
// ends by a TC doubles the next timer, a QC resets it. When the timer expires the replica signs and
// broadcasts a timeout, and the timer restarts with the same length so the timeout is re-broadcast.
// Not thread-safe: owned by one Replica.
//
// Example:
//   Pacemaker pacemaker(10, 640);
//   pacemaker.AdvanceTo(qc.round() + 1, qc.round());
//   if (pacemaker.OnTick()) { /* sign and broadcast a timeout for pacemaker.round() */ }
#pragma once

#include <cstdint>

namespace itmo::consensus {

class Pacemaker final {
 public:
  // REQUIRES: kRoundTimeoutTicksMin <= base_ticks <= max_ticks <= kRoundTimeoutTicksMax.
  Pacemaker(uint32_t base_ticks, uint32_t max_ticks);

  // Enters `round` if it is above the current one; returns whether it did. REQUIRES:
  // high_qc_round < round when it advances.
  bool AdvanceTo(uint64_t round, uint64_t high_qc_round);
  // Counts one tick; returns true when the current round's timer expires (then restarts it).
  bool OnTick();

  uint64_t round() const { return round_; }
  uint32_t duration_ticks() const { return duration_ticks_; }
  uint32_t elapsed_ticks() const { return elapsed_ticks_; }

  // The timer length for `round` given the high QC round.
  static uint32_t DurationTicks(uint32_t base_ticks, uint32_t max_ticks, uint64_t round,
                                uint64_t high_qc_round);

 private:
  const uint32_t base_ticks_;
  const uint32_t max_ticks_;
  uint64_t round_ = 0;
  uint32_t duration_ticks_ = 0;
  uint32_t elapsed_ticks_ = 0;
};

}  // namespace itmo::consensus
