#include "node/ctl_client.h"

#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "crypto/digest.h"
#include "crypto/merkle.h"

namespace itmo::node::ctl {
namespace {

constexpr size_t kProofPathMax = 64;

std::unique_ptr<grpc::ClientContext> NewContext(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
  return context;
}

constexpr absl::Duration kCallTimeout = absl::Seconds(10);

}  // namespace

absl::Status FromGrpcStatus(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

LedgerClient::LedgerClient(std::string address, std::shared_ptr<grpc::Channel> channel)
    : address_(std::move(address)),
      channel_(std::move(channel)),
      stub_(v1::Ledger::NewStub(channel_)) {}

absl::StatusOr<std::unique_ptr<LedgerClient>> LedgerClient::Connect(const std::string& address,
                                                                    absl::Duration wait) {
  if (address.empty()) return absl::InvalidArgumentError("empty node address");
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kCtlGrpcMessageBytesMax);
  args.SetMaxSendMessageSize(kCtlGrpcMessageBytesMax);
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  if (wait > absl::ZeroDuration()) {
    auto deadline = std::chrono::system_clock::now() +
                    std::chrono::milliseconds(absl::ToInt64Milliseconds(wait));
    if (!channel->WaitForConnected(deadline)) {
      return absl::UnavailableError(absl::StrCat("cannot connect to the node at ", address,
                                                 " within ", absl::FormatDuration(wait),
                                                 " (is it running? check --node)"));
    }
  }
  return std::unique_ptr<LedgerClient>(new LedgerClient(address, std::move(channel)));
}

absl::StatusOr<std::string> LedgerClient::Submit(const v1::SignedTransaction& tx) {
  auto context = NewContext(kCallTimeout);
  v1::SubmitTransactionResponse response;
  ITMO_RETURN_IF_ERROR(FromGrpcStatus(stub_->SubmitTransaction(context.get(), tx, &response),
                                      absl::StrCat("SubmitTransaction to ", address_)));
  return response.tx_id();
}

absl::StatusOr<v1::GetTransactionResponse> LedgerClient::GetTransaction(const std::string& tx_id) {
  v1::GetTransactionRequest request;
  request.set_tx_id(tx_id);
  auto context = NewContext(kCallTimeout);
  v1::GetTransactionResponse response;
  ITMO_RETURN_IF_ERROR(FromGrpcStatus(stub_->GetTransaction(context.get(), request, &response),
                                      absl::StrCat("GetTransaction from ", address_)));
  return response;
}

absl::StatusOr<v1::GetTransactionResponse> LedgerClient::GetTransactionByClientId(
    const std::string& submitter, const std::string& client_tx_id) {
  v1::GetTransactionRequest request;
  request.mutable_client()->set_submitter(submitter);
  request.mutable_client()->set_client_tx_id(client_tx_id);
  auto context = NewContext(kCallTimeout);
  v1::GetTransactionResponse response;
  ITMO_RETURN_IF_ERROR(FromGrpcStatus(stub_->GetTransaction(context.get(), request, &response),
                                      absl::StrCat("GetTransaction from ", address_)));
  return response;
}

absl::StatusOr<v1::GetTransactionResponse> LedgerClient::WaitForCommit(const std::string& tx_id,
                                                                       absl::Duration timeout) {
  ITMO_CHECK(tx_id.size() == crypto::kDigestBytes);
  ITMO_CHECK(timeout > absl::ZeroDuration());
  const absl::Time deadline = absl::Now() + timeout;
  v1::TransactionState last = v1::TRANSACTION_STATE_UNSPECIFIED;
  absl::Duration pause = absl::Milliseconds(20);
  while (true) {
    ITMO_ASSIGN_OR_RETURN(v1::GetTransactionResponse response, GetTransaction(tx_id));
    if (response.state() == v1::TRANSACTION_STATE_COMMITTED) return response;
    if (response.state() == v1::TRANSACTION_STATE_EXPIRED) {  // Final: waiting cannot help.
      return absl::DeadlineExceededError(
          absl::StrCat("transaction ", crypto::ToHex(tx_id),
                       " EXPIRED: a committed block passed its valid_until_ms without it; "
                       "resubmit with a new deadline (same client_tx_id)"));
    }
    last = response.state();
    if (absl::Now() + pause > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(absl::ToInt64Milliseconds(pause)));
    pause = std::min(pause * 2, absl::Milliseconds(200));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "transaction ", crypto::ToHex(tx_id), " not committed within ", absl::FormatDuration(timeout),
      "; last state ", v1::TransactionState_Name(last)));
}

absl::StatusOr<v1::Holdings> LedgerClient::GetHoldings(const v1::GetHoldingsRequest& request) {
  auto context = NewContext(kCallTimeout);
  v1::Holdings response;
  ITMO_RETURN_IF_ERROR(FromGrpcStatus(stub_->GetHoldings(context.get(), request, &response),
                                      absl::StrCat("GetHoldings from ", address_)));
  return response;
}

absl::StatusOr<v1::GetAuthorizationResponse> LedgerClient::GetAuthorization(
    const v1::GetAuthorizationRequest& request) {
  auto context = NewContext(kCallTimeout);
  v1::GetAuthorizationResponse response;
  ITMO_RETURN_IF_ERROR(FromGrpcStatus(stub_->GetAuthorization(context.get(), request, &response),
                                      absl::StrCat("GetAuthorization from ", address_)));
  return response;
}

absl::StatusOr<v1::ListAccountsResponse> LedgerClient::ListAccounts(
    const v1::ListAccountsRequest& request) {
  auto context = NewContext(kCallTimeout);
  v1::ListAccountsResponse response;
  ITMO_RETURN_IF_ERROR(FromGrpcStatus(stub_->ListAccounts(context.get(), request, &response),
                                      absl::StrCat("ListAccounts from ", address_)));
  return response;
}

absl::StatusOr<v1::ListApproachesResponse> LedgerClient::ListApproaches(
    const v1::ListApproachesRequest& request) {
  auto context = NewContext(kCallTimeout);
  v1::ListApproachesResponse response;
  ITMO_RETURN_IF_ERROR(FromGrpcStatus(stub_->ListApproaches(context.get(), request, &response),
                                      absl::StrCat("ListApproaches from ", address_)));
  return response;
}

absl::StatusOr<v1::ListPartiesResponse> LedgerClient::ListParties(
    const v1::ListPartiesRequest& request) {
  auto context = NewContext(kCallTimeout);
  v1::ListPartiesResponse response;
  ITMO_RETURN_IF_ERROR(FromGrpcStatus(stub_->ListParties(context.get(), request, &response),
                                      absl::StrCat("ListParties from ", address_)));
  return response;
}

absl::StatusOr<v1::GetUnitHistoryResponse> LedgerClient::GetUnitHistory(
    const v1::GetUnitHistoryRequest& request) {
  auto context = NewContext(kCallTimeout);
  v1::GetUnitHistoryResponse response;
  ITMO_RETURN_IF_ERROR(FromGrpcStatus(stub_->GetUnitHistory(context.get(), request, &response),
                                      absl::StrCat("GetUnitHistory from ", address_)));
  return response;
}

absl::StatusOr<v1::GetAdjustmentsResponse> LedgerClient::GetAdjustments(
    const v1::GetAdjustmentsRequest& request) {
  auto context = NewContext(kCallTimeout);
  v1::GetAdjustmentsResponse response;
  ITMO_RETURN_IF_ERROR(FromGrpcStatus(stub_->GetAdjustments(context.get(), request, &response),
                                      absl::StrCat("GetAdjustments from ", address_)));
  return response;
}

absl::StatusOr<v1::GetStatusResponse> LedgerClient::GetStatus(absl::Duration timeout) {
  auto context = NewContext(timeout);
  v1::GetStatusResponse response;
  ITMO_RETURN_IF_ERROR(
      FromGrpcStatus(stub_->GetStatus(context.get(), v1::GetStatusRequest(), &response),
                     absl::StrCat("GetStatus from ", address_)));
  return response;
}

absl::Status VerifyInclusionProof(const v1::GetTransactionResponse& response) {
  if (response.state() != v1::TRANSACTION_STATE_COMMITTED) {
    return absl::FailedPreconditionError("the transaction is not committed: no proof to verify");
  }
  const v1::InclusionProof& proof = response.proof();
  crypto::Digest leaf = crypto::LeafHash(response.transaction());
  if (crypto::AsStringView(leaf) != proof.leaf_hash()) {
    return absl::DataLossError("the proof's leaf hash is not LeafHash of the transaction bytes");
  }
  if (proof.path_size() > static_cast<int>(kProofPathMax)) {
    return absl::DataLossError(absl::StrCat("proof path too long: ", proof.path_size()));
  }
  std::vector<crypto::Digest> path;
  for (const std::string& node : proof.path()) {
    ITMO_ASSIGN_OR_RETURN(crypto::Digest digest, crypto::DigestFromBytes(node));
    path.push_back(digest);
  }
  ITMO_ASSIGN_OR_RETURN(crypto::Digest root,
                        crypto::DigestFromBytes(response.block_header().tx_root()));
  if (proof.root() != response.block_header().tx_root()) {
    return absl::DataLossError("the proof's root differs from the block's tx_root");
  }
  if (!crypto::VerifyInclusion(leaf, proof.leaf_index(), proof.tree_size(), path, root)) {
    return absl::DataLossError(absl::StrCat("the audit path of leaf ", proof.leaf_index(), " of ",
                                            proof.tree_size(), " does not lead to tx_root ",
                                            crypto::ToHex(response.block_header().tx_root())));
  }
  return absl::OkStatus();
}

}  // namespace itmo::node::ctl
