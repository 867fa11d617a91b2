// File: tests/fuzz/consensus_world.h
// The fixed consensus world of the consensus-message fuzzer: 4 validators with cheap deterministic
// signatures (a keyed BLAKE2b-256, so that the fuzzer runs thousands of inputs a second), one of
// which (kByzantine) is byzantine: the verifier accepts ANY signature by its key, so the fuzzer can
// sign whatever it likes as that validator (f = 1 of n = 4, the threat model). The honest keys stay
// unforgeable, so the fuzzer can only reuse their signatures from the seed corpus.
//
// BuildConsensusWorld() runs a deterministic 4-replica cluster (direct FIFO delivery): rounds with
// everyone connected, then kUnderTest cut off while the others commit well ahead of it (its leader
// rounds time out into TCs), then the partition heals and it catches up. The events kUnderTest saw
// before the heal form `prefix`; the messages it received after the heal (and the messages the
// others exchanged while it was cut off) form `seeds`, so seeds are exactly what a lagging replica
// receives next: proposals with QCs and TCs, votes, timeouts, sync info and sync responses.
//
// Every replica in the cluster and under test runs inside a ReplicaHarness that checks the action
// contract of consensus/actions.h on every Handle(). Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "consensus/actions.h"
#include "consensus/events.h"
#include "consensus/interfaces.h"
#include "consensus/replica.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/verifier.h"
#include "itmo/v1/consensus.pb.h"

namespace itmo::fuzz {

inline constexpr char kConsensusChainId[] = "itmo-fuzz-consensus";
inline constexpr uint32_t kValidators = 4;
inline constexpr uint32_t kByzantine = 3;
inline constexpr uint32_t kUnderTest = 0;
// Bounds of the generator (never reached in practice; they keep every loop finite).
inline constexpr uint64_t kClusterStepsMax = 200'000;
inline constexpr uint32_t kCommittedBlocksMax = 4'096;

crypto::PublicKey ValidatorKey(uint32_t index);

class FuzzSigner final : public crypto::Signer {
 public:
  explicit FuzzSigner(uint32_t index);
  const crypto::PublicKey& public_key() const override { return public_key_; }
  crypto::Signature Sign(std::string_view context, std::string_view chain_id,
                         std::string_view message) const override;

 private:
  const crypto::Digest secret_;
  const crypto::PublicKey public_key_;
};

// Verifies FuzzSigner signatures of validators 0..kValidators-1, except that any signature by
// kByzantine's key passes. Unknown keys never verify.
class FuzzVerifier final : public crypto::Verifier {
 public:
  bool Verify(const crypto::PublicKey& public_key, std::string_view context,
              std::string_view chain_id, std::string_view message,
              const crypto::Signature& signature) const override;
};

// An in-memory Application: two small transactions per block, votes for everything, keeps the
// committed blocks it is given to answer sync requests.
class FuzzApp final : public consensus::Application {
 public:
  std::vector<std::string> Payload(uint64_t height, uint32_t txs_max, uint64_t bytes_max) override;
  absl::Status ValidateProposal(const v1::Block& block) override;
  std::optional<crypto::Digest> ExecutedRootAt(uint64_t height) override;
  consensus::ExecutedHead executed_head() const override;
  std::vector<v1::CommittedBlock> CommittedRange(uint64_t from_height, uint32_t count_max,
                                                 uint64_t bytes_max) override;

  // REQUIRES: committed.block().header().height() == committed_height() + 1.
  void OnCommit(const v1::CommittedBlock& committed);
  uint64_t committed_height() const { return committed_.size(); }

 private:
  std::vector<v1::CommittedBlock> committed_;
};

consensus::ReplicaOptions WorldOptions(uint32_t index);

// One validator replica with its signer, verifier and application. Handle() passes the event to
// the replica and then checks the returned actions against the contract (aborting on a breach):
// a vote or timeout is sent only after the PersistSafetyState that covers it; persisted rounds
// never go back; no message goes to the replica itself; commits are gap-free.
class ReplicaHarness final {
 public:
  explicit ReplicaHarness(uint32_t index);
  // Handles `event` and checks and executes its actions; after commits, also hands the replica an
  // Executed event (as node/driver.cc does) and appends what that returns.
  absl::StatusOr<std::vector<consensus::Action>> Handle(const consensus::Event& event);
  const consensus::Replica& replica() const { return *replica_; }
  FuzzApp& app() { return app_; }

 private:
  void CheckSend(const v1::ConsensusMessage& message) const;
  void CheckAndExecute(const std::vector<consensus::Action>& actions);

  const uint32_t index_;
  FuzzSigner signer_;
  FuzzVerifier verifier_;
  FuzzApp app_;
  v1::SafetyState persisted_;
  std::unique_ptr<consensus::Replica> replica_;
};

struct ConsensusWorld {
  std::vector<consensus::Event> prefix;  // What kUnderTest handled before the heal, in order.
  std::vector<v1::ConsensusMessage> seeds;
  uint64_t prefix_round = 0;  // kUnderTest's round and committed height after prefix.
  uint64_t prefix_committed_height = 0;
  uint64_t others_committed_height = 0;  // Lowest committed height of the others at the heal.
};

// The peer a message is delivered from: usually the sender it claims (vote.voter, timeout.signer,
// the block's proposer) when that is a validator; else (and for salt % 8 == 0: a relayed message)
// one of {1, 2, kByzantine, an observer id, kFromNonValidator} picked by `salt`.
uint32_t SenderOf(const v1::ConsensusMessage& message, size_t salt);

// Deterministic: the same world every call. Aborts if the cluster fails to make progress.
ConsensusWorld BuildConsensusWorld();

// A fresh kUnderTest replica that has handled world.prefix (aborts unless each event succeeds and
// the result matches the world's recorded round and committed height).
std::unique_ptr<ReplicaHarness> ReplayPrefix(const ConsensusWorld& world);

}  // namespace itmo::fuzz
