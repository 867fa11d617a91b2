// File: node/node.h
// Node: one itmo-node process, wired from a NodeConfig: genesis, the RocksDB store, the ledger, the
// block store, the mempool, the executor (consensus::Application), the consensus Replica and its
// Driver thread, the mTLS PeerTransport, a gossip thread and the Ledger gRPC server (with health
// checking and reflection).
//
// Thread-safety: Start/Wait/Shutdown may be called from different threads; Shutdown is idempotent.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(std::unique_ptr<Node> node, Node::Start(config));
//   int exit_code = node->Wait();  // Until Shutdown() or a fatal error.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "node/config.h"

namespace itmo::node {

class NodeParts;

class Node final {
 public:
  // Errors: a clear message naming the file and field for config/genesis/key problems, kUnavailable
  // when a port cannot be bound, storage errors, kDataLoss for an inconsistent data dir.
  static absl::StatusOr<std::unique_ptr<Node>> Start(const NodeConfig& config);
  ~Node();

  // Blocks until Shutdown() or a fatal error; then stops everything. Returns the process exit code:
  // 0 after Shutdown(), kExitStateDivergence (3) for a state divergence, 1 for other fatal errors.
  int Wait();
  void Shutdown();

  // The bound api / peer ports (for tests with port 0).
  int api_port() const;
  int peer_port() const;

 private:
  explicit Node(std::unique_ptr<NodeParts> parts);
  void StopAll();

  std::unique_ptr<NodeParts> parts_;
  bool stopped_ = false;  // Owner thread only (Wait / destructor).
};

}  // namespace itmo::node
