// File: tests/fuzz/fuzz_node_config.cc
// Fuzz target: node::ParseConfig on arbitrary config.toml text (toml++ parse errors become a
// Status at that boundary). Properties:
//  - ParseConfig returns a Status and never crashes or throws;
//  - an error is kInvalidArgument and names the file;
//  - an accepted config keeps every limit in 1..the compiled-in limit, at most kConfigPeersMax
//    peers with unique names other than the node's own, a validator has a consensus key and an
//    observer none, and parsing is deterministic (the same text gives the same config).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "base/check.h"
#include "node/config.h"

namespace itmo::fuzz {
namespace {

constexpr size_t kInputBytesMax = 64 << 10;
constexpr char kPath[] = "/etc/itmo/config.toml";

void CheckLimit(uint64_t value, uint64_t compiled_max) {
  ITMO_CHECK(value > 0);
  ITMO_CHECK(value <= compiled_max);
}

void CheckAccepted(const node::NodeConfig& c) {
  CheckLimit(c.limits.mempool_txs_max, node::kMempoolTxsMax);
  CheckLimit(c.limits.mempool_bytes_max, node::kMempoolBytesMax);
  CheckLimit(c.limits.mempool_txs_per_submitter_max, node::kMempoolTxsPerSubmitterMax);
  CheckLimit(c.limits.block_txs_max, node::kBlockTxsMax);
  CheckLimit(c.limits.block_bytes_max, node::kBlockBytesMax);
  ITMO_CHECK(c.peers.size() <= node::kConfigPeersMax);
  std::set<std::string> names;
  for (const node::PeerAddress& peer : c.peers) {
    ITMO_CHECK(!peer.name.empty());
    ITMO_CHECK(!peer.address.empty());
    ITMO_CHECK(peer.name != c.name);
    ITMO_CHECK(names.insert(peer.name).second);
  }
  ITMO_CHECK(!c.name.empty());
  ITMO_CHECK((c.role == node::Role::kValidator) == !c.consensus_key.empty());
  ITMO_CHECK(!c.data_dir.empty());
  ITMO_CHECK(!c.genesis_path.empty());
}

}  // namespace
}  // namespace itmo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace itmo;        // NOLINT(google-build-using-namespace): a tiny entry point.
  using namespace itmo::fuzz;  // NOLINT(google-build-using-namespace)
  if (size > kInputBytesMax) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<node::NodeConfig> config = node::ParseConfig(text, kPath);
  if (!config.ok()) {
    ITMO_CHECK(absl::IsInvalidArgument(config.status()));
    ITMO_CHECK(config.status().message().find(kPath) != std::string_view::npos);
    return 0;
  }
  CheckAccepted(*config);
  absl::StatusOr<node::NodeConfig> again = node::ParseConfig(text, kPath);
  ITMO_CHECK(again.ok());
  ITMO_CHECK(again->name == config->name);
  ITMO_CHECK(again->peers.size() == config->peers.size());
  ITMO_CHECK(again->limits.block_bytes_max == config->limits.block_bytes_max);
  return 0;
}
