// File: tests/sim/sim_network.h
// SimNetwork: a simulated message network over virtual ticks. Every message gets a delivery tick
// drawn from the seed's delay range (so messages reorder), may be dropped, duplicated, or replayed
// much later from a bounded history, and never crosses a blocked link (partitions, symmetric or
// not). Delivery order is total and deterministic: (deliver_tick, send sequence number). Not
// thread-safe: owned by the simulation's one thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "base/check.h"
#include "tests/sim/prng.h"

namespace itmo::sim {

struct NetworkFaults {
  uint64_t delay_ticks_min = 1;
  uint64_t delay_ticks_max = 1;
  uint64_t drop_per_mille = 0;       // Each message independently.
  uint64_t duplicate_per_mille = 0;  // A second copy with its own delay.
  uint64_t replay_per_mille = 0;     // Per send: also re-deliver one old message from history.
};

template <typename Message>
class SimNetwork final {
 public:
  static constexpr uint64_t kInFlightMax = 1 << 18;
  static constexpr uint64_t kHistoryMax = 256;

  struct Envelope {
    uint64_t deliver_tick = 0;
    uint64_t sequence = 0;
    uint32_t from = 0;
    uint32_t to = 0;
    Message message;
  };

  struct Stats {
    uint64_t sent = 0;
    uint64_t delivered = 0;
    uint64_t dropped = 0;
    uint64_t blocked = 0;
    uint64_t duplicated = 0;
    uint64_t replayed = 0;
    uint64_t overflowed = 0;
  };

  // `nodes` endpoints, numbered 0..nodes-1. `prng` must outlive the network.
  SimNetwork(uint32_t nodes, Prng* prng) : nodes_(nodes), prng_(prng), blocked_(nodes * nodes, 0) {
    ITMO_CHECK(nodes > 0);
    ITMO_CHECK(prng != nullptr);
    history_.reserve(kHistoryMax);
  }

  void set_faults(const NetworkFaults& faults) {
    ITMO_CHECK(faults.delay_ticks_min >= 1);
    ITMO_CHECK(faults.delay_ticks_min <= faults.delay_ticks_max);
    ITMO_CHECK(faults.drop_per_mille <= 1000 && faults.duplicate_per_mille <= 1000);
    faults_ = faults;
  }
  const NetworkFaults& faults() const { return faults_; }

  // Queues `message` from `from` to `to` at tick `now`, subject to the current faults.
  void Send(uint32_t from, uint32_t to, const Message& message, uint64_t now) {
    ITMO_CHECK(from < nodes_ && to < nodes_);
    ++stats_.sent;
    if (Blocked(from, to)) {
      ++stats_.blocked;
      return;
    }
    if (faults_.drop_per_mille > 0 && prng_->PerMille(faults_.drop_per_mille)) {
      ++stats_.dropped;
      return;
    }
    Enqueue(from, to, message, now + Delay());
    if (faults_.duplicate_per_mille > 0 && prng_->PerMille(faults_.duplicate_per_mille)) {
      ++stats_.duplicated;
      Enqueue(from, to, message, now + Delay());
    }
    Remember(from, to, message);
    if (faults_.replay_per_mille > 0 && prng_->PerMille(faults_.replay_per_mille)) Replay(now);
  }

  // Queues a message that bypasses faults and partitions (byzantine injections, tests).
  void Inject(uint32_t from, uint32_t to, const Message& message, uint64_t deliver_tick) {
    ITMO_CHECK(from < nodes_ && to < nodes_);
    Enqueue(from, to, message, deliver_tick);
  }

  // True and fills `out` with the next message due at or before `now`, in delivery order.
  bool PopDue(uint64_t now, Envelope* out) {
    ITMO_CHECK(out != nullptr);
    if (heap_.empty() || heap_.front().deliver_tick > now) return false;
    std::pop_heap(heap_.begin(), heap_.end(), Later);
    *out = std::move(heap_.back());
    heap_.pop_back();
    ++stats_.delivered;
    return true;
  }

  // The earliest pending delivery tick, or UINT64_MAX when nothing is in flight.
  uint64_t NextDeliveryTick() const {
    return heap_.empty() ? UINT64_MAX : heap_.front().deliver_tick;
  }
  uint64_t in_flight() const { return heap_.size(); }

  // Partitions. Block(a, b) cuts a->b only (asymmetric); Isolate cuts a node both ways.
  void Block(uint32_t from, uint32_t to) { blocked_[from * nodes_ + to] = 1; }
  void Isolate(uint32_t node) {
    ITMO_CHECK(node < nodes_);
    for (uint32_t other = 0; other < nodes_; ++other) {
      if (other == node) continue;
      Block(node, other);
      Block(other, node);
    }
  }
  // Symmetric split: nodes with side[i] != side[j] cannot talk.
  void Split(const std::vector<uint8_t>& side) {
    ITMO_CHECK(side.size() == nodes_);
    for (uint32_t a = 0; a < nodes_; ++a) {
      for (uint32_t b = 0; b < nodes_; ++b) {
        if (side[a] != side[b]) Block(a, b);
      }
    }
  }
  void HealAll() { std::fill(blocked_.begin(), blocked_.end(), 0); }
  bool Blocked(uint32_t from, uint32_t to) const {
    return from != to && blocked_[from * nodes_ + to] != 0;
  }

  // Drops everything in flight to `node` (its process died; the kernel buffers are gone).
  void DropTo(uint32_t node) {
    auto end = std::remove_if(heap_.begin(), heap_.end(),
                              [node](const Envelope& e) { return e.to == node; });
    stats_.dropped += static_cast<uint64_t>(heap_.end() - end);
    heap_.erase(end, heap_.end());
    std::make_heap(heap_.begin(), heap_.end(), Later);
  }

  const Stats& stats() const { return stats_; }
  uint32_t nodes() const { return nodes_; }

 private:
  static bool Later(const Envelope& a, const Envelope& b) {
    if (a.deliver_tick != b.deliver_tick) return a.deliver_tick > b.deliver_tick;
    return a.sequence > b.sequence;
  }

  uint64_t Delay() { return prng_->Range(faults_.delay_ticks_min, faults_.delay_ticks_max); }

  void Enqueue(uint32_t from, uint32_t to, const Message& message, uint64_t deliver_tick) {
    if (heap_.size() >= kInFlightMax) {
      ++stats_.overflowed;
      return;
    }
    heap_.push_back(Envelope{deliver_tick, next_sequence_++, from, to, message});
    std::push_heap(heap_.begin(), heap_.end(), Later);
  }

  void Remember(uint32_t from, uint32_t to, const Message& message) {
    if (history_.size() < kHistoryMax) {
      history_.push_back(Envelope{0, 0, from, to, message});
    } else {
      history_[prng_->Below(kHistoryMax)] = Envelope{0, 0, from, to, message};
    }
  }

  // Re-delivers an old message to a random node (a replay attack or a stale retransmission).
  void Replay(uint64_t now) {
    if (history_.empty()) return;
    const Envelope& old = history_[prng_->Below(history_.size())];
    const uint32_t to = static_cast<uint32_t>(prng_->Below(nodes_));
    if (Blocked(old.from, to)) return;
    ++stats_.replayed;
    Enqueue(old.from, to, old.message, now + Delay());
  }

  const uint32_t nodes_;
  Prng* const prng_;
  NetworkFaults faults_;
  std::vector<uint8_t> blocked_;  // nodes_ x nodes_, row = sender.
  std::vector<Envelope> heap_;    // Min-heap on (deliver_tick, sequence).
  std::vector<Envelope> history_;
  uint64_t next_sequence_ = 0;
  Stats stats_;
};

}  // namespace itmo::sim
