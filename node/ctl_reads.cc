// File: node/ctl_reads.cc
#include "node/ctl_reads.h"

#include <cstdint>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "node/ctl_util.h"

namespace itmo::node::ctl {
namespace {

constexpr int kExitOk = 0;

struct PageFlags {
  uint32_t page_size = 0;
  std::string page_token;
  bool all = false;
};

absl::StatusOr<PageFlags> ParsePageFlags(const Flags& flags) {
  PageFlags out;
  ITMO_ASSIGN_OR_RETURN(uint64_t size, flags.GetUint("page-size", 0));
  if (size > UINT32_MAX) return absl::InvalidArgumentError("--page-size is too large");
  out.page_size = static_cast<uint32_t>(size);
  out.page_token = flags.Get("page-token");
  out.all = flags.Has("all");
  return out;
}

// Calls `fetch(request)` page after page (all: until next_page_token is empty), appending each
// page's items to the first response with `merge`; prints the result.
template <typename Request, typename Response, typename Fetch, typename Merge>
absl::StatusOr<int> List(Request request, const PageFlags& page, Fetch fetch, Merge merge) {
  request.set_page_size(page.page_size);
  request.set_page_token(page.page_token);
  ITMO_ASSIGN_OR_RETURN(Response merged, fetch(request));
  for (uint32_t pages = 1; page.all && !merged.next_page_token().empty(); ++pages) {
    if (pages >= kCtlListPagesMax) {
      return absl::ResourceExhaustedError(absl::StrCat("more than ", kCtlListPagesMax,
                                                       " pages; continue with --page-token ",
                                                       merged.next_page_token()));
    }
    request.set_page_token(merged.next_page_token());
    ITMO_ASSIGN_OR_RETURN(Response next, fetch(request));
    merge(next, &merged);
    merged.set_next_page_token(next.next_page_token());
    merged.set_height(next.height());  // The height of the last page read.
  }
  std::cout << ToJson(merged) << "\n";
  return kExitOk;
}

}  // namespace

absl::StatusOr<int> RunAuthorization(LedgerClient* client, const Flags& flags) {
  ITMO_CHECK(client != nullptr);
  if (!flags.Has("id")) return absl::InvalidArgumentError("authorization needs --id ID");
  ITMO_ASSIGN_OR_RETURN(uint64_t version, flags.GetUint("version", 0));
  if (version > UINT32_MAX) return absl::InvalidArgumentError("--version is too large");
  v1::GetAuthorizationRequest request;
  request.set_authorization_id(flags.Get("id"));
  request.set_version(static_cast<uint32_t>(version));
  ITMO_ASSIGN_OR_RETURN(v1::GetAuthorizationResponse response, client->GetAuthorization(request));
  std::cout << ToJson(response) << "\n";
  return kExitOk;
}

absl::StatusOr<int> RunAccounts(LedgerClient* client, const Flags& flags) {
  ITMO_CHECK(client != nullptr);
  ITMO_ASSIGN_OR_RETURN(PageFlags page, ParsePageFlags(flags));
  v1::ListAccountsRequest request;
  request.set_registry_id(flags.Get("registry"));
  request.set_holder_party(flags.Get("party"));
  return List<v1::ListAccountsRequest, v1::ListAccountsResponse>(
      request, page, [client](const auto& r) { return client->ListAccounts(r); },
      [](const v1::ListAccountsResponse& next, v1::ListAccountsResponse* merged) {
        for (const v1::Account& a : next.accounts()) *merged->add_accounts() = a;
      });
}

absl::StatusOr<int> RunApproaches(LedgerClient* client, const Flags& flags) {
  ITMO_CHECK(client != nullptr);
  ITMO_ASSIGN_OR_RETURN(PageFlags page, ParsePageFlags(flags));
  return List<v1::ListApproachesRequest, v1::ListApproachesResponse>(
      v1::ListApproachesRequest(), page,
      [client](const auto& r) { return client->ListApproaches(r); },
      [](const v1::ListApproachesResponse& next, v1::ListApproachesResponse* merged) {
        for (const v1::CooperativeApproach& c : next.approaches()) *merged->add_approaches() = c;
      });
}

absl::StatusOr<int> RunParties(LedgerClient* client, const Flags& flags) {
  ITMO_CHECK(client != nullptr);
  ITMO_ASSIGN_OR_RETURN(PageFlags page, ParsePageFlags(flags));
  return List<v1::ListPartiesRequest, v1::ListPartiesResponse>(
      v1::ListPartiesRequest(), page, [client](const auto& r) { return client->ListParties(r); },
      [](const v1::ListPartiesResponse& next, v1::ListPartiesResponse* merged) {
        for (const v1::Party& p : next.parties()) *merged->add_parties() = p;
      });
}

}  // namespace itmo::node::ctl
