// File: node/internal/peer_transport_impl.cc
#include "node/internal/peer_transport_impl.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <chrono>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/check.h"
#include "node/internal/peer_backoff.h"
#include "node/tls.h"
#include "spdlog/spdlog.h"

namespace itmo::node::internal {
namespace {

constexpr int kKeepaliveTimeMs = 10'000;
constexpr int kKeepaliveTimeoutMs = 5'000;
constexpr int kServerShutdownGraceMs = 2'000;
// Sync-server threads beyond one per possible stream (pollers, handshakes in progress).
constexpr int kServerSpareThreads = 16;

std::string ConcatenatePems(const std::vector<PinnedPeer>& pinned) {
  std::string out;
  for (const PinnedPeer& p : pinned) {
    absl::StrAppend(&out, p.cert_pem);
    if (!out.empty() && out.back() != '\n') out.push_back('\n');
  }
  return out;
}

int ClampToInt(size_t value) {
  return value > static_cast<size_t>(std::numeric_limits<int>::max())
             ? std::numeric_limits<int>::max()
             : static_cast<int>(value);
}

// FNV-1a, to derive a per-peer jitter seed from the configured seed and the two names.
uint64_t MixSeed(uint64_t seed, const std::string& a, const std::string& b) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (const std::string* s : {&a, &b}) {
    for (const char c : *s) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  }
  return h;
}

absl::StatusOr<std::string> PresentedCertificate(const grpc::AuthContext* auth) {
  if (auth == nullptr) return absl::UnauthenticatedError("no TLS auth context");
  const std::vector<grpc::string_ref> certs =
      auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (certs.empty()) return absl::UnauthenticatedError("peer presented no certificate");
  return CanonicalCertificatePem(std::string(certs.front().data(), certs.front().size()));
}

}  // namespace

PeerTransportImpl::PeerTransportImpl(const PeerTransportOptions& options, PeerHandler* handler,
                                     std::vector<PinnedPeer> canonical_pinned)
    : self_name_(options.self_name),
      listen_address_(options.listen_address),
      identity_(options.identity),
      roots_pem_(ConcatenatePems(canonical_pinned)),
      send_queue_max_(options.send_queue_max),
      send_queue_bytes_max_(options.send_queue_bytes_max),
      message_bytes_max_(options.message_bytes_max),
      backoff_ms_min_(options.backoff_ms_min),
      backoff_ms_max_(options.backoff_ms_max),
      backoff_seed_(options.backoff_seed),
      handler_(handler) {
  ITMO_CHECK(handler_ != nullptr);
  ITMO_CHECK(canonical_pinned.size() <= kPeersMax);
  for (PinnedPeer& p : canonical_pinned) {
    cert_to_name_.emplace(p.cert_pem, p.name);
    if (p.name == self_name_) continue;
    auto peer = std::make_unique<PeerState>();
    peer->name = p.name;
    peer->cert_pem = std::move(p.cert_pem);
    peer->address = std::move(p.address);
    peers_.emplace(peer->name, std::move(peer));
  }
}

PeerTransportImpl::~PeerTransportImpl() { Stop(); }

absl::Status PeerTransportImpl::Start() {
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = roots_pem_;
  ssl.pem_key_cert_pairs.push_back({identity_.key_pem, identity_.cert_pem});
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen_address_, grpc::SslServerCredentials(ssl), &listen_port_);
  builder.RegisterService(this);
  builder.SetMaxReceiveMessageSize(ClampToInt(message_bytes_max_));
  builder.SetMaxSendMessageSize(ClampToInt(message_bytes_max_));
  // Fail instead of silently sharing the port with another live process.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             kKeepaliveTimeMs / 2);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  grpc::ResourceQuota quota("itmo-peer-server");
  quota.SetMaxThreads(ClampToInt(peers_.size() * kPeerStreamsPerPeerMax) + kServerSpareThreads);
  builder.SetResourceQuota(quota);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || listen_port_ == 0) {
    server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen for peers on ", listen_address_, " (address in use?)"));
  }
  uint64_t index = 0;
  for (auto& [name, peer] : peers_) {
    if (peer->address.empty()) continue;
    const uint64_t seed = MixSeed(backoff_seed_ + index++, self_name_, name);
    PeerState* const p = peer.get();
    dialers_.emplace_back([this, p, seed] { DialLoop(p, seed); });
  }
  return absl::OkStatus();
}

void PeerTransportImpl::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      // Another caller is stopping or has stopped; wait until it finished.
      mu_.Await(absl::Condition(&stopped_));
      return;
    }
    stopping_ = true;
    for (auto& [name, peer] : peers_) {
      if (peer->dial_context != nullptr) peer->dial_context->TryCancel();
      for (StreamState* s : peer->streams) {
        s->done = true;
        if (s->server_context != nullptr) s->server_context->TryCancel();
      }
    }
  }
  for (std::thread& t : dialers_) t.join();
  dialers_.clear();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(kServerShutdownGraceMs));
    server_->Wait();
  }
  absl::MutexLock lock(&mu_);
  for (auto& [name, peer] : peers_) ITMO_CHECK(peer->streams.empty());
  stopped_ = true;
}

void PeerTransportImpl::EnqueueLocked(PeerState* peer, v1::PeerMessage message, size_t bytes) {
  mu_.AssertHeld();
  ITMO_CHECK(bytes <= message_bytes_max_);
  ITMO_CHECK(message_bytes_max_ <= send_queue_bytes_max_);
  ITMO_CHECK(peer->queue.size() <= send_queue_max_);
  // Drop the oldest: a newer consensus message supersedes an older one, and the peer catches up.
  // Bounded: each iteration removes one of at most send_queue_max_ messages.
  while (!peer->queue.empty() && (peer->queue.size() == send_queue_max_ ||
                                  peer->queue_bytes + bytes > send_queue_bytes_max_)) {
    peer->queue_bytes -= peer->queue.front().bytes;
    peer->queue.pop_front();
    ++peer->dropped_queue_full;
    ++totals_.dropped_queue_full;
    if (drop_log_.Allow()) {
      spdlog::warn(
          "peer {}: send queue full ({} messages, {} bytes): dropped its oldest message "
          "({} dropped for this peer, {} in all)",
          peer->name, peer->queue.size(), peer->queue_bytes, peer->dropped_queue_full,
          totals_.dropped_queue_full);
    }
  }
  peer->queue_bytes += bytes;
  peer->queue.push_back(QueuedMessage{std::move(message), bytes});
  ITMO_CHECK(peer->queue_bytes <= send_queue_bytes_max_);
}

void PeerTransportImpl::Send(const std::string& peer_name, v1::PeerMessage message) {
  const size_t bytes = message.ByteSizeLong();
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  auto it = peers_.find(peer_name);
  if (it == peers_.end()) {
    ++totals_.dropped_unknown_peer;
    return;
  }
  if (bytes > message_bytes_max_) {
    ++totals_.dropped_oversize;
    if (drop_log_.Allow()) {
      spdlog::warn("peer {}: dropped a {}-byte message above the {}-byte limit ({} in all)",
                   peer_name, bytes, message_bytes_max_, totals_.dropped_oversize);
    }
    return;
  }
  EnqueueLocked(it->second.get(), std::move(message), bytes);
}

void PeerTransportImpl::Broadcast(const v1::PeerMessage& message) {
  const size_t bytes = message.ByteSizeLong();
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  if (bytes > message_bytes_max_) {
    ++totals_.dropped_oversize;
    if (drop_log_.Allow()) {
      spdlog::warn("broadcast: dropped a {}-byte message above the {}-byte limit ({} in all)",
                   bytes, message_bytes_max_, totals_.dropped_oversize);
    }
    return;
  }
  for (auto& [name, peer] : peers_) {
    if (!peer->streams.empty()) EnqueueLocked(peer.get(), message, bytes);
  }
}

std::vector<std::string> PeerTransportImpl::ConnectedPeers() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [name, peer] : peers_) {
    if (!peer->streams.empty()) out.push_back(name);
  }
  return out;
}

PeerTransportStats PeerTransportImpl::stats() const {
  absl::MutexLock lock(&mu_);
  PeerTransportStats out = totals_;
  out.peers.reserve(peers_.size());
  for (const auto& [name, peer] : peers_) {
    PeerStats p;
    p.name = name;
    p.connected = !peer->streams.empty();
    p.streams = static_cast<uint32_t>(peer->streams.size());
    p.send_queue_size = peer->queue.size();
    p.send_queue_bytes = peer->queue_bytes;
    p.messages_sent = peer->messages_sent;
    p.messages_received = peer->messages_received;
    p.dropped_queue_full = peer->dropped_queue_full;
    out.peers.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<std::string> PeerTransportImpl::IdentifyClient(
    const grpc::ServerContext& context) const {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  auto cert = PresentedCertificate(auth.get());
  if (!cert.ok()) return absl::UnauthenticatedError(cert.status().message());
  auto it = cert_to_name_.find(*cert);
  if (it == cert_to_name_.end()) {
    return absl::UnauthenticatedError("client certificate is not pinned in genesis");
  }
  if (it->second == self_name_) {
    return absl::UnauthenticatedError("client presented this node's own certificate");
  }
  return it->second;
}

absl::Status PeerTransportImpl::RegisterStream(StreamState* stream) {
  ITMO_CHECK(stream->peer != nullptr);
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("transport is stopping");
  PeerState* peer = stream->peer;
  if (peer->streams.size() >= kPeerStreamsPerPeerMax) {
    return absl::ResourceExhaustedError(
        absl::StrCat("peer ", peer->name, " already has ", peer->streams.size(), " streams"));
  }
  peer->streams.push_back(stream);
  ++totals_.streams_accepted;
  return absl::OkStatus();
}

void PeerTransportImpl::UnregisterStream(StreamState* stream) {
  absl::MutexLock lock(&mu_);
  std::vector<StreamState*>& streams = stream->peer->streams;
  const size_t before = streams.size();
  std::erase(streams, stream);
  ITMO_CHECK(streams.size() + 1 == before);
  ITMO_CHECK(stream->done);
}

void PeerTransportImpl::MarkDone(StreamState* stream) {
  absl::MutexLock lock(&mu_);
  stream->done = true;
}

template <typename ReaderWriter>
void PeerTransportImpl::ReadLoop(StreamState* stream, ReaderWriter* reader_writer) {
  PeerState* const peer = stream->peer;
  v1::PeerMessage message;
  while (reader_writer->Read(&message)) {
    const size_t bytes = message.ByteSizeLong();
    {
      absl::MutexLock lock(&mu_);
      ++peer->messages_received;
      ++totals_.messages_received;
      totals_.bytes_received += bytes;
    }
    handler_->OnPeerMessage(peer->name, std::move(message));
    message.Clear();
  }
}

template <typename ReaderWriter>
void PeerTransportImpl::WriteLoop(StreamState* stream, ReaderWriter* reader_writer) {
  PeerState* const peer = stream->peer;
  std::vector<QueuedMessage> batch;
  batch.reserve(kWriteBatchMessagesMax);
  for (;;) {
    batch.clear();
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this, stream, peer] {
        mu_.AssertHeld();
        return stream->done || stopping_ ||
               (!peer->queue.empty() && !peer->streams.empty() && peer->streams.back() == stream);
      };
      mu_.Await(absl::Condition(&ready));
      if (stream->done || stopping_) return;
      while (!peer->queue.empty() && batch.size() < kWriteBatchMessagesMax) {
        peer->queue_bytes -= peer->queue.front().bytes;
        batch.push_back(std::move(peer->queue.front()));
        peer->queue.pop_front();
      }
    }
    uint64_t bytes = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      grpc::WriteOptions options;
      if (i + 1 < batch.size()) options.set_buffer_hint();
      if (!reader_writer->Write(batch[i].message, options)) return;  // The reader sees the error.
      bytes += batch[i].bytes;
    }
    absl::MutexLock lock(&mu_);
    peer->messages_sent += batch.size();
    totals_.messages_sent += batch.size();
    totals_.bytes_sent += bytes;
  }
}

grpc::Status PeerTransportImpl::Stream(
    grpc::ServerContext* context, grpc::ServerReaderWriter<v1::PeerMessage, v1::PeerMessage>* rw) {
  absl::StatusOr<std::string> name = IdentifyClient(*context);
  if (!name.ok()) {
    spdlog::warn("peer stream from {} refused: {}", context->peer(),
                 std::string(name.status().message()));
    absl::MutexLock lock(&mu_);
    ++totals_.streams_refused;
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(name.status().message()));
  }
  auto it = peers_.find(*name);
  ITMO_CHECK(it != peers_.end());  // cert_to_name_ and peers_ hold the same names, except self.
  StreamState stream;
  stream.peer = it->second.get();
  stream.server_context = context;
  if (absl::Status registered = RegisterStream(&stream); !registered.ok()) {
    spdlog::warn("peer stream from {} refused: {}", *name, std::string(registered.message()));
    absl::MutexLock lock(&mu_);
    ++totals_.streams_refused;
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, std::string(registered.message()));
  }
  context->AddInitialMetadata(kPeerAcceptedMetadataKey, self_name_);
  rw->SendInitialMetadata();
  spdlog::info("peer {} connected (inbound from {})", *name, context->peer());
  handler_->OnPeerConnected(*name);
  std::thread writer([this, &stream, rw] { WriteLoop(&stream, rw); });
  ReadLoop(&stream, rw);
  MarkDone(&stream);
  context->TryCancel();  // Unblocks a writer stuck in Write().
  writer.join();
  UnregisterStream(&stream);
  spdlog::info("peer {} disconnected (inbound)", *name);
  handler_->OnPeerDisconnected(*name);
  return grpc::Status::OK;
}

std::shared_ptr<grpc::Channel> PeerTransportImpl::MakeChannel(const PeerState& peer) const {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = roots_pem_;
  ssl.pem_private_key = identity_.key_pem;
  ssl.pem_cert_chain = identity_.cert_pem;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(peer.name);
  args.SetMaxReceiveMessageSize(ClampToInt(message_bytes_max_));
  args.SetMaxSendMessageSize(ClampToInt(message_bytes_max_));
  // Our own loop owns the backoff; keep gRPC's short and the subchannel private to this channel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(backoff_ms_min_));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(backoff_ms_min_));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(backoff_ms_max_));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return grpc::CreateCustomChannel(peer.address, grpc::SslCredentials(ssl), args);
}

bool PeerTransportImpl::DialOnce(PeerState* peer) {
  std::shared_ptr<grpc::Channel> channel = MakeChannel(*peer);
  std::unique_ptr<v1::Peer::Stub> stub = v1::Peer::NewStub(channel);
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    ITMO_CHECK(peer->dial_context == nullptr);
    peer->dial_context = &context;
  }
  std::unique_ptr<grpc::ClientReaderWriter<v1::PeerMessage, v1::PeerMessage>> rw =
      stub->Stream(&context);
  rw->WaitForInitialMetadata();
  bool established = false;
  const auto& metadata = context.GetServerInitialMetadata();
  auto accepted = metadata.find(kPeerAcceptedMetadataKey);
  absl::StatusOr<std::string> server_cert = PresentedCertificate(context.auth_context().get());
  if (accepted == metadata.end()) {
    // Refused or not reachable; Finish() below reports why.
  } else if (!server_cert.ok() || *server_cert != peer->cert_pem) {
    spdlog::warn("peer {} at {} presented a certificate other than its pinned one; disconnecting",
                 peer->name, peer->address);
    absl::MutexLock lock(&mu_);
    ++totals_.server_identity_mismatch;
  } else {
    StreamState stream;
    stream.peer = peer;
    stream.outbound = true;
    if (RegisterStream(&stream).ok()) {
      established = true;
      spdlog::info("peer {} connected (outbound to {})", peer->name, peer->address);
      handler_->OnPeerConnected(peer->name);
      std::thread writer([this, &stream, &rw] { WriteLoop(&stream, rw.get()); });
      ReadLoop(&stream, rw.get());
      MarkDone(&stream);
      context.TryCancel();
      writer.join();
      UnregisterStream(&stream);
      spdlog::info("peer {} disconnected (outbound)", peer->name);
      handler_->OnPeerDisconnected(peer->name);
    }
  }
  if (!established) context.TryCancel();
  const grpc::Status status = rw->Finish();
  absl::MutexLock lock(&mu_);
  peer->dial_context = nullptr;
  if (!established && !stopping_) {
    ++totals_.dial_failures;
    spdlog::debug("dialing peer {} at {} failed: {}", peer->name, peer->address,
                  status.error_message());
  }
  return established;
}

void PeerTransportImpl::DialLoop(PeerState* peer, uint64_t seed) {
  PeerBackoff backoff(backoff_ms_min_, backoff_ms_max_, seed);
  for (;;) {
    if (DialOnce(peer)) backoff.Reset();
    const absl::Duration delay = absl::Milliseconds(backoff.NextDelayMs());
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay)) return;
  }
}

}  // namespace itmo::node::internal
