// File: node/driver.h
// Driver: the consensus thread. It owns the Replica, feeds it events from one bounded queue (peer
// messages, enqueued by transport threads) plus a Tick every tick_ms from a steady clock, and
// carries out the resulting actions strictly in order: PersistSafetyState is fsynced (BlockStore,
// WriteRecord with sync) before any later action runs, so a vote or timeout never leaves before the
// state that covers it is durable; SendTo / Broadcast go to the network; Commit executes and stores
// the block (Executor). A failed fsync, a failed commit or a state divergence is fatal: the driver
// stops and reports through on_fatal (the node exits; kExitStateDivergence for a divergence).
//
// Thread-safety: Enqueue and the status accessors are thread-safe; Start/Stop are called by the
// owner.
//
// Example:
//   Driver driver(options, &replica, &executor, &blocks, &network, on_fatal);
//   driver.Start();
//   driver.Enqueue(consensus::MessageReceived{from, message});  // From transport threads.
//   driver.Stop();
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "consensus/events.h"
#include "consensus/replica.h"
#include "node/block_store.h"
#include "node/executor.h"

namespace itmo::node {

inline constexpr uint32_t kDriverQueueMax = 100'000;

// Where consensus messages go. Implemented over the PeerTransport by the node, in memory by tests.
class ConsensusNetwork {
 public:
  virtual ~ConsensusNetwork() = default;
  virtual void SendTo(uint32_t validator_index, const v1::ConsensusMessage& message) = 0;
  virtual void Broadcast(const v1::ConsensusMessage& message) = 0;
};

struct DriverOptions {
  uint32_t tick_ms = 10;
  uint32_t queue_max = 10'000;  // 1..kDriverQueueMax.
};

// exit_code: kExitStateDivergence for a divergence, 1 otherwise.
using FatalFn = std::function<void(const absl::Status& status, int exit_code)>;

class Driver final {
 public:
  // REQUIRES: pointers non-null and outliving this; 1 <= options.queue_max <= kDriverQueueMax.
  Driver(const DriverOptions& options, consensus::Replica* replica, Executor* executor,
         BlockStore* blocks, ConsensusNetwork* network, FatalFn on_fatal);
  ~Driver();

  // Starts the consensus thread; it delivers Start first.
  void Start();
  // Stops and joins the thread. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // Errors: kResourceExhausted when the queue is full (the message is dropped; consensus recovers
  // from lost messages by timeouts and sync), kUnavailable once stopped.
  absl::Status Enqueue(consensus::MessageReceived message) ABSL_LOCKS_EXCLUDED(mu_);

  // Handles one event and executes its actions on the calling thread (tests; not with Start()).
  // Errors: the replica's rejection (non-fatal) or a fatal action failure.
  absl::Status ProcessForTest(const consensus::Event& event);

  uint64_t round() const { return round_.load(); }
  uint64_t committed_height() const { return committed_height_.load(); }
  uint64_t dropped_messages() const { return dropped_.load(); }
  bool failed() const { return failed_.load(); }

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  // Returns non-OK only for fatal failures (the replica's own rejections are logged and dropped).
  absl::Status Process(const consensus::Event& event);
  absl::Status Execute(consensus::Action& action);
  void Fail(const absl::Status& status);
  // Stores the block of a proposal (received or sent) for RecoveredChain::pending_blocks.
  void KeepProposal(const v1::ConsensusMessage& message);

  // Constant after construction.
  const DriverOptions options_;
  consensus::Replica* const replica_;  // Consensus thread only.
  Executor* const executor_;
  BlockStore* const blocks_;
  ConsensusNetwork* const network_;
  const FatalFn on_fatal_;

  absl::Mutex mu_;
  std::deque<consensus::MessageReceived> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;

  std::atomic<uint64_t> round_{0};
  std::atomic<uint64_t> committed_height_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<bool> failed_{false};
};

}  // namespace itmo::node
