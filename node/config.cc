// File: node/config.cc
#include "node/config.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "toml++/toml.h"

namespace itmo::node {
namespace {

class FieldReader final {
 public:
  FieldReader(const toml::table& root, std::string file) : root_(root), file_(std::move(file)) {}

  absl::Status Error(std::string_view section, std::string_view key, std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(file_, ": [", ToAbsl(section), "] ", ToAbsl(key), ": ", ToAbsl(what)));
  }

  // std::nullopt when absent; an error when present with another type or empty.
  absl::StatusOr<std::optional<std::string>> String(std::string_view section,
                                                    std::string_view key) const {
    toml::node_view<const toml::node> node = root_[section][key];
    if (!node) return std::optional<std::string>();
    std::optional<std::string> value = node.value_exact<std::string>();
    if (!value.has_value()) return Error(section, key, "must be a string");
    if (value->empty()) return Error(section, key, "must not be empty");
    return value;
  }

  absl::StatusOr<std::string> RequiredString(std::string_view section, std::string_view key) const {
    ITMO_ASSIGN_OR_RETURN(std::optional<std::string> value, String(section, key));
    if (!value.has_value()) return Error(section, key, "missing (required)");
    return *value;
  }

  absl::Status Limit(std::string_view key, uint64_t compiled_max, uint64_t* out) const {
    toml::node_view<const toml::node> node = root_["limits"][key];
    if (!node) return absl::OkStatus();
    std::optional<int64_t> value = node.value_exact<int64_t>();
    if (!value.has_value()) return Error("limits", key, "must be an integer");
    if (*value <= 0) return Error("limits", key, "must be positive");
    if (static_cast<uint64_t>(*value) > compiled_max) {
      return Error("limits", key,
                   absl::StrCat(*value, " exceeds the compiled-in limit ", compiled_max,
                                " (a config may only lower limits)"));
    }
    *out = static_cast<uint64_t>(*value);
    return absl::OkStatus();
  }

  const toml::table& root() const { return root_; }
  const std::string& file() const { return file_; }

 private:
  const toml::table& root_;
  const std::string file_;
};

std::string Resolve(const std::filesystem::path& base, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (base / p).lexically_normal().string();
}

absl::Status ParseNodeSection(const FieldReader& r, const std::filesystem::path& base,
                              NodeConfig* config) {
  ITMO_ASSIGN_OR_RETURN(config->name, r.RequiredString("node", "name"));
  ITMO_ASSIGN_OR_RETURN(std::string role, r.RequiredString("node", "role"));
  if (role == "validator") {
    config->role = Role::kValidator;
  } else if (role == "observer") {
    config->role = Role::kObserver;
  } else {
    return r.Error("node", "role",
                   absl::StrCat("must be \"validator\" or \"observer\", not \"", role, "\""));
  }
  ITMO_ASSIGN_OR_RETURN(std::string data_dir, r.RequiredString("node", "data_dir"));
  config->data_dir = Resolve(base, data_dir);
  ITMO_ASSIGN_OR_RETURN(std::string genesis, r.RequiredString("node", "genesis"));
  config->genesis_path = Resolve(base, genesis);
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> key, r.String("node", "consensus_key"));
  if (config->role == Role::kValidator) {
    if (!key.has_value())
      return r.Error("node", "consensus_key", "missing (required for a validator)");
    config->consensus_key = Resolve(base, *key);
  } else if (key.has_value()) {
    return r.Error("node", "consensus_key", "an observer must not have a consensus key");
  }
  ITMO_ASSIGN_OR_RETURN(std::string cert, r.RequiredString("node", "tls_cert"));
  config->tls_cert = Resolve(base, cert);
  ITMO_ASSIGN_OR_RETURN(std::string tls_key, r.RequiredString("node", "tls_key"));
  config->tls_key = Resolve(base, tls_key);
  return absl::OkStatus();
}

absl::Status CheckListen(const FieldReader& r, std::string_view section, const std::string& value) {
  size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == value.size()) {
    return r.Error(section, "listen", absl::StrCat("must be host:port, not \"", value, "\""));
  }
  for (size_t i = colon + 1; i < value.size(); ++i) {
    if (value[i] < '0' || value[i] > '9') {
      return r.Error(section, "listen", absl::StrCat("bad port in \"", value, "\""));
    }
  }
  return absl::OkStatus();
}

absl::Status ParsePeers(const FieldReader& r, NodeConfig* config) {
  toml::node_view<const toml::node> node = r.root()["peers"];
  if (!node) return absl::OkStatus();
  const toml::array* peers = node.as_array();
  if (peers == nullptr) return r.Error("peers", "", "must be an array of tables ([[peers]])");
  if (peers->size() > kConfigPeersMax) {
    return r.Error("peers", "", absl::StrCat("more than ", kConfigPeersMax, " peers"));
  }
  std::set<std::string> names;
  for (size_t i = 0; i < peers->size(); ++i) {
    std::string section = absl::StrCat("peers.", i);
    const toml::table* peer = (*peers)[i].as_table();
    if (peer == nullptr) return r.Error(section, "", "must be a table");
    std::optional<std::string> name = (*peer)["name"].value_exact<std::string>();
    std::optional<std::string> address = (*peer)["address"].value_exact<std::string>();
    if (!name.has_value() || name->empty())
      return r.Error(section, "name", "missing or not a string");
    if (!address.has_value() || address->empty()) {
      return r.Error(section, "address", "missing or not a string");
    }
    if (!names.insert(*name).second) {
      return r.Error(section, "name", absl::StrCat("duplicate peer \"", *name, "\""));
    }
    if (*name == config->name) return r.Error(section, "name", "a node must not list itself");
    config->peers.push_back(PeerAddress{*name, *address});
  }
  return absl::OkStatus();
}

absl::Status ParseRest(const FieldReader& r, NodeConfig* config) {
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> api, r.String("api", "listen"));
  if (api.has_value()) config->api_listen = *api;
  ITMO_RETURN_IF_ERROR(CheckListen(r, "api", config->api_listen));
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> peer, r.String("peer", "listen"));
  if (peer.has_value()) config->peer_listen = *peer;
  ITMO_RETURN_IF_ERROR(CheckListen(r, "peer", config->peer_listen));
  ITMO_RETURN_IF_ERROR(ParsePeers(r, config));
  Limits& l = config->limits;
  ITMO_RETURN_IF_ERROR(r.Limit("mempool_txs_max", kMempoolTxsMax, &l.mempool_txs_max));
  ITMO_RETURN_IF_ERROR(r.Limit("mempool_bytes_max", kMempoolBytesMax, &l.mempool_bytes_max));
  ITMO_RETURN_IF_ERROR(r.Limit("mempool_txs_per_submitter_max", kMempoolTxsPerSubmitterMax,
                               &l.mempool_txs_per_submitter_max));
  ITMO_RETURN_IF_ERROR(r.Limit("block_txs_max", kBlockTxsMax, &l.block_txs_max));
  ITMO_RETURN_IF_ERROR(r.Limit("block_bytes_max", kBlockBytesMax, &l.block_bytes_max));
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> level, r.String("log", "level"));
  if (level.has_value()) {
    static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
    if (kLevels.count(*level) == 0) {
      return r.Error("log", "level",
                     absl::StrCat("must be trace|debug|info|warn|error, not \"", *level, "\""));
    }
    config->log_level = *level;
  }
  toml::node_view<const toml::node> json = r.root()["log"]["json"];
  if (json) {
    std::optional<bool> value = json.value_exact<bool>();
    if (!value.has_value()) return r.Error("log", "json", "must be true or false");
    config->log_json = *value;
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view RoleName(Role role) { return role == Role::kValidator ? "validator" : "observer"; }

absl::StatusOr<std::string> ReadFileToString(const std::string& path, uint64_t bytes_max) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return absl::InternalError(absl::StrCat(path, ": ", ec.message()));
  if (size > bytes_max) {
    return absl::ResourceExhaustedError(
        absl::StrCat(path, ": ", size, " bytes exceeds the limit of ", bytes_max));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InternalError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

absl::StatusOr<NodeConfig> ParseConfig(std::string_view text, const std::string& config_path) {
  toml::table root;
  // toml++ (the Debian shared library) reports parse errors by exception only; this is the boundary
  // where it becomes a Status.
  try {
    root = toml::parse(text, config_path);
  } catch (const toml::parse_error& e) {
    const toml::source_position& pos = e.source().begin;
    return absl::InvalidArgumentError(
        absl::StrCat(config_path, ":", pos.line, ":", pos.column,
                     ": TOML syntax error: ", ToAbsl(e.description())));
  }
  FieldReader reader(root, config_path);
  NodeConfig config;
  config.config_path = config_path;
  std::filesystem::path base = std::filesystem::path(config_path).parent_path();
  ITMO_RETURN_IF_ERROR(ParseNodeSection(reader, base, &config));
  ITMO_RETURN_IF_ERROR(ParseRest(reader, &config));
  return config;
}

absl::StatusOr<NodeConfig> LoadConfig(const std::string& path) {
  ITMO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, kConfigBytesMax));
  return ParseConfig(text, path);
}

}  // namespace itmo::node
