// File: tests/consensus/consensus_test_util.h
// Fixtures for the consensus unit tests: deterministic Ed25519 validator keys, hand-built blocks
// and certificates, an in-memory Application, and a direct-delivery cluster of replicas (no
// simulator).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "consensus/replica.h"
#include "crypto/keys.h"
#include "crypto/verifier.h"
#include "itmo/v1/consensus.pb.h"

namespace itmo::consensus::testing {

inline constexpr char kChainId[] = "test-chain";

// n validators with keys from fixed seeds.
class Keys {
 public:
  explicit Keys(uint32_t n);
  const std::vector<crypto::PublicKey>& public_keys() const { return public_keys_; }
  const crypto::Signer* signer(uint32_t i) const { return signers_.at(i).get(); }
  uint32_t size() const { return static_cast<uint32_t>(signers_.size()); }

 private:
  std::vector<std::unique_ptr<crypto::Ed25519Signer>> signers_;
  std::vector<crypto::PublicKey> public_keys_;
};

std::string Id(const v1::Block& block);

// A QC for `block` signed by `signers`.
v1::QuorumCert MakeQc(const Keys& keys, const v1::Block& block,
                      const std::vector<uint32_t>& signers, uint64_t epoch = 0);
// A TC for `round` signed by `signers`, each reporting high_qc_rounds[i].
v1::TimeoutCertificate MakeTc(const Keys& keys, uint64_t round,
                              const std::vector<uint32_t>& signers,
                              const std::vector<uint64_t>& high_qc_rounds, uint64_t epoch = 0);
// A well-formed child of `parent` (certified by `qc`) for `round`, proposed by its leader among n,
// claiming the parent's executed_height with the FakeRoot at it.
v1::Block MakeBlock(const v1::Block& parent, const v1::QuorumCert& qc, uint64_t round, uint32_t n,
                    std::vector<std::string> txs = {}, const v1::TimeoutCertificate* tc = nullptr,
                    uint64_t epoch = 0);
v1::Proposal MakeProposal(const Keys& keys, const v1::Block& block, uint64_t epoch = 0);

// replica.Handle(event)'s actions; a refusal fails the current test (and yields none).
std::vector<Action> MustHandle(Replica& replica, const Event& event);

// The state root FakeApp reports after executing height `height`.
crypto::Digest FakeRoot(uint64_t height);

class FakeApp final : public Application {
 public:
  std::optional<crypto::Digest> ExecutedRootAt(uint64_t height) override;
  std::vector<std::string> Payload(uint64_t height, uint32_t txs_max, uint64_t bytes_max) override;
  absl::Status ValidateProposal(const v1::Block& block) override;
  ExecutedHead executed_head() const override;
  std::vector<v1::CommittedBlock> CommittedRange(uint64_t from_height, uint32_t count_max,
                                                 uint64_t bytes_max) override;

  void OnCommit(const v1::CommittedBlock& committed);
  const std::vector<v1::CommittedBlock>& committed() const { return committed_; }
  uint64_t base_height = 0;  // Heights up to this were committed before (recovered chain).
  bool refuse = false;       // ValidateProposal refuses everything.
  uint32_t txs_per_block = 2;
  uint64_t tx_bytes = 0;  // 0: short "tx-<height>-<i>" payloads; else each tx has this many bytes.

 private:
  std::vector<v1::CommittedBlock> committed_;
};

ReplicaOptions Options(const Keys& keys, std::optional<uint32_t> me,
                       Mutation mutation = Mutation::kNone);

struct Envelope {
  uint32_t from = 0;
  uint32_t to = 0;
  v1::ConsensusMessage message;
};

// n validators plus `observers` observers delivering messages directly in FIFO order. Observer i
// has the peer id kValidatorsMax + i. `drop` decides which envelopes are lost.
class Cluster {
 public:
  Cluster(uint32_t n, uint32_t observers, Mutation mutation = Mutation::kNone,
          uint32_t empty_block_wait_ticks = 0);

  // Delivers queued messages; when none is queued, ticks everyone once. Stops after `steps_max`
  // steps or when `done` holds.
  void Run(uint64_t steps_max, const std::function<bool()>& done);
  void Start();
  // Rebuilds replica i from its persisted safety state and its application's committed chain.
  void Restart(uint32_t i);
  void Deliver(const Envelope& envelope);
  void Execute(uint32_t peer, std::vector<Action> actions);

  uint32_t peers() const { return static_cast<uint32_t>(replicas_.size()); }
  Replica& replica(uint32_t peer) { return *replicas_.at(peer); }
  FakeApp& app(uint32_t peer) { return *apps_.at(peer); }
  uint64_t MinCommitted() const;
  uint32_t PeerId(uint32_t peer) const { return peer < n_ ? peer : kValidatorsMax + (peer - n_); }
  ReplicaOptions OptionsFor(uint32_t peer) const;

  std::function<bool(const Envelope&)> drop = [](const Envelope&) { return false; };
  std::deque<Envelope> queue;
  uint64_t errors = 0;
  uint64_t order_violations = 0;  // A vote/timeout sent before the state covering it was persisted.
  std::vector<v1::SafetyState> persisted;
  // Per peer: blocks of the proposals it received or sent (what a node's block store would keep).
  std::vector<std::vector<v1::Block>> block_store;
  bool keep_blocks = true;  // Pass block_store to restarted replicas.
  const Keys keys;

 private:
  uint32_t n_;
  Mutation mutation_;
  uint32_t empty_block_wait_ticks_;
  int64_t now_ms_ = 0;
  crypto::Ed25519Verifier verifier_;
  std::vector<std::unique_ptr<FakeApp>> apps_;
  std::vector<std::unique_ptr<Replica>> replicas_;
};

}  // namespace itmo::consensus::testing
