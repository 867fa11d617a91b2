// File: node/executor.h
// Executor: the node's consensus::Application over the ledger, and the commit path. For each
// committed block (in height order) it checks the header's executed_state_root against its own root
// at that height, executes the block with ledger::StateMachine, writes block, proof, tx index,
// outcomes, ledger state changes, state root and head in ONE synced RocksDB WriteBatch, then
// CommitBlock()s, removes the transactions from the mempool and publishes the block to subscribers.
//
// A node whose root differs from a committed one has diverged (non-determinism or corruption): the
// commit fails with kDataLoss naming the height and both roots, diverged() turns true and the node
// must stop (exit code kExitStateDivergence).
//
// Thread-safety: the Application methods and ExecuteCommitted are called from the consensus thread
// only. WithLedger() (queries) and executed_head() may be called from any thread; they serialize
// with execution on one mutex (StateMachine is not thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "consensus/interfaces.h"
#include "crypto/digest.h"
#include "ledger/state_machine.h"
#include "node/block_store.h"
#include "node/commit_feed.h"
#include "node/mempool.h"

namespace itmo::node {

inline constexpr int kExitStateDivergence = 3;

struct ExecutorOptions {
  uint32_t block_txs_max = 0;
  uint64_t block_bytes_max = 0;
};

class Executor final : public consensus::Application {
 public:
  // REQUIRES: every pointer non-null and outliving this; options' limits > 0.
  // Errors: kDataLoss when the ledger's height differs from the block store's head.
  static absl::StatusOr<std::unique_ptr<Executor>> Create(const ExecutorOptions& options,
                                                          ledger::StateMachine* ledger,
                                                          BlockStore* blocks, Mempool* mempool,
                                                          CommitFeed* feed);

  // consensus::Application.
  std::vector<std::string> Payload(uint64_t height, uint32_t txs_max, uint64_t bytes_max) override;
  absl::Status ValidateProposal(const v1::Block& block) override;
  consensus::ExecutedHead executed_head() const override ABSL_LOCKS_EXCLUDED(head_mu_);
  std::vector<v1::CommittedBlock> CommittedRange(uint64_t from_height, uint32_t count_max) override;

  // Executes and durably commits the next block. Errors: kFailedPrecondition (not head + 1),
  // kDataLoss (state divergence: diverged() is then true), storage errors. Any error is fatal to
  // the node: the ledger is left without a pending block.
  absl::Status ExecuteCommitted(const v1::CommittedBlock& committed)
      ABSL_LOCKS_EXCLUDED(ledger_mu_, head_mu_);

  bool diverged() const { return diverged_.load(); }
  int64_t last_commit_time_ms() const { return last_commit_time_ms_.load(); }

  // Runs `fn(const ledger::StateMachine&)` serialized with execution.
  template <typename Fn>
  auto WithLedger(Fn fn) const ABSL_LOCKS_EXCLUDED(ledger_mu_) {
    absl::MutexLock lock(&ledger_mu_);
    return fn(static_cast<const ledger::StateMachine&>(*ledger_));
  }

  // The state root after `height` (0: genesis), if known.
  absl::StatusOr<crypto::Digest> RootAt(uint64_t height) const ABSL_LOCKS_EXCLUDED(head_mu_);

 private:
  Executor(const ExecutorOptions& options, ledger::StateMachine* ledger, BlockStore* blocks,
           Mempool* mempool, CommitFeed* feed, consensus::ExecutedHead head,
           crypto::Digest genesis_root);
  absl::Status CheckExecutedRoot(const v1::BlockHeader& header);

  // Constant after construction.
  const ExecutorOptions options_;
  ledger::StateMachine* const ledger_;  // Guarded by ledger_mu_ (the pointee).
  BlockStore* const blocks_;
  Mempool* const mempool_;
  CommitFeed* const feed_;
  const crypto::Digest genesis_root_;

  mutable absl::Mutex ledger_mu_;
  mutable absl::Mutex head_mu_;
  consensus::ExecutedHead head_ ABSL_GUARDED_BY(head_mu_);
  std::atomic<bool> diverged_{false};
  std::atomic<int64_t> last_commit_time_ms_{0};
};

// Parses every transaction of a block; an unparseable one becomes an empty SignedTransaction (the
// ledger then rejects it as malformed, deterministically on every node).
std::vector<v1::SignedTransaction> ParseBlockTxs(const v1::Block& block);

}  // namespace itmo::node
