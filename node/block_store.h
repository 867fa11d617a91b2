// File: node/block_store.h
// BlockStore: the node's committed chain in RocksDB. Each committed block is stored with its commit
// proof, its transactions' outcomes and the state root after it, as one record (the same
// v1::SubscribeCommitsResponse that subscribers receive), plus the indexes block id -> height and
// tx id -> (height, index) and the committed head. The caller adds the ledger's state changes to
// the same WriteBatch, so that the block and the state it produced reach the disk atomically, with
// sync. Also keeps the consensus safety state (storage::WriteRecord, fsynced).
//
// Thread-safety: thread-safe. Reads may run on any thread; Commit is called by one thread at a
// time.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(auto blocks, BlockStore::Open(store.get()));
//   storage::WriteBatch batch;
//   ... ledger.ExecuteBlock(..., &batch) ...
//   ITMO_RETURN_IF_ERROR(blocks->Commit(record, &batch));  // One synced write.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "itmo/v1/consensus.pb.h"
#include "itmo/v1/ledger_service.pb.h"
#include "storage/safety_record.h"
#include "storage/store.h"

namespace itmo::node {

inline constexpr char kBlocksFamily[] = "node_blocks";
inline constexpr char kBlockIdsFamily[] = "node_block_ids";
inline constexpr char kTxIndexFamily[] = "node_tx_index";
inline constexpr char kMetaFamily[] = "node_meta";
inline constexpr char kPendingFamily[] = "node_pending";
// Uncommitted proposal blocks kept for a restart.
inline constexpr uint32_t kPendingBlocksStoredMax = 1024;
// ... and at most this many bytes of them (one block may be up to consensus::kBlockBytesMax).
inline constexpr uint64_t kPendingBlocksStoredBytesMax = 512ull << 20;

struct TxLocation {
  uint64_t height = 0;
  uint32_t index = 0;
};

class BlockStore final {
 public:
  // The column families BlockStore needs in the Store.
  static std::vector<std::string> ColumnFamilies();

  // REQUIRES: store non-null, opened with ColumnFamilies(), outlives this. With
  // `safety_file_path`, the safety state lives in that storage::SafetyFile, outside the database
  // (a node's data dir; a damaged or rolled-back WAL then cannot roll the safety state back);
  // without it (tests), in the meta family.
  // Errors: kNotFound for a missing family, kDataLoss for a corrupt head or safety file.
  static absl::StatusOr<std::unique_ptr<BlockStore>> Open(
      storage::Store* store, const std::optional<std::string>& safety_file_path = std::nullopt);

  // Adds `record` (height = head + 1) and its indexes to `batch`, writes the batch with sync and
  // advances the head. Errors: kFailedPrecondition for a height that does not follow the head;
  // storage errors (the head is then unchanged).
  absl::Status Commit(const v1::SubscribeCommitsResponse& record, storage::WriteBatch* batch);

  // std::nullopt when no block at that height is stored. state_root is filled from the root index.
  absl::StatusOr<std::optional<v1::SubscribeCommitsResponse>> Get(uint64_t height) const;
  absl::StatusOr<std::optional<TxLocation>> FindTx(std::string_view tx_id) const;
  absl::StatusOr<std::optional<uint64_t>> FindBlock(std::string_view block_id) const;

  // Committed blocks from `from_height`, at most count_max, gap-free (for consensus sync); stops
  // before their serialized bytes would exceed bytes_max, but returns at least one (when stored).
  absl::StatusOr<std::vector<v1::CommittedBlock>> Range(
      uint64_t from_height, uint32_t count_max,
      uint64_t bytes_max = std::numeric_limits<uint64_t>::max()) const;

  uint64_t head_height() const { return head_height_.load(std::memory_order_acquire); }
  uint64_t pending_refused() const { return pending_refused_.load(); }

  // Blocks of proposals seen (received or sent) above the committed head, for the replica after a
  // restart (consensus::RecoveredChain::pending_blocks). Written without sync: the fsync of the
  // safety state that precedes any vote for such a block makes it durable too (WAL order). Pruned
  // by Commit. At most kPendingBlocksStoredMax blocks and kPendingBlocksStoredBytesMax bytes are
  // kept; more are ignored (counted in pending_refused()).
  absl::Status SavePendingBlock(const v1::Block& block);
  absl::StatusOr<std::vector<v1::Block>> LoadPendingBlocks() const;

  // Consensus safety state (fsynced). std::nullopt for a fresh node. With a safety file, a data
  // dir written before it existed is read from the meta family once (its first save moves it).
  absl::Status SaveSafetyState(const v1::SafetyState& state);
  absl::StatusOr<std::optional<v1::SafetyState>> LoadSafetyState() const;

  // The state root after `height`. The ledger computes it inside the block's batch (and stores it
  // there itself) but exposes it only once committed, so the node indexes it by height right after
  // the block's synced write: RocksDB's WAL order makes it durable no later than the next block,
  // and Executor::Create restores a missing head root from the ledger after a crash.
  absl::Status SaveStateRoot(uint64_t height, std::string_view root, bool sync);
  absl::StatusOr<std::optional<std::string>> LoadStateRoot(uint64_t height) const;

  // The ledger's state root at height 0, saved (synced) once when the chain starts.
  absl::Status SaveGenesisRoot(std::string_view root);
  absl::StatusOr<std::optional<std::string>> LoadGenesisRoot() const;

  storage::Store* store() const { return store_; }

 private:
  BlockStore(storage::Store* store, storage::ColumnFamily blocks, storage::ColumnFamily ids,
             storage::ColumnFamily txs, storage::ColumnFamily meta, storage::ColumnFamily pending,
             uint64_t head);

  // Constant after construction.
  storage::Store* const store_;
  const storage::ColumnFamily blocks_;
  const storage::ColumnFamily ids_;
  const storage::ColumnFamily txs_;
  const storage::ColumnFamily meta_;
  const storage::ColumnFamily pending_;

  std::atomic<uint64_t> head_height_;
  std::atomic<uint32_t> pending_stored_{0};  // Approximate count since open (bounds the family).
  std::atomic<uint64_t> pending_bytes_{0};   // Approximate bytes since open.
  std::atomic<uint64_t> pending_refused_{0};
  std::unique_ptr<storage::SafetyFile> safety_file_;  // Null without a safety file path.
};

// Big-endian u64: keys sort by height.
std::string HeightKey(uint64_t height);

}  // namespace itmo::node
