// File: node/ctl_localnet.h
// Generation of a local test network: genesis.json, one folder per node with
// config.toml, the consensus key (validators), the TLS key and certificate, and
// the keys of the Parties' authorities, the registries and the secretariat
// under <dir>/keys/ (mode 0600). The genesis holds a realistic set of Parties
// (CHE, GHA, SWE, SGP with NDC periods 2021-2030 and their CA methods), their
// national registries, accounts, and the UN international registry.
// Thread-safe: free functions.
//
// Ports (base 7100 by default): validator i: api base+i, peer base+100+i;
// observer j: api base+50+j, peer base+150+j.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(Localnet net, CreateLocalnet({.dir = "localnet"}));
//   // net.nodes[0].config_path == "localnet/validator-0/config.toml"
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/keys.h"
#include "itmo/v1/genesis.pb.h"

namespace itmo::node::ctl {

inline constexpr uint32_t kLocalnetValidatorsMax = 64;
inline constexpr uint32_t kLocalnetObserversMax = 16;
inline constexpr uint32_t kLocalnetPortSpan = 200;  // Ports base .. base+199 are used.

struct LocalnetOptions {
  std::string dir = "localnet";
  uint32_t validators = 4;
  uint32_t observers = 1;
  uint32_t base_port = 7100;
  std::string chain_id = "itmo-localnet";
  std::string host = "127.0.0.1";
  bool force = false;  // Replace an existing network in `dir` (removes it first).
  std::string log_level = "info";
};

struct LocalnetNode {
  std::string name;  // "validator-0", "observer-0".
  std::string role;  // "validator" or "observer".
  std::string dir;   // <dir>/<name>
  std::string config_path;
  std::string api_address;
  std::string peer_address;
};

struct Localnet {
  std::string dir;
  std::string genesis_path;
  v1::Genesis genesis;
  std::vector<LocalnetNode> nodes;  // Validators first, then observers.
};

// Writes a fresh network. Also writes <dir>/nodes.tsv: one line per node "name
// role api peer config". Errors: kInvalidArgument for counts or ports out of
// range; kAlreadyExists when <dir>/genesis.json exists and !force; kInternal on
// I/O or key generation errors.
absl::StatusOr<Localnet> CreateLocalnet(const LocalnetOptions& options);

// Reads <dir>/genesis.json and <dir>/nodes.tsv. Errors: kNotFound,
// kInvalidArgument.
absl::StatusOr<Localnet> LoadLocalnet(const std::string& dir);

// Errors: kNotFound, kInvalidArgument (naming what did not parse).
absl::StatusOr<v1::Genesis> ReadGenesisJson(const std::string& path);

// <dir>/keys/<id>.key, where id is a Party code + "-authority"
// ("CHE-authority"), a registry id
// ("CHE-NR", "UN-IR") or "secretariat".
std::string LocalnetKeyPath(const std::string& dir, const std::string& id);
absl::StatusOr<crypto::KeyPair> LoadLocalnetKey(const std::string& dir, const std::string& id);

// The config.toml text of one node (paths relative to the node's folder).
std::string NodeConfigToml(const LocalnetNode& node, const Localnet& net,
                           const std::string& log_level);

}  // namespace itmo::node::ctl
