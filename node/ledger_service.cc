// File: node/ledger_service.cc
#include "node/ledger_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "crypto/digest.h"
#include "crypto/merkle.h"
#include "spdlog/spdlog.h"

namespace itmo::node {
namespace {

const grpc::Status kShuttingDown(grpc::StatusCode::UNAVAILABLE, "node is shutting down");
constexpr absl::Duration kSubscriberPoll = absl::Milliseconds(200);

}  // namespace

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

std::optional<v1::ReasonCode> ReasonCodeOf(std::string_view message) {
  // The name runs up to the first ':' (or the end); ReasonCode names are REASON_[A-Z_]+.
  const size_t end = std::min(message.find(':'), message.size());
  const std::string_view name = message.substr(0, end);
  if (name.size() > 64 || name.substr(0, 7) != "REASON_") return std::nullopt;
  v1::ReasonCode code = v1::REASON_OK;
  if (!v1::ReasonCode_Parse(std::string(name), &code) || code == v1::REASON_OK) return std::nullopt;
  return code;
}

grpc::Status ToGrpc(const absl::Status& status, grpc::ServerContext* context) {
  grpc::Status out = ToGrpc(status);
  if (status.ok() || context == nullptr) return out;
  std::optional<v1::ReasonCode> code = ReasonCodeOf(ToStd(status.message()));
  if (code.has_value()) {
    context->AddTrailingMetadata(kReasonCodeKey, std::to_string(static_cast<int>(*code)));
    context->AddTrailingMetadata(kReasonNameKey, v1::ReasonCode_Name(*code));
  }
  return out;
}

void ConfigureApiServer(grpc::ServerBuilder* builder) {
  ITMO_CHECK(builder != nullptr);
  builder->SetMaxReceiveMessageSize(kApiMessageBytesMax);
}

LedgerService::LedgerService(LedgerServiceOptions options, Mempool* mempool, BlockStore* blocks,
                             Executor* executor, CommitFeed* feed,
                             std::function<NodeStatus()> status)
    : options_(std::move(options)),
      mempool_(mempool),
      blocks_(blocks),
      executor_(executor),
      feed_(feed),
      status_(std::move(status)) {
  ITMO_CHECK(mempool_ != nullptr && blocks_ != nullptr);
  ITMO_CHECK(executor_ != nullptr && feed_ != nullptr);
}

void LedgerService::Shutdown() {
  shutting_down_.store(true);
  feed_->Close();
}

absl::StatusOr<std::string> LedgerService::Submit(const v1::SignedTransaction& tx) {
  // The body keeps the client's exact bytes (signatures cover them); only the envelope is
  // re-serialized.
  return mempool_->Add(tx.SerializeAsString());
}

grpc::Status LedgerService::SubmitTransaction(grpc::ServerContext* context,
                                              const v1::SignedTransaction* request,
                                              v1::SubmitTransactionResponse* response) {
  if (shutting_down_.load()) return kShuttingDown;
  absl::StatusOr<std::string> id = Submit(*request);
  if (!id.ok()) return ToGrpc(id.status(), context);
  response->set_tx_id(*id);
  return grpc::Status::OK;
}

grpc::Status LedgerService::SubmitTransactions(grpc::ServerContext* /*context*/,
                                               grpc::ServerReader<v1::SignedTransaction>* reader,
                                               v1::SubmitTransactionsResponse* response) {
  if (shutting_down_.load()) return kShuttingDown;
  v1::SignedTransaction tx;
  uint64_t index = 0;
  while (reader->Read(&tx)) {
    if (shutting_down_.load()) return kShuttingDown;
    absl::StatusOr<std::string> id = Submit(tx);
    if (id.ok()) {
      response->set_accepted(response->accepted() + 1);
      response->add_tx_ids(*id);
    } else {
      response->set_rejected(response->rejected() + 1);
      if (static_cast<uint32_t>(response->rejections_size()) < kSubmitStreamRejectionsMax) {
        v1::SubmitTransactionsResponse::Rejection* rejection = response->add_rejections();
        rejection->set_index(index);
        rejection->set_code(static_cast<int32_t>(id.status().code()));
        rejection->set_message(std::string(id.status().message()));
        std::optional<v1::ReasonCode> reason = ReasonCodeOf(ToStd(id.status().message()));
        if (reason.has_value()) {
          rejection->set_reason_code(static_cast<int32_t>(*reason));
          rejection->set_reason_name(v1::ReasonCode_Name(*reason));
        }
        if (!tx.body().empty()) {
          rejection->set_tx_id(std::string(crypto::AsStringView(crypto::Blake2b256(tx.body()))));
        }
      }
    }
    ++index;
    tx.Clear();
  }
  return grpc::Status::OK;
}

absl::StatusOr<std::optional<v1::GetTransactionResponse>> LedgerService::CommittedTransaction(
    std::string_view tx_id) const {
  ITMO_ASSIGN_OR_RETURN(std::optional<TxLocation> location, blocks_->FindTx(tx_id));
  if (!location.has_value()) return std::optional<v1::GetTransactionResponse>();
  ITMO_ASSIGN_OR_RETURN(std::optional<v1::SubscribeCommitsResponse> record,
                        blocks_->Get(location->height));
  if (!record.has_value()) {
    return absl::DataLossError(
        absl::StrCat("tx index names height ", location->height, " but no block is stored there"));
  }
  const v1::Block& block = record->committed().block();
  const int index = static_cast<int>(location->index);
  if (index >= block.txs_size() || index >= record->outcomes_size()) {
    return absl::DataLossError("tx index points past the block's transactions");
  }
  std::vector<crypto::Digest> leaves;
  leaves.reserve(static_cast<size_t>(block.txs_size()));
  for (const std::string& tx : block.txs()) leaves.push_back(crypto::LeafHash(tx));
  ITMO_ASSIGN_OR_RETURN(std::vector<crypto::Digest> path,
                        crypto::InclusionProof(leaves, location->index));
  v1::GetTransactionResponse response;
  response.set_state(v1::TRANSACTION_STATE_COMMITTED);
  response.set_tx_id(std::string(tx_id));
  *response.mutable_outcome() = record->outcomes(index);
  response.set_height(location->height);
  response.set_index(location->index);
  response.set_transaction(block.txs(index));
  response.set_block_id(record->block_id());
  *response.mutable_block_header() = block.header();
  v1::InclusionProof* proof = response.mutable_proof();
  proof->set_leaf_index(location->index);
  proof->set_tree_size(leaves.size());
  for (const crypto::Digest& node : path) proof->add_path(std::string(crypto::AsStringView(node)));
  proof->set_leaf_hash(std::string(crypto::AsStringView(leaves[location->index])));
  proof->set_root(std::string(crypto::AsStringView(crypto::MerkleRoot(leaves))));
  v1::CommitProof* commit = response.mutable_commit_proof();
  *commit->mutable_qc() = record->committed().qc();
  if (record->committed().has_child_header()) {
    *commit->mutable_child_header() = record->committed().child_header();
    *commit->mutable_child_qc() = record->committed().child_qc();
  }
  response.set_state_root(record->state_root());
  return std::optional<v1::GetTransactionResponse>(std::move(response));
}

grpc::Status LedgerService::GetTransaction(grpc::ServerContext* context,
                                           const v1::GetTransactionRequest* request,
                                           v1::GetTransactionResponse* response) {
  if (shutting_down_.load()) return kShuttingDown;
  std::string tx_id;
  if (request->has_client()) {
    const auto& client = request->client();
    if (client.submitter().empty() || client.client_tx_id().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "client.submitter and client.client_tx_id are required");
    }
    absl::StatusOr<std::unique_ptr<ledger::LedgerView>> view = View();
    if (!view.ok()) return ToGrpc(view.status(), context);
    absl::StatusOr<std::optional<v1::TransactionOutcome>> outcome =
        (*view)->GetOutcome(client.submitter(), client.client_tx_id());
    if (!outcome.ok()) return ToGrpc(outcome.status(), context);
    if (outcome->has_value()) {
      tx_id = (*outcome)->tx_id();
    } else {
      tx_id = mempool_->FindByClientId(client.submitter(), client.client_tx_id());
      if (tx_id.empty()) {
        tx_id = mempool_->FindExpiredByClientId(client.submitter(), client.client_tx_id());
      }
    }
  } else if (request->key_case() == v1::GetTransactionRequest::kTxId) {
    if (request->tx_id().size() != crypto::kDigestBytes) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("tx_id must be 32 bytes, got ", request->tx_id().size()));
    }
    tx_id = request->tx_id();
  } else {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "set tx_id or client");
  }
  if (!tx_id.empty()) {
    absl::StatusOr<std::optional<v1::GetTransactionResponse>> committed =
        CommittedTransaction(tx_id);
    if (!committed.ok()) return ToGrpc(committed.status(), context);
    if (committed->has_value()) {
      *response = std::move(**committed);
      return grpc::Status::OK;
    }
  }
  response->set_tx_id(tx_id);
  v1::TransactionState state = v1::TRANSACTION_STATE_UNKNOWN;
  if (!tx_id.empty() && mempool_->Contains(tx_id)) {
    state = v1::TRANSACTION_STATE_PENDING;
  } else if (!tx_id.empty() && mempool_->IsExpired(tx_id)) {
    state = v1::TRANSACTION_STATE_EXPIRED;  // Final: a committed block passed its deadline.
  }
  response->set_state(state);
  return grpc::Status::OK;
}

bool LedgerService::Send(grpc::ServerWriter<v1::SubscribeCommitsResponse>* writer,
                         const v1::SubscribeCommitsResponse& record, bool omit_transactions) {
  if (!omit_transactions) return writer->Write(record);
  v1::SubscribeCommitsResponse copy = record;
  copy.mutable_committed()->mutable_block()->clear_txs();
  return writer->Write(copy);
}

grpc::Status LedgerService::SubscribeCommits(
    grpc::ServerContext* context, const v1::SubscribeCommitsRequest* request,
    grpc::ServerWriter<v1::SubscribeCommitsResponse>* writer) {
  if (shutting_down_.load()) return kShuttingDown;
  absl::StatusOr<std::shared_ptr<Subscription>> subscribed = feed_->Subscribe();
  if (!subscribed.ok()) return ToGrpc(subscribed.status());
  std::shared_ptr<Subscription> subscription = std::move(*subscribed);
  struct Unsubscribe {
    CommitFeed* feed;
    std::shared_ptr<Subscription> subscription;
    ~Unsubscribe() { feed->Unsubscribe(subscription); }
  } unsubscribe{feed_, subscription};

  const bool omit = request->omit_transactions();
  uint64_t next = std::max<uint64_t>(request->from_height(), 1);
  bool live = false;  // Caught up with the store: the feed's buffer now matters.
  while (!context->IsCancelled()) {
    if (next <= blocks_->head_height()) {
      // Catch up from the store (the feed's buffer may overflow meanwhile; that is harmless).
      absl::StatusOr<std::optional<v1::SubscribeCommitsResponse>> record = blocks_->Get(next);
      if (!record.ok()) return ToGrpc(record.status());
      if (!record->has_value()) return grpc::Status(grpc::StatusCode::INTERNAL, "block missing");
      if (!Send(writer, **record, omit)) return grpc::Status::CANCELLED;
      ++next;
      live = false;
      continue;
    }
    if (!live) {
      subscription->Reset();
      live = true;
      continue;  // Re-check the head: a block may have committed before Reset().
    }
    CommitRecord record;
    switch (subscription->Next(kSubscriberPoll, &record)) {
      case Subscription::Result::kClosed:
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            absl::StrCat("node is shutting down; resume with from_height=", next));
      case Subscription::Result::kOverflow:
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            absl::StrCat("subscriber fell more than ", kSubscriberBufferBlocksMax,
                                         " blocks behind; resume with from_height=", next));
      case Subscription::Result::kTimeout:
        break;
      case Subscription::Result::kBlock:
        if (record->height() != next) break;  // Older: already sent; newer: read from the store.
        if (!Send(writer, *record, omit)) return grpc::Status::CANCELLED;
        ++next;
        break;
    }
  }
  return grpc::Status::CANCELLED;
}

grpc::Status LedgerService::GetStatus(grpc::ServerContext* /*context*/,
                                      const v1::GetStatusRequest* /*request*/,
                                      v1::GetStatusResponse* response) {
  NodeStatus status = status_ ? status_() : NodeStatus{};
  consensus::ExecutedHead head = executor_->executed_head();
  response->set_name(options_.name);
  response->set_role(options_.role);
  response->set_chain_id(options_.chain_id);
  response->set_height(head.height);
  response->set_round(status.round);
  response->set_epoch(status.epoch);
  response->set_peers_connected(static_cast<uint32_t>(status.peers.size()));
  for (std::string& peer : status.peers) response->add_peers(std::move(peer));
  response->set_state_root(crypto::ToHex(head.state_root));
  response->set_mempool_size(mempool_->size());
  response->set_mempool_bytes(mempool_->bytes());
  response->set_version(options_.version);
  response->set_last_commit_time_ms(executor_->last_commit_time_ms());
  response->set_consensus_messages_dropped(status.consensus_messages_dropped);
  response->set_peer_messages_dropped_queue_full(status.peer_messages_dropped_queue_full);
  response->set_peer_messages_dropped_oversize(status.peer_messages_dropped_oversize);
  response->set_transactions_expired(mempool_->expired_total());
  if (head.height > 0) {
    absl::StatusOr<std::optional<v1::SubscribeCommitsResponse>> record = blocks_->Get(head.height);
    if (record.ok() && record->has_value()) response->set_block_id((*record)->block_id());
  }
  return grpc::Status::OK;
}

}  // namespace itmo::node
