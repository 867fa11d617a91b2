// File: node/ledger_service_reads.cc
// The Ledger service's ledger reads: each one takes one LedgerView (a store snapshot at one height)
// and never the executor's ledger mutex, so queries neither wait for nor delay commits.
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "node/ledger_service.h"

namespace itmo::node {
namespace {

const grpc::Status kShuttingDown(grpc::StatusCode::UNAVAILABLE, "node is shutting down");

grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ledger::LedgerView>> LedgerService::View() const {
  absl::StatusOr<std::unique_ptr<ledger::LedgerView>> view = executor_->View();
  if (view.ok() && read_hook_) read_hook_((*view)->height());
  return view;
}

grpc::Status LedgerService::GetHoldings(grpc::ServerContext* context,
                                        const v1::GetHoldingsRequest* request,
                                        v1::Holdings* response) {
  if (shutting_down_.load()) return kShuttingDown;
  if (request->account().registry_id().empty() || request->account().account_id().empty()) {
    return Invalid("account.registry_id and account.account_id are required");
  }
  absl::StatusOr<std::unique_ptr<ledger::LedgerView>> view = View();
  if (!view.ok()) return ToGrpc(view.status(), context);
  absl::StatusOr<v1::Holdings> holdings = (*view)->GetHoldings(request->account());
  if (!holdings.ok()) return ToGrpc(holdings.status(), context);
  *response = std::move(*holdings);
  return grpc::Status::OK;
}

grpc::Status LedgerService::GetUnitHistory(grpc::ServerContext* context,
                                           const v1::GetUnitHistoryRequest* request,
                                           v1::GetUnitHistoryResponse* response) {
  if (shutting_down_.load()) return kShuttingDown;
  if (request->originating_registry().empty()) return Invalid("originating_registry is required");
  absl::StatusOr<std::unique_ptr<ledger::LedgerView>> view = View();
  if (!view.ok()) return ToGrpc(view.status(), context);
  absl::StatusOr<std::vector<v1::UnitHistoryEntry>> entries =
      (*view)->GetUnitHistory(request->originating_registry(), request->serial());
  if (!entries.ok()) return ToGrpc(entries.status(), context);
  for (v1::UnitHistoryEntry& entry : *entries) *response->add_entries() = std::move(entry);
  response->set_height((*view)->height());
  return grpc::Status::OK;
}

grpc::Status LedgerService::GetAdjustments(grpc::ServerContext* context,
                                           const v1::GetAdjustmentsRequest* request,
                                           v1::GetAdjustmentsResponse* response) {
  if (shutting_down_.load()) return kShuttingDown;
  if (request->party().empty()) return Invalid("party is required");
  if (request->year_first() > request->year_last()) {
    return Invalid(
        absl::StrCat("year_first ", request->year_first(), " > year_last ", request->year_last()));
  }
  absl::StatusOr<std::unique_ptr<ledger::LedgerView>> view = View();
  if (!view.ok()) return ToGrpc(view.status(), context);
  absl::StatusOr<std::vector<v1::Adjustment>> adjustments =
      (*view)->GetAdjustments(request->party(), request->year_first(), request->year_last());
  if (!adjustments.ok()) return ToGrpc(adjustments.status(), context);
  for (v1::Adjustment& a : *adjustments) *response->add_adjustments() = std::move(a);
  response->set_height((*view)->height());
  return grpc::Status::OK;
}

grpc::Status LedgerService::GetAuthorization(grpc::ServerContext* context,
                                             const v1::GetAuthorizationRequest* request,
                                             v1::GetAuthorizationResponse* response) {
  if (shutting_down_.load()) return kShuttingDown;
  if (request->authorization_id().empty()) return Invalid("authorization_id is required");
  absl::StatusOr<std::unique_ptr<ledger::LedgerView>> view = View();
  if (!view.ok()) return ToGrpc(view.status(), context);
  absl::StatusOr<std::optional<v1::Authorization>> a =
      (*view)->GetAuthorization(request->authorization_id());
  if (!a.ok()) return ToGrpc(a.status(), context);
  if (!a->has_value()) {
    return ToGrpc(absl::NotFoundError(absl::StrCat("REASON_UNKNOWN_AUTHORIZATION: unknown "
                                                   "authorization '",
                                                   request->authorization_id(), "'")),
                  context);
  }
  const v1::Authorization& current = **a;
  const uint32_t wanted = request->version();
  if (wanted > current.version()) {
    return ToGrpc(absl::NotFoundError(absl::StrCat(
                      "REASON_AUTHORIZATION_VERSION_MISMATCH: authorization '", current.id(),
                      "' has no version ", wanted, " (current ", current.version(), ")")),
                  context);
  }
  absl::StatusOr<std::vector<v1::AuthorizationVersion>> versions =
      (*view)->GetAuthorizationVersions(current.id());
  if (!versions.ok()) return ToGrpc(versions.status(), context);
  ITMO_CHECK(versions->size() <= current.version());
  for (v1::AuthorizationVersion& v : *versions) {
    if (wanted == 0 || v.version() == wanted) *response->add_versions() = std::move(v);
  }
  if (wanted != 0 && response->versions_size() != 1) {
    return grpc::Status(grpc::StatusCode::DATA_LOSS,
                        absl::StrCat("version ", wanted, " of '", current.id(), "' is missing"));
  }
  ITMO_CHECK(current.first_transferred() <= current.cap());  // R8.
  *response->mutable_authorization() = current;
  response->set_current_version(current.version());
  response->set_status(current.status());
  response->set_cap(current.cap());
  response->set_cap_used(current.first_transferred());
  response->set_cap_remaining(current.cap() - current.first_transferred());
  response->set_height((*view)->height());
  return grpc::Status::OK;
}

grpc::Status LedgerService::ListAccounts(grpc::ServerContext* context,
                                         const v1::ListAccountsRequest* request,
                                         v1::ListAccountsResponse* response) {
  if (shutting_down_.load()) return kShuttingDown;
  absl::StatusOr<std::unique_ptr<ledger::LedgerView>> view = View();
  if (!view.ok()) return ToGrpc(view.status(), context);
  auto page = (*view)->ListAccounts({request->registry_id(), request->holder_party()},
                                    {request->page_size(), request->page_token()});
  if (!page.ok()) return ToGrpc(page.status(), context);
  for (v1::Account& a : page->items) *response->add_accounts() = std::move(a);
  response->set_next_page_token(std::move(page->next_page_token));
  response->set_height((*view)->height());
  return grpc::Status::OK;
}

grpc::Status LedgerService::ListApproaches(grpc::ServerContext* context,
                                           const v1::ListApproachesRequest* request,
                                           v1::ListApproachesResponse* response) {
  if (shutting_down_.load()) return kShuttingDown;
  absl::StatusOr<std::unique_ptr<ledger::LedgerView>> view = View();
  if (!view.ok()) return ToGrpc(view.status(), context);
  auto page = (*view)->ListApproaches({request->page_size(), request->page_token()});
  if (!page.ok()) return ToGrpc(page.status(), context);
  for (v1::CooperativeApproach& c : page->items) *response->add_approaches() = std::move(c);
  response->set_next_page_token(std::move(page->next_page_token));
  response->set_height((*view)->height());
  return grpc::Status::OK;
}

grpc::Status LedgerService::ListParties(grpc::ServerContext* context,
                                        const v1::ListPartiesRequest* request,
                                        v1::ListPartiesResponse* response) {
  if (shutting_down_.load()) return kShuttingDown;
  absl::StatusOr<std::unique_ptr<ledger::LedgerView>> view = View();
  if (!view.ok()) return ToGrpc(view.status(), context);
  auto page = (*view)->ListParties({request->page_size(), request->page_token()});
  if (!page.ok()) return ToGrpc(page.status(), context);
  for (v1::Party& p : page->items) *response->add_parties() = std::move(p);
  response->set_next_page_token(std::move(page->next_page_token));
  response->set_height((*view)->height());
  return grpc::Status::OK;
}

}  // namespace itmo::node
