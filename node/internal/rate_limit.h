// File: node/internal/rate_limit.h
// LogRateLimit: lets a log line through at most once per interval, so that a flood of drops logs a
// few lines with running counters instead of one line per dropped message. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace itmo::node::internal {

class LogRateLimit final {
 public:
  explicit LogRateLimit(int64_t interval_ms = 1000) : interval_ms_(interval_ms) {}

  // True at most once per interval (steady clock).
  bool Allow() {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    int64_t last = last_ms_.load(std::memory_order_relaxed);
    if (last != 0 && now - last < interval_ms_) return false;
    return last_ms_.compare_exchange_strong(last, now == 0 ? 1 : now);
  }

 private:
  const int64_t interval_ms_;
  std::atomic<int64_t> last_ms_{0};
};

}  // namespace itmo::node::internal
