// File: node/ctl_demo.h
// The Article 6.2 demo that scripts/localnet.sh runs through the Ledger API
// (itmoctl demo): register a cooperative approach between Ghana and
// Switzerland, issue mitigation outcomes in Ghana's registry, authorize them,
// first transfer to Switzerland (Ghana's corresponding adjustment), a second
// transfer to Sweden, use towards Switzerland's NDC, cancellation for OMGE, and
// an attempt to use the same units twice, which the ledger rejects with its
// reason code. Every step's outcome is checked against the expected status and
// code; ids and serials are fresh per run, so the demo can run again on the
// same network. Not thread-safe: one demo per call.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(DemoReport report,
//                         RunDemo({.localnet_dir = "localnet", .node =
//                         "127.0.0.1:7100"}, std::cout));
//   return report.all_as_expected ? 0 : 1;
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "itmo/v1/tx.pb.h"

namespace itmo::node::ctl {

struct DemoOptions {
  std::string localnet_dir = "localnet";  // genesis.json and keys/ (itmoctl localnet).
  std::string node = "127.0.0.1:7100";    // The Ledger API the demo talks to.
  absl::Duration step_timeout = absl::Seconds(60);
};

struct DemoStep {
  std::string name;
  v1::TxStatus expected_status = v1::TX_ACCEPTED;
  v1::ReasonCode expected_code = v1::REASON_OK;
  v1::TransactionOutcome outcome;  // As committed.
  bool proof_verified = false;     // Inclusion proof checked against the block's tx_root.
  bool as_expected = false;
  std::string problem;  // Why not as expected.
};

struct DemoReport {
  std::vector<DemoStep> steps;
  bool adjustments_as_expected = false;
  bool all_as_expected = false;
};

// Runs the demo and prints each step and a summary (holdings, adjustments, the
// rejected attempt) to `out`. Errors: kUnavailable when the node cannot be
// reached, kNotFound for missing key files, kDeadlineExceeded when a step does
// not commit in time. A step with an unexpected outcome is not an error: it is
// reported in the DemoReport (all_as_expected false).
absl::StatusOr<DemoReport> RunDemo(const DemoOptions& options, std::ostream& out);

}  // namespace itmo::node::ctl
