// End-to-end tests for node/peer_transport.h over real mTLS sockets on 127.0.0.1 (label e2e). Ports
// come from the kernel (bind to port 0), never fixed numbers. Waiting polls with a deadline, never
// a fixed sleep as a substitute for a condition.
#include "node/peer_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/tls.h"
#include "tests/testing/status_matchers.h"

namespace itmo::node {
namespace {

using ::itmo::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr absl::Duration kWait = absl::Seconds(20);

// Asks the kernel for a free TCP port on 127.0.0.1.
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Polls `done` until it holds or kWait passes.
bool WaitUntil(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + kWait;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return done();
}

v1::PeerMessage Consensus(const std::string& payload) {
  v1::PeerMessage m;
  m.set_consensus(payload);
  return m;
}

class RecordingHandler final : public PeerHandler {
 public:
  void OnPeerMessage(const std::string& peer_name, v1::PeerMessage message) override {
    absl::MutexLock lock(&mu_);
    received_[peer_name].push_back(std::move(message));
    ++total_;
  }
  void OnPeerConnected(const std::string& peer_name) override {
    absl::MutexLock lock(&mu_);
    ++connected_[peer_name];
  }

  // Payloads of the consensus messages received from `peer`, in order.
  std::vector<std::string> Payloads(const std::string& peer) const {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    auto it = received_.find(peer);
    if (it == received_.end()) return out;
    for (const v1::PeerMessage& m : it->second) out.push_back(m.consensus());
    return out;
  }
  std::vector<v1::PeerMessage> Messages(const std::string& peer) const {
    absl::MutexLock lock(&mu_);
    auto it = received_.find(peer);
    return it == received_.end() ? std::vector<v1::PeerMessage>{} : it->second;
  }
  size_t total() const {
    absl::MutexLock lock(&mu_);
    return total_;
  }
  bool WaitForTotal(size_t n, absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n] {
      mu_.AssertHeld();
      return total_ >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::vector<v1::PeerMessage>> received_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> connected_ ABSL_GUARDED_BY(mu_);
  size_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

struct TestNode {
  std::string name;
  TlsIdentity identity;
  int port = 0;
  std::string address() const { return absl::StrCat("127.0.0.1:", port); }
};

TestNode MakeNode(const std::string& name) {
  TestNode node;
  node.name = name;
  auto identity = GenerateTlsIdentity(name);
  EXPECT_TRUE(identity.ok()) << identity.status();
  if (identity.ok()) node.identity = *identity;
  node.port = FreePort();
  return node;
}

// Options for `self` pinning `genesis`; peers in `dial` get their address, others none.
PeerTransportOptions Options(const TestNode& self, const std::vector<TestNode>& genesis,
                             const std::vector<std::string>& dial) {
  PeerTransportOptions options;
  options.self_name = self.name;
  options.listen_address = self.address();
  options.identity = self.identity;
  for (const TestNode& n : genesis) {
    const bool dialed = std::find(dial.begin(), dial.end(), n.name) != dial.end();
    options.pinned.push_back(PinnedPeer{n.name, n.identity.cert_pem, dialed ? n.address() : ""});
  }
  options.backoff_ms_min = 20;
  options.backoff_ms_max = 200;
  return options;
}

std::vector<std::string> Others(const std::vector<TestNode>& nodes, const std::string& self) {
  std::vector<std::string> out;
  for (const TestNode& n : nodes) {
    if (n.name != self) out.push_back(n.name);
  }
  return out;
}

// A certificate for `name` issued (signed) by `issuer`'s key: it verifies against the pinned set
// because genesis certificates are CA:TRUE, but it is not itself pinned.
TlsIdentity IssueLeaf(const TlsIdentity& issuer, const std::string& name) {
  TlsIdentity out;
  BIO* bio = BIO_new_mem_buf(issuer.key_pem.data(), static_cast<int>(issuer.key_pem.size()));
  EVP_PKEY* issuer_key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  bio = BIO_new_mem_buf(issuer.cert_pem.data(), static_cast<int>(issuer.cert_pem.size()));
  X509* issuer_cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 4242);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert, cert, nullptr, nullptr, 0);
  const std::string san = absl::StrCat("DNS:", name, ",DNS:localhost,IP:127.0.0.1");
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(cert, issuer_key, EVP_sha256());
  BIO* key_out = BIO_new(BIO_s_mem());
  BIO* cert_out = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_out, key, nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_X509(cert_out, cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(key_out, &data);
  out.key_pem.assign(data, static_cast<size_t>(n));
  n = BIO_get_mem_data(cert_out, &data);
  out.cert_pem.assign(data, static_cast<size_t>(n));
  BIO_free(key_out);
  BIO_free(cert_out);
  X509_free(cert);
  X509_free(issuer_cert);
  EVP_PKEY_free(key);
  EVP_PKEY_free(issuer_key);
  return out;
}

// The stats of `name` (a copy: stats() returns a temporary); name is empty if absent.
PeerStats FindPeer(const PeerTransportStats& stats, const std::string& name) {
  for (const PeerStats& p : stats.peers) {
    if (p.name == name) return p;
  }
  return PeerStats{};
}

TEST(PeerTransportTest, ThreeNodesExchangeMessagesBothWays) {
  const std::vector<TestNode> nodes = {MakeNode("v0"), MakeNode("v1"), MakeNode("v2")};
  RecordingHandler handlers[3];
  std::unique_ptr<PeerTransport> transports[3];
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(
        transports[i],
        PeerTransport::Start(Options(nodes[i], nodes, Others(nodes, nodes[i].name)), &handlers[i]));
  }
  // Wait for both streams of every pair (each side dials), so the active stream no longer changes
  // and per-peer order holds.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(WaitUntil([&] {
      const PeerTransportStats stats = transports[i]->stats();
      return stats.peers.size() == 2 && stats.peers[0].streams == 2 && stats.peers[1].streams == 2;
    })) << nodes[i].name;
    EXPECT_EQ(transports[i]->ConnectedPeers().size(), 2u);
  }
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      if (i != j) transports[i]->Send(nodes[j].name, Consensus(absl::StrCat(i, "->", j)));
    }
  }
  for (int i = 0; i < 3; ++i) transports[i]->Broadcast(Consensus(absl::StrCat("all from ", i)));
  for (int j = 0; j < 3; ++j) {
    ASSERT_TRUE(handlers[j].WaitForTotal(4, kWait)) << nodes[j].name;
  }
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      if (i == j) continue;
      EXPECT_THAT(handlers[j].Payloads(nodes[i].name),
                  ElementsAre(absl::StrCat(i, "->", j), absl::StrCat("all from ", i)));
    }
  }
  for (int i = 0; i < 3; ++i) {
    // The sender counts a message after Write() returns, which may be after the receiver has it.
    ASSERT_TRUE(WaitUntil([&] { return transports[i]->stats().messages_sent == 4; }));
    const PeerTransportStats stats = transports[i]->stats();
    EXPECT_EQ(stats.messages_sent, 4u);
    EXPECT_EQ(stats.messages_received, 4u);
    EXPECT_EQ(stats.dropped_queue_full + stats.dropped_oversize + stats.dropped_unknown_peer, 0u);
    EXPECT_EQ(stats.streams_refused, 0u);
  }
  for (auto& t : transports) t->Stop();
  EXPECT_THAT(transports[0]->ConnectedPeers(), IsEmpty());
}

TEST(PeerTransportTest, CarriesEveryMessageKind) {
  const std::vector<TestNode> nodes = {MakeNode("a"), MakeNode("b")};
  RecordingHandler ha, hb;
  ASSERT_OK_AND_ASSIGN(auto a, PeerTransport::Start(Options(nodes[0], nodes, {"b"}), &ha));
  ASSERT_OK_AND_ASSIGN(auto b, PeerTransport::Start(Options(nodes[1], nodes, {}), &hb));
  ASSERT_TRUE(WaitUntil([&] { return b->ConnectedPeers() == std::vector<std::string>{"a"}; }));
  v1::PeerMessage txs;
  txs.mutable_txs()->add_signed_txs("tx1");
  txs.mutable_txs()->add_signed_txs(std::string("tx\0two", 6));
  v1::PeerMessage request;
  request.mutable_sync_request()->set_from_height(7);
  request.mutable_sync_request()->set_blocks_max(3);
  a->Send("b", txs);
  a->Send("b", request);
  ASSERT_TRUE(hb.WaitForTotal(2, kWait));
  const std::vector<v1::PeerMessage> got = hb.Messages("a");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].SerializeAsString(), txs.SerializeAsString());
  EXPECT_EQ(got[1].sync_request().from_height(), 7u);
  EXPECT_EQ(got[1].sync_request().blocks_max(), 3u);
}

TEST(PeerTransportTest, ObserverThatOnlyDialsReceivesReplies) {
  const std::vector<TestNode> nodes = {MakeNode("validator"), MakeNode("observer")};
  RecordingHandler hv, ho;
  // The validator does not dial the observer; the observer dials the validator.
  ASSERT_OK_AND_ASSIGN(auto v, PeerTransport::Start(Options(nodes[0], nodes, {}), &hv));
  ASSERT_OK_AND_ASSIGN(auto o, PeerTransport::Start(Options(nodes[1], nodes, {"validator"}), &ho));
  ASSERT_TRUE(WaitUntil([&] { return v->ConnectedPeers().size() == 1; }));
  EXPECT_EQ(v->ConnectedPeers(), std::vector<std::string>{"observer"});
  o->Send("validator", Consensus("request"));
  ASSERT_TRUE(hv.WaitForTotal(1, kWait));
  v->Send("observer", Consensus("reply"));
  ASSERT_TRUE(ho.WaitForTotal(1, kWait));
  EXPECT_THAT(hv.Payloads("observer"), ElementsAre("request"));
  EXPECT_THAT(ho.Payloads("validator"), ElementsAre("reply"));
}

TEST(PeerTransportTest, RefusesPeerWhoseCertificateIsNotInGenesis) {
  const std::vector<TestNode> genesis = {MakeNode("a"), MakeNode("b")};
  TestNode rogue = MakeNode("rogue");
  // The rogue claims to be "b": it has b's name but its own certificate, and trusts everyone.
  TestNode fake_b = genesis[1];
  fake_b.identity = rogue.identity;
  fake_b.port = rogue.port;
  RecordingHandler ha, hr;
  ASSERT_OK_AND_ASSIGN(auto a, PeerTransport::Start(Options(genesis[0], genesis, {}), &ha));
  std::vector<TestNode> rogue_view = {genesis[0], fake_b};
  ASSERT_OK_AND_ASSIGN(auto r, PeerTransport::Start(Options(fake_b, rogue_view, {"a"}), &hr));
  for (int i = 0; i < 20; ++i) r->Send("a", Consensus("evil"));
  ASSERT_TRUE(WaitUntil([&] { return r->stats().dial_failures >= 3; }));
  EXPECT_THAT(a->ConnectedPeers(), IsEmpty());
  EXPECT_THAT(r->ConnectedPeers(), IsEmpty());
  EXPECT_EQ(ha.total(), 0u);
  EXPECT_EQ(a->stats().messages_received, 0u);
}

TEST(PeerTransportTest, DoesNotTalkToServerWithUnpinnedCertificate) {
  const std::vector<TestNode> genesis = {MakeNode("a"), MakeNode("b")};
  // Someone else listens at b's address with a certificate for the name "b" that is not pinned.
  TestNode impostor = MakeNode("b");
  impostor.port = genesis[1].port;
  RecordingHandler ha, hi;
  ASSERT_OK_AND_ASSIGN(auto a, PeerTransport::Start(Options(genesis[0], genesis, {"b"}), &ha));
  std::vector<TestNode> impostor_view = {genesis[0], impostor};
  ASSERT_OK_AND_ASSIGN(auto i, PeerTransport::Start(Options(impostor, impostor_view, {}), &hi));
  a->Send("b", Consensus("secret"));
  ASSERT_TRUE(WaitUntil([&] { return a->stats().dial_failures >= 3; }));
  EXPECT_THAT(a->ConnectedPeers(), IsEmpty());
  EXPECT_EQ(hi.total(), 0u);
  EXPECT_EQ(i->stats().messages_received, 0u);
  EXPECT_EQ(a->stats().messages_sent, 0u);
}

TEST(PeerTransportTest, CancelsClientWhoseCertificateVerifiesButIsNotPinned) {
  const std::vector<TestNode> genesis = {MakeNode("a"), MakeNode("b")};
  // Genesis member a's key issues a certificate for "b": it chains to a pinned root but is not
  // pinned.
  TestNode forged = genesis[1];
  forged.identity = IssueLeaf(genesis[0].identity, "b");
  forged.port = FreePort();
  ASSERT_OK_AND_ASSIGN(std::string forged_cn, CertificateCommonName(forged.identity.cert_pem));
  ASSERT_EQ(forged_cn, "b");
  RecordingHandler ha, hf;
  ASSERT_OK_AND_ASSIGN(auto a, PeerTransport::Start(Options(genesis[0], genesis, {}), &ha));
  std::vector<TestNode> forged_view = {genesis[0], forged};
  ASSERT_OK_AND_ASSIGN(auto f, PeerTransport::Start(Options(forged, forged_view, {"a"}), &hf));
  for (int i = 0; i < 5; ++i) f->Send("a", Consensus("forged"));
  ASSERT_TRUE(WaitUntil([&] { return a->stats().streams_refused >= 2; }));
  EXPECT_THAT(a->ConnectedPeers(), IsEmpty());
  EXPECT_THAT(f->ConnectedPeers(), IsEmpty());
  EXPECT_EQ(ha.total(), 0u);
  EXPECT_EQ(a->stats().streams_accepted, 0u);
  EXPECT_TRUE(WaitUntil([&] { return f->stats().dial_failures >= 2; }));
}

TEST(PeerTransportTest, DialerRejectsServerPresentingAnotherCertificate) {
  const std::vector<TestNode> genesis = {MakeNode("a"), MakeNode("b")};
  // At b's address runs a server with a forged "b" certificate that chains to a pinned root.
  TestNode forged = genesis[1];
  forged.identity = IssueLeaf(genesis[0].identity, "b");
  RecordingHandler ha, hf;
  ASSERT_OK_AND_ASSIGN(auto a, PeerTransport::Start(Options(genesis[0], genesis, {"b"}), &ha));
  std::vector<TestNode> forged_view = {genesis[0], forged};
  ASSERT_OK_AND_ASSIGN(auto f, PeerTransport::Start(Options(forged, forged_view, {}), &hf));
  a->Send("b", Consensus("secret"));
  ASSERT_TRUE(WaitUntil([&] { return a->stats().server_identity_mismatch >= 2; }));
  EXPECT_THAT(a->ConnectedPeers(), IsEmpty());
  EXPECT_EQ(a->stats().messages_sent, 0u);
  EXPECT_EQ(hf.total(), 0u);
  EXPECT_EQ(FindPeer(a->stats(), "b").send_queue_size, 1u);
}

TEST(PeerTransportTest, ReconnectsAfterPeerRestarts) {
  const std::vector<TestNode> nodes = {MakeNode("a"), MakeNode("b")};
  RecordingHandler ha, hb1, hb2;
  ASSERT_OK_AND_ASSIGN(auto a, PeerTransport::Start(Options(nodes[0], nodes, {"b"}), &ha));
  auto b = PeerTransport::Start(Options(nodes[1], nodes, {"a"}), &hb1);
  ASSERT_OK(b.status());
  ASSERT_TRUE(WaitUntil([&] { return a->stats().peers[0].streams == 2; }));
  a->Send("b", Consensus("first"));
  ASSERT_TRUE(hb1.WaitForTotal(1, kWait));

  (*b)->Stop();
  b->reset();
  ASSERT_TRUE(WaitUntil([&] { return a->ConnectedPeers().empty(); }));
  a->Send("b", Consensus("while down"));  // Queued until b is back.

  ASSERT_OK_AND_ASSIGN(auto b2, PeerTransport::Start(Options(nodes[1], nodes, {"a"}), &hb2));
  ASSERT_TRUE(WaitUntil([&] { return a->ConnectedPeers() == std::vector<std::string>{"b"}; }));
  a->Send("b", Consensus("second"));
  b2->Send("a", Consensus("back"));
  ASSERT_TRUE(hb2.WaitForTotal(2, kWait));
  ASSERT_TRUE(ha.WaitForTotal(1, kWait));
  // Order across the switch from one stream to the next is not guaranteed.
  EXPECT_THAT(hb2.Payloads("a"), UnorderedElementsAre("while down", "second"));
  EXPECT_THAT(ha.Payloads("b"), ElementsAre("back"));
  EXPECT_THAT(hb1.Payloads("a"), ElementsAre("first"));
  EXPECT_GE(a->stats().streams_accepted, 3u);
}

TEST(PeerTransportTest, OversizeMessageIsDroppedAndCounted) {
  const std::vector<TestNode> nodes = {MakeNode("a"), MakeNode("b")};
  RecordingHandler ha, hb;
  PeerTransportOptions oa = Options(nodes[0], nodes, {"b"});
  oa.message_bytes_max = 1024;
  ASSERT_OK_AND_ASSIGN(auto a, PeerTransport::Start(oa, &ha));
  ASSERT_OK_AND_ASSIGN(auto b, PeerTransport::Start(Options(nodes[1], nodes, {}), &hb));
  ASSERT_TRUE(WaitUntil([&] { return !a->ConnectedPeers().empty(); }));
  a->Send("b", Consensus(std::string(2000, 'x')));
  a->Broadcast(Consensus(std::string(2000, 'y')));
  a->Send("b", Consensus("small"));
  ASSERT_TRUE(hb.WaitForTotal(1, kWait));
  EXPECT_EQ(a->stats().dropped_oversize, 2u);
  EXPECT_THAT(hb.Payloads("a"), ElementsAre("small"));
}

TEST(PeerTransportTest, ReceiverRefusesMessagesAboveItsLimitAndRecovers) {
  const std::vector<TestNode> nodes = {MakeNode("a"), MakeNode("b")};
  RecordingHandler ha, hb;
  ASSERT_OK_AND_ASSIGN(auto a, PeerTransport::Start(Options(nodes[0], nodes, {"b"}), &ha));
  PeerTransportOptions ob = Options(nodes[1], nodes, {});
  ob.message_bytes_max = 1024;
  ASSERT_OK_AND_ASSIGN(auto b, PeerTransport::Start(ob, &hb));
  ASSERT_TRUE(WaitUntil([&] { return !b->ConnectedPeers().empty(); }));
  a->Send("b", Consensus(std::string(4000, 'x')));  // a allows it; b's gRPC limit rejects it.
  // The stream is reset and a dials again.
  ASSERT_TRUE(WaitUntil([&] { return a->stats().streams_accepted >= 2; }));
  ASSERT_TRUE(WaitUntil([&] { return !a->ConnectedPeers().empty(); }));
  a->Send("b", Consensus("small"));
  ASSERT_TRUE(hb.WaitForTotal(1, kWait));
  EXPECT_THAT(hb.Payloads("a"), ElementsAre("small"));
}

TEST(PeerTransportTest, SendQueueBoundDropsOldest) {
  const std::vector<TestNode> nodes = {MakeNode("a"), MakeNode("b")};
  RecordingHandler ha, hb;
  PeerTransportOptions oa = Options(nodes[0], nodes, {"b"});
  oa.send_queue_max = 4;
  ASSERT_OK_AND_ASSIGN(auto a, PeerTransport::Start(oa, &ha));
  // b is not running: everything queues.
  for (int i = 0; i < 10; ++i) a->Send("b", Consensus(absl::StrCat("m", i)));
  const PeerTransportStats before = a->stats();
  const PeerStats pb = FindPeer(before, "b");
  ASSERT_EQ(pb.name, "b");
  EXPECT_EQ(pb.send_queue_size, 4u);
  EXPECT_EQ(pb.dropped_queue_full, 6u);
  EXPECT_EQ(before.dropped_queue_full, 6u);
  EXPECT_FALSE(pb.connected);

  ASSERT_OK_AND_ASSIGN(auto b, PeerTransport::Start(Options(nodes[1], nodes, {}), &hb));
  ASSERT_TRUE(hb.WaitForTotal(4, kWait));
  EXPECT_THAT(hb.Payloads("a"), ElementsAre("m6", "m7", "m8", "m9"));
  EXPECT_EQ(FindPeer(a->stats(), "b").send_queue_size, 0u);
}

TEST(PeerTransportTest, SendQueueByteBoundDropsOldest) {
  const std::vector<TestNode> nodes = {MakeNode("a"), MakeNode("b")};
  RecordingHandler ha, hb;
  PeerTransportOptions oa = Options(nodes[0], nodes, {"b"});
  oa.message_bytes_max = 1000;
  oa.send_queue_bytes_max = 1000;
  ASSERT_OK_AND_ASSIGN(auto a, PeerTransport::Start(oa, &ha));
  // b is not running. Each message is 303 serialized bytes: three fit in 1000, not four.
  for (int i = 0; i < 5; ++i) a->Send("b", Consensus(absl::StrCat(i, std::string(299, 'x'))));
  const PeerStats pb = FindPeer(a->stats(), "b");
  ASSERT_EQ(pb.name, "b");
  EXPECT_EQ(pb.send_queue_size, 3u);
  EXPECT_EQ(pb.send_queue_bytes, 3u * 303);
  EXPECT_EQ(pb.dropped_queue_full, 2u);

  ASSERT_OK_AND_ASSIGN(auto b, PeerTransport::Start(Options(nodes[1], nodes, {}), &hb));
  ASSERT_TRUE(hb.WaitForTotal(3, kWait));
  const std::vector<std::string> got = hb.Payloads("a");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0][0], '2');
  EXPECT_EQ(got[2][0], '4');
  ASSERT_TRUE(WaitUntil([&] { return FindPeer(a->stats(), "b").send_queue_bytes == 0; }));
}

TEST(PeerTransportTest, UnknownPeerAndSelfAreDropped) {
  const std::vector<TestNode> nodes = {MakeNode("a"), MakeNode("b")};
  RecordingHandler ha;
  ASSERT_OK_AND_ASSIGN(auto a, PeerTransport::Start(Options(nodes[0], nodes, {}), &ha));
  a->Send("nobody", Consensus("x"));
  a->Send("a", Consensus("x"));
  EXPECT_EQ(a->stats().dropped_unknown_peer, 2u);
}

TEST(PeerTransportTest, StartValidatesOptions) {
  const std::vector<TestNode> nodes = {MakeNode("a"), MakeNode("b")};
  RecordingHandler h;
  PeerTransportOptions ok = Options(nodes[0], nodes, {"b"});
  auto expect_invalid = [&](const std::function<void(PeerTransportOptions&)>& mutate) {
    PeerTransportOptions o = ok;
    mutate(o);
    EXPECT_THAT(PeerTransport::Start(o, &h), StatusIs(absl::StatusCode::kInvalidArgument));
  };
  expect_invalid([](PeerTransportOptions& o) { o.self_name = "c"; });
  expect_invalid([](PeerTransportOptions& o) { o.pinned.push_back(o.pinned[1]); });
  expect_invalid([](PeerTransportOptions& o) { o.pinned[1].cert_pem = "junk"; });
  expect_invalid(
      [&](PeerTransportOptions& o) { o.pinned[0].cert_pem = nodes[1].identity.cert_pem; });
  expect_invalid([](PeerTransportOptions& o) { o.send_queue_max = 0; });
  expect_invalid([](PeerTransportOptions& o) { o.send_queue_max = kPeerSendQueueMessagesMax + 1; });
  expect_invalid([](PeerTransportOptions& o) { o.message_bytes_max = kPeerMessageBytesMax + 1; });
  expect_invalid([](PeerTransportOptions& o) { o.backoff_ms_min = 0; });
  expect_invalid([](PeerTransportOptions& o) { o.send_queue_bytes_max = o.message_bytes_max - 1; });
  expect_invalid(
      [](PeerTransportOptions& o) { o.send_queue_bytes_max = kPeerSendQueueBytesMax + 1; });
  EXPECT_THAT(PeerTransport::Start(ok, nullptr), StatusIs(absl::StatusCode::kInvalidArgument));

  // The port is taken by a running transport.
  ASSERT_OK_AND_ASSIGN(auto running, PeerTransport::Start(ok, &h));
  EXPECT_THAT(PeerTransport::Start(ok, &h), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(PeerTransportTest, ListensOnKernelChosenPort) {
  const std::vector<TestNode> nodes = {MakeNode("a"), MakeNode("b")};
  RecordingHandler h;
  PeerTransportOptions o = Options(nodes[0], nodes, {});
  o.listen_address = "127.0.0.1:0";
  ASSERT_OK_AND_ASSIGN(auto t, PeerTransport::Start(o, &h));
  EXPECT_GT(t->listen_port(), 0);
}

// Measures messages per second over one stream; the number is printed, not asserted.
TEST(PeerTransportTest, ThroughputOverOneStream) {
  const std::vector<TestNode> nodes = {MakeNode("a"), MakeNode("b")};
  RecordingHandler ha, hb;
  PeerTransportOptions oa = Options(nodes[0], nodes, {"b"});
  oa.send_queue_max = kPeerSendQueueMessagesMax;
  oa.send_queue_bytes_max = kPeerSendQueueBytesMax;
  ASSERT_OK_AND_ASSIGN(auto a, PeerTransport::Start(oa, &ha));
  ASSERT_OK_AND_ASSIGN(auto b, PeerTransport::Start(Options(nodes[1], nodes, {}), &hb));
  ASSERT_TRUE(WaitUntil([&] { return !a->ConnectedPeers().empty(); }));
  size_t expected_total = 0;
  // {messages, payload bytes}: small votes, then block-sized proposals.
  for (const auto& [messages, payload_bytes] :
       {std::pair<int, size_t>{50'000, 200}, std::pair<int, size_t>{2'000, 64 * 1024}}) {
    const std::string payload(payload_bytes, 'p');
    const absl::Time start = absl::Now();
    for (int i = 0; i < messages; ++i) a->Send("b", Consensus(absl::StrCat(i, ":", payload)));
    expected_total += static_cast<size_t>(messages);
    ASSERT_TRUE(hb.WaitForTotal(expected_total, absl::Seconds(60)));
    const absl::Duration elapsed = absl::Now() - start;
    const std::vector<std::string> got = hb.Payloads("a");
    ASSERT_EQ(got.size(), expected_total);
    const size_t first = expected_total - static_cast<size_t>(messages);
    for (int i = 0; i < messages; i += 97) EXPECT_EQ(got[first + i], absl::StrCat(i, ":", payload));
    const double seconds = absl::ToDoubleSeconds(elapsed);
    std::printf(
        "[ THROUGHPUT ] %d messages of %zu payload bytes over one stream in %s: %.0f msg/s, "
        "%.1f MB/s\n",
        messages, payload_bytes, absl::FormatDuration(elapsed).c_str(), messages / seconds,
        static_cast<double>(messages) * static_cast<double>(payload_bytes) / seconds / 1e6);
  }
  EXPECT_EQ(a->stats().dropped_queue_full, 0u);
}

}  // namespace
}  // namespace itmo::node
