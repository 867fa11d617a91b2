#include "tests/sim/pending_store.h"

#include <algorithm>
#include <utility>

#include "base/check.h"
#include "consensus/canonical.h"

namespace itmo::sim {

void PendingBlockStore::Record(const v1::Block& block, uint64_t committed_height) {
  const uint64_t height = block.header().height();
  if (height <= committed_height || height > committed_height + kBlocksMax) return;
  Insert(&unsynced_, Key{height, consensus::BlockId(block)}, Entry{next_sequence_++, block});
  ITMO_CHECK(unsynced_.size() <= kBlocksMax);
}

void PendingBlockStore::Sync() {
  ITMO_CHECK(unsynced_.size() <= kBlocksMax);
  for (auto& [key, entry] : unsynced_) Insert(&durable_, key, std::move(entry));
  unsynced_.clear();
  ITMO_CHECK(durable_.size() <= kBlocksMax);
}

void PendingBlockStore::Crash() { unsynced_.clear(); }

void PendingBlockStore::Prune(uint64_t committed_height) {
  PruneSet(&unsynced_, committed_height);
  PruneSet(&durable_, committed_height);
}

std::vector<v1::Block> PendingBlockStore::Load(uint64_t committed_height) {
  ITMO_CHECK(unsynced_.empty());
  Prune(committed_height);
  std::vector<v1::Block> blocks;
  for (const auto& [key, entry] : durable_) {
    if (blocks.size() >= kBlocksMax) break;
    ITMO_CHECK(key.first > committed_height);
    blocks.push_back(entry.block);
  }
  return blocks;
}

void PendingBlockStore::Insert(Set* set, const Key& key, Entry entry) {
  ITMO_CHECK(set->size() <= kBlocksMax);
  auto found = set->find(key);
  if (found != set->end()) {  // Same block rewritten: it is now the newest write.
    found->second.sequence = std::max(found->second.sequence, entry.sequence);
    return;
  }
  if (set->size() >= kBlocksMax) {  // Bounded: at most kBlocksMax entries to scan.
    auto oldest = set->begin();
    for (auto it = set->begin(); it != set->end(); ++it) {
      if (it->second.sequence < oldest->second.sequence) oldest = it;
    }
    set->erase(oldest);
  }
  set->emplace(key, std::move(entry));
}

void PendingBlockStore::PruneSet(Set* set, uint64_t committed_height) {
  set->erase(set->begin(), set->lower_bound(Key{committed_height + 1, crypto::Digest{}}));
}

}  // namespace itmo::sim
