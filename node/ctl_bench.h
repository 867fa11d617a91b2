// File: node/ctl_bench.h
// The cluster load generator behind itmo-bench: against a running local
// network, sets up units (approach, authorization, issuance), pre-signs N
// one-serial transfers, submits them over SubmitTransactions client streams
// (round-robin over the validators), follows SubscribeCommits and measures
// committed throughput and commit latency. Not thread-safe: one run at a time;
// it starts and joins its own threads.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(BenchResult r, RunClusterBench({.localnet_dir =
//   "localnet", .txs = 5000})); std::cout << BenchResultJson(r);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/ctl_util.h"

namespace itmo::node::ctl {

inline constexpr uint64_t kBenchTxsMax = 1'000'000;
inline constexpr uint32_t kBenchStreamsMax = 64;

struct BenchOptions {
  std::string localnet_dir = "localnet";
  std::vector<std::string> nodes;  // Submission targets; empty: every validator of the localnet.
  std::string subscribe_node;      // Empty: the first target.
  uint64_t txs = 1000;
  uint32_t streams = 4;                         // Concurrent SubmitTransactions streams.
  absl::Duration timeout = absl::Seconds(300);  // For the measured phase.
  int64_t lifetime_ms = kTxLifetimeMsDefault;   // valid_until_ms = now + this, per transaction.
  std::string ids_out;  // Not empty: write the measured transactions' ids there (hex, one a line).
};

struct BenchResult {
  uint64_t txs = 0;
  uint64_t submit_accepted = 0;  // Into mempools.
  uint64_t submit_rejected = 0;
  uint64_t committed = 0;  // Of the submitted ones, seen in committed blocks.
  uint64_t committed_accepted = 0;
  uint64_t committed_rejected = 0;
  uint64_t blocks = 0;
  double submit_seconds = 0;  // First write to last stream finished.
  double commit_seconds = 0;  // First write to last commit seen.
  double throughput_tps = 0;  // committed / commit_seconds.
  double latency_ms_p50 = 0;  // Submit (stream write) to commit seen by the subscriber.
  double latency_ms_p99 = 0;
  double latency_ms_max = 0;
  uint64_t height_first = 0;
  uint64_t height_last = 0;
  std::string first_rejection;  // The first submission or execution rejection,
                                // for diagnosis.
};

// Errors: kInvalidArgument for options out of range; kUnavailable when a node
// is unreachable; kFailedPrecondition when the setup transactions are not
// accepted.
absl::StatusOr<BenchResult> RunClusterBench(const BenchOptions& options);

std::string BenchResultJson(const BenchResult& result, const BenchOptions& options);

}  // namespace itmo::node::ctl
