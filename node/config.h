// File: node/config.h
// NodeConfig: the parsed form of a node's config.toml, and the limits the node is compiled with.
// Thread-safe: plain data and free functions.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(node::NodeConfig config, node::LoadConfig("/etc/itmo/config.toml"));
//   if (config.role == node::Role::kValidator) { ... config.consensus_key ... }
//
// config.toml:
//   [node] name, role ("validator" | "observer"), data_dir, genesis, consensus_key (validators
//   only),
//          tls_cert, tls_key
//   [api] listen        [peer] listen        [[peers]] name, address
//   [limits] mempool_txs_max, mempool_bytes_max, mempool_txs_per_submitter_max, block_txs_max,
//            block_bytes_max (may only lower the compiled-in limits below)
//   [log] level ("trace" | "debug" | "info" | "warn" | "error"), json (bool)
// Relative paths are resolved against the folder of the config file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace itmo::node {

// Compiled-in limits. A config may lower them, never raise them.
inline constexpr uint64_t kMempoolTxsMax = 200'000;
inline constexpr uint64_t kMempoolBytesMax = 512ull << 20;
inline constexpr uint64_t kMempoolTxsPerSubmitterMax = 50'000;
inline constexpr uint64_t kBlockTxsMax = 10'000;
inline constexpr uint64_t kBlockBytesMax = 16ull << 20;
// One signed transaction (body + signatures, serialized).
inline constexpr uint64_t kTxBytesMax = 64 << 10;
inline constexpr uint64_t kConfigPeersMax = 256;
inline constexpr uint64_t kConfigBytesMax = 1 << 20;
inline constexpr uint64_t kGenesisBytesMax = 64 << 20;

enum class Role { kValidator, kObserver };

std::string_view RoleName(Role role);

struct PeerAddress {
  std::string name;
  std::string address;  // host:port of its peer service.
};

struct Limits {
  uint64_t mempool_txs_max = kMempoolTxsMax;
  uint64_t mempool_bytes_max = kMempoolBytesMax;
  uint64_t mempool_txs_per_submitter_max = kMempoolTxsPerSubmitterMax;
  uint64_t block_txs_max = kBlockTxsMax;
  uint64_t block_bytes_max = kBlockBytesMax;
};

struct NodeConfig {
  std::string config_path;  // The file it was read from (for error messages).
  std::string name;
  Role role = Role::kValidator;
  std::string data_dir;  // Absolute or relative to the working directory after resolution.
  std::string genesis_path;
  std::string consensus_key;  // Validators only: Ed25519 key file (crypto::LoadKeyPair).
  std::string tls_cert;
  std::string tls_key;
  std::string api_listen = "127.0.0.1:7100";
  std::string peer_listen = "127.0.0.1:7200";
  std::vector<PeerAddress> peers;
  Limits limits;
  std::string log_level = "info";
  bool log_json = false;
};

// Parses config.toml text. `config_path` names the file in errors and its folder resolves relative
// paths. Errors: kInvalidArgument naming the file and the field ("config.toml: [node] role: must be
// ...").
absl::StatusOr<NodeConfig> ParseConfig(std::string_view text, const std::string& config_path);

// Reads and parses a file. Errors: kNotFound / kInvalidArgument naming the file (and field).
absl::StatusOr<NodeConfig> LoadConfig(const std::string& path);

// Reads a whole file of at most `bytes_max` bytes. Errors: kNotFound, kResourceExhausted,
// kInternal.
absl::StatusOr<std::string> ReadFileToString(const std::string& path, uint64_t bytes_max);

}  // namespace itmo::node
