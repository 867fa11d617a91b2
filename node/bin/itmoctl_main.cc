// itmoctl: keys, local network files, signing and submitting transactions,
// queries, proofs and the demo, against a node's Ledger service. Run `itmoctl
// help` or `itmoctl COMMAND --help`.
//
// Exit codes: 0 success; 1 usage or I/O error, or an error status from the
// node; 2 a transaction was committed but REJECTED (or not with --expect-code);
// 3 an inclusion proof did not verify; 4 the demo had a step with an unexpected
// outcome.
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "node/ctl_client.h"
#include "node/ctl_demo.h"
#include "node/ctl_flags.h"
#include "node/ctl_localnet.h"
#include "node/ctl_peer_probe.h"
#include "node/ctl_reads.h"
#include "node/ctl_subscribe.h"
#include "node/ctl_tx.h"
#include "node/ctl_util.h"
#include "node/tls.h"

namespace itmo::node::ctl {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitRejected = 2;
constexpr int kExitProof = 3;
constexpr int kExitDemo = 4;

struct Command {
  const char* name;
  const char* summary;
  const char* help;
  FlagSpec spec;
  std::function<absl::StatusOr<int>(const Flags&)> run;
};

constexpr const char* kNodeHelp =
    "  --node HOST:PORT     the node's Ledger API (default 127.0.0.1:7100)\n";

absl::StatusOr<std::unique_ptr<LedgerClient>> Connect(const Flags& flags) {
  ITMO_ASSIGN_OR_RETURN(uint64_t wait_s, flags.GetUint("connect-timeout", 5));
  return LedgerClient::Connect(flags.Get("node", "127.0.0.1:7100"), absl::Seconds(wait_s));
}

absl::StatusOr<int> RunKeygen(const Flags& flags) {
  if (flags.Has("tls")) {
    std::string name = flags.Get("tls");
    std::string dir = flags.Get("out-dir", ".");
    ITMO_ASSIGN_OR_RETURN(TlsIdentity identity, GenerateTlsIdentity(name));
    ITMO_RETURN_IF_ERROR(SaveTlsIdentity(identity, dir + "/tls.key", dir + "/tls.crt"));
    std::cout << "TLS identity of " << name << ": " << dir << "/tls.key (0600), " << dir
              << "/tls.crt\n";
    return kExitOk;
  }
  std::string out = flags.Get("out");
  if (out.empty()) return absl::InvalidArgumentError("keygen needs --out FILE (or --tls NAME)");
  crypto::KeyPair key = crypto::KeyPair::Generate();
  ITMO_RETURN_IF_ERROR(crypto::SaveKeyPair(key, out));
  std::cout << "public " << crypto::ToHex(key.public_key()) << "\n";
  return kExitOk;
}

absl::StatusOr<int> RunLocalnet(const Flags& flags) {
  LocalnetOptions options;
  options.dir = flags.Get("dir", "localnet");
  ITMO_ASSIGN_OR_RETURN(uint64_t validators, flags.GetUint("validators", 4));
  ITMO_ASSIGN_OR_RETURN(uint64_t observers, flags.GetUint("observers", 1));
  ITMO_ASSIGN_OR_RETURN(uint64_t base_port, flags.GetUint("base-port", 7100));
  if (validators > kLocalnetValidatorsMax || observers > kLocalnetObserversMax ||
      base_port > 65535) {
    return absl::InvalidArgumentError("--validators, --observers or --base-port out of range");
  }
  options.validators = static_cast<uint32_t>(validators);
  options.observers = static_cast<uint32_t>(observers);
  options.base_port = static_cast<uint32_t>(base_port);
  options.chain_id = flags.Get("chain-id", options.chain_id);
  options.log_level = flags.Get("log-level", options.log_level);
  options.force = flags.Has("force");
  ITMO_ASSIGN_OR_RETURN(Localnet net, CreateLocalnet(options));
  std::cout << "wrote " << net.genesis_path << " (chain " << net.genesis.chain_id() << ", "
            << net.genesis.validators_size() << " validators, " << net.genesis.observers_size()
            << " observers)\n";
  for (const LocalnetNode& node : net.nodes) {
    std::cout << "  " << node.name << ": " << node.config_path << "  api " << node.api_address
              << "  peer " << node.peer_address << "\n";
  }
  std::cout << "keys of the Parties' authorities, registries and the secretariat: " << net.dir
            << "/keys/\n";
  return kExitOk;
}

// The chain id from --chain-id, --genesis or --localnet (in that order).
absl::StatusOr<std::string> ChainId(const Flags& flags) {
  if (flags.Has("chain-id")) return flags.Get("chain-id");
  std::string genesis = flags.Get("genesis");
  if (genesis.empty() && flags.Has("localnet")) genesis = flags.Get("localnet") + "/genesis.json";
  if (genesis.empty()) return std::string();
  ITMO_ASSIGN_OR_RETURN(v1::Genesis parsed, ReadGenesisJson(genesis));
  return parsed.chain_id();
}

absl::StatusOr<std::vector<crypto::KeyPair>> SigningKeys(const Flags& flags) {
  std::vector<crypto::KeyPair> keys;
  for (const std::string& path : flags.GetAll("key")) {
    ITMO_ASSIGN_OR_RETURN(crypto::KeyPair key, crypto::LoadKeyPair(path));
    keys.push_back(std::move(key));
  }
  for (const std::string& id : flags.GetAll("signer")) {
    if (!flags.Has("localnet")) {
      return absl::InvalidArgumentError("--signer ID needs --localnet DIR (keys in DIR/keys/)");
    }
    ITMO_ASSIGN_OR_RETURN(crypto::KeyPair key, LoadLocalnetKey(flags.Get("localnet"), id));
    keys.push_back(std::move(key));
  }
  if (keys.empty() || keys.size() > kTxSignaturesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("give 1..", kTxSignaturesMax, " signing keys with --key FILE or --signer ID"));
  }
  return keys;
}

absl::StatusOr<std::string> TxJson(const Flags& flags) {
  if (flags.Has("json")) return flags.Get("json");
  std::string file = flags.Get("file");
  if (file.empty()) return absl::InvalidArgumentError("tx needs --file FILE|- or --json TEXT");
  if (file == "-") {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return text;
  }
  return ReadWholeFile(file, kTxJsonBytesMax);
}

int PrintOutcome(const v1::GetTransactionResponse& committed, const Flags& flags) {
  const v1::TransactionOutcome& outcome = committed.outcome();
  std::cout << "tx " << crypto::ToHex(committed.tx_id()) << " committed at height "
            << committed.height() << " index " << committed.index() << ": "
            << v1::TxStatus_Name(outcome.status()) << " " << ReasonCodeText(outcome.code())
            << (outcome.message().empty() ? "" : absl::StrCat(": ", outcome.message())) << "\n";
  if (flags.Has("verbose")) std::cout << ToJson(outcome) << "\n";
  if (flags.Has("expect-code")) {
    int64_t expected = -1;
    if (!absl::SimpleAtoi(flags.Get("expect-code"), &expected) || expected != outcome.code()) {
      std::cerr << "itmoctl: expected reason code " << flags.Get("expect-code") << ", got "
                << ReasonCodeText(outcome.code()) << "\n";
      return kExitRejected;
    }
    return kExitOk;
  }
  return outcome.status() == v1::TX_ACCEPTED ? kExitOk : kExitRejected;
}

absl::StatusOr<int> RunTx(const Flags& flags) {
  TxOptions options;
  ITMO_ASSIGN_OR_RETURN(options.chain_id, ChainId(flags));
  options.submitter = flags.Get("submitter");
  if (flags.Has("submitter-kind")) {
    ITMO_ASSIGN_OR_RETURN(options.submitter_kind, ParseSubmitterKind(flags.Get("submitter-kind")));
  }
  options.client_tx_id = flags.Get("client-tx-id");
  options.action = flags.Get("action");
  ITMO_ASSIGN_OR_RETURN(uint64_t lifetime_ms,
                        flags.GetUint("lifetime-ms", static_cast<uint64_t>(kTxLifetimeMsDefault)));
  options.lifetime_ms = static_cast<int64_t>(std::min<uint64_t>(lifetime_ms, 3'600'000));
  ITMO_ASSIGN_OR_RETURN(std::string json, TxJson(flags));
  ITMO_ASSIGN_OR_RETURN(v1::TransactionBody body, BuildTransactionBody(json, options));
  ITMO_ASSIGN_OR_RETURN(std::vector<crypto::KeyPair> keys, SigningKeys(flags));
  v1::SignedTransaction tx = SignTransaction(body, keys);
  if (flags.Has("print-only")) {
    std::cout << ToJson(body) << "\n" << ToJson(tx) << "\n";
    return kExitOk;
  }
  ITMO_ASSIGN_OR_RETURN(auto client, Connect(flags));
  ITMO_ASSIGN_OR_RETURN(std::string tx_id, client->Submit(tx));
  std::cout << "submitted " << crypto::ToHex(tx_id) << " (" << body.submitter() << " "
            << body.client_tx_id() << ")\n";
  if (flags.Has("no-wait")) return kExitOk;
  ITMO_ASSIGN_OR_RETURN(uint64_t timeout_s, flags.GetUint("timeout", 60));
  ITMO_ASSIGN_OR_RETURN(v1::GetTransactionResponse committed,
                        client->WaitForCommit(tx_id, absl::Seconds(timeout_s)));
  return PrintOutcome(committed, flags);
}

absl::StatusOr<int> RunGetTx(const Flags& flags) {
  ITMO_ASSIGN_OR_RETURN(auto client, Connect(flags));
  v1::GetTransactionResponse response;
  if (flags.Has("id")) {
    ITMO_ASSIGN_OR_RETURN(std::string id, crypto::FromHex(flags.Get("id")));
    if (id.size() != crypto::kDigestBytes) {
      return absl::InvalidArgumentError("--id must be 64 hex digits (a 32-byte transaction id)");
    }
    ITMO_ASSIGN_OR_RETURN(response, client->GetTransaction(id));
  } else if (flags.Has("submitter") && flags.Has("client-tx-id")) {
    ITMO_ASSIGN_OR_RETURN(response, client->GetTransactionByClientId(flags.Get("submitter"),
                                                                     flags.Get("client-tx-id")));
  } else {
    return absl::InvalidArgumentError("get-tx needs --id HEX or --submitter S --client-tx-id C");
  }
  std::cout << ToJson(response) << "\n";
  if (response.state() != v1::TRANSACTION_STATE_COMMITTED) {
    std::cout << "state " << v1::TransactionState_Name(response.state()) << "\n";
    return response.state() == v1::TRANSACTION_STATE_PENDING ? kExitOk : kExitError;
  }
  absl::Status proof = VerifyInclusionProof(response);
  if (!proof.ok()) {
    std::cerr << "itmoctl: inclusion proof FAILED: " << proof.message() << "\n";
    return kExitProof;
  }
  std::cout << "inclusion proof verified: leaf " << response.proof().leaf_index() << " of "
            << response.proof().tree_size() << " in tx_root "
            << crypto::ToHex(response.block_header().tx_root()) << " of block "
            << crypto::ToHex(response.block_id()) << " at height " << response.height() << "\n";
  return kExitOk;
}

absl::StatusOr<int> RunHoldings(const Flags& flags) {
  std::vector<std::string> parts = absl::StrSplit(flags.Get("account"), '/');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return absl::InvalidArgumentError(
        "holdings needs --account REGISTRY/ACCOUNT, e.g. CHE-NR/CHE-HOLDING");
  }
  ITMO_ASSIGN_OR_RETURN(auto client, Connect(flags));
  v1::GetHoldingsRequest request;
  request.mutable_account()->set_registry_id(parts[0]);
  request.mutable_account()->set_account_id(parts[1]);
  ITMO_ASSIGN_OR_RETURN(v1::Holdings holdings, client->GetHoldings(request));
  std::cout << ToJson(holdings) << "\n";
  return kExitOk;
}

absl::StatusOr<int> RunHistory(const Flags& flags) {
  if (!flags.Has("registry") || !flags.Has("serial")) {
    return absl::InvalidArgumentError("history needs --registry ID --serial N");
  }
  ITMO_ASSIGN_OR_RETURN(uint64_t serial, flags.GetUint("serial", 0));
  ITMO_ASSIGN_OR_RETURN(auto client, Connect(flags));
  v1::GetUnitHistoryRequest request;
  request.set_originating_registry(flags.Get("registry"));
  request.set_serial(serial);
  ITMO_ASSIGN_OR_RETURN(v1::GetUnitHistoryResponse history, client->GetUnitHistory(request));
  std::cout << ToJson(history) << "\n";
  return kExitOk;
}

absl::StatusOr<int> RunAdjustments(const Flags& flags) {
  if (!flags.Has("party")) return absl::InvalidArgumentError("adjustments needs --party CODE");
  ITMO_ASSIGN_OR_RETURN(uint64_t first, flags.GetUint("from-year", 2021));
  ITMO_ASSIGN_OR_RETURN(uint64_t last, flags.GetUint("to-year", 2100));
  if (first > last || last > 9999) {
    return absl::InvalidArgumentError("--from-year must be <= --to-year <= 9999");
  }
  ITMO_ASSIGN_OR_RETURN(auto client, Connect(flags));
  v1::GetAdjustmentsRequest request;
  request.set_party(flags.Get("party"));
  request.set_year_first(static_cast<uint32_t>(first));
  request.set_year_last(static_cast<uint32_t>(last));
  ITMO_ASSIGN_OR_RETURN(v1::GetAdjustmentsResponse response, client->GetAdjustments(request));
  std::cout << ToJson(response) << "\n";
  return kExitOk;
}

// The integrator reads (node/ctl_reads.h) on a connected client.
template <absl::StatusOr<int> (*Read)(LedgerClient*, const Flags&)>
absl::StatusOr<int> RunRead(const Flags& flags) {
  ITMO_ASSIGN_OR_RETURN(auto client, Connect(flags));
  return Read(client.get(), flags);
}

absl::StatusOr<int> RunStatus(const Flags& flags) {
  ITMO_ASSIGN_OR_RETURN(uint64_t wait_s, flags.GetUint("wait", 0));
  const absl::Time deadline = absl::Now() + absl::Seconds(wait_s);
  absl::StatusOr<v1::GetStatusResponse> status;
  while (true) {
    absl::StatusOr<std::unique_ptr<LedgerClient>> client =
        LedgerClient::Connect(flags.Get("node", "127.0.0.1:7100"), absl::Seconds(2));
    if (client.ok()) status = (*client)->GetStatus(absl::Seconds(3));
    if (!client.ok()) status = client.status();
    if (status.ok() || absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  if (!status.ok()) return status.status();
  if (flags.Has("json")) {
    std::cout << ToJson(*status, false) << "\n";
  } else {
    std::cout << status->name() << " (" << status->role() << ", chain " << status->chain_id()
              << "): height " << status->height() << " round " << status->round() << " peers "
              << status->peers_connected() << " mempool " << status->mempool_size()
              << " state_root " << status->state_root() << "\n";
  }
  return kExitOk;
}

absl::StatusOr<int> RunSubscribe(const Flags& flags) {
  SubscribeOptions options;
  ITMO_ASSIGN_OR_RETURN(options.from_height, flags.GetUint("from", 1));
  ITMO_ASSIGN_OR_RETURN(options.blocks_max, flags.GetUint("count", 0));
  ITMO_ASSIGN_OR_RETURN(uint64_t timeout_s, flags.GetUint("timeout", 0));
  if (timeout_s > 0) options.timeout = absl::Seconds(timeout_s);
  std::string format = flags.Get("format", "text");
  if (format != "text" && format != "json" && format != "txids") {
    return absl::InvalidArgumentError("--format must be text, json or txids");
  }
  options.omit_transactions = format != "json" || flags.Has("omit-transactions");
  ITMO_ASSIGN_OR_RETURN(auto client, Connect(flags));
  CommitSubscription subscription(client.get(), options);
  absl::Status status = subscription.Run([&](const v1::SubscribeCommitsResponse& block) {
    if (format == "json") {
      std::cout << ToJson(block, false) << "\n";
    } else if (format == "txids") {
      for (const v1::TransactionOutcome& outcome : block.outcomes()) {
        std::cout << block.height() << " " << crypto::ToHex(outcome.tx_id()) << " "
                  << v1::TxStatus_Name(outcome.status()) << " " << outcome.code() << "\n";
      }
    } else {
      std::cout << "height " << block.height() << " block " << crypto::ToHex(block.block_id())
                << " txs " << block.outcomes_size() << " state_root "
                << crypto::ToHex(block.state_root()) << "\n";
    }
    std::cout.flush();
    return true;
  });
  std::cerr << "itmoctl: last height " << subscription.last_height() << " (resume with --from "
            << subscription.last_height() + 1 << ")\n";
  if (!status.ok() && !(timeout_s > 0 && absl::IsDeadlineExceeded(status))) return status;
  return kExitOk;
}

absl::StatusOr<int> RunDemoCommand(const Flags& flags) {
  DemoOptions options;
  options.localnet_dir = flags.Get("localnet", "localnet");
  options.node = flags.Get("node", "127.0.0.1:7100");
  ITMO_ASSIGN_OR_RETURN(uint64_t timeout_s, flags.GetUint("timeout", 60));
  options.step_timeout = absl::Seconds(timeout_s);
  ITMO_ASSIGN_OR_RETURN(DemoReport report, RunDemo(options, std::cout));
  return report.all_as_expected ? kExitOk : kExitDemo;
}

absl::StatusOr<int> RunPeerProbe(const Flags& flags) {
  PeerProbeOptions options;
  options.address = flags.Get("address");
  options.target_name = flags.Get("target-name");
  options.cert_path = flags.Get("cert");
  options.key_path = flags.Get("key");
  options.genesis_path = flags.Get("genesis");
  if (options.address.empty() || options.target_name.empty() || options.cert_path.empty() ||
      options.key_path.empty() || options.genesis_path.empty()) {
    return absl::InvalidArgumentError(
        "peer-probe needs --address, --target-name, --cert, --key and "
        "--genesis");
  }
  ITMO_ASSIGN_OR_RETURN(PeerProbeResult result, ProbePeer(options));
  std::cout << (result.accepted ? "accepted" : "refused") << ": " << result.detail << "\n";
  return result.accepted ? kExitOk : kExitRejected;
}

// Submits a SignedTransaction whose body is arbitrary bytes: malformed and oversized requests
// (tests).
absl::StatusOr<int> RunSubmitRaw(const Flags& flags) {
  v1::SignedTransaction tx;
  if (flags.Has("body-hex")) {
    ITMO_ASSIGN_OR_RETURN(std::string body, crypto::FromHex(flags.Get("body-hex")));
    tx.set_body(body);
  } else {
    ITMO_ASSIGN_OR_RETURN(uint64_t size, flags.GetUint("body-size", 0));
    if (size == 0 || size > (64u << 20)) {
      return absl::InvalidArgumentError("submit-raw needs --body-hex HEX or --body-size 1..64Mi");
    }
    tx.set_body(std::string(size, '\xa5'));
  }
  v1::Signature* signature = tx.add_signatures();
  signature->set_public_key(std::string(crypto::kPublicKeyBytes, '\x01'));
  signature->set_signature(std::string(crypto::kSignatureBytes, '\x02'));
  ITMO_ASSIGN_OR_RETURN(auto client, Connect(flags));
  absl::StatusOr<std::string> tx_id = client->Submit(tx);
  if (!tx_id.ok()) {
    std::cout << "refused: " << absl::StatusCodeToString(tx_id.status().code()) << ": "
              << tx_id.status().message() << "\n";
    return kExitRejected;
  }
  std::cout << "accepted " << crypto::ToHex(*tx_id) << "\n";
  return kExitOk;
}

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {"keygen",
       "write an Ed25519 key file, or a node's TLS key and certificate",
       "itmoctl keygen --out FILE                      Ed25519 key file (mode "
       "0600); prints the public key\n"
       "itmoctl keygen --tls NODE_NAME [--out-dir DIR] DIR/tls.key (0600) and "
       "DIR/tls.crt\n",
       {.values = {"out", "tls", "out-dir"}, .booleans = {}},
       RunKeygen},
      {"localnet",
       "write genesis.json, config.toml per node and every key for a local "
       "network",
       "itmoctl localnet [--dir localnet] [--validators 4] [--observers 1] "
       "[--base-port 7100]\n"
       "                 [--chain-id itmo-localnet] [--log-level info] "
       "[--force]\n"
       "Ports: validator i api BASE+i, peer BASE+100+i; observer j api "
       "BASE+50+j, peer BASE+150+j.\n"
       "Keys of the Parties' authorities (CHE-authority, ...), registries "
       "(CHE-NR, ..., UN-IR) and\n"
       "the secretariat go to DIR/keys/<id>.key. --force replaces an existing "
       "network in DIR.\n",
       {.values = {"dir", "validators", "observers", "base-port", "chain-id", "log-level"},
        .booleans = {"force"}},
       RunLocalnet},
      {"tx",
       "build a transaction from JSON, sign it, submit it and print its "
       "outcome",
       "itmoctl tx (--file FILE|- | --json TEXT) [--action NAME] (--key FILE | "
       "--signer ID)...\n"
       "           [--localnet DIR | --genesis FILE | --chain-id ID] [--node "
       "HOST:PORT]\n"
       "           [--submitter S --submitter-kind registry|party|secretariat] "
       "[--client-tx-id C] [--lifetime-ms 120000]\n"
       "           [--no-wait] [--timeout 60] [--expect-code N] [--print-only] "
       "[--verbose]\n"
       "The JSON is a whole TransactionBody ({\"transfer\": {...}}) or, with "
       "--action, one action.\n"
       "--signer ID loads DIR/keys/ID.key of --localnet DIR. Missing "
       "submitter: inferred from the\n"
       "action; missing client_tx_id: generated. Exit 0 when ACCEPTED (or "
       "--expect-code matched),\n"
       "2 when REJECTED, 1 on errors (the node's refusal is printed with its "
       "gRPC code).\n",
       {.values = {"file", "json", "action", "key", "signer", "localnet", "genesis", "chain-id",
                   "node", "submitter", "submitter-kind", "client-tx-id", "timeout", "expect-code",
                   "connect-timeout", "lifetime-ms"},
        .booleans = {"no-wait", "print-only", "verbose"}},
       RunTx},
      {"get-tx",
       "a transaction's state and outcome; verifies its Merkle inclusion proof",
       "itmoctl get-tx (--id HEX | --submitter S --client-tx-id C) [--node "
       "HOST:PORT]\n"
       "Exit 3 when the inclusion proof does not lead to the block's "
       "tx_root.\n",
       {.values = {"id", "submitter", "client-tx-id", "node", "connect-timeout"}, .booleans = {}},
       RunGetTx},
      {"holdings",
       "the unit blocks an account holds",
       "itmoctl holdings --account REGISTRY/ACCOUNT [--node HOST:PORT]\n",
       {.values = {"account", "node", "connect-timeout"}, .booleans = {}},
       RunHoldings},
      {"history",
       "every committed event on one serial",
       "itmoctl history --registry ORIGINATING_REGISTRY --serial N [--node "
       "HOST:PORT]\n",
       {.values = {"registry", "serial", "node", "connect-timeout"}, .booleans = {}},
       RunHistory},
      {"adjustments",
       "a Party's corresponding adjustments per year",
       "itmoctl adjustments --party CODE [--from-year 2021] [--to-year 2100] "
       "[--node HOST:PORT]\n",
       {.values = {"party", "from-year", "to-year", "node", "connect-timeout"}, .booleans = {}},
       RunAdjustments},
      {"authorization",
       "an authorization: terms, status, cap used and every version (who, when, what changed)",
       "itmoctl authorization --id ID [--version N] [--node HOST:PORT]\n"
       "--version N prints only version N (the terms in force from it on).\n",
       {.values = {"id", "version", "node", "connect-timeout"}, .booleans = {}},
       RunRead<RunAuthorization>},
      {"accounts",
       "list accounts, optionally of one registry and/or Party (paged)",
       "itmoctl accounts [--registry ID] [--party CODE] [--page-size N] [--page-token T] [--all]\n"
       "                 [--node HOST:PORT]\n"
       "--all follows next_page_token to the end and prints one merged list.\n",
       {.values = {"registry", "party", "page-size", "page-token", "node", "connect-timeout"},
        .booleans = {"all"}},
       RunRead<RunAccounts>},
      {"approaches",
       "list cooperative approaches (paged)",
       "itmoctl approaches [--page-size N] [--page-token T] [--all] [--node HOST:PORT]\n",
       {.values = {"page-size", "page-token", "node", "connect-timeout"}, .booleans = {"all"}},
       RunRead<RunApproaches>},
      {"parties",
       "list Parties (paged)",
       "itmoctl parties [--page-size N] [--page-token T] [--all] [--node HOST:PORT]\n",
       {.values = {"page-size", "page-token", "node", "connect-timeout"}, .booleans = {"all"}},
       RunRead<RunParties>},
      {"status",
       "a node's height, round, peers and state root",
       "itmoctl status [--node HOST:PORT] [--json] [--wait SECONDS]\n"
       "--wait retries until the node answers (for scripts waiting on a "
       "starting node).\n",
       {.values = {"node", "wait"}, .booleans = {"json"}},
       RunStatus},
      {"subscribe",
       "follow committed blocks from a height (resumable)",
       "itmoctl subscribe [--from 1] [--count N] [--timeout SECONDS] [--format "
       "text|json|txids]\n"
       "                  [--omit-transactions] [--node HOST:PORT]\n"
       "txids prints one line per transaction: HEIGHT TX_ID STATUS CODE. The "
       "last height is\n"
       "printed to stderr; reconnect with --from LAST+1 to resume without gaps "
       "or repeats.\n",
       {.values = {"from", "count", "timeout", "format", "node", "connect-timeout"},
        .booleans = {"omit-transactions"}},
       RunSubscribe},
      {"demo",
       "run the Article 6.2 demo against a local network",
       "itmoctl demo [--localnet localnet] [--node 127.0.0.1:7100] [--timeout "
       "60]\n"
       "Exit 0 only when every step had its expected outcome; 4 otherwise.\n",
       {.values = {"localnet", "node", "timeout"}, .booleans = {}},
       RunDemoCommand},
      {"peer-probe",
       "dial a node's peer port over mTLS with a certificate (tests)",
       "itmoctl peer-probe --address HOST:PORT --target-name NODE --cert FILE "
       "--key FILE\n"
       "                   --genesis FILE\n"
       "Exit 0 when the node accepts the connection, 2 when it refuses it.\n",
       {.values = {"address", "target-name", "cert", "key", "genesis"}, .booleans = {}},
       RunPeerProbe},
      {"submit-raw",
       "submit a transaction with an arbitrary body (malformed-input tests)",
       "itmoctl submit-raw (--body-hex HEX | --body-size N) [--node "
       "HOST:PORT]\n"
       "The signature is garbage on purpose. Exit 2 when the node refuses it "
       "(printed with the\n"
       "gRPC code), 0 if it accepts it.\n",
       {.values = {"body-hex", "body-size", "node", "connect-timeout"}, .booleans = {}},
       RunSubmitRaw},
  };
  return *commands;
}

void PrintUsage(std::ostream& out) {
  out << "itmoctl: keys, local networks, transactions and queries for "
         "itmo-ledger\n\n"
         "usage: itmoctl COMMAND [flags]   (itmoctl COMMAND --help for its "
         "flags)\n\n";
  for (const Command& command : Commands()) {
    out << "  " << command.name << std::string(13 - std::string(command.name).size(), ' ')
        << command.summary << "\n";
  }
}

int Main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "help" || std::string(argv[1]) == "--help" ||
      std::string(argv[1]) == "-h") {
    PrintUsage(std::cout);
    return argc < 2 ? kExitError : kExitOk;
  }
  const std::string name = argv[1];
  for (const Command& command : Commands()) {
    if (name != command.name) continue;
    absl::StatusOr<Flags> flags =
        Flags::Parse(std::vector<std::string>(argv + 2, argv + argc), command.spec);
    if (!flags.ok()) {
      std::cerr << "itmoctl " << name << ": " << flags.status().message() << "\n" << command.help;
      return kExitError;
    }
    if (flags->Has("help")) {
      std::cout << command.summary << "\n\n" << command.help;
      return kExitOk;
    }
    if (!flags->positional().empty()) {
      std::cerr << "itmoctl " << name << ": unexpected argument '" << flags->positional()[0]
                << "'\n"
                << command.help;
      return kExitError;
    }
    absl::StatusOr<int> result = command.run(*flags);
    if (!result.ok()) {
      std::cerr << "itmoctl " << name << ": " << absl::StatusCodeToString(result.status().code())
                << ": " << result.status().message() << "\n";
      return kExitError;
    }
    return *result;
  }
  std::cerr << "itmoctl: unknown command '" << name << "'\n\n";
  PrintUsage(std::cerr);
  return kExitError;
}

}  // namespace
}  // namespace itmo::node::ctl

int main(int argc, char** argv) { return itmo::node::ctl::Main(argc, argv); }
