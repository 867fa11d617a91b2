#include "node/ctl_localnet.h"

#include <sys/stat.h>

#include <filesystem>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "node/ctl_util.h"
#include "node/tls.h"

namespace itmo::node::ctl {
namespace {

namespace fs = std::filesystem;

struct PartySpec {
  const char* code;
  const char* name;
  v1::CaMethod ca_method;
  const char* entity;  // The authorized entity holding the second account.
};

// Four Parties with Article 6.2 activity: buyers (CHE, SWE, SGP) and a host
// country (GHA).
constexpr PartySpec kParties[] = {
    {"CHE", "Switzerland", v1::CA_METHOD_MULTI_YEAR, "KliK Foundation"},
    {"GHA", "Ghana", v1::CA_METHOD_MULTI_YEAR, "Ghana Clean Cookstoves Programme"},
    {"SWE", "Sweden", v1::CA_METHOD_MULTI_YEAR, "Swedish Energy Agency"},
    {"SGP", "Singapore", v1::CA_METHOD_AVERAGING, "Singapore Airlines"},
};

absl::Status MakeDir(const std::string& path, unsigned mode) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error)
    return absl::InternalError(absl::StrCat("cannot create ", path, ": ", error.message()));
  if (::chmod(path.c_str(), mode) != 0) return absl::InternalError("cannot chmod " + path);
  return absl::OkStatus();
}

absl::StatusOr<std::string> NewKey(const std::string& path) {
  crypto::KeyPair key = crypto::KeyPair::Generate();
  ITMO_RETURN_IF_ERROR(crypto::SaveKeyPair(key, path));
  return std::string(crypto::AsStringView(key.public_key()));
}

absl::Status PrepareDir(const LocalnetOptions& options) {
  std::error_code error;
  if (fs::exists(options.dir, error) && !fs::is_empty(options.dir, error)) {
    bool ours = fs::exists(fs::path(options.dir) / "genesis.json", error) ||
                fs::exists(fs::path(options.dir) / "nodes.tsv", error);
    if (!options.force || !ours) {
      return absl::AlreadyExistsError(absl::StrCat(options.dir, " exists and is not empty",
                                                   ours ? " (use --force to replace it)" : ""));
    }
    fs::remove_all(options.dir, error);
    if (error) return absl::InternalError(absl::StrCat("cannot remove ", options.dir));
  }
  ITMO_RETURN_IF_ERROR(MakeDir(options.dir, 0755));
  return MakeDir(options.dir + "/keys", 0700);
}

absl::Status CheckOptions(const LocalnetOptions& options) {
  if (options.validators < 1 || options.validators > kLocalnetValidatorsMax) {
    return absl::InvalidArgumentError(absl::StrCat("validators must be 1..", kLocalnetValidatorsMax,
                                                   ", got ", options.validators));
  }
  if (options.observers > kLocalnetObserversMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("observers must be 0..", kLocalnetObserversMax, ", got ", options.observers));
  }
  if (options.base_port < 1024 || options.base_port + kLocalnetPortSpan > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "base port must be 1024..", 65535 - kLocalnetPortSpan, ", got ", options.base_port));
  }
  if (options.chain_id.empty() || options.dir.empty()) {
    return absl::InvalidArgumentError("chain id and folder must not be empty");
  }
  return absl::OkStatus();
}

// Parties, registries, accounts and the secretariat key; writes their keys
// under <dir>/keys.
absl::Status AddLedgerParticipants(const std::string& dir, v1::Genesis* genesis) {
  for (const PartySpec& spec : kParties) {
    v1::Party* party = genesis->add_parties();
    party->set_code(spec.code);
    party->set_name(spec.name);
    party->set_ca_method(spec.ca_method);
    v1::NdcPeriod* period = party->add_ndc_periods();
    period->set_first_year(2021);
    period->set_last_year(2030);
    ITMO_ASSIGN_OR_RETURN(*party->mutable_authority_key(),
                          NewKey(LocalnetKeyPath(dir, absl::StrCat(spec.code, "-authority"))));
    v1::Registry* registry = genesis->add_registries();
    registry->set_id(absl::StrCat(spec.code, "-NR"));
    registry->set_party(spec.code);
    ITMO_ASSIGN_OR_RETURN(*registry->mutable_registry_key(),
                          NewKey(LocalnetKeyPath(dir, registry->id())));
    v1::Account* holding = genesis->add_accounts();
    holding->mutable_ref()->set_registry_id(registry->id());
    holding->mutable_ref()->set_account_id(absl::StrCat(spec.code, "-HOLDING"));
    holding->set_holder_party(spec.code);
    v1::Account* entity = genesis->add_accounts();
    entity->mutable_ref()->set_registry_id(registry->id());
    entity->mutable_ref()->set_account_id(absl::StrCat(spec.code, "-ENTITY-1"));
    entity->set_holder_party(spec.code);
    entity->set_holder_entity(spec.entity);
  }
  v1::Registry* international = genesis->add_registries();
  international->set_id("UN-IR");
  international->set_international(true);
  ITMO_ASSIGN_OR_RETURN(*international->mutable_registry_key(),
                        NewKey(LocalnetKeyPath(dir, "UN-IR")));
  // The international registry hosts an account for a Party; here Ghana's
  // second holding account.
  v1::Account* hosted = genesis->add_accounts();
  hosted->mutable_ref()->set_registry_id("UN-IR");
  hosted->mutable_ref()->set_account_id("GHA-IR-HOLDING");
  hosted->set_holder_party("GHA");
  ITMO_ASSIGN_OR_RETURN(*genesis->mutable_secretariat_key(),
                        NewKey(LocalnetKeyPath(dir, "secretariat")));
  return absl::OkStatus();
}

absl::StatusOr<LocalnetNode> AddNode(const LocalnetOptions& options, bool validator, uint32_t index,
                                     v1::Genesis* genesis) {
  LocalnetNode node;
  node.role = validator ? "validator" : "observer";
  node.name = absl::StrCat(node.role, "-", index);
  node.dir = absl::StrCat(options.dir, "/", node.name);
  node.config_path = node.dir + "/config.toml";
  uint32_t offset = validator ? index : 50 + index;
  node.api_address = absl::StrCat(options.host, ":", options.base_port + offset);
  node.peer_address = absl::StrCat(options.host, ":", options.base_port + 100 + offset);
  ITMO_RETURN_IF_ERROR(MakeDir(node.dir, 0700));
  ITMO_ASSIGN_OR_RETURN(TlsIdentity tls, GenerateTlsIdentity(node.name));
  ITMO_RETURN_IF_ERROR(SaveTlsIdentity(tls, node.dir + "/tls.key", node.dir + "/tls.crt"));
  if (validator) {
    v1::Validator* v = genesis->add_validators();
    v->set_name(node.name);
    v->set_party(kParties[index % std::size(kParties)].code);
    ITMO_ASSIGN_OR_RETURN(*v->mutable_consensus_key(), NewKey(node.dir + "/consensus.key"));
    v->set_tls_certificate_pem(tls.cert_pem);
    v->set_address(node.peer_address);
  } else {
    v1::Observer* o = genesis->add_observers();
    o->set_name(node.name);
    o->set_tls_certificate_pem(tls.cert_pem);
    o->set_address(node.peer_address);
  }
  return node;
}

std::string NodesTsv(const Localnet& net) {
  std::string out;
  for (const LocalnetNode& node : net.nodes) {
    absl::StrAppend(&out, node.name, "\t", node.role, "\t", node.api_address, "\t",
                    node.peer_address, "\t", node.name, "/config.toml\n");
  }
  return out;
}

}  // namespace

std::string LocalnetKeyPath(const std::string& dir, const std::string& id) {
  return absl::StrCat(dir, "/keys/", id, ".key");
}

absl::StatusOr<crypto::KeyPair> LoadLocalnetKey(const std::string& dir, const std::string& id) {
  return crypto::LoadKeyPair(LocalnetKeyPath(dir, id));
}

std::string NodeConfigToml(const LocalnetNode& node, const Localnet& net,
                           const std::string& log_level) {
  std::string out =
      absl::StrCat("# ", node.name, " of a local itmo-ledger network (itmoctl localnet)\n",
                   "[node]\nname = \"", node.name, "\"\nrole = \"", node.role,
                   "\"\ndata_dir = \"data\"\ngenesis = \"../genesis.json\"\n");
  if (node.role == "validator") absl::StrAppend(&out, "consensus_key = \"consensus.key\"\n");
  absl::StrAppend(&out, "tls_cert = \"tls.crt\"\ntls_key = \"tls.key\"\n\n[api]\nlisten = \"",
                  node.api_address, "\"\n\n[peer]\nlisten = \"", node.peer_address, "\"\n");
  for (const LocalnetNode& peer : net.nodes) {
    if (peer.role != "validator" || peer.name == node.name) continue;
    absl::StrAppend(&out, "\n[[peers]]\nname = \"", peer.name, "\"\naddress = \"",
                    peer.peer_address, "\"\n");
  }
  absl::StrAppend(&out, "\n[log]\nlevel = \"", log_level, "\"\njson = false\n");
  return out;
}

absl::StatusOr<Localnet> CreateLocalnet(const LocalnetOptions& options) {
  ITMO_RETURN_IF_ERROR(CheckOptions(options));
  ITMO_RETURN_IF_ERROR(PrepareDir(options));
  Localnet net;
  net.dir = options.dir;
  net.genesis_path = options.dir + "/genesis.json";
  v1::Genesis& genesis = net.genesis;
  genesis.set_chain_id(options.chain_id);
  genesis.set_genesis_time_ms(NowMs());
  ITMO_RETURN_IF_ERROR(AddLedgerParticipants(options.dir, &genesis));
  for (uint32_t i = 0; i < options.validators; ++i) {
    ITMO_ASSIGN_OR_RETURN(LocalnetNode node, AddNode(options, true, i, &genesis));
    net.nodes.push_back(std::move(node));
  }
  for (uint32_t j = 0; j < options.observers; ++j) {
    ITMO_ASSIGN_OR_RETURN(LocalnetNode node, AddNode(options, false, j, &genesis));
    net.nodes.push_back(std::move(node));
  }
  v1::ConsensusParams* params = genesis.mutable_consensus();
  params->set_round_timeout_ms_base(1000);
  params->set_round_timeout_ms_max(8000);
  params->set_block_txs_max(2000);
  params->set_block_bytes_max(4 << 20);
  params->set_block_wait_ms_max(50);
  ITMO_CHECK(genesis.validators_size() == static_cast<int>(options.validators));
  ITMO_CHECK(net.nodes.size() == options.validators + options.observers);
  ITMO_RETURN_IF_ERROR(WriteWholeFile(net.genesis_path, ToJson(genesis) + "\n", 0644));
  for (const LocalnetNode& node : net.nodes) {
    ITMO_RETURN_IF_ERROR(
        WriteWholeFile(node.config_path, NodeConfigToml(node, net, options.log_level), 0644));
  }
  ITMO_RETURN_IF_ERROR(WriteWholeFile(options.dir + "/nodes.tsv", NodesTsv(net), 0644));
  return net;
}

absl::StatusOr<v1::Genesis> ReadGenesisJson(const std::string& path) {
  ITMO_ASSIGN_OR_RETURN(std::string json, ReadWholeFile(path));
  v1::Genesis genesis;
  ITMO_RETURN_IF_ERROR(FromJson(json, &genesis));
  if (genesis.chain_id().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": genesis has no chain_id"));
  }
  return genesis;
}

absl::StatusOr<Localnet> LoadLocalnet(const std::string& dir) {
  Localnet net;
  net.dir = dir;
  net.genesis_path = dir + "/genesis.json";
  ITMO_ASSIGN_OR_RETURN(net.genesis, ReadGenesisJson(net.genesis_path));
  ITMO_ASSIGN_OR_RETURN(std::string tsv, ReadWholeFile(dir + "/nodes.tsv", 1 << 20));
  for (absl::string_view line : absl::StrSplit(tsv, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    if (fields.size() != 5) {
      return absl::InvalidArgumentError(
          absl::StrCat(dir, "/nodes.tsv: expected 5 tab-separated fields in '", line, "'"));
    }
    net.nodes.push_back({.name = fields[0],
                         .role = fields[1],
                         .dir = dir + "/" + fields[0],
                         .config_path = dir + "/" + fields[4],
                         .api_address = fields[2],
                         .peer_address = fields[3]});
    if (net.nodes.size() > kLocalnetValidatorsMax + kLocalnetObserversMax) {
      return absl::InvalidArgumentError(absl::StrCat(dir, "/nodes.tsv: too many nodes"));
    }
  }
  return net;
}

}  // namespace itmo::node::ctl
