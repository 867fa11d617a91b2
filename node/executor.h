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
// No transaction enters the log twice: the executor indexes the uncommitted blocks the replica
// holds (NoteBlock, from the driver), Payload leaves out any transaction in one of them (and, via
// the mempool, committed and expired ones), and ValidateProposal refuses a block with a transaction
// twice in itself, in an uncommitted ancestor, already committed (tx index), or whose
// valid_until_ms is below the block's timestamp, or a block stamped more than
// kBlockTimestampAheadMsMax ahead of this node's clock (the mempool's). So a byzantine leader
// cannot get a duplicate certified either: it needs an honest voter.
//
// Thread-safety: the Application methods, NoteBlock and ExecuteCommitted are called from the
// consensus thread only. View() (queries: a RocksDB snapshot, no lock), WithLedger() and
// executed_head() may be called from any thread; WithLedger serializes with execution on one mutex
// (StateMachine is not thread-safe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "consensus/interfaces.h"
#include "crypto/digest.h"
#include "ledger/state_machine.h"
#include "node/block_store.h"
#include "node/commit_feed.h"
#include "node/internal/rate_limit.h"
#include "node/mempool.h"

namespace itmo::node {

inline constexpr int kExitStateDivergence = 3;
// Uncommitted blocks indexed for the duplicate checks (the replica holds at most
// consensus::kPendingBlocksMax; the rest is slack for blocks noted but refused by the replica).
inline constexpr uint32_t kPendingIndexBlocksMax = 2 * 1024;
// A voter refuses a block stamped further than this ahead of its own clock: a byzantine leader
// must not be able to expire every pending transaction with a far-future timestamp.
inline constexpr uint64_t kBlockTimestampAheadMsMax = 60 * 1000;

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
  std::optional<crypto::Digest> ExecutedRootAt(uint64_t height) override
      ABSL_LOCKS_EXCLUDED(head_mu_);
  consensus::ExecutedHead executed_head() const override ABSL_LOCKS_EXCLUDED(head_mu_);
  std::vector<v1::CommittedBlock> CommittedRange(uint64_t from_height, uint32_t count_max,
                                                 uint64_t bytes_max) override;

  // Executes and durably commits the next block. Errors: kFailedPrecondition (not head + 1),
  // kDataLoss (state divergence: diverged() is then true), storage errors. Any error is fatal to
  // the node: the ledger is left without a pending block.
  absl::Status ExecuteCommitted(const v1::CommittedBlock& committed)
      ABSL_LOCKS_EXCLUDED(ledger_mu_, head_mu_);

  bool diverged() const { return diverged_.load(); }
  int64_t last_commit_time_ms() const { return last_commit_time_ms_.load(); }

  // A consistent snapshot of the committed ledger for queries (one height). Thread-safe and
  // lock-free with respect to execution: it never takes ledger_mu_, so a query, however slow or
  // frequent, neither waits for a commit nor holds one up (issue 7 defect 9).
  absl::StatusOr<std::unique_ptr<ledger::LedgerView>> View() const { return ledger_->View(); }

  // Runs `fn(const ledger::StateMachine&)` serialized with execution (blocks while a block
  // executes). Queries and the mempool's admission checks use View() instead.
  template <typename Fn>
  auto WithLedger(Fn fn) const ABSL_LOCKS_EXCLUDED(ledger_mu_) {
    absl::MutexLock lock(&ledger_mu_);
    return fn(static_cast<const ledger::StateMachine&>(*ledger_));
  }

  // Indexes an uncommitted block the replica holds (a StoreBlock action, or a proposal) for the
  // duplicate checks and marks its transactions in flight in the mempool. Ignores blocks at or
  // below the executed head, already noted, or beyond kPendingIndexBlocksMax.
  // Returns the block's tx ids in block order (empty for an unparseable one), or null when the
  // block is not indexed.
  const std::vector<std::string>* NoteBlock(const v1::Block& block);
  uint32_t pending_blocks_noted() const { return static_cast<uint32_t>(pending_.size()); }

  // The state root after `height` (0: genesis), if known.
  absl::StatusOr<crypto::Digest> RootAt(uint64_t height) const ABSL_LOCKS_EXCLUDED(head_mu_);

 private:
  Executor(const ExecutorOptions& options, ledger::StateMachine* ledger, BlockStore* blocks,
           Mempool* mempool, CommitFeed* feed, consensus::ExecutedHead head,
           crypto::Digest genesis_root);
  absl::Status CheckExecutedRoot(const v1::BlockHeader& header);
  // The duplicate checks of ValidateProposal against uncommitted ancestors.
  absl::Status CheckAncestors(const v1::Block& block,
                              const absl::flat_hash_map<std::string, int>& ids) const;
  void PrunePending(uint64_t committed_height);

  struct PendingBlock {
    uint64_t height = 0;
    std::string parent_id;
    std::vector<std::string> ids_in_order;
    absl::flat_hash_set<std::string> tx_ids;
  };

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
  // Consensus thread only: uncommitted blocks by id, by height (for pruning), and how many of them
  // contain each tx id.
  absl::flat_hash_map<std::string, PendingBlock> pending_;
  absl::btree_multimap<uint64_t, std::string> pending_by_height_;
  absl::flat_hash_map<std::string, uint32_t> pending_tx_refs_;
  uint64_t pending_timestamp_ms_max_ = 0;
  internal::LogRateLimit index_log_;
  std::atomic<bool> diverged_{false};
  std::atomic<int64_t> last_commit_time_ms_{0};
};

// Parses every transaction of a block; an unparseable one becomes an empty SignedTransaction (the
// ledger then rejects it as malformed, deterministically on every node).
std::vector<v1::SignedTransaction> ParseBlockTxs(const v1::Block& block);

}  // namespace itmo::node
