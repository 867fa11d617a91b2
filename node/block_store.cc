// File: node/block_store.cc
#include "node/block_store.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "crypto/digest.h"
#include "storage/safety_record.h"

namespace itmo::node {
namespace {

constexpr char kHeadKey[] = "head";
constexpr char kSafetyKey[] = "safety_state";
constexpr char kGenesisRootKey[] = "genesis_root";
constexpr uint32_t kRangeBlocksMax = 256;

uint64_t DecodeU64(std::string_view bytes) {
  ITMO_CHECK(bytes.size() == 8);
  uint64_t value = 0;
  for (char c : bytes) value = (value << 8) | static_cast<uint8_t>(c);
  return value;
}

std::string EncodeLocation(const TxLocation& loc) {
  std::string out = HeightKey(loc.height);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(loc.index >> shift));
  return out;
}

}  // namespace

std::string HeightKey(uint64_t height) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[i] = static_cast<char>(height & 0xFF);
    height >>= 8;
  }
  return key;
}

std::vector<std::string> BlockStore::ColumnFamilies() {
  return {kBlocksFamily, kBlockIdsFamily, kTxIndexFamily, kMetaFamily, kPendingFamily};
}

BlockStore::BlockStore(storage::Store* store, storage::ColumnFamily blocks,
                       storage::ColumnFamily ids, storage::ColumnFamily txs,
                       storage::ColumnFamily meta, storage::ColumnFamily pending, uint64_t head)
    : store_(store),
      blocks_(blocks),
      ids_(ids),
      txs_(txs),
      meta_(meta),
      pending_(pending),
      head_height_(head) {}

absl::StatusOr<std::unique_ptr<BlockStore>> BlockStore::Open(
    storage::Store* store, const std::optional<std::string>& safety_file_path) {
  ITMO_CHECK(store != nullptr);
  ITMO_ASSIGN_OR_RETURN(storage::ColumnFamily blocks, store->Family(kBlocksFamily));
  ITMO_ASSIGN_OR_RETURN(storage::ColumnFamily ids, store->Family(kBlockIdsFamily));
  ITMO_ASSIGN_OR_RETURN(storage::ColumnFamily txs, store->Family(kTxIndexFamily));
  ITMO_ASSIGN_OR_RETURN(storage::ColumnFamily meta, store->Family(kMetaFamily));
  ITMO_ASSIGN_OR_RETURN(storage::ColumnFamily pending, store->Family(kPendingFamily));
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> head, store->Get(meta, kHeadKey));
  uint64_t head_height = 0;
  if (head.has_value()) {
    if (head->size() != 8) {
      return absl::DataLossError(
          absl::StrCat("block store: head record has ", head->size(), " bytes, expected 8"));
    }
    head_height = DecodeU64(*head);
    ITMO_ASSIGN_OR_RETURN(std::optional<std::string> top,
                          store->Get(blocks, HeightKey(head_height)));
    if (head_height > 0 && !top.has_value()) {
      return absl::DataLossError(
          absl::StrCat("block store: head height ", head_height, " but no block stored there"));
    }
  }
  std::unique_ptr<BlockStore> block_store(
      new BlockStore(store, blocks, ids, txs, meta, pending, head_height));
  if (safety_file_path.has_value()) {
    ITMO_ASSIGN_OR_RETURN(block_store->safety_file_, storage::SafetyFile::Open(*safety_file_path));
  }
  return block_store;
}

absl::Status BlockStore::Commit(const v1::SubscribeCommitsResponse& record,
                                storage::WriteBatch* batch) {
  ITMO_CHECK(batch != nullptr);
  const uint64_t head = head_height();
  if (record.height() != head + 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("block store: commit of height ", record.height(), " after head ", head));
  }
  ITMO_CHECK(record.committed().block().header().height() == record.height());
  batch->Put(blocks_, HeightKey(record.height()), record.SerializeAsString());
  batch->Put(ids_, record.block_id(), HeightKey(record.height()));
  const auto& txs = record.committed().block().txs();
  // The first committed occurrence of a tx id is its location; a later duplicate (rejected by the
  // ledger) keeps only its outcome in the block record.
  absl::flat_hash_set<std::string_view> seen;
  for (int i = 0; i < record.outcomes_size(); ++i) {
    const v1::TransactionOutcome& outcome = record.outcomes(i);
    if (outcome.tx_id().empty() || !seen.insert(outcome.tx_id()).second) continue;
    ITMO_ASSIGN_OR_RETURN(std::optional<std::string> existing, store_->Get(txs_, outcome.tx_id()));
    if (existing.has_value()) continue;
    batch->Put(txs_, outcome.tx_id(),
               EncodeLocation(TxLocation{record.height(), static_cast<uint32_t>(i)}));
  }
  ITMO_CHECK(record.outcomes_size() == txs.size() || txs.empty());
  batch->Put(meta_, kHeadKey, HeightKey(record.height()));
  // Pending proposal blocks at or below the new head are settled.
  std::vector<std::string> settled;
  uint64_t settled_bytes = 0;
  ITMO_RETURN_IF_ERROR(
      store_->Scan(pending_, "", HeightKey(record.height() + 1),
                   [&settled, &settled_bytes](std::string_view key, std::string_view value) {
                     settled.emplace_back(key);
                     settled_bytes += value.size();
                     return settled.size() < kPendingBlocksStoredMax;
                   }));
  for (const std::string& key : settled) batch->Delete(pending_, key);
  ITMO_RETURN_IF_ERROR(store_->Write(*batch, {.sync = true}));
  head_height_.store(record.height(), std::memory_order_release);
  const uint32_t stored = pending_stored_.load();
  pending_stored_.store(stored > settled.size() ? stored - static_cast<uint32_t>(settled.size())
                                                : 0);
  const uint64_t bytes = pending_bytes_.load();
  pending_bytes_.store(bytes > settled_bytes ? bytes - settled_bytes : 0);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::SubscribeCommitsResponse>> BlockStore::Get(uint64_t height) const {
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> bytes, store_->Get(blocks_, HeightKey(height)));
  if (!bytes.has_value()) return std::optional<v1::SubscribeCommitsResponse>();
  v1::SubscribeCommitsResponse record;
  if (!record.ParseFromString(*bytes) || record.height() != height) {
    return absl::DataLossError(
        absl::StrCat("block store: corrupt block record at height ", height));
  }
  if (record.state_root().empty()) {
    ITMO_ASSIGN_OR_RETURN(std::optional<std::string> root, LoadStateRoot(height));
    if (root.has_value()) record.set_state_root(std::move(*root));
  }
  return std::optional<v1::SubscribeCommitsResponse>(std::move(record));
}

absl::StatusOr<std::optional<TxLocation>> BlockStore::FindTx(std::string_view tx_id) const {
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> bytes, store_->Get(txs_, tx_id));
  if (!bytes.has_value()) return std::optional<TxLocation>();
  if (bytes->size() != 12) return absl::DataLossError("block store: corrupt tx index entry");
  TxLocation loc;
  loc.height = DecodeU64(std::string_view(*bytes).substr(0, 8));
  for (size_t i = 8; i < 12; ++i) loc.index = (loc.index << 8) | static_cast<uint8_t>((*bytes)[i]);
  return std::optional<TxLocation>(loc);
}

absl::StatusOr<std::optional<uint64_t>> BlockStore::FindBlock(std::string_view block_id) const {
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> bytes, store_->Get(ids_, block_id));
  if (!bytes.has_value()) return std::optional<uint64_t>();
  if (bytes->size() != 8) return absl::DataLossError("block store: corrupt block id entry");
  return std::optional<uint64_t>(DecodeU64(*bytes));
}

absl::StatusOr<std::vector<v1::CommittedBlock>> BlockStore::Range(uint64_t from_height,
                                                                  uint32_t count_max,
                                                                  uint64_t bytes_max) const {
  std::vector<v1::CommittedBlock> out;
  const uint64_t head = head_height();
  const uint32_t limit = std::min(count_max, kRangeBlocksMax);
  uint64_t bytes = 0;
  // One block read at a time, so that no more than one block beyond bytes_max is ever loaded.
  for (uint64_t h = std::max<uint64_t>(from_height, 1); h <= head && out.size() < limit; ++h) {
    ITMO_ASSIGN_OR_RETURN(std::optional<v1::SubscribeCommitsResponse> record, Get(h));
    if (!record.has_value()) break;
    bytes += record->committed().ByteSizeLong();
    if (!out.empty() && bytes > bytes_max) break;
    out.push_back(std::move(*record->mutable_committed()));
  }
  ITMO_CHECK(out.size() <= limit);
  return out;
}

absl::Status BlockStore::SavePendingBlock(const v1::Block& block) {
  const uint64_t height = block.header().height();
  if (height <= head_height() || height > head_height() + kPendingBlocksStoredMax) {
    return absl::OkStatus();  // Settled already, or implausibly far ahead.
  }
  std::string bytes = block.SerializeAsString();
  if (pending_stored_.fetch_add(1) >= kPendingBlocksStoredMax) {
    pending_stored_.fetch_sub(1);
    pending_refused_.fetch_add(1);
    return absl::ResourceExhaustedError(
        absl::StrCat("pending block store full: ", kPendingBlocksStoredMax, " blocks"));
  }
  if (pending_bytes_.fetch_add(bytes.size()) + bytes.size() > kPendingBlocksStoredBytesMax) {
    pending_bytes_.fetch_sub(bytes.size());
    pending_stored_.fetch_sub(1);
    pending_refused_.fetch_add(1);
    return absl::ResourceExhaustedError(
        absl::StrCat("pending block store full: ", kPendingBlocksStoredBytesMax, " bytes"));
  }
  storage::WriteBatch batch;
  std::string key = HeightKey(height);
  key.append(crypto::AsStringView(crypto::Blake2b256(bytes)));
  batch.Put(pending_, key, std::move(bytes));
  return store_->Write(batch, {.sync = false});
}

absl::StatusOr<std::vector<v1::Block>> BlockStore::LoadPendingBlocks() const {
  std::vector<v1::Block> blocks;
  absl::Status parse_error;
  ITMO_RETURN_IF_ERROR(store_->Scan(
      pending_, HeightKey(head_height() + 1), "", [&](std::string_view, std::string_view value) {
        v1::Block block;
        if (block.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          blocks.push_back(std::move(block));
        }
        return blocks.size() < kPendingBlocksStoredMax;
      }));
  ITMO_CHECK(blocks.size() <= kPendingBlocksStoredMax);
  return blocks;
}

absl::Status BlockStore::SaveSafetyState(const v1::SafetyState& state) {
  if (safety_file_ == nullptr) {
    return storage::WriteRecord(*store_, meta_, kSafetyKey, state.SerializeAsString());
  }
  const bool first = safety_file_->generation() == 0;
  ITMO_RETURN_IF_ERROR(safety_file_->Write(state.SerializeAsString()));
  if (first) {
    // A record from before the safety file is now stale: never fall back to it.
    storage::WriteBatch batch;
    batch.Delete(meta_, kSafetyKey);
    ITMO_RETURN_IF_ERROR(store_->Write(batch, {.sync = true}));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::SafetyState>> BlockStore::LoadSafetyState() const {
  std::optional<std::string> bytes;
  if (safety_file_ != nullptr && safety_file_->generation() > 0) {
    bytes = safety_file_->initial();
  } else {
    // No safety file, or a new one next to a data dir from before it: the meta family's record.
    ITMO_ASSIGN_OR_RETURN(bytes, storage::ReadRecord(*store_, meta_, kSafetyKey));
  }
  if (!bytes.has_value()) return std::optional<v1::SafetyState>();
  v1::SafetyState state;
  if (!state.ParseFromString(*bytes)) {
    return absl::DataLossError("block store: safety state record does not parse");
  }
  return std::optional<v1::SafetyState>(std::move(state));
}

std::string RootKey(uint64_t height) { return "root/" + HeightKey(height); }

absl::Status BlockStore::SaveStateRoot(uint64_t height, std::string_view root, bool sync) {
  ITMO_CHECK(height > 0);
  ITMO_CHECK(root.size() == crypto::kDigestBytes);
  storage::WriteBatch batch;
  batch.Put(meta_, RootKey(height), root);
  return store_->Write(batch, {.sync = sync});
}

absl::StatusOr<std::optional<std::string>> BlockStore::LoadStateRoot(uint64_t height) const {
  return store_->Get(meta_, RootKey(height));
}

absl::Status BlockStore::SaveGenesisRoot(std::string_view root) {
  storage::WriteBatch batch;
  batch.Put(meta_, kGenesisRootKey, root);
  return store_->Write(batch, {.sync = true});
}

absl::StatusOr<std::optional<std::string>> BlockStore::LoadGenesisRoot() const {
  return store_->Get(meta_, kGenesisRootKey);
}

}  // namespace itmo::node
