// File: node/ctl_client.h
// LedgerClient: a thin, synchronous client of a node's Ledger service
// (plaintext gRPC on the api port) for itmoctl, itmo-bench, the demo and tests,
// with the outcome wait and the inclusion-proof check integrators need.
// Thread-safe: gRPC stubs may be shared; each call has its own context.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(auto client,
//   LedgerClient::Connect("127.0.0.1:7100")); ITMO_ASSIGN_OR_RETURN(std::string
//   tx_id, client->Submit(signed_tx));
//   ITMO_ASSIGN_OR_RETURN(v1::GetTransactionResponse committed,
//                         client->WaitForCommit(tx_id, absl::Seconds(30)));
//   ITMO_RETURN_IF_ERROR(VerifyInclusionProof(committed));
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "itmo/v1/ledger_service.grpc.pb.h"

namespace itmo::node::ctl {

inline constexpr int kCtlGrpcMessageBytesMax = 64 << 20;

// A gRPC status as an absl::Status with the same code, prefixed with what was
// being done.
absl::Status FromGrpcStatus(const grpc::Status& status, const std::string& what);

class LedgerClient final {
 public:
  // Creates the channel; with wait > 0, waits until it connects. Errors:
  // kUnavailable naming the address when it does not connect in time.
  static absl::StatusOr<std::unique_ptr<LedgerClient>> Connect(
      const std::string& address, absl::Duration wait = absl::Seconds(5));

  const std::string& address() const { return address_; }
  v1::Ledger::Stub* stub() { return stub_.get(); }

  // Returns the transaction id the node computed. Errors: the node's gRPC
  // status, as absl::Status.
  absl::StatusOr<std::string> Submit(const v1::SignedTransaction& tx);
  absl::StatusOr<v1::GetTransactionResponse> GetTransaction(const std::string& tx_id);
  absl::StatusOr<v1::GetTransactionResponse> GetTransactionByClientId(
      const std::string& submitter, const std::string& client_tx_id);
  // Polls GetTransaction until COMMITTED. Errors: kDeadlineExceeded naming the
  // last state seen, at once when the node answers EXPIRED (final).
  absl::StatusOr<v1::GetTransactionResponse> WaitForCommit(const std::string& tx_id,
                                                           absl::Duration timeout);
  absl::StatusOr<v1::Holdings> GetHoldings(const v1::GetHoldingsRequest& request);
  absl::StatusOr<v1::GetUnitHistoryResponse> GetUnitHistory(
      const v1::GetUnitHistoryRequest& request);
  absl::StatusOr<v1::GetAdjustmentsResponse> GetAdjustments(
      const v1::GetAdjustmentsRequest& request);
  absl::StatusOr<v1::GetStatusResponse> GetStatus(absl::Duration timeout = absl::Seconds(5));
  absl::StatusOr<v1::GetAuthorizationResponse> GetAuthorization(
      const v1::GetAuthorizationRequest& request);
  absl::StatusOr<v1::ListAccountsResponse> ListAccounts(const v1::ListAccountsRequest& request);
  absl::StatusOr<v1::ListApproachesResponse> ListApproaches(
      const v1::ListApproachesRequest& request);
  absl::StatusOr<v1::ListPartiesResponse> ListParties(const v1::ListPartiesRequest& request);

 private:
  LedgerClient(std::string address, std::shared_ptr<grpc::Channel> channel);

  // Constant after construction.
  const std::string address_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::Ledger::Stub> stub_;
};

// Checks a COMMITTED GetTransactionResponse: the leaf hash is RFC 6962 LeafHash
// of the transaction's exact bytes, the audit path leads from it to the proof
// root, and the root equals tx_root. Errors: kFailedPrecondition when not
// committed; kDataLoss naming the check that failed.
absl::Status VerifyInclusionProof(const v1::GetTransactionResponse& response);

}  // namespace itmo::node::ctl
