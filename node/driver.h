// File: node/driver.h
// Driver: the consensus thread. It owns the Replica, feeds it events from bounded per-peer queues
// (peer messages, enqueued by transport threads; each `from` has its own sub-queue bounded by count
// and bytes, drained round-robin, so a flooding peer only fills its own) plus a Tick every tick_ms
// from a steady clock, and
// carries out the resulting actions strictly in order: PersistSafetyState is fsynced (BlockStore,
// WriteRecord with sync) before any later action runs, so a vote or timeout never leaves before the
// state that covers it is durable; SendTo / Broadcast go to the network; KeepBlock stores a block
// the replica verified in the pending-block store (nothing is stored before the replica has seen
// it); Commit executes and stores the block (Executor), after which the replica gets an Executed
// event. A failed fsync, a failed
// commit or a state divergence is fatal: the driver stops and reports through on_fatal (the node
// exits; kExitStateDivergence for a divergence).
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
#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "consensus/events.h"
#include "consensus/replica.h"
#include "node/block_store.h"
#include "node/executor.h"
#include "node/internal/rate_limit.h"

namespace itmo::node {

inline constexpr uint32_t kDriverQueueMax = 100'000;
inline constexpr uint64_t kDriverQueueBytesMax = 1ull << 30;
// Distinct senders with a sub-queue (validators, observers, the non-validator bucket).
inline constexpr uint32_t kDriverPeerQueuesMax = 1'024;

// Where consensus messages go. Implemented over the PeerTransport by the node, in memory by tests.
class ConsensusNetwork {
 public:
  virtual ~ConsensusNetwork() = default;
  virtual void SendTo(uint32_t validator_index, const v1::ConsensusMessage& message) = 0;
  virtual void Broadcast(const v1::ConsensusMessage& message) = 0;
};

struct DriverOptions {
  uint32_t tick_ms = 10;
  uint32_t queue_max = 10'000;              // Messages per sender; 1..kDriverQueueMax.
  uint64_t queue_bytes_max = 256ull << 20;  // Bytes per sender; 1..kDriverQueueBytesMax.
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

  // Queues `message` (`bytes`: its serialized size) in the sub-queue of message.from. Errors:
  // kResourceExhausted when that sub-queue is full by count or bytes, or there are too many
  // senders (the message is dropped, counted and logged at most once a second; consensus recovers
  // from lost messages by timeouts and sync), kUnavailable once stopped.
  absl::Status Enqueue(consensus::MessageReceived message, uint64_t bytes = 0)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Handles one event and executes its actions on the calling thread (tests; not with Start()).
  // Errors: the replica's rejection (non-fatal) or a fatal action failure.
  absl::Status ProcessForTest(const consensus::Event& event);

  // Takes up to `max` queued messages as the consensus thread would (tests; not with Start()).
  std::vector<consensus::MessageReceived> TEST_TakeBatch(size_t max) ABSL_LOCKS_EXCLUDED(mu_);

  uint64_t round() const { return round_.load(); }
  uint64_t committed_height() const { return committed_height_.load(); }
  uint64_t dropped_messages() const { return dropped_.load(); }
  // Messages dropped from sender `from` (its sub-queue full).
  uint64_t dropped_messages_from(uint32_t from) const ABSL_LOCKS_EXCLUDED(mu_);
  bool failed() const { return failed_.load(); }

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  // Returns non-OK only for fatal failures (the replica's own rejections are logged and dropped).
  absl::Status Process(const consensus::Event& event);
  absl::Status Execute(consensus::Action& action);
  // Executes `actions` in order; after commits, reports them to the replica (Executed) and
  // executes what it returns.
  absl::Status ExecuteAll(std::vector<consensus::Action> actions);
  void Fail(const absl::Status& status);
  // Indexes the blocks of a retrieval response for the executor's duplicate checks.
  void NoteRetrievedBlocks(const v1::ConsensusMessage& message);
  // On a KeepBlock action: indexes the verified block and stores it for
  // RecoveredChain::pending_blocks (bounded by BlockStore's limits).
  void KeepBlock(const v1::Block& block);

  // Constant after construction.
  const DriverOptions options_;
  consensus::Replica* const replica_;  // Consensus thread only.
  Executor* const executor_;
  BlockStore* const blocks_;
  ConsensusNetwork* const network_;
  const FatalFn on_fatal_;

  struct PeerQueue {
    std::deque<std::pair<consensus::MessageReceived, uint64_t>> messages;  // With their bytes.
    uint64_t bytes = 0;
    uint64_t dropped = 0;
  };
  // Up to `max` messages taken round-robin over the senders' sub-queues.
  void TakeBatchLocked(size_t max, std::vector<consensus::MessageReceived>* batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::btree_map<uint32_t, PeerQueue> queues_ ABSL_GUARDED_BY(mu_);
  uint64_t queued_ ABSL_GUARDED_BY(mu_) = 0;     // Messages in all sub-queues.
  uint32_t next_from_ ABSL_GUARDED_BY(mu_) = 0;  // Round-robin cursor.
  internal::LogRateLimit drop_log_;
  internal::LogRateLimit store_log_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;

  std::atomic<uint64_t> round_{0};
  std::atomic<uint64_t> committed_height_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<bool> failed_{false};
};

}  // namespace itmo::node
