// File: node/node.cc
#include "node/node.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "consensus/limits.h"
#include "consensus/replica.h"
#include "crypto/keys.h"
#include "crypto/verifier.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "ledger/state_machine.h"
#include "node/block_store.h"
#include "node/commit_feed.h"
#include "node/driver.h"
#include "node/executor.h"
#include "node/genesis.h"
#include "node/ledger_service.h"
#include "node/mempool.h"
#include "node/peer_transport.h"
#include "spdlog/spdlog.h"
#include "storage/store.h"

namespace itmo::node {

inline constexpr uint32_t kTickMs = 10;
inline constexpr uint32_t kGossipIntervalMs = 5;
inline constexpr uint32_t kGossipBatchTxsMax = 2'000;
inline constexpr size_t kPeerMessageBytes = 48ull << 20;
// A sync or retrieval response (bounded by consensus::kResponseBytesMax, which always takes one
// block of maximum size) and a proposal of a maximum-size block, each wrapped in a PeerMessage,
// must fit: a message above kPeerMessageBytes is dropped on send (counted and logged).
inline constexpr size_t kPeerEnvelopeBytesMax = 1ull << 20;
static_assert(consensus::kResponseBytesMax + kPeerEnvelopeBytesMax <= kPeerMessageBytes);
static_assert(consensus::kBlockBytesMax + consensus::kCommittedBlockOverheadBytesMax +
                  kPeerEnvelopeBytesMax <=
              kPeerMessageBytes);
static_assert(kPeerMessageBytes <= kPeerMessageBytesMax);

// Sends consensus messages over the transport, by validator index -> genesis name.
class TransportNetwork final : public ConsensusNetwork {
 public:
  TransportNetwork(std::vector<std::string> validator_names,
                   std::vector<std::string> observer_names)
      : names_(std::move(validator_names)), observers_(std::move(observer_names)) {}
  void set_transport(PeerTransport* transport) { transport_.store(transport); }

  void SendTo(uint32_t index, const v1::ConsensusMessage& message) override {
    PeerTransport* transport = transport_.load();
    if (transport == nullptr) return;
    const std::string* name = nullptr;
    if (index < names_.size()) {
      name = &names_[index];
    } else if (index >= consensus::kValidatorsMax &&
               index - consensus::kValidatorsMax < observers_.size()) {
      name = &observers_[index - consensus::kValidatorsMax];
    }
    if (name == nullptr) return;
    v1::PeerMessage peer_message;
    peer_message.set_consensus(message.SerializeAsString());
    transport->Send(*name, std::move(peer_message));
  }
  void Broadcast(const v1::ConsensusMessage& message) override {
    PeerTransport* transport = transport_.load();
    if (transport == nullptr) return;
    v1::PeerMessage peer_message;
    peer_message.set_consensus(message.SerializeAsString());
    transport->Broadcast(peer_message);
  }

 private:
  const std::vector<std::string> names_;
  const std::vector<std::string> observers_;
  std::atomic<PeerTransport*> transport_{nullptr};
};

// Everything a running node owns, destroyed in reverse order of declaration.
class NodeParts final : public PeerHandler {
 public:
  void OnPeerMessage(const std::string& peer_name, v1::PeerMessage message) override;

  // The `from` of a peer's consensus messages: its validator index, or kValidatorsMax + its
  // observer index (so that the replica can answer an observer's requests with SendTo).
  uint32_t PeerIndex(const std::string& peer_name) const {
    std::optional<uint32_t> index = ValidatorIndex(genesis, peer_name);
    if (index.has_value()) return *index;
    for (int j = 0; j < genesis.observers_size(); ++j) {
      if (genesis.observers(j).name() == peer_name) {
        return consensus::kValidatorsMax + static_cast<uint32_t>(j);
      }
    }
    return consensus::kFromNonValidator;
  }

  NodeConfig config;
  v1::Genesis genesis;
  std::optional<uint32_t> my_index;
  std::vector<std::string> validator_names;
  crypto::Ed25519Verifier verifier;
  std::unique_ptr<crypto::Ed25519Signer> signer;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<ledger::StateMachine> ledger;
  std::unique_ptr<BlockStore> blocks;
  std::unique_ptr<CommitFeed> feed;
  std::unique_ptr<Mempool> mempool;
  std::unique_ptr<Executor> executor;
  std::unique_ptr<consensus::Replica> replica;
  std::unique_ptr<TransportNetwork> network;
  std::unique_ptr<Driver> driver;
  std::unique_ptr<PeerTransport> transport;
  std::unique_ptr<LedgerService> service;
  std::unique_ptr<grpc::Server> server;
  int api_port = 0;
  std::thread gossip_thread;

  absl::Mutex mu;
  bool stop_requested ABSL_GUARDED_BY(mu) = false;
  int exit_code ABSL_GUARDED_BY(mu) = 0;

  void RequestStop(int code) ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    if (!stop_requested) exit_code = code;
    stop_requested = true;
  }
  bool StopRequested() ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    return stop_requested;
  }
  void GossipLoop() ABSL_LOCKS_EXCLUDED(mu);
};

void NodeParts::OnPeerMessage(const std::string& peer_name, v1::PeerMessage message) {
  switch (message.kind_case()) {
    case v1::PeerMessage::kConsensus: {
      consensus::MessageReceived received;
      if (!received.message.ParseFromString(message.consensus())) {
        spdlog::debug("peer {}: consensus message does not parse", peer_name);
        return;
      }
      received.from = PeerIndex(peer_name);
      absl::Status status = driver->Enqueue(std::move(received), message.consensus().size());
      if (!status.ok()) spdlog::debug("peer {}: {}", peer_name, status.ToString());
      return;
    }
    case v1::PeerMessage::kTxs: {
      for (const std::string& tx : message.txs().signed_txs()) {
        // Not trusted: verified like a client's submission; not gossiped again.
        absl::StatusOr<std::string> id = mempool->Add(tx, /*gossip=*/false);
        if (!id.ok() && id.status().code() != absl::StatusCode::kAlreadyExists) {
          spdlog::debug("peer {}: gossiped tx refused: {}", peer_name, id.status().ToString());
        }
      }
      return;
    }
    default:
      return;  // Committed-block sync runs inside consensus (SyncRequest / SyncResponse).
  }
}

void NodeParts::GossipLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu);
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return stop_requested; };
      if (mu.AwaitWithTimeout(absl::Condition(&stop), absl::Milliseconds(kGossipIntervalMs))) {
        return;
      }
    }
    std::vector<std::string> txs = mempool->TakeGossip(kGossipBatchTxsMax);
    if (txs.empty() || transport == nullptr) continue;
    v1::PeerMessage message;
    for (std::string& tx : txs) message.mutable_txs()->add_signed_txs(std::move(tx));
    // To validators only: they batch blocks; observers forward, they never propose.
    for (uint32_t i = 0; i < validator_names.size(); ++i) {
      if (my_index.has_value() && *my_index == i) continue;
      transport->Send(validator_names[i], message);
    }
  }
}

namespace {

absl::Status CheckIdentity(NodeParts* p) {
  const NodeConfig& c = p->config;
  p->my_index = ValidatorIndex(p->genesis, c.name);
  if (c.role == Role::kValidator) {
    if (!p->my_index.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(c.config_path, ": [node] name: \"", c.name,
                                                     "\" is not a validator in ", c.genesis_path));
    }
    ITMO_ASSIGN_OR_RETURN(crypto::KeyPair key, crypto::LoadKeyPair(c.consensus_key));
    const std::string& expected =
        p->genesis.validators(static_cast<int>(*p->my_index)).consensus_key();
    if (crypto::AsStringView(key.public_key()) != expected) {
      return absl::InvalidArgumentError(absl::StrCat(
          c.config_path, ": [node] consensus_key: ", c.consensus_key, " does not match validators[",
          *p->my_index, "].consensus_key in ", c.genesis_path));
    }
    p->signer = std::make_unique<crypto::Ed25519Signer>(std::move(key));
  } else {
    if (p->my_index.has_value() || !IsObserver(p->genesis, c.name)) {
      return absl::InvalidArgumentError(absl::StrCat(c.config_path, ": [node] name: \"", c.name,
                                                     "\" is not an observer in ", c.genesis_path));
    }
  }
  for (const v1::Validator& v : p->genesis.validators()) p->validator_names.push_back(v.name());
  return absl::OkStatus();
}

absl::Status OpenStorage(NodeParts* p) {
  std::error_code ec;
  std::filesystem::create_directories(p->config.data_dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat(p->config.config_path,
                                            ": [node] data_dir: cannot create ", p->config.data_dir,
                                            ": ", ec.message()));
  }
  storage::StoreOptions options;
  options.column_families = BlockStore::ColumnFamilies();
  for (std::string& family : ledger::StateMachine::ColumnFamilies()) {
    options.column_families.push_back(std::move(family));
  }
  // Families every database has had since the first release: an existing one without them lost
  // them (the fault campaign's MANIFEST cut), and must not reopen as an empty chain.
  options.required_families = {kBlocksFamily, kBlockIdsFamily, kTxIndexFamily, kMetaFamily,
                               ledger::StateMachine::ColumnFamilies().front()};
  ITMO_ASSIGN_OR_RETURN(p->store, storage::Store::Open(p->config.data_dir + "/db", options));
  ITMO_ASSIGN_OR_RETURN(p->ledger,
                        ledger::StateMachine::Open(p->store.get(), p->genesis, &p->verifier));
  // The safety state sits next to the database, not in it (storage::SafetyFile).
  ITMO_ASSIGN_OR_RETURN(p->blocks,
                        BlockStore::Open(p->store.get(), p->config.data_dir + "/safety_state"));
  return absl::OkStatus();
}

void MakeMempool(NodeParts* p) {
  MempoolOptions options;
  options.txs_max = p->config.limits.mempool_txs_max;
  options.bytes_max = p->config.limits.mempool_bytes_max;
  options.txs_per_submitter_max = p->config.limits.mempool_txs_per_submitter_max;
  options.tx_bytes_max = kTxBytesMax;
  const std::string chain_id = p->genesis.chain_id();
  const crypto::Verifier* verifier = &p->verifier;
  TxVerifyFn verify = [chain_id,
                       verifier](const v1::SignedTransaction& tx) -> absl::StatusOr<VerifiedTx> {
    ITMO_ASSIGN_OR_RETURN(v1::TransactionBody body,
                          ledger::VerifyTransaction(tx, chain_id, *verifier));
    return VerifiedTx{std::string(crypto::AsStringView(ledger::TransactionId(tx))),
                      body.submitter(), body.client_tx_id(),
                      static_cast<int32_t>(body.submitter_kind()), body.valid_until_ms()};
  };
  TxAdmitFn admit = [p](const v1::SignedTransaction& tx, const VerifiedTx& verified) {
    // A snapshot view, not WithLedger: admission never waits for (or delays) a commit.
    absl::StatusOr<std::unique_ptr<ledger::LedgerView>> view = p->executor->View();
    if (!view.ok()) return view.status();
    return [&](const ledger::LedgerView& ledger) -> absl::Status {
      absl::StatusOr<crypto::PublicKey> key = ledger.SubmitterKey(
          static_cast<v1::SubmitterKind>(verified.submitter_kind), verified.submitter);
      if (!key.ok()) {
        return absl::PermissionDeniedError(absl::StrCat(
            "REASON_UNKNOWN_SUBMITTER: ", verified.submitter, ": ", key.status().message()));
      }
      bool signed_by_submitter = false;
      for (const v1::Signature& signature : tx.signatures()) {
        if (signature.public_key() == crypto::AsStringView(*key)) signed_by_submitter = true;
      }
      if (!signed_by_submitter) {
        return absl::PermissionDeniedError(absl::StrCat(
            "REASON_MISSING_SIGNATURE: not signed by the key of submitter ", verified.submitter));
      }
      if (ledger.IsClientTxIdUsed(verified.submitter, verified.client_tx_id)) {
        return absl::AlreadyExistsError(
            absl::StrCat("REASON_DUPLICATE_TRANSACTION: client_tx_id \"", verified.client_tx_id,
                         "\" of submitter \"", verified.submitter, "\" is already committed"));
      }
      return absl::OkStatus();
    }(**view);
  };
  p->mempool = std::make_unique<Mempool>(options, std::move(verify), std::move(admit));
}

absl::Status MakeConsensus(NodeParts* p) {
  const v1::ConsensusParams& params = p->genesis.consensus();
  ExecutorOptions executor_options;
  executor_options.block_txs_max = static_cast<uint32_t>(
      std::min<uint64_t>(p->config.limits.block_txs_max, consensus::kBlockTxsMax));
  executor_options.block_bytes_max =
      std::min<uint64_t>(p->config.limits.block_bytes_max, consensus::kBlockBytesMax);
  if (params.block_txs_max() > 0) {
    executor_options.block_txs_max =
        std::min(executor_options.block_txs_max, params.block_txs_max());
  }
  if (params.block_bytes_max() > 0) {
    executor_options.block_bytes_max =
        std::min(executor_options.block_bytes_max, params.block_bytes_max());
  }
  ITMO_ASSIGN_OR_RETURN(p->executor,
                        Executor::Create(executor_options, p->ledger.get(), p->blocks.get(),
                                         p->mempool.get(), p->feed.get()));
  consensus::ReplicaOptions options;
  options.chain_id = p->genesis.chain_id();
  options.epoch = 0;
  for (const v1::Validator& v : p->genesis.validators()) {
    ITMO_ASSIGN_OR_RETURN(crypto::PublicKey key, crypto::PublicKeyFromBytes(v.consensus_key()));
    options.validators.push_back(key);
  }
  options.my_index = p->my_index;
  const uint64_t base_ms =
      params.round_timeout_ms_base() > 0 ? params.round_timeout_ms_base() : 1000;
  const uint64_t max_ms = params.round_timeout_ms_max() > 0 ? params.round_timeout_ms_max() : 30000;
  options.round_timeout_ticks_base =
      static_cast<uint32_t>(std::max<uint64_t>(1, base_ms / kTickMs));
  options.round_timeout_ticks_max =
      static_cast<uint32_t>(std::max<uint64_t>(options.round_timeout_ticks_base, max_ms / kTickMs));
  options.block_txs_max = executor_options.block_txs_max;
  options.block_bytes_max = executor_options.block_bytes_max;
  // An idle leader waits half a round timeout for transactions before it proposes an empty block.
  options.empty_block_wait_ticks = options.round_timeout_ticks_base / 2;
  // Absent (0) in older genesis files: the default. ValidateOptions refuses one out of range.
  if (params.block_timestamp_ahead_ms_max() > 0) {
    options.timestamp_ahead_ms_max = params.block_timestamp_ahead_ms_max();
  }
  ITMO_RETURN_IF_ERROR(consensus::Replica::ValidateOptions(options));

  ITMO_ASSIGN_OR_RETURN(std::optional<v1::SafetyState> safety, p->blocks->LoadSafetyState());
  consensus::RecoveredChain chain;
  if (p->blocks->head_height() > 0) {
    ITMO_ASSIGN_OR_RETURN(std::optional<v1::SubscribeCommitsResponse> head,
                          p->blocks->Get(p->blocks->head_height()));
    if (!head.has_value()) return absl::DataLossError("committed head block missing");
    chain.head = head->committed();
  }
  ITMO_ASSIGN_OR_RETURN(chain.pending_blocks, p->blocks->LoadPendingBlocks());
  // Lowest height first: each block's parent is indexed before it.
  std::sort(chain.pending_blocks.begin(), chain.pending_blocks.end(),
            [](const v1::Block& a, const v1::Block& b) {
              return a.header().height() < b.header().height();
            });
  for (const v1::Block& block : chain.pending_blocks) p->executor->NoteBlock(block);
  p->replica = std::make_unique<consensus::Replica>(options, safety.value_or(v1::SafetyState()),
                                                    p->signer.get(), &p->verifier,
                                                    p->executor.get(), std::move(chain));
  std::vector<std::string> observer_names;
  for (const v1::Observer& o : p->genesis.observers()) observer_names.push_back(o.name());
  p->network = std::make_unique<TransportNetwork>(p->validator_names, std::move(observer_names));
  return absl::OkStatus();
}

absl::Status StartTransport(NodeParts* p) {
  const NodeConfig& c = p->config;
  PeerTransportOptions options;
  options.self_name = c.name;
  options.listen_address = c.peer_listen;
  ITMO_ASSIGN_OR_RETURN(options.identity, LoadTlsIdentity(c.tls_key, c.tls_cert));
  auto address_of = [&c](const std::string& name) -> std::string {
    for (const PeerAddress& peer : c.peers) {
      if (peer.name == name) return peer.address;
    }
    return "";
  };
  for (const v1::Validator& v : p->genesis.validators()) {
    options.pinned.push_back({v.name(), v.tls_certificate_pem(), address_of(v.name())});
  }
  for (const v1::Observer& o : p->genesis.observers()) {
    options.pinned.push_back({o.name(), o.tls_certificate_pem(), address_of(o.name())});
  }
  for (const PeerAddress& peer : c.peers) {
    if (CertificateOf(p->genesis, peer.name).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(c.config_path, ": [[peers]] name: \"",
                                                     peer.name, "\" is not a node in genesis"));
    }
  }
  options.send_queue_max = 4096;
  options.message_bytes_max = kPeerMessageBytes;
  ITMO_ASSIGN_OR_RETURN(p->transport, PeerTransport::Start(options, p));
  p->network->set_transport(p->transport.get());
  return absl::OkStatus();
}

absl::Status StartApi(NodeParts* p) {
  LedgerServiceOptions options{p->config.name, std::string(RoleName(p->config.role)),
                               p->genesis.chain_id()};
  NodeParts* parts = p;
  p->service = std::make_unique<LedgerService>(
      options, p->mempool.get(), p->blocks.get(), p->executor.get(), p->feed.get(), [parts]() {
        NodeStatus status;
        status.round = parts->driver->round();
        status.epoch = 0;
        status.consensus_messages_dropped = parts->driver->dropped_messages();
        if (parts->transport != nullptr) {
          status.peers = parts->transport->ConnectedPeers();
          PeerTransportStats stats = parts->transport->stats();
          status.peer_messages_dropped_queue_full = stats.dropped_queue_full;
          status.peer_messages_dropped_oversize = stats.dropped_oversize;
        }
        return status;
      });
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(p->config.api_listen, grpc::InsecureServerCredentials(), &p->api_port);
  builder.RegisterService(p->service.get());
  ConfigureApiServer(&builder);  // Oversize transactions reach the handler (REASON_..._TOO_LARGE).
  p->server = builder.BuildAndStart();
  if (p->server == nullptr || p->api_port == 0) {
    return absl::UnavailableError(
        absl::StrCat(p->config.config_path, ": [api] listen: cannot bind ", p->config.api_listen));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Node>> Node::Start(const NodeConfig& config) {
  auto parts = std::make_unique<NodeParts>();
  NodeParts* p = parts.get();
  p->config = config;
  ITMO_ASSIGN_OR_RETURN(p->genesis, LoadGenesis(config.genesis_path));
  ITMO_RETURN_IF_ERROR(CheckIdentity(p));
  ITMO_RETURN_IF_ERROR(OpenStorage(p));
  p->feed = std::make_unique<CommitFeed>();
  MakeMempool(p);
  ITMO_RETURN_IF_ERROR(MakeConsensus(p));
  spdlog::info("{} ({}) chain {}: recovered height {} state root {}", config.name,
               RoleName(config.role), p->genesis.chain_id(), p->blocks->head_height(),
               crypto::ToHex(p->executor->executed_head().state_root));
  p->driver = std::make_unique<Driver>(DriverOptions{kTickMs, 10'000, 256ull << 20},
                                       p->replica.get(), p->executor.get(), p->blocks.get(),
                                       p->network.get(), [p](const absl::Status& status, int code) {
                                         spdlog::critical("FATAL: {}", status.ToString());
                                         p->RequestStop(code);
                                       });
  std::unique_ptr<Node> node(new Node(std::move(parts)));
  ITMO_RETURN_IF_ERROR(StartTransport(p));
  ITMO_RETURN_IF_ERROR(StartApi(p));
  p->driver->Start();
  p->gossip_thread = std::thread([p] { p->GossipLoop(); });
  spdlog::info("{} serving: api {} (port {}), peer {}", config.name, config.api_listen, p->api_port,
               config.peer_listen);
  return node;
}

Node::Node(std::unique_ptr<NodeParts> parts) : parts_(std::move(parts)) {}

Node::~Node() { StopAll(); }

void Node::Shutdown() { parts_->RequestStop(0); }

int Node::Wait() {
  {
    absl::MutexLock lock(&parts_->mu);
    auto stop = [this]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(parts_->mu) { return parts_->stop_requested; };
    parts_->mu.Await(absl::Condition(&stop));
  }
  StopAll();
  absl::MutexLock lock(&parts_->mu);
  return parts_->exit_code;
}

void Node::StopAll() {
  if (stopped_) return;
  stopped_ = true;
  NodeParts* p = parts_.get();
  p->RequestStop(0);
  spdlog::info("{} stopping", p->config.name);
  if (p->service != nullptr) p->service->Shutdown();
  if (p->server != nullptr) {
    p->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }
  if (p->driver != nullptr) p->driver->Stop();
  if (p->gossip_thread.joinable()) p->gossip_thread.join();
  if (p->network != nullptr) p->network->set_transport(nullptr);
  if (p->transport != nullptr) p->transport->Stop();
  if (p->server != nullptr) p->server->Wait();
  spdlog::info("{} stopped at height {}", p->config.name,
               p->blocks != nullptr ? p->blocks->head_height() : 0);
}

int Node::api_port() const { return parts_->api_port; }

int Node::peer_port() const {
  return parts_->transport != nullptr ? parts_->transport->listen_port() : 0;
}

}  // namespace itmo::node
