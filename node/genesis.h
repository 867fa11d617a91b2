// File: node/genesis.h
// Loading and checking genesis.json: the protobuf JSON form of itmo.v1.Genesis. Thread-safe: free
// functions.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(v1::Genesis genesis, node::LoadGenesis(config.genesis_path));
//   std::optional<uint32_t> index = node::ValidatorIndex(genesis, config.name);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "itmo/v1/genesis.pb.h"

namespace itmo::node {

// Parses genesis JSON and checks it (see ValidateGenesis). `path` names the file in errors.
// Errors: kInvalidArgument naming the file and the field.
absl::StatusOr<v1::Genesis> ParseGenesis(std::string_view json, const std::string& path);
absl::StatusOr<v1::Genesis> LoadGenesis(const std::string& path);

// Structural checks the node relies on: a chain id, 1..256 validators with unique names and 32-byte
// consensus keys, unique node names across validators and observers. The ITMO content (parties,
// registries, ...) is checked by the ledger when it opens.
absl::Status ValidateGenesis(const v1::Genesis& genesis, const std::string& path);

// The index of validator `name` in genesis.validators, if it is one.
std::optional<uint32_t> ValidatorIndex(const v1::Genesis& genesis, std::string_view name);
bool IsObserver(const v1::Genesis& genesis, std::string_view name);
// The pinned TLS certificate of node `name` (validator or observer); empty when unknown.
std::string CertificateOf(const v1::Genesis& genesis, std::string_view name);

}  // namespace itmo::node
