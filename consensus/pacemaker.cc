#include "consensus/pacemaker.h"

#include <algorithm>

#include "base/check.h"
#include "consensus/limits.h"

namespace itmo::consensus {

Pacemaker::Pacemaker(uint32_t base_ticks, uint32_t max_ticks)
    : base_ticks_(base_ticks), max_ticks_(max_ticks) {
  ITMO_CHECK(base_ticks_ >= kRoundTimeoutTicksMin);
  ITMO_CHECK(base_ticks_ <= max_ticks_);
  ITMO_CHECK(max_ticks_ <= kRoundTimeoutTicksMax);
  duration_ticks_ = base_ticks_;
}

uint32_t Pacemaker::DurationTicks(uint32_t base_ticks, uint32_t max_ticks, uint64_t round,
                                  uint64_t high_qc_round) {
  ITMO_CHECK(base_ticks <= max_ticks);
  ITMO_CHECK(high_qc_round < round);
  const uint64_t exponent =
      std::min<uint64_t>(round - high_qc_round - 1, static_cast<uint64_t>(kBackoffExponentMax));
  const uint64_t ticks = static_cast<uint64_t>(base_ticks) << exponent;
  return static_cast<uint32_t>(std::min<uint64_t>(ticks, max_ticks));
}

bool Pacemaker::AdvanceTo(uint64_t round, uint64_t high_qc_round) {
  if (round <= round_) return false;
  round_ = round;
  duration_ticks_ = DurationTicks(base_ticks_, max_ticks_, round, high_qc_round);
  elapsed_ticks_ = 0;
  ITMO_CHECK(duration_ticks_ >= base_ticks_);
  ITMO_CHECK(duration_ticks_ <= max_ticks_);
  return true;
}

bool Pacemaker::OnTick() {
  ITMO_CHECK(elapsed_ticks_ < duration_ticks_);
  ++elapsed_ticks_;
  if (elapsed_ticks_ < duration_ticks_) return false;
  elapsed_ticks_ = 0;
  ITMO_CHECK(duration_ticks_ > 0);
  return true;
}

}  // namespace itmo::consensus
