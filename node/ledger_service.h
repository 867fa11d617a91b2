// File: node/ledger_service.h
// LedgerService: the itmo.v1.Ledger gRPC service (synchronous gRPC API). Handlers validate, answer
// from the block store, the ledger (each read through one Executor::View(): a store snapshot at one
// height, never under the commit path's lock) and the mempool, and never touch consensus directly:
// a submitted transaction enters the mempool, which the consensus thread drains. SubscribeCommits
// streams committed blocks from any height (from the store, then live from the CommitFeed); a
// subscriber that falls more than kSubscriberBufferBlocksMax blocks behind gets RESOURCE_EXHAUSTED
// with the height to resume from, and never slows consensus.
//
// Errors: every error whose message starts with a ledger ReasonCode name ("REASON_X: ...") also
// carries the code in trailing metadata (kReasonCodeKey: the number, kReasonNameKey: the name).
//
// Thread-safety: thread-safe (gRPC calls handlers concurrently).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "itmo/v1/ledger_service.grpc.pb.h"
#include "ledger/limits.h"
#include "node/block_store.h"
#include "node/commit_feed.h"
#include "node/config.h"
#include "node/executor.h"
#include "node/mempool.h"

namespace itmo::node {

inline constexpr uint32_t kSubmitStreamRejectionsMax = 1000;
// The API server's receive limit per message. Far above the node's transaction limit (kTxBytesMax)
// and the ledger's (kTransactionBytesMax), so that an oversize transaction reaches the handler and
// gets INVALID_ARGUMENT with REASON_TRANSACTION_TOO_LARGE; only a message above this limit gets the
// transport's RESOURCE_EXHAUSTED (no reason code).
inline constexpr int kApiMessageBytesMax = 4 << 20;
static_assert(kApiMessageBytesMax >= 2 * ledger::kTransactionBytesMax);
static_assert(static_cast<uint64_t>(kApiMessageBytesMax) >= 16 * kTxBytesMax);
// Trailing metadata of an error with a ledger reason code.
inline constexpr char kReasonCodeKey[] = "itmo-reason-code";
inline constexpr char kReasonNameKey[] = "itmo-reason-name";

// Applies the API server's options (message limits) to `builder`; node.cc and tests use it.
void ConfigureApiServer(grpc::ServerBuilder* builder);

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
  grpc::Status GetAuthorization(grpc::ServerContext* context,
                                const v1::GetAuthorizationRequest* request,
                                v1::GetAuthorizationResponse* response) override;
  grpc::Status ListAccounts(grpc::ServerContext* context, const v1::ListAccountsRequest* request,
                            v1::ListAccountsResponse* response) override;
  grpc::Status ListApproaches(grpc::ServerContext* context,
                              const v1::ListApproachesRequest* request,
                              v1::ListApproachesResponse* response) override;
  grpc::Status ListParties(grpc::ServerContext* context, const v1::ListPartiesRequest* request,
                           v1::ListPartiesResponse* response) override;

  // Test hook: called by every ledger read with its view's height, after the view is taken and
  // before it is read (a test blocks here to hold a query in progress). REQUIRES: set before the
  // service handles calls.
  void TEST_SetReadHook(std::function<void(uint64_t height)> hook) { read_hook_ = std::move(hook); }

  // The committed answer for one tx id (state COMMITTED with proof) or std::nullopt.
  absl::StatusOr<std::optional<v1::GetTransactionResponse>> CommittedTransaction(
      std::string_view tx_id) const;

 private:
  absl::StatusOr<std::string> Submit(const v1::SignedTransaction& tx);
  // A view of the committed ledger for one read (runs the test hook).
  absl::StatusOr<std::unique_ptr<ledger::LedgerView>> View() const;
  // Sends one record (stripped of txs when asked). False when the client went away.
  static bool Send(grpc::ServerWriter<v1::SubscribeCommitsResponse>* writer,
                   const v1::SubscribeCommitsResponse& record, bool omit_transactions);

  const LedgerServiceOptions options_;
  Mempool* const mempool_;
  BlockStore* const blocks_;
  Executor* const executor_;
  CommitFeed* const feed_;
  const std::function<NodeStatus()> status_;
  std::function<void(uint64_t)> read_hook_;
  std::atomic<bool> shutting_down_{false};
};

// absl::Status -> grpc::Status with the same code and message.
grpc::Status ToGrpc(const absl::Status& status);
// The same, and when the message starts with a ReasonCode name, that code in `context`'s trailing
// metadata (kReasonCodeKey, kReasonNameKey). `context` may be null (handlers called directly).
grpc::Status ToGrpc(const absl::Status& status, grpc::ServerContext* context);
// The ReasonCode an error message starts with ("REASON_X: ..." or "REASON_X"), if any.
std::optional<v1::ReasonCode> ReasonCodeOf(std::string_view message);

}  // namespace itmo::node
