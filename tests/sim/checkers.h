// File: tests/sim/checkers.h
// SafetyChecker: the invariants the simulator asserts after every step, over what honest endpoints
// persist, send and commit. It sees actions in the order the simulator executes them.
//   - agreement: honest replicas never commit different blocks at one height;
//   - extension: each endpoint's commits are gap-free and each one's parent is the previous one;
//   - proof: every commit carries a valid QC, and a direct commit a valid QC'd child one round
//   later;
//     an ancestor commit is proven by the next direct commit above it;
//   - no double-sign: an honest validator never signs two different votes or two different timeouts
//     for one round, across restarts; its votes obey the 2-chain voting rule and its timeouts the
//     lock;
//   - monotonicity: persisted last_voted_round / highest_timeout_round and committed height never
//   drop;
//   - order: a vote or timeout leaves only after the PersistSafetyState that covers it is durable;
//   - state: a committed block's executed_state_root is the simulated application's root at its
//     executed_height (< height), and its timestamp is at most timestamp_bound_ms ahead of the
//     virtual clock when it commits;
//   - honest votes only for blocks whose QC (and TC, when voting through one) verifies; no vote in
//     a round it timed out in, no timeout below a round it voted or timed out in, and never two
//     different proposals for one round (across restarts).
// Certificates, block ids and commit proofs are checked with IndependentVerifier
// (independent.h), never with consensus/ code, so a mutation there cannot blind these checks.
// The first violation is kept (with the endpoint and the simulated time) and stops the run.
// Not thread-safe: owned by one simulation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "crypto/digest.h"
#include "crypto/verifier.h"
#include "itmo/v1/consensus.pb.h"
#include "tests/sim/independent.h"

namespace itmo::sim {

class SafetyChecker final {
 public:
  static constexpr uint64_t kBlocksSeenMax = 1 << 16;
  static constexpr uint64_t kRoundsTrackedMax = 1 << 20;

  // `endpoint_validator[e]` is the validator index endpoint e speaks for
  // (consensus::kFromNonValidator for none); `honest_validator[i]` whether validator i is honest
  // (no twin, no byzantine policy).
  SafetyChecker(std::string chain_id, uint64_t epoch, std::vector<crypto::PublicKey> keys,
                const crypto::Verifier* verifier, std::vector<uint32_t> endpoint_validator,
                std::vector<bool> honest_validator);

  bool HonestEndpoint(uint32_t endpoint) const;

  // A PersistSafetyState of `endpoint` became durable.
  void OnPersisted(uint32_t endpoint, const v1::SafetyState& state);
  // `endpoint` is about to send `message`; `durable` is its durable safety state at that moment.
  void OnSend(uint32_t endpoint, const v1::ConsensusMessage& message,
              const v1::SafetyState& durable);
  // `endpoint` executes a Commit action.
  void OnCommit(uint32_t endpoint, const v1::CommittedBlock& committed);
  // After every Handle() of `endpoint`.
  void AfterStep(uint32_t endpoint, uint64_t committed_height);
  // Any block seen on the network (for the voting-rule check).
  void OnBlockSeen(const v1::Block& block);
  // A violation found outside the checker (the acceptance oracle); stops the run.
  void Report(uint32_t endpoint, const std::string& what) { Fail(endpoint, what); }
  // End of the run: every endpoint's newest commit must be directly proven.
  void Finish();

  void set_now_ms(uint64_t now_ms) { now_ms_ = now_ms; }
  // Off: skip the voting-rule and lock checks, so that only their consequences (forks) are caught.
  void set_check_voting_rules(bool on) { check_voting_rules_ = on; }
  // How far ahead of the virtual clock a committed block's timestamp may be (0: unchecked).
  void set_timestamp_bound_ms(uint64_t bound_ms) { timestamp_bound_ms_ = bound_ms; }
  void set_check_double_proposals(bool on) { check_double_proposals_ = on; }
  bool failed() const { return violation_.has_value(); }
  const std::string& violation() const { return *violation_; }
  // Highest height committed by any honest endpoint, and the id at a height (empty if unknown).
  uint64_t max_height() const {
    return committed_ids_.empty() ? 0 : committed_ids_.rbegin()->first;
  }
  uint64_t committed_height(uint32_t endpoint) const { return last_[endpoint].height; }
  uint64_t checks() const { return checks_; }

 private:
  struct EndpointChain {
    uint64_t height = 0;
    crypto::Digest id{};
    uint64_t max_committed_height = 0;
    bool last_direct = true;  // The newest commit carried a child QC (direct 2-chain proof).
    bool has_persisted = false;
    v1::SafetyState persisted;
  };
  struct ValidatorRecord {
    absl::btree_map<uint64_t, crypto::Digest> votes;      // Round -> block id.
    absl::btree_map<uint64_t, uint64_t> timeouts;         // Round -> high_qc round.
    absl::btree_map<uint64_t, crypto::Digest> proposals;  // Round -> block id.
    uint64_t max_vote_round = 0;
    uint64_t max_timeout_round = 0;
    uint64_t one_chain_round = 0;  // Highest QC round voted on / timed out.
  };

  void Fail(uint32_t endpoint, const std::string& what);
  // Checks executed_height / executed_state_root and the timestamp of a block committed at height.
  void CheckCommittedState(uint32_t endpoint, const v1::BlockHeader& header);
  void RecordHonestCommit(uint64_t height, const crypto::Digest& id);
  void CheckVote(uint32_t endpoint, const v1::Vote& vote, const v1::SafetyState& durable);
  void CheckTimeout(uint32_t endpoint, const v1::Timeout& timeout, const v1::SafetyState& durable);
  void CheckVotingRule(uint32_t endpoint, const v1::Vote& vote);
  void CheckProposal(uint32_t endpoint, const v1::Proposal& proposal);
  bool CheckCommitProof(uint32_t endpoint, const v1::CommittedBlock& committed,
                        const crypto::Digest& id);

  const std::string chain_id_;
  const IndependentVerifier verifier_;
  const std::vector<uint32_t> endpoint_validator_;
  const std::vector<bool> honest_validator_;
  std::vector<EndpointChain> last_;
  std::vector<ValidatorRecord> records_;
  absl::btree_map<uint64_t, crypto::Digest> committed_ids_;  // Height -> id, honest commits.
  absl::btree_map<crypto::Digest, v1::Block> blocks_seen_;
  // reference_roots_[h]: the simulated application's state root after the agreed height h
  // (recomputed here: root_h = BLAKE2b(root_{h-1} | id_h), as SimApplication defines it).
  std::vector<crypto::Digest> reference_roots_;
  uint64_t timestamp_bound_ms_ = 0;
  std::optional<std::string> violation_;
  uint64_t now_ms_ = 0;
  uint64_t checks_ = 0;
  bool check_voting_rules_ = true;
  bool check_double_proposals_ = true;
};

}  // namespace itmo::sim
