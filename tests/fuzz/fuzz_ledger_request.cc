// File: tests/fuzz/fuzz_ledger_request.cc
// Fuzz target: every unary request of the itmo.v1.Ledger service, and a peer's proposal block,
// against the small in-memory node of tests/fuzz/node_world.h. The first input byte picks the
// request kind (RequestKind, mod kRequestKinds), the rest is the serialized request; the handler
// is called directly with a fresh grpc::ServerContext. (The two streaming calls are not covered:
// SubmitTransactions runs Submit per message, as SubmitTransaction does here; SubscribeCommits
// needs a live stream.)
//
// Properties checked on every input:
//  - no handler crashes, CHECK-fails or trips a sanitizer;
//  - an error status has a message, and a status with a "REASON_X" prefix names a real code;
//  - no request changes the committed state (executed height and state root);
//  - a submission that succeeded is PENDING to GetTransaction by its returned id;
//  - NoteBlock of any block and ValidateProposal of any block with a header above height 0
//    return; the state stays unchanged.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/check.h"
#include "google/protobuf/stubs/common.h"
#include "grpcpp/grpcpp.h"
#include "itmo/v1/ledger_service.pb.h"
#include "tests/fuzz/node_world.h"

namespace itmo::fuzz {
namespace {

constexpr size_t kInputBytesMax = 256 << 10;

void CheckStatus(const grpc::Status& status) {
  if (status.ok()) return;
  ITMO_CHECK(!status.error_message().empty());
  if (status.error_message().rfind("REASON_", 0) == 0) {
    ITMO_CHECK(node::ReasonCodeOf(status.error_message()).has_value());
  }
}

template <typename Request, typename Response, typename Handler>
bool Call(node::LedgerService* service, Handler handler, const std::string& bytes) {
  Request request;
  if (!request.ParseFromString(bytes)) return false;
  Response response;
  grpc::ServerContext context;
  const grpc::Status status = (service->*handler)(&context, &request, &response);
  CheckStatus(status);
  return status.ok();
}

void Submit(NodeUnderTest* node, const std::string& bytes) {
  v1::SignedTransaction tx;
  if (!tx.ParseFromString(bytes)) return;
  v1::SubmitTransactionResponse response;
  grpc::ServerContext context;
  const grpc::Status status = node->service->SubmitTransaction(&context, &tx, &response);
  CheckStatus(status);
  if (!status.ok()) return;
  v1::GetTransactionRequest get;
  get.set_tx_id(response.tx_id());
  v1::GetTransactionResponse found;
  grpc::ServerContext get_context;
  ITMO_CHECK(node->service->GetTransaction(&get_context, &get, &found).ok());
  ITMO_CHECK(found.state() == v1::TRANSACTION_STATE_PENDING);
}

// As node/driver.cc: NoteBlock on every block a peer sends, before the replica looks at it; the
// replica asks ValidateProposal only about blocks with a header above height 0 (its REQUIRES).
void Propose(NodeUnderTest* node, const std::string& bytes) {
  v1::Block block;
  if (!block.ParseFromString(bytes)) return;
  (void)node->executor->NoteBlock(block);
  if (!block.has_header() || block.header().height() == 0) return;
  (void)node->executor->ValidateProposal(block);
}

void Dispatch(NodeUnderTest* node, RequestKind kind, const std::string& bytes) {
  node::LedgerService* s = node->service.get();
  using S = node::LedgerService;
  switch (kind) {
    case RequestKind::kSubmitTransaction:
      return Submit(node, bytes);
    case RequestKind::kGetTransaction:
      Call<v1::GetTransactionRequest, v1::GetTransactionResponse>(s, &S::GetTransaction, bytes);
      return;
    case RequestKind::kGetHoldings:
      Call<v1::GetHoldingsRequest, v1::Holdings>(s, &S::GetHoldings, bytes);
      return;
    case RequestKind::kGetUnitHistory:
      Call<v1::GetUnitHistoryRequest, v1::GetUnitHistoryResponse>(s, &S::GetUnitHistory, bytes);
      return;
    case RequestKind::kGetAdjustments:
      Call<v1::GetAdjustmentsRequest, v1::GetAdjustmentsResponse>(s, &S::GetAdjustments, bytes);
      return;
    case RequestKind::kGetStatus:
      Call<v1::GetStatusRequest, v1::GetStatusResponse>(s, &S::GetStatus, bytes);
      return;
    case RequestKind::kGetAuthorization:
      Call<v1::GetAuthorizationRequest, v1::GetAuthorizationResponse>(s, &S::GetAuthorization,
                                                                      bytes);
      return;
    case RequestKind::kListAccounts:
      Call<v1::ListAccountsRequest, v1::ListAccountsResponse>(s, &S::ListAccounts, bytes);
      return;
    case RequestKind::kListApproaches:
      Call<v1::ListApproachesRequest, v1::ListApproachesResponse>(s, &S::ListApproaches, bytes);
      return;
    case RequestKind::kListParties:
      Call<v1::ListPartiesRequest, v1::ListPartiesResponse>(s, &S::ListParties, bytes);
      return;
    case RequestKind::kProposal:
      return Propose(node, bytes);
  }
}

}  // namespace
}  // namespace itmo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace itmo;        // NOLINT(google-build-using-namespace): a tiny entry point.
  using namespace itmo::fuzz;  // NOLINT(google-build-using-namespace)
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  static NodeUnderTest* const node = OpenNodeUnderTest().release();
  static const consensus::ExecutedHead head = node->executor->executed_head();
  if (size == 0 || size > kInputBytesMax) return 0;
  const auto kind = static_cast<RequestKind>(data[0] % kRequestKinds);
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  ResetPool(node);
  Dispatch(node, kind, bytes);
  const consensus::ExecutedHead after = node->executor->executed_head();
  ITMO_CHECK(after.height == head.height);
  ITMO_CHECK(after.state_root == head.state_root);
  return 0;
}
