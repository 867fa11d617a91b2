// File: tests/sim/pending_store.h
// PendingBlockStore: the simulated node's durable pending-block store, with the node's semantics
// (node/block_store.h SavePendingBlock / LoadPendingBlocks, node/driver.cc KeepBlock): the block
// of every consensus::KeepBlock action (a block the replica verified, or its own proposal) is
// written unsynced; the fsync of the node's next PersistSafetyState makes every earlier write
// durable (the RocksDB WAL sync covers them), so a block is durable before the node's vote for it
// leaves; a crash loses the unsynced writes; a restart hands the durable blocks above the committed
// head to the replica as consensus::RecoveredChain::pending_blocks. Blocks are keyed like the
// node's (height, block id), so a block recorded twice is stored once. Each set holds at most
// kBlocksMax blocks; beyond that the oldest write is dropped. Not thread-safe.
//
// Example:
//   PendingBlockStore store;
//   store.Record(keep.block, app.height());         // On a KeepBlock action.
//   store.Sync();                                   // On PersistSafetyState.
//   store.Crash();                                  // On a crash.
//   chain.pending_blocks = store.Load(app.height());  // On restart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "crypto/digest.h"
#include "itmo/v1/consensus.pb.h"

namespace itmo::sim {

class PendingBlockStore final {
 public:
  // The node's bound (node/block_store.h kPendingBlocksStoredMax).
  static constexpr size_t kBlocksMax = 1024;

  // Records a block, unsynced. Ignores heights at or below `committed_height` (settled) and more
  // than kBlocksMax above it (implausibly far ahead), as the node does.
  void Record(const v1::Block& block, uint64_t committed_height);
  // The fsync of a PersistSafetyState: every earlier write becomes durable.
  void Sync();
  // Loses the unsynced writes.
  void Crash();
  // Drops blocks at or below `committed_height` (the node deletes them with the commit).
  void Prune(uint64_t committed_height);
  // Restart: prunes, then returns the durable blocks above `committed_height`, lowest height
  // first (the node's scan order), at most kBlocksMax. REQUIRES: Crash() since the last Record.
  std::vector<v1::Block> Load(uint64_t committed_height);

  size_t durable_size() const { return durable_.size(); }
  size_t unsynced_size() const { return unsynced_.size(); }

 private:
  using Key = std::pair<uint64_t, crypto::Digest>;  // (height, block id).
  struct Entry {
    uint64_t sequence = 0;  // Write order: the smallest is the oldest.
    v1::Block block;
  };
  using Set = absl::btree_map<Key, Entry>;

  static void Insert(Set* set, const Key& key, Entry entry);
  static void PruneSet(Set* set, uint64_t committed_height);

  Set unsynced_;
  Set durable_;
  uint64_t next_sequence_ = 0;
};

}  // namespace itmo::sim
