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
    ITMO_ASSIGN_OR_RETURN(std::optional<std::string> head_root, blocks->LoadStateRoot(head.height));
    if (!head_root.has_value()) {  // Crashed between the block's write and its root index.
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
  return mempool_->Batch(height, txs, bytes);
}

absl::Status Executor::ValidateProposal(const v1::Block& block) {
  ITMO_CHECK(block.has_header());
  std::vector<std::string> ids;
  ids.reserve(static_cast<size_t>(block.txs_size()));
  for (int i = 0; i < block.txs_size(); ++i) {
    const std::string& bytes = block.txs(i);
    if (mempool_->IsVerified(bytes)) {
      v1::SignedTransaction tx;
      if (tx.ParseFromString(bytes)) {
        ids.emplace_back(crypto::AsStringView(crypto::Blake2b256(tx.body())));
      }
      continue;
    }
    absl::StatusOr<VerifiedTx> verified = mempool_->VerifyForProposal(bytes);
    if (!verified.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("proposal tx ", i, ": ", verified.status().message()));
    }
    ids.push_back(verified->tx_id);
  }
  ITMO_RETURN_IF_ERROR(CheckExecutedRoot(block.header()));
  mempool_->MarkInFlight(block.header().height(), ids);
  return absl::OkStatus();
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
  if (executed > executed_head().height) return absl::OkStatus();  // Cannot check yet.
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

std::vector<v1::CommittedBlock> Executor::CommittedRange(uint64_t from_height, uint32_t count_max) {
  absl::StatusOr<std::vector<v1::CommittedBlock>> range = blocks_->Range(from_height, count_max);
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
    // One synced batch: block, proof, tx index, outcomes, the ledger's state changes (with its
    // height and root) and the committed head.
    absl::Status written = blocks_->Commit(*record, &batch);
    if (!written.ok()) {
      ledger_->AbortBlock();
      return written;
    }
    ledger_->CommitBlock();
    ITMO_CHECK(ledger_->height() == height);
    root = ledger_->state_root();
  }
  record->set_state_root(std::string(crypto::AsStringView(root)));
  ITMO_RETURN_IF_ERROR(blocks_->SaveStateRoot(height, record->state_root(), /*sync=*/false));
  {
    absl::MutexLock lock(&head_mu_);
    head_ = consensus::ExecutedHead{height, root};
  }
  std::vector<std::string> ids;
  ids.reserve(txs.size());
  for (const v1::TransactionOutcome& outcome : record->outcomes()) ids.push_back(outcome.tx_id());
  mempool_->RemoveCommitted(height, ids);
  last_commit_time_ms_.store(NowMs());
  feed_->Publish(std::move(record));
  return absl::OkStatus();
}

}  // namespace itmo::node
