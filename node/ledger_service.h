// File: node/ledger_service.h
// LedgerService: the itmo.v1.Ledger gRPC service (synchronous gRPC API). Handlers validate, answer
// from the block store, the ledger (through Executor::WithLedger) and the mempool, and never touch
// consensus directly: a submitted transaction enters the mempool, which the consensus thread
// drains. SubscribeCommits streams committed blocks from any height (from the store, then live from
// the CommitFeed); a subscriber that falls more than kSubscriberBufferBlocksMax blocks behind gets
// RESOURCE_EXHAUSTED with the height to resume from, and never slows consensus.
//
// Thread-safety: thread-safe (gRPC calls handlers concurrently).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "itmo/v1/ledger_service.grpc.pb.h"
#include "node/block_store.h"
#include "node/commit_feed.h"
#include "node/executor.h"
#include "node/mempool.h"

namespace itmo::node {

inline constexpr uint32_t kSubmitStreamRejectionsMax = 1000;

// What GetStatus needs from the node beyond the service's own dependencies.
struct NodeStatus {
  uint64_t round = 0;
  uint64_t epoch = 0;
  std::vector<std::string> peers;
  uint64_t consensus_messages_dropped = 0;
  uint64_t peer_messages_dropped_queue_full = 0;
  uint64_t peer_messages_dropped_oversize = 0;
};

struct LedgerServiceOptions {
  std::string name;
  std::string role;
  std::string chain_id;
  std::string version = "0.1.0";
};

class LedgerService final : public v1::Ledger::Service {
 public:
  // REQUIRES: pointers non-null and outliving this.
  LedgerService(LedgerServiceOptions options, Mempool* mempool, BlockStore* blocks,
                Executor* executor, CommitFeed* feed, std::function<NodeStatus()> status);

  // Makes every handler answer UNAVAILABLE and ends subscriptions (before server shutdown).
  void Shutdown();

  grpc::Status SubmitTransaction(grpc::ServerContext* context, const v1::SignedTransaction* request,
                                 v1::SubmitTransactionResponse* response) override;
  grpc::Status SubmitTransactions(grpc::ServerContext* context,
                                  grpc::ServerReader<v1::SignedTransaction>* reader,
                                  v1::SubmitTransactionsResponse* response) override;
  grpc::Status GetTransaction(grpc::ServerContext* context,
                              const v1::GetTransactionRequest* request,
                              v1::GetTransactionResponse* response) override;
  grpc::Status GetHoldings(grpc::ServerContext* context, const v1::GetHoldingsRequest* request,
                           v1::Holdings* response) override;
  grpc::Status GetUnitHistory(grpc::ServerContext* context,
                              const v1::GetUnitHistoryRequest* request,
                              v1::GetUnitHistoryResponse* response) override;
  grpc::Status GetAdjustments(grpc::ServerContext* context,
                              const v1::GetAdjustmentsRequest* request,
                              v1::GetAdjustmentsResponse* response) override;
  grpc::Status SubscribeCommits(grpc::ServerContext* context,
                                const v1::SubscribeCommitsRequest* request,
                                grpc::ServerWriter<v1::SubscribeCommitsResponse>* writer) override;
  grpc::Status GetStatus(grpc::ServerContext* context, const v1::GetStatusRequest* request,
                         v1::GetStatusResponse* response) override;

  // The committed answer for one tx id (state COMMITTED with proof) or std::nullopt.
  absl::StatusOr<std::optional<v1::GetTransactionResponse>> CommittedTransaction(
      std::string_view tx_id) const;

 private:
  absl::StatusOr<std::string> Submit(const v1::SignedTransaction& tx);
  // Sends one record (stripped of txs when asked). False when the client went away.
  static bool Send(grpc::ServerWriter<v1::SubscribeCommitsResponse>* writer,
                   const v1::SubscribeCommitsResponse& record, bool omit_transactions);

  const LedgerServiceOptions options_;
  Mempool* const mempool_;
  BlockStore* const blocks_;
  Executor* const executor_;
  CommitFeed* const feed_;
  const std::function<NodeStatus()> status_;
  std::atomic<bool> shutting_down_{false};
};

// absl::Status -> grpc::Status with the same code and message.
grpc::Status ToGrpc(const absl::Status& status);

}  // namespace itmo::node
