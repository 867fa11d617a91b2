// File: node/ctl_peer_probe.h
// ProbePeer: dials a node's Peer service over mTLS with a given certificate and
// key, trusting the certificates pinned in genesis, and reports whether the
// node accepted the connection. The e2e tests use it to show that a certificate
// not in genesis is refused. Thread-safe: a free function.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace itmo::node::ctl {

struct PeerProbeOptions {
  std::string address;       // The peer's host:port.
  std::string target_name;   // The peer's node name (TLS name override).
  std::string cert_path;     // The client's certificate (PEM)...
  std::string key_path;      // ...and key.
  std::string genesis_path;  // Roots: every certificate pinned in genesis.
  absl::Duration wait = absl::Seconds(3);
};

struct PeerProbeResult {
  bool accepted = false;  // The stream stayed open for `wait` or delivered a message.
  std::string detail;     // The status the node ended the stream with, when refused.
};

// Errors: kNotFound / kInvalidArgument for the files; a refusal is a result,
// not an error.
absl::StatusOr<PeerProbeResult> ProbePeer(const PeerProbeOptions& options);

}  // namespace itmo::node::ctl
