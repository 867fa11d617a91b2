// File: node/internal/peer_transport_impl.h
// The implementation behind node/peer_transport.h: a synchronous gRPC Peer service (inbound
// streams) plus one dialer thread per dialable peer (outbound streams). Every live stream has a
// reader (the thread that owns the stream) and a writer thread that drains the peer's send queue
// while the stream is the peer's active one (the most recently established). One mutex guards all
// shared state.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "itmo/v1/peer_service.grpc.pb.h"
#include "node/internal/rate_limit.h"
#include "node/peer_transport.h"

namespace itmo::node::internal {

// Messages a writer takes from the queue per lock acquisition (written with buffer hints).
inline constexpr size_t kWriteBatchMessagesMax = 64;

class PeerTransportImpl final : public v1::Peer::Service {
 public:
  // `cert_to_name` maps canonical PEM (CanonicalCertificatePem) of every pinned node to its name;
  // `canonical_pinned` holds the pinned entries with canonical certificates. Options must be
  // validated.
  PeerTransportImpl(const PeerTransportOptions& options, PeerHandler* handler,
                    std::vector<PinnedPeer> canonical_pinned);
  ~PeerTransportImpl() override;

  absl::Status Start() ABSL_LOCKS_EXCLUDED(mu_);
  void Send(const std::string& peer_name, v1::PeerMessage message) ABSL_LOCKS_EXCLUDED(mu_);
  void Broadcast(const v1::PeerMessage& message) ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<std::string> ConnectedPeers() const ABSL_LOCKS_EXCLUDED(mu_);
  PeerTransportStats stats() const ABSL_LOCKS_EXCLUDED(mu_);
  int listen_port() const { return listen_port_; }
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // v1::Peer::Service: one inbound stream, for its whole life.
  grpc::Status Stream(grpc::ServerContext* context,
                      grpc::ServerReaderWriter<v1::PeerMessage, v1::PeerMessage>* stream) override
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct QueuedMessage {
    v1::PeerMessage message;
    size_t bytes = 0;
  };
  struct PeerState;
  // One live authenticated stream. Lives on the stack of the thread that owns the stream.
  struct StreamState {
    PeerState* peer = nullptr;
    bool outbound = false;
    bool done = false;                              // Guarded by mu_: the writer must exit.
    grpc::ServerContext* server_context = nullptr;  // Inbound only; for cancellation.
  };
  struct PeerState {
    // Constant after construction.
    std::string name;
    std::string cert_pem;  // Canonical.
    std::string address;
    // Guarded by the transport's mu_.
    std::deque<QueuedMessage> queue;
    size_t queue_bytes = 0;                       // Sum of queue[i].bytes.
    std::vector<StreamState*> streams;            // The back() one is active for writing.
    grpc::ClientContext* dial_context = nullptr;  // The dialer's current call, for cancellation.
    uint64_t messages_sent = 0;
    uint64_t messages_received = 0;
    uint64_t dropped_queue_full = 0;
  };

  void EnqueueLocked(PeerState* peer, v1::PeerMessage message, size_t bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> IdentifyClient(const grpc::ServerContext& context) const;
  // Adds `stream` to its peer; fails when the transport stops or the peer has too many streams.
  absl::Status RegisterStream(StreamState* stream) ABSL_LOCKS_EXCLUDED(mu_);
  void UnregisterStream(StreamState* stream) ABSL_LOCKS_EXCLUDED(mu_);
  void MarkDone(StreamState* stream) ABSL_LOCKS_EXCLUDED(mu_);

  template <typename ReaderWriter>
  void ReadLoop(StreamState* stream, ReaderWriter* reader_writer) ABSL_LOCKS_EXCLUDED(mu_);
  template <typename ReaderWriter>
  void WriteLoop(StreamState* stream, ReaderWriter* reader_writer) ABSL_LOCKS_EXCLUDED(mu_);

  void DialLoop(PeerState* peer, uint64_t seed) ABSL_LOCKS_EXCLUDED(mu_);
  // One outbound call; returns true if the stream was established (accepted and authenticated).
  bool DialOnce(PeerState* peer) ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<grpc::Channel> MakeChannel(const PeerState& peer) const;

  // Constant after construction.
  const std::string self_name_;
  const std::string listen_address_;
  const TlsIdentity identity_;
  const std::string roots_pem_;  // Concatenation of every pinned certificate.
  const size_t send_queue_max_;
  const size_t send_queue_bytes_max_;
  const size_t message_bytes_max_;
  const uint32_t backoff_ms_min_;
  const uint32_t backoff_ms_max_;
  const uint64_t backoff_seed_;
  PeerHandler* const handler_;
  // Canonical certificate PEM -> name, for every pinned node (self included).
  absl::flat_hash_map<std::string, std::string> cert_to_name_;
  // Set in Start(), then constant.
  std::unique_ptr<grpc::Server> server_;
  int listen_port_ = 0;
  std::vector<std::thread> dialers_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // Every pinned node except self, by name (sorted, so stats are ordered). The map itself is
  // constant after construction; PeerState contents are guarded by mu_.
  std::map<std::string, std::unique_ptr<PeerState>> peers_;
  PeerTransportStats totals_ ABSL_GUARDED_BY(mu_);  // Counters only; `peers` stays empty.
  LogRateLimit drop_log_;  // Drops are counted always, logged at most once a second.
};

}  // namespace itmo::node::internal
