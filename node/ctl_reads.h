// File: node/ctl_reads.h
// itmoctl's reads of the integrator API (issue 8 defect 9): an authorization with its versions,
// and the paged listings of accounts, approaches and Parties. Each prints the node's response as
// protobuf JSON; with --all a listing follows next_page_token to the end and prints one merged
// response. Thread-compatible free functions.
#pragma once

#include "absl/status/statusor.h"
#include "node/ctl_client.h"
#include "node/ctl_flags.h"

namespace itmo::node::ctl {

// Most pages one --all listing follows (a bound on the loop; the listing may be longer).
inline constexpr uint32_t kCtlListPagesMax = 10'000;

// itmoctl authorization --id ID [--version N]
absl::StatusOr<int> RunAuthorization(LedgerClient* client, const Flags& flags);
// itmoctl accounts [--registry ID] [--party CODE] [--page-size N] [--page-token T] [--all]
absl::StatusOr<int> RunAccounts(LedgerClient* client, const Flags& flags);
// itmoctl approaches [--page-size N] [--page-token T] [--all]
absl::StatusOr<int> RunApproaches(LedgerClient* client, const Flags& flags);
// itmoctl parties [--page-size N] [--page-token T] [--all]
absl::StatusOr<int> RunParties(LedgerClient* client, const Flags& flags);

}  // namespace itmo::node::ctl
