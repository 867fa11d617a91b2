// File: consensus/quorum.h
// The validator set of an epoch and everything quorum-shaped: quorum size, leaders, verification of
// votes, timeouts, QCs and TCs (with a cache so a certificate is verified once), and the collectors
// that aggregate votes into QCs and timeouts into TCs. Not thread-safe: owned by one Replica.
//
// Example:
//   ValidatorSet set(chain_id, epoch, keys, &verifier);
//   ITMO_RETURN_IF_ERROR(set.VerifyQc(proposal.block().qc()));
//   VoteCollector votes(&set);
//   ITMO_ASSIGN_OR_RETURN(std::optional<v1::QuorumCert> qc, votes.Add(vote));
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/keys.h"
#include "crypto/verifier.h"
#include "itmo/v1/consensus.pb.h"

namespace itmo::consensus {

// f = floor((n - 1) / 3); q = floor((n + f) / 2) + 1. REQUIRES: 1 <= n <= kValidatorsMax.
uint32_t FaultsMax(uint32_t validators);
uint32_t QuorumSize(uint32_t validators);

class ValidatorSet final {
 public:
  // REQUIRES: 1 <= keys.size() <= kValidatorsMax, verifier != nullptr and outlives this.
  ValidatorSet(std::string chain_id, uint64_t epoch, std::vector<crypto::PublicKey> keys,
               const crypto::Verifier* verifier);

  uint32_t size() const { return static_cast<uint32_t>(keys_.size()); }
  uint32_t quorum() const { return quorum_; }
  uint32_t faults_max() const { return faults_max_; }
  uint64_t epoch() const { return epoch_; }
  const std::string& chain_id() const { return chain_id_; }
  const crypto::PublicKey& key(uint32_t index) const;
  // validators[(round + epoch) mod n].
  uint32_t LeaderOf(uint64_t round) const;
  const crypto::Digest& genesis_id() const { return genesis_id_; }

  // Each: kInvalidArgument naming the defect (wrong epoch, malformed bitmap, too few signers,
  // signature count mismatch, bad signature, non-validator). A verified QC/TC is cached by its full
  // digest, so verifying it again costs one hash.
  absl::Status VerifyQc(const v1::QuorumCert& qc);
  absl::Status VerifyTc(const v1::TimeoutCertificate& tc);
  absl::Status VerifyVote(const v1::Vote& vote) const;
  absl::Status VerifyTimeout(const v1::Timeout& timeout);  // Also verifies timeout.high_qc.
  absl::Status VerifyProposalSignature(const v1::Block& block, const crypto::Digest& id,
                                       std::string_view signature) const;

  uint64_t verifications() const {
    return verifications_;
  }  // Signature checks done (tests, bench).

 private:
  absl::Status CheckBitmap(std::string_view bitmap, int signatures) const;
  void Remember(const crypto::Digest& digest, uint64_t round);

  // Constant after construction.
  const std::string chain_id_;
  const uint64_t epoch_;
  const std::vector<crypto::PublicKey> keys_;
  const crypto::Verifier* const verifier_;
  const uint32_t faults_max_;
  const uint32_t quorum_;
  const crypto::Digest genesis_id_;

  absl::btree_map<crypto::Digest, uint64_t> verified_;  // Full digest -> round; bounded.
  uint64_t verifications_ = 0;
};

// Aggregates verified votes into a QC. One vote per validator per round; a second, different vote
// from the same validator in the same round is an equivocation and is refused.
class VoteCollector final {
 public:
  explicit VoteCollector(const ValidatorSet* validators);
  // REQUIRES: `vote` verified by VerifyVote. Returns the QC when this vote completes a quorum for
  // its block (once per round). Errors: kAlreadyExists for a duplicate vote, kInvalidArgument for
  // an equivocation, kOutOfRange for a round below the floor.
  absl::StatusOr<std::optional<v1::QuorumCert>> Add(const v1::Vote& vote);
  // Drops collections for rounds < round.
  void PruneBelow(uint64_t round);
  size_t rounds() const { return by_round_.size(); }

 private:
  struct RoundVotes {
    absl::btree_map<uint32_t, v1::Vote> votes;  // Voter -> vote.
    bool certified = false;
  };
  const ValidatorSet* const validators_;
  uint64_t floor_round_ = 0;
  absl::btree_map<uint64_t, RoundVotes> by_round_;
};

// Aggregates verified timeouts into a TC.
class TimeoutCollector final {
 public:
  explicit TimeoutCollector(const ValidatorSet* validators);
  // REQUIRES: `timeout` verified by VerifyTimeout. Returns the TC when this timeout completes a
  // quorum (once per round). Errors as VoteCollector::Add.
  absl::StatusOr<std::optional<v1::TimeoutCertificate>> Add(const v1::Timeout& timeout);
  // Distinct signers of timeouts for `round` so far.
  uint32_t SignersOf(uint64_t round) const;
  void PruneBelow(uint64_t round);

 private:
  struct RoundTimeouts {
    absl::btree_map<uint32_t, v1::Timeout> timeouts;  // Signer -> timeout.
    bool certified = false;
  };
  const ValidatorSet* const validators_;
  uint64_t floor_round_ = 0;
  absl::btree_map<uint64_t, RoundTimeouts> by_round_;
};

// Highest QC round in a TC (0 for an empty one).
uint64_t TcHighQcRound(const v1::TimeoutCertificate& tc);

}  // namespace itmo::consensus
