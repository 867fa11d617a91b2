// File: node/peer_transport.h
// PeerTransport carries itmo.v1.PeerMessage between nodes over gRPC with mutual TLS.
//
// Identity: every node's TLS certificate is pinned in genesis. The server requires a client
// certificate that verifies against the pinned set and then maps the presented leaf certificate
// (exact match, not by name) to its genesis name; a certificate that verifies but is not pinned
// gets the stream cancelled with UNAUTHENTICATED. The client trusts only the pinned certificates,
// checks the host name against the peer's name (ssl_target_name_override) and, after the handshake,
// that the server presented exactly the certificate pinned for that name.
//
// Streams: we dial every pinned peer that has an address, keeping one long-lived bidirectional
// Stream each, and reconnect with exponential backoff (backoff_ms_min..backoff_ms_max, jitter from
// a PRNG seeded by backoff_seed). Peers that dial us are accepted too. Messages are read from every
// stream; for sending, each peer has ONE bounded queue drained by its most recently established
// stream, so an observer that only dials still receives replies on its own stream.
//
// Order: messages to one peer arrive in Send() order while its active stream stays the same; across
// a change of active stream (a connect or reconnect) they may be reordered or, if in flight on a
// stream that breaks, lost. Consensus tolerates both (it retransmits on timeouts).
//
// Limits: a full send queue (send_queue_max messages or send_queue_bytes_max bytes) drops its
// OLDEST message (newer consensus messages supersede older ones) and counts it; messages larger
// than message_bytes_max are dropped and counted on send, and refused by gRPC on receive (the
// stream is reset and reconnects). Send and Broadcast never block.
//
// Thread-safety: all public methods are thread-safe. Handler callbacks run on transport threads,
// concurrently for different streams; they must be thread-safe and should only enqueue.
//
// Example:
//   PeerTransportOptions options;
//   options.self_name = "validator-0";
//   options.listen_address = "127.0.0.1:7200";
//   options.identity = identity;  // From LoadTlsIdentity().
//   options.pinned = {{"validator-0", cert0, ""}, {"validator-1", cert1, "127.0.0.1:7201"}};
//   ITMO_ASSIGN_OR_RETURN(std::unique_ptr<PeerTransport> transport,
//                         PeerTransport::Start(options, &handler));
//   transport->Send("validator-1", message);
//   ...
//   transport->Stop();
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "itmo/v1/peer_service.pb.h"
#include "node/tls.h"

namespace itmo::node {

namespace internal {
class PeerTransportImpl;
}  // namespace internal

// Compiled-in upper bounds; options may only lower them.
inline constexpr size_t kPeersMax = 512;                              // Pinned nodes.
inline constexpr size_t kPeerSendQueueMessagesMax = 64 * 1024;        // Per peer.
inline constexpr size_t kPeerSendQueueBytesMax = 1024 * 1024 * 1024;  // Per peer.
inline constexpr size_t kPeerMessageBytesMax = 64 * 1024 * 1024;  // One PeerMessage, serialized.
inline constexpr size_t kPeerStreamsPerPeerMax = 4;  // Concurrent streams with one peer.

// Initial-metadata key the server sends, with its own name as value, only on streams it accepted (a
// refused call carries none). A client knows it was accepted once WaitForInitialMetadata() shows
// it.
inline constexpr char kPeerAcceptedMetadataKey[] = "itmo-peer-accepted";

struct PinnedPeer {
  std::string name;      // Genesis name; also the TLS host name checked when dialing it.
  std::string cert_pem;  // The node's pinned self-signed certificate.
  std::string address;   // host:port of its Peer service; empty: don't dial it.
};

struct PeerTransportOptions {
  std::string self_name;
  std::string listen_address;  // host:port; port 0 picks a free port (see listen_port()).
  TlsIdentity identity;
  std::vector<PinnedPeer> pinned;  // Every genesis node, including self (self is never dialed).
  size_t send_queue_max = 1024;    // Messages per peer; 1..kPeerSendQueueMessagesMax.
  // Serialized bytes queued per peer; message_bytes_max..kPeerSendQueueBytesMax.
  size_t send_queue_bytes_max = 64 * 1024 * 1024;
  size_t message_bytes_max = 4 * 1024 * 1024;  // 1..kPeerMessageBytesMax.
  uint32_t backoff_ms_min = 50;
  uint32_t backoff_ms_max = 5000;
  uint64_t backoff_seed = 1;  // Seeds the reconnect jitter PRNG.
};

// Receives messages. Called on transport threads, concurrently; implementations must be
// thread-safe.
class PeerHandler {
 public:
  virtual ~PeerHandler() = default;
  virtual void OnPeerMessage(const std::string& peer_name, v1::PeerMessage message) = 0;
  // A stream with `peer_name` was established (called once per stream, so possibly twice per peer).
  virtual void OnPeerConnected(const std::string& peer_name) { (void)peer_name; }
  // A stream with `peer_name` ended; the peer may still be connected over another stream.
  virtual void OnPeerDisconnected(const std::string& peer_name) { (void)peer_name; }
};

struct PeerStats {
  std::string name;
  bool connected = false;
  uint32_t streams = 0;  // Live authenticated streams (inbound + outbound).
  size_t send_queue_size = 0;
  size_t send_queue_bytes = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t dropped_queue_full = 0;
};

struct PeerTransportStats {
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t dropped_queue_full = 0;    // Oldest evicted from a full send queue (messages or bytes).
  uint64_t dropped_oversize = 0;      // Send() of a message above message_bytes_max.
  uint64_t dropped_unknown_peer = 0;  // Send() to a name that is not pinned (or self).
  uint64_t streams_accepted = 0;      // Authenticated streams established, both directions.
  uint64_t streams_refused = 0;       // Inbound: cert not pinned / self / too many streams.
  uint64_t dial_failures = 0;         // Outbound attempts that failed or ended with an error.
  uint64_t server_identity_mismatch = 0;  // Dialed server presented another pinned certificate.
  std::vector<PeerStats> peers;           // Sorted by name; excludes self.
};

class PeerTransport final {
 public:
  using Handler = PeerHandler;
  using Stats = PeerTransportStats;

  // Validates options, starts the mTLS server on listen_address and a dialer thread per peer with
  // an address. `handler` must outlive the transport (until Stop() returns). Errors:
  // kInvalidArgument for bad options (duplicate or empty names, certificates that do not parse,
  // limits out of range, self_name not pinned); kUnavailable if the listen address cannot be bound.
  static absl::StatusOr<std::unique_ptr<PeerTransport>> Start(const PeerTransportOptions& options,
                                                              Handler* handler);
  ~PeerTransport();  // Calls Stop().
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  // Queues `message` for `peer_name` (connected or not). Drops and counts it if the peer is unknown
  // or self or the message is too large; evicts the oldest queued message if the queue is full.
  void Send(const std::string& peer_name, v1::PeerMessage message);
  // Send() to every currently connected peer.
  void Broadcast(const v1::PeerMessage& message);
  // Names of peers with at least one live authenticated stream, sorted.
  std::vector<std::string> ConnectedPeers() const;
  Stats stats() const;
  // The bound port of the Peer server.
  int listen_port() const;
  // Cancels all streams, stops dialing and the server, joins all threads. Idempotent.
  void Stop();

 private:
  explicit PeerTransport(std::unique_ptr<internal::PeerTransportImpl> impl);
  std::unique_ptr<internal::PeerTransportImpl> impl_;
};

}  // namespace itmo::node
