// File: node/peer_transport.cc
#include "node/peer_transport.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "node/internal/peer_transport_impl.h"

namespace itmo::node {
namespace {

// Checks options and returns the pinned list with canonical certificates.
absl::StatusOr<std::vector<PinnedPeer>> ValidateOptions(const PeerTransportOptions& options) {
  if (options.self_name.empty()) return absl::InvalidArgumentError("self_name is empty");
  if (options.listen_address.empty()) return absl::InvalidArgumentError("listen_address is empty");
  if (options.identity.key_pem.empty() || options.identity.cert_pem.empty()) {
    return absl::InvalidArgumentError("TLS identity has an empty key or certificate");
  }
  if (options.pinned.empty() || options.pinned.size() > kPeersMax) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.pinned.size(), " pinned nodes; want 1..", kPeersMax));
  }
  if (options.send_queue_max < 1 || options.send_queue_max > kPeerSendQueueMessagesMax) {
    return absl::InvalidArgumentError(absl::StrCat("send_queue_max ", options.send_queue_max,
                                                   " not in [1, ", kPeerSendQueueMessagesMax, "]"));
  }
  if (options.message_bytes_max < 1 || options.message_bytes_max > kPeerMessageBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("message_bytes_max ", options.message_bytes_max,
                                                   " not in [1, ", kPeerMessageBytesMax, "]"));
  }
  if (options.send_queue_bytes_max < options.message_bytes_max ||
      options.send_queue_bytes_max > kPeerSendQueueBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "send_queue_bytes_max ", options.send_queue_bytes_max, " not in [",
        options.message_bytes_max, " (message_bytes_max), ", kPeerSendQueueBytesMax, "]"));
  }
  if (options.backoff_ms_min < 1 || options.backoff_ms_min > options.backoff_ms_max) {
    return absl::InvalidArgumentError(absl::StrCat("bad backoff range ", options.backoff_ms_min,
                                                   "..", options.backoff_ms_max, " ms"));
  }
  ITMO_ASSIGN_OR_RETURN(const std::string own_cert,
                        CanonicalCertificatePem(options.identity.cert_pem));
  std::vector<PinnedPeer> canonical;
  canonical.reserve(options.pinned.size());
  absl::flat_hash_set<std::string> names;
  absl::flat_hash_set<std::string> certs;
  bool self_pinned = false;
  for (const PinnedPeer& p : options.pinned) {
    if (p.name.empty() || p.name.size() > kNodeNameBytesMax) {
      return absl::InvalidArgumentError(absl::StrCat("bad pinned node name '", p.name, "'"));
    }
    if (!names.insert(p.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("node ", p.name, " pinned twice"));
    }
    absl::StatusOr<std::string> cert = CanonicalCertificatePem(p.cert_pem);
    if (!cert.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate of ", p.name, ": ", cert.status().message()));
    }
    if (!certs.insert(*cert).second) {
      return absl::InvalidArgumentError(absl::StrCat("certificate of ", p.name, " pinned twice"));
    }
    if (p.name == options.self_name) {
      if (*cert != own_cert) {
        return absl::InvalidArgumentError(
            absl::StrCat("pinned certificate of ", p.name, " is not this node's certificate"));
      }
      self_pinned = true;
    }
    canonical.push_back(PinnedPeer{p.name, *std::move(cert), p.address});
  }
  if (!self_pinned) {
    return absl::InvalidArgumentError(
        absl::StrCat("this node (", options.self_name, ") is not among the pinned nodes"));
  }
  return canonical;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PeerTransport>> PeerTransport::Start(
    const PeerTransportOptions& options, Handler* handler) {
  if (handler == nullptr) return absl::InvalidArgumentError("handler is null");
  ITMO_ASSIGN_OR_RETURN(std::vector<PinnedPeer> canonical, ValidateOptions(options));
  auto impl = std::make_unique<internal::PeerTransportImpl>(options, handler, std::move(canonical));
  ITMO_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<PeerTransport>(new PeerTransport(std::move(impl)));
}

PeerTransport::PeerTransport(std::unique_ptr<internal::PeerTransportImpl> impl)
    : impl_(std::move(impl)) {
  ITMO_CHECK(impl_ != nullptr);
}

PeerTransport::~PeerTransport() { Stop(); }

void PeerTransport::Send(const std::string& peer_name, v1::PeerMessage message) {
  impl_->Send(peer_name, std::move(message));
}

void PeerTransport::Broadcast(const v1::PeerMessage& message) { impl_->Broadcast(message); }

std::vector<std::string> PeerTransport::ConnectedPeers() const { return impl_->ConnectedPeers(); }

PeerTransport::Stats PeerTransport::stats() const { return impl_->stats(); }

int PeerTransport::listen_port() const { return impl_->listen_port(); }

void PeerTransport::Stop() { impl_->Stop(); }

}  // namespace itmo::node
