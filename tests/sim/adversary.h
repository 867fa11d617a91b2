// File: tests/sim/adversary.h
// Adversary: the coalition of byzantine validators (the keys of the Corrupters and of the twin)
// plus a non-validator peer, sending crafted invalid messages to the replicas, all through the
// phase where liveness is checked. It sees every message on the network and every honest commit
// (the standard BFT network adversary), but signs only with the keys it holds, so it can forge
// exactly what f keys allow:
//   - votes and timeouts with bad signatures, another epoch, round 0, malformed block ids, voters
//     and signers out of range (from the non-validator), relayed under another sender, votes to a
//     replica that is not the next leader, timeouts with a high QC at or above their round;
//   - QCs and TCs: sub-quorum certificates signed with the keys it holds, forged bitmaps (wrong
//     length, a bit beyond n, signature count mismatch), flipped signatures, a round-0 QC that is
//     not genesis, a genesis QC of another epoch, TCs whose high_qc_rounds do not match or one
//     signed with a high QC round at or above the TC's round (assembled from honest timeouts);
//   - proposals as the round's leader: bad signature, a proposer that does not lead the round,
//     another epoch, a stale TC with a newer QC, a payload that does not match its digest, a
//     parent id the QC does not name, forged certificates, unjustified rounds, a height or
//     timestamp that does not extend the parent; with options, forged executed_height /
//     executed_state_root and timestamps far in the future;
//   - unsolicited and forged block retrieval responses, forged sync responses (bad QCs, bad or
//     forged 2-chain proofs, tampered blocks under a valid id), requests with malformed ids, from
//     height 0 or from a non-validator, and a receiver's own messages echoed back to it;
//   - floods of valid timeouts signed with its keys for the next rounds (TimeoutFlood).
// Every message names the kind it exercises (for traces). Not thread-safe: owned by one
// simulation.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "crypto/verifier.h"
#include "itmo/v1/consensus.pb.h"
#include "tests/sim/prng.h"

namespace itmo::sim {

struct AdversaryOptions {
  std::string chain_id;
  uint64_t epoch = 0;
  uint32_t validators = 0;
  // The byzantine validators whose keys the coalition holds (index, signer); may be empty (then
  // only unsigned junk and the non-validator's messages).
  std::vector<std::pair<uint32_t, const crypto::Signer*>> keys;
  bool forge_executed = false;     // Proposals with a forged executed_height / state root.
  bool future_timestamps = false;  // Proposals with timestamps far ahead of the clock.
};

class Adversary final {
 public:
  struct Junk {
    uint32_t from = 0;  // A byzantine validator index, kFromNonValidator, or the receiver itself.
    uint32_t to = 0;    // Validator index.
    v1::ConsensusMessage message;
    const char* kind = "";
  };

  Adversary(AdversaryOptions options, Prng* prng);

  // A message some validator (`sender`, or kFromNonValidator) sent.
  void Observe(uint32_t sender, const v1::ConsensusMessage& message);
  // A block some honest replica committed.
  void ObserveCommit(const v1::CommittedBlock& committed);

  // One crafted message, mostly for validator `to` (whose committed height, which its sync info
  // tells any peer, is `to_committed_height`); some kinds pick their own receiver. `now_ms` is the
  // virtual clock.
  // `committed_heights[v]`: validator v's committed height.
  std::optional<Junk> Make(uint64_t now_ms, uint32_t to,
                           const std::vector<uint64_t>& committed_heights);

  // Valid timeouts of every byzantine key for the next 3 rounds, to every other validator.
  std::vector<Junk> TimeoutFlood();

  uint64_t made() const { return made_; }

 private:
  struct Key {
    uint32_t index = 0;
    const crypto::Signer* signer = nullptr;
  };

  const Key* AnyKey();
  const Key* KeyOf(uint32_t validator) const;
  uint32_t LeaderOf(uint64_t round) const {
    return static_cast<uint32_t>((round + options_.epoch) % options_.validators);
  }
  const v1::QuorumCert* AnyQc();
  const v1::TimeoutCertificate* AnyTc();

  // Certificates.
  v1::QuorumCert ForgeQc(const v1::QuorumCert& real, const char** kind);
  v1::TimeoutCertificate ForgeTc(const v1::TimeoutCertificate& real, const char** kind);
  std::optional<v1::TimeoutCertificate> TcWithHighRound();
  void SignVote(const Key& key, v1::Vote* vote) const;
  void SignTimeout(const Key& key, v1::Timeout* timeout) const;

  // Proposals: a block by `key` in `round` on `qc` (and `tc`), re-signed after `tamper`.
  v1::Proposal MakeProposal(const Key& key, uint64_t round, const v1::QuorumCert& qc,
                            const v1::TimeoutCertificate* tc, uint64_t now_ms);
  void Sign(const Key& key, v1::Proposal* proposal) const;

  std::optional<Junk> MakeVote(uint32_t to);
  std::optional<Junk> MakeTimeout(uint32_t to);
  std::optional<Junk> MakeCertificate(uint32_t to);
  std::optional<Junk> MakeProposalJunk(uint32_t to, uint64_t now_ms, uint64_t to_committed);
  std::optional<Junk> MakeRetrieval(uint32_t to);
  std::optional<Junk> MakeSync(uint32_t to, uint64_t to_committed);
  std::optional<Junk> MakeSiblingSync(const std::vector<uint64_t>& committed_heights);
  std::optional<Junk> MakeRequest(uint32_t to);
  std::optional<Junk> MakeEcho();

  const AdversaryOptions options_;
  Prng* const prng_;
  std::vector<Key> keys_;
  uint64_t made_ = 0;
  int64_t max_timestamp_ms_ = 0;

  std::deque<v1::QuorumCert> qcs_;          // Distinct rounds, newest last.
  std::deque<v1::TimeoutCertificate> tcs_;  // Distinct rounds, newest last.
  std::deque<v1::Vote> votes_;              // Honest votes.
  absl::btree_map<uint64_t, absl::btree_map<uint32_t, v1::Timeout>> timeouts_;  // Round -> signer.
  absl::btree_map<std::string, v1::Block> blocks_;                              // Id -> block.
  std::deque<std::string> block_order_;
  std::deque<std::pair<uint32_t, std::string>> requests_;  // (requester, block id).
  std::deque<std::pair<uint32_t, v1::ConsensusMessage>> sent_;
  absl::btree_map<uint64_t, v1::CommittedBlock> committed_;  // Height -> honest commit.
  // Height -> a certified block there that was not committed (with its QC).
  absl::btree_map<uint64_t, v1::CommittedBlock> siblings_;
};

}  // namespace itmo::sim
