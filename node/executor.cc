// File: node/executor.cc
#include "node/executor.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "consensus/canonical.h"
#include "crypto/merkle.h"
#include "spdlog/spdlog.h"

namespace itmo::node {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Hex(std::string_view bytes) { return crypto::ToHex(bytes); }

uint64_t TimestampOf(const v1::BlockHeader& header) {
  return header.timestamp_ms() > 0 ? static_cast<uint64_t>(header.timestamp_ms()) : 0;
}

// The tx id (raw) of serialized SignedTransaction bytes; empty when they do not parse.
std::string TxIdOf(const std::string& bytes, v1::SignedTransaction* tx) {
  if (!tx->ParseFromString(bytes) || tx->body().empty()) return "";
  return std::string(crypto::AsStringView(crypto::Blake2b256(tx->body())));
}

}  // namespace

std::vector<v1::SignedTransaction> ParseBlockTxs(const v1::Block& block) {
  std::vector<v1::SignedTransaction> txs(static_cast<size_t>(block.txs_size()));
  for (int i = 0; i < block.txs_size(); ++i) {
    const std::string& bytes = block.txs(i);
    if (!txs[i].ParseFromString(bytes)) txs[i].Clear();
  }
  return txs;
}

Executor::Executor(const ExecutorOptions& options, ledger::StateMachine* ledger, BlockStore* blocks,
                   Mempool* mempool, CommitFeed* feed, consensus::ExecutedHead head,
                   crypto::Digest genesis_root)
    : options_(options),
      ledger_(ledger),
      blocks_(blocks),
      mempool_(mempool),
      feed_(feed),
      genesis_root_(genesis_root),
      head_(head) {}

absl::StatusOr<std::unique_ptr<Executor>> Executor::Create(const ExecutorOptions& options,
                                                           ledger::StateMachine* ledger,
                                                           BlockStore* blocks, Mempool* mempool,
                                                           CommitFeed* feed) {
  ITMO_CHECK(ledger != nullptr && blocks != nullptr);
  ITMO_CHECK(mempool != nullptr && feed != nullptr);
  ITMO_CHECK(options.block_txs_max > 0 && options.block_bytes_max > 0);
  if (ledger->height() != blocks->head_height()) {
    return absl::DataLossError(absl::StrCat("ledger height ", ledger->height(),
                                            " differs from the block store head ",
                                            blocks->head_height()));
  }
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> stored_genesis, blocks->LoadGenesisRoot());
  crypto::Digest genesis_root{};
  if (stored_genesis.has_value()) {
    ITMO_ASSIGN_OR_RETURN(genesis_root, crypto::DigestFromBytes(*stored_genesis));
  } else if (ledger->height() == 0) {
    genesis_root = ledger->state_root();
    ITMO_RETURN_IF_ERROR(blocks->SaveGenesisRoot(crypto::AsStringView(genesis_root)));
  } else {
    return absl::DataLossError("block store has blocks but no genesis root");
  }
  consensus::ExecutedHead head{ledger->height(), ledger->state_root()};
  if (head.height > 0) {
    // The record carries its root (written in the block's batch); stores written before that
    // carry it in the separate root index, which a crash may have lost for the head.
    ITMO_ASSIGN_OR_RETURN(std::optional<v1::SubscribeCommitsResponse> record,
                          blocks->Get(head.height));
    if (!record.has_value()) return absl::DataLossError("committed head block missing");
    std::optional<std::string> head_root;
    if (!record->state_root().empty()) head_root = record->state_root();
    if (!head_root.has_value()) {  // Old store: crashed between the block and its root index.
      ITMO_RETURN_IF_ERROR(
          blocks->SaveStateRoot(head.height, crypto::AsStringView(head.state_root), true));
    } else if (*head_root != crypto::AsStringView(head.state_root)) {
      return absl::DataLossError(absl::StrCat(
          "state root index at height ", head.height, " is ", crypto::ToHex(*head_root),
          " but the ledger's root is ", crypto::ToHex(head.state_root)));
    }
  }
  return std::unique_ptr<Executor>(
      new Executor(options, ledger, blocks, mempool, feed, head, genesis_root));
}

std::vector<std::string> Executor::Payload(uint64_t height, uint32_t txs_max, uint64_t bytes_max) {
  uint32_t txs = std::min<uint32_t>(txs_max, options_.block_txs_max);
  uint64_t bytes = std::min<uint64_t>(bytes_max, options_.block_bytes_max);
  // The block's timestamp is at least the parent's and about now: leave out what voters would
  // refuse as expired. (Any uncommitted block counts, not only the ancestors: conservative.)
  const int64_t now = mempool_->NowMs();
  const uint64_t timestamp_ms =
      std::max<uint64_t>(now > 0 ? static_cast<uint64_t>(now) : 0, pending_timestamp_ms_max_);
  return mempool_->Batch(height, txs, bytes, timestamp_ms,
                         [this](const std::string& id) { return pending_tx_refs_.contains(id); });
}

const std::vector<std::string>* Executor::NoteBlock(const v1::Block& block) {
  const uint64_t height = block.header().height();
  if (height <= executed_head().height) return nullptr;
  std::string id(crypto::AsStringView(consensus::BlockId(block)));
  if (auto it = pending_.find(id); it != pending_.end()) return &it->second.ids_in_order;
  if (pending_.size() >= kPendingIndexBlocksMax) {
    if (index_log_.Allow()) {
      spdlog::warn("pending block index full ({} blocks): block at height {} not indexed",
                   pending_.size(), height);
    }
    return nullptr;
  }
  PendingBlock entry;
  entry.height = height;
  entry.parent_id = block.header().parent_id();
  v1::SignedTransaction tx;
  entry.ids_in_order.reserve(static_cast<size_t>(block.txs_size()));
  for (const std::string& bytes : block.txs()) {
    entry.ids_in_order.push_back(TxIdOf(bytes, &tx));
    if (!entry.ids_in_order.back().empty()) entry.tx_ids.insert(entry.ids_in_order.back());
  }
  std::vector<std::string> ids(entry.tx_ids.begin(), entry.tx_ids.end());
  for (const std::string& tx_id : ids) ++pending_tx_refs_[tx_id];
  pending_timestamp_ms_max_ = std::max(pending_timestamp_ms_max_, TimestampOf(block.header()));
  pending_by_height_.emplace(height, id);
  auto [it, inserted] = pending_.emplace(std::move(id), std::move(entry));
  ITMO_CHECK(inserted);
  mempool_->MarkInFlight(height, ids);
  ITMO_DCHECK(pending_.size() == pending_by_height_.size());
  return &it->second.ids_in_order;
}

void Executor::PrunePending(uint64_t committed_height) {
  while (!pending_by_height_.empty() && pending_by_height_.begin()->first <= committed_height) {
    auto it = pending_.find(pending_by_height_.begin()->second);
    ITMO_CHECK(it != pending_.end());
    for (const std::string& tx_id : it->second.tx_ids) {
      auto ref = pending_tx_refs_.find(tx_id);
      ITMO_CHECK(ref != pending_tx_refs_.end() && ref->second > 0);
      if (--ref->second == 0) pending_tx_refs_.erase(ref);
    }
    pending_.erase(it);
    pending_by_height_.erase(pending_by_height_.begin());
  }
  ITMO_CHECK(pending_.size() == pending_by_height_.size());
}

absl::Status Executor::CheckAncestors(const v1::Block& block,
                                      const absl::flat_hash_map<std::string, int>& ids) const {
  const uint64_t head = executed_head().height;
  std::string parent = block.header().parent_id();
  uint64_t parent_height = block.header().height() - 1;
  for (uint32_t steps = 0; parent_height > head; ++steps) {
    auto it = pending_.find(parent);
    if (it == pending_.end() || steps > kPendingIndexBlocksMax) {
      return absl::FailedPreconditionError(
          absl::StrCat("proposal at height ", block.header().height(), ": ancestor ", Hex(parent),
                       " at height ", parent_height, " is not known, cannot check duplicates"));
    }
    const PendingBlock& ancestor = it->second;
    ITMO_CHECK(ancestor.height == parent_height);
    for (const auto& [tx_id, index] : ids) {
      if (ancestor.tx_ids.contains(tx_id)) {
        return absl::InvalidArgumentError(
            absl::StrCat("proposal tx ", index, " (", Hex(tx_id),
                         ") is already in uncommitted ancestor at height ", ancestor.height));
      }
    }
    parent = ancestor.parent_id;
    --parent_height;
  }
  return absl::OkStatus();
}

absl::Status Executor::ValidateProposal(const v1::Block& block) {
  ITMO_CHECK(block.has_header());
  ITMO_CHECK(block.header().height() > 0);
  // The replica holds the block (it asks only about blocks in its tree), whatever we answer: its
  // children, possibly proposed within the same Handle(), are checked against it.
  const std::vector<std::string>* noted = NoteBlock(block);
  ITMO_CHECK(noted == nullptr || noted->size() == static_cast<size_t>(block.txs_size()));
  const uint64_t timestamp_ms = TimestampOf(block.header());
  const int64_t now = mempool_->NowMs();
  const uint64_t now_ms = now > 0 ? static_cast<uint64_t>(now) : 0;
  if (timestamp_ms > now_ms + kBlockTimestampAheadMsMax) {
    return absl::InvalidArgumentError(absl::StrCat("proposal timestamp ", timestamp_ms, " is ",
                                                   timestamp_ms - now_ms,
                                                   " ms ahead of this node's clock"));
  }
  absl::flat_hash_map<std::string, int> ids;  // tx id -> index in the block.
  ids.reserve(static_cast<size_t>(block.txs_size()));
  v1::SignedTransaction tx;
  for (int i = 0; i < block.txs_size(); ++i) {
    const std::string& bytes = block.txs(i);
    std::optional<uint64_t> deadline;
    std::string tx_id;
    bool parsed = false;
    if (mempool_->IsVerified(bytes)) {
      if (noted != nullptr) {
        tx_id = (*noted)[static_cast<size_t>(i)];
      } else {
        tx_id = TxIdOf(bytes, &tx);
        parsed = true;
      }
    }
    if (tx_id.empty()) {
      absl::StatusOr<VerifiedTx> verified = mempool_->VerifyForProposal(bytes);
      if (!verified.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("proposal tx ", i, ": ", verified.status().message()));
      }
      tx_id = verified->tx_id;
      deadline = verified->valid_until_ms;
    }
    auto [previous, inserted] = ids.emplace(tx_id, i);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("proposal tx ", i, " (", Hex(tx_id), ") duplicates tx ", previous->second));
    }
    const std::optional<uint64_t> pending = mempool_->PendingDeadline(tx_id);
    if (!deadline.has_value()) deadline = pending;
    if (!deadline.has_value()) {  // Verified earlier but not pending here: read the body.
      v1::TransactionBody body;
      if ((!parsed && !tx.ParseFromString(bytes)) || !body.ParseFromString(tx.body())) {
        return absl::InvalidArgumentError(absl::StrCat("proposal tx ", i, ": malformed body"));
      }
      deadline = body.valid_until_ms();
    }
    if (*deadline < timestamp_ms) {
      return absl::InvalidArgumentError(absl::StrCat("proposal tx ", i, " (", Hex(tx_id),
                                                     ") expired: valid_until_ms ", *deadline,
                                                     " < block timestamp ", timestamp_ms));
    }
    // A pending transaction is not committed (the mempool drops committed ones); others may be.
    if (!pending.has_value()) {
      ITMO_ASSIGN_OR_RETURN(std::optional<TxLocation> location, blocks_->FindTx(tx_id));
      if (location.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat("proposal tx ", i, " (", Hex(tx_id),
                                                       ") is already committed at height ",
                                                       location->height));
      }
    }
  }
  // The executed_height bounds and the executed root are checked by the replica
  // (ExecutedRootAt) before it asks.
  ITMO_RETURN_IF_ERROR(CheckAncestors(block, ids));
  return absl::OkStatus();
}

std::optional<crypto::Digest> Executor::ExecutedRootAt(uint64_t height) {
  if (height > executed_head().height) return std::nullopt;  // Not executed yet: vote later.
  absl::StatusOr<crypto::Digest> root = RootAt(height);
  if (!root.ok()) {
    // A store read error or a missing record: no vote now (the replica asks again on the next
    // Executed event), never a vote for an unchecked root.
    spdlog::error("state root at height {}: {}", height, root.status().ToString());
    return std::nullopt;
  }
  return *root;
}

absl::StatusOr<crypto::Digest> Executor::RootAt(uint64_t height) const {
  if (height == 0) return genesis_root_;
  {
    absl::MutexLock lock(&head_mu_);
    if (height == head_.height) return head_.state_root;
    if (height > head_.height) {
      return absl::NotFoundError(absl::StrCat("height ", height, " not executed yet"));
    }
  }
  ITMO_ASSIGN_OR_RETURN(std::optional<v1::SubscribeCommitsResponse> record, blocks_->Get(height));
  if (!record.has_value()) return absl::NotFoundError(absl::StrCat("no block at ", height));
  return crypto::DigestFromBytes(record->state_root());
}

absl::Status Executor::CheckExecutedRoot(const v1::BlockHeader& header) {
  const uint64_t executed = header.executed_height();
  // Consensus verified executed_height < height (= executed head + 1 at commit) and honest voters
  // checked the root: a mismatch here is this node's own divergence.
  if (executed > executed_head().height) {
    return absl::InternalError(absl::StrCat("block ", header.height(), " claims executed_height ",
                                            executed, " above the executed head ",
                                            executed_head().height));
  }
  ITMO_ASSIGN_OR_RETURN(crypto::Digest ours, RootAt(executed));
  if (crypto::AsStringView(ours) == header.executed_state_root()) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat("STATE ROOT DIVERGENCE at height ", executed, ": block ", header.height(),
                   " says executed_state_root=", Hex(header.executed_state_root()),
                   ", this node computed ", crypto::ToHex(ours)));
}

consensus::ExecutedHead Executor::executed_head() const {
  absl::MutexLock lock(&head_mu_);
  return head_;
}

std::vector<v1::CommittedBlock> Executor::CommittedRange(uint64_t from_height, uint32_t count_max,
                                                         uint64_t bytes_max) {
  absl::StatusOr<std::vector<v1::CommittedBlock>> range =
      blocks_->Range(from_height, count_max, bytes_max);
  if (!range.ok()) {
    spdlog::error("committed range from {}: {}", from_height, range.status().ToString());
    return {};
  }
  return std::move(*range);
}

absl::Status Executor::ExecuteCommitted(const v1::CommittedBlock& committed) {
  const v1::Block& block = committed.block();
  const v1::BlockHeader& header = block.header();
  const uint64_t height = header.height();
  const uint64_t head = executed_head().height;
  if (height != head + 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("commit of height ", height, " but executed head is ", head));
  }
  absl::Status root_check = CheckExecutedRoot(header);
  if (root_check.code() == absl::StatusCode::kDataLoss) diverged_.store(true);
  ITMO_RETURN_IF_ERROR(root_check);

  std::vector<v1::SignedTransaction> txs = ParseBlockTxs(block);
  bool all_verified = true;
  for (const std::string& bytes : block.txs()) {
    if (!mempool_->IsVerified(bytes)) {
      all_verified = false;
      break;
    }
  }
  auto record = std::make_shared<v1::SubscribeCommitsResponse>();
  record->set_height(height);
  record->set_block_id(std::string(crypto::AsStringView(consensus::BlockId(block))));
  record->set_timestamp_ms(header.timestamp_ms());
  *record->mutable_committed() = committed;
  crypto::Digest root{};
  {
    absl::MutexLock lock(&ledger_mu_);
    storage::WriteBatch batch;
    ITMO_ASSIGN_OR_RETURN(
        std::vector<v1::TransactionOutcome> outcomes,
        ledger_->ExecuteBlock({height, header.timestamp_ms()}, txs, all_verified, &batch));
    ITMO_CHECK(outcomes.size() == txs.size());
    for (v1::TransactionOutcome& outcome : outcomes) *record->add_outcomes() = std::move(outcome);
    // The root goes into the record itself, so that no reader ever sees the block without it.
    root = ledger_->pending_state_root();
    record->set_state_root(std::string(crypto::AsStringView(root)));
    // One synced batch: block, proof, tx index, outcomes, state root, the ledger's state changes
    // (with its height and root) and the committed head.
    absl::Status written = blocks_->Commit(*record, &batch);
    if (!written.ok()) {
      ledger_->AbortBlock();
      return written;
    }
    ledger_->CommitBlock();
    ITMO_CHECK(ledger_->height() == height);
    ITMO_CHECK(ledger_->state_root() == root);
  }
  {
    absl::MutexLock lock(&head_mu_);
    head_ = consensus::ExecutedHead{height, root};
  }
  std::vector<std::string> ids;
  ids.reserve(txs.size());
  for (const v1::TransactionOutcome& outcome : record->outcomes()) ids.push_back(outcome.tx_id());
  mempool_->RemoveCommitted(height, ids, TimestampOf(header));
  PrunePending(height);
  last_commit_time_ms_.store(NowMs());
  feed_->Publish(std::move(record));
  return absl::OkStatus();
}

}  // namespace itmo::node
