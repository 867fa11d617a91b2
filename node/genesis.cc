// File: node/genesis.cc
#include "node/genesis.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "crypto/keys.h"
#include "google/protobuf/util/json_util.h"
#include "node/config.h"

namespace itmo::node {
namespace {

inline constexpr size_t kGenesisValidatorsMax = 256;
inline constexpr size_t kGenesisObserversMax = 256;

absl::Status Error(const std::string& path, std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", ToAbsl(field), ": ", ToAbsl(what)));
}

}  // namespace

absl::Status ValidateGenesis(const v1::Genesis& genesis, const std::string& path) {
  if (genesis.chain_id().empty()) return Error(path, "chain_id", "missing (required)");
  if (genesis.validators().empty()) return Error(path, "validators", "at least one is required");
  if (static_cast<size_t>(genesis.validators_size()) > kGenesisValidatorsMax) {
    return Error(path, "validators", absl::StrCat("more than ", kGenesisValidatorsMax));
  }
  if (static_cast<size_t>(genesis.observers_size()) > kGenesisObserversMax) {
    return Error(path, "observers", absl::StrCat("more than ", kGenesisObserversMax));
  }
  std::set<std::string> names;
  std::set<std::string> keys;
  for (int i = 0; i < genesis.validators_size(); ++i) {
    const v1::Validator& v = genesis.validators(i);
    std::string field = absl::StrCat("validators[", i, "]");
    if (v.name().empty()) return Error(path, field + ".name", "missing (required)");
    if (!names.insert(v.name()).second) {
      return Error(path, field + ".name", absl::StrCat("duplicate node name \"", v.name(), "\""));
    }
    if (v.consensus_key().size() != crypto::kPublicKeyBytes) {
      return Error(
          path, field + ".consensus_key",
          absl::StrCat("must be 32 bytes (base64 in JSON), got ", v.consensus_key().size()));
    }
    if (!keys.insert(v.consensus_key()).second) {
      return Error(path, field + ".consensus_key", "the same key as another validator");
    }
    if (v.tls_certificate_pem().empty()) {
      return Error(path, field + ".tls_certificate_pem", "missing (required)");
    }
  }
  for (int i = 0; i < genesis.observers_size(); ++i) {
    const v1::Observer& o = genesis.observers(i);
    std::string field = absl::StrCat("observers[", i, "]");
    if (o.name().empty()) return Error(path, field + ".name", "missing (required)");
    if (!names.insert(o.name()).second) {
      return Error(path, field + ".name", absl::StrCat("duplicate node name \"", o.name(), "\""));
    }
    if (o.tls_certificate_pem().empty()) {
      return Error(path, field + ".tls_certificate_pem", "missing (required)");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Genesis> ParseGenesis(std::string_view json, const std::string& path) {
  v1::Genesis genesis;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  google::protobuf::util::Status status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &genesis, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a valid itmo.v1.Genesis JSON: ", status.message().as_string()));
  }
  ITMO_RETURN_IF_ERROR(ValidateGenesis(genesis, path));
  return genesis;
}

absl::StatusOr<v1::Genesis> LoadGenesis(const std::string& path) {
  ITMO_ASSIGN_OR_RETURN(std::string json, ReadFileToString(path, kGenesisBytesMax));
  return ParseGenesis(json, path);
}

std::optional<uint32_t> ValidatorIndex(const v1::Genesis& genesis, std::string_view name) {
  for (int i = 0; i < genesis.validators_size(); ++i) {
    if (genesis.validators(i).name() == name) return static_cast<uint32_t>(i);
  }
  return std::nullopt;
}

bool IsObserver(const v1::Genesis& genesis, std::string_view name) {
  for (const v1::Observer& o : genesis.observers()) {
    if (o.name() == name) return true;
  }
  return false;
}

std::string CertificateOf(const v1::Genesis& genesis, std::string_view name) {
  for (const v1::Validator& v : genesis.validators()) {
    if (v.name() == name) return v.tls_certificate_pem();
  }
  for (const v1::Observer& o : genesis.observers()) {
    if (o.name() == name) return o.tls_certificate_pem();
  }
  return "";
}

}  // namespace itmo::node
