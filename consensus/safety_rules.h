// File: consensus/safety_rules.h
// SafetyRules is the only holder of the consensus key. It signs a vote, a timeout or a proposal
// only when Jolteon's 2-chain rules allow it against the SafetyState, and returns
// kFailedPrecondition (with the offending values) on any regression. The caller persists state()
// (fsync) before it sends what was signed. Not thread-safe: owned by one Replica.
//
// Voting rule: block.round > last_voted_round, and either block.round == block.qc.round + 1, or the
// block carries a TC with block.round == tc.round + 1 and block.qc.round >= the highest QC round in
// the TC. Then last_voted_round = block.round, one_chain_round = max(one_chain_round, qc.round).
// Timeout rule for round r: r >= last_voted_round, r > highest_timeout_round (unless re-signing the
// same timeout), r == high_qc.round + 1 or r == tc.round + 1, high_qc.round >= one_chain_round.
// Then last_voted_round = max(last_voted_round, r) and highest_timeout_round = r. Asked again for
// the round of last_vote / last_timeout, it returns the same signed message.
//
// Example:
//   SafetyRules rules(options, recovered_state, &signer);
//   ITMO_ASSIGN_OR_RETURN(v1::Vote vote, rules.SignVote(block, id));
//   actions.push_back(PersistSafetyState{rules.state()});  // First...
//   actions.push_back(SendTo{next_leader, VoteMessage(vote)});  // ...then.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/digest.h"
#include "crypto/verifier.h"
#include "itmo/v1/consensus.pb.h"

namespace itmo::consensus {

// Deliberate bugs for the simulator's --mutate flag (it must find each). kNone in production.
enum class Mutation : uint8_t {
  kNone = 0,
  kSkipLastVotedRound = 1,  // Votes again in a round already voted in, for a different block.
  kPersistAfterSend = 2,  // Replica emits the Send of a vote/timeout before its PersistSafetyState.
  kIgnoreLock = 3,  // Drops qc.round >= TC's highest QC round and high_qc.round >= one_chain_round.
};

struct SafetyRulesOptions {
  std::string chain_id;
  uint64_t epoch = 0;
  uint32_t my_index = 0;  // Validator index written into votes and timeouts.
  Mutation mutation = Mutation::kNone;
};

class SafetyRules final {
 public:
  // `recovered` is the last persisted state (default-constructed for a fresh validator); a state of
  // an older epoch is reset to the new epoch. REQUIRES: signer != nullptr, outlives this.
  SafetyRules(SafetyRulesOptions options, v1::SafetyState recovered, const crypto::Signer* signer);

  // REQUIRES: block_id == BlockId(block); block.qc / block.tc verified by the caller.
  // Errors: kFailedPrecondition when a rule refuses; kInvalidArgument for a wrong epoch.
  absl::StatusOr<v1::Vote> SignVote(const v1::Block& block, const crypto::Digest& block_id);

  // `high_tc` may be null (no TC). REQUIRES: certificates verified by the caller.
  absl::StatusOr<v1::Timeout> SignTimeout(uint64_t round, const v1::QuorumCert& high_qc,
                                          const v1::TimeoutCertificate* high_tc);

  // The proposer's signature over the block id. Refuses a round <= last_voted_round or <=
  // last_proposed_round (one proposal per round, also after a restart); then last_proposed_round =
  // round and high_qc = max(high_qc, block.qc). The caller persists state() before the proposal
  // leaves. REQUIRES: block.qc / block.tc verified by the caller.
  absl::StatusOr<std::string> SignProposal(const v1::Block& block, const crypto::Digest& block_id);

  // Raises preferred_round (the highest 2-chain round seen); informational in 2-chain HotStuff.
  void ObservePreferredRound(uint64_t round);

  // Records `tc` as high_tc when its round is above the recorded one, so that a restarted replica
  // resumes in round high_tc.round + 1 instead of below its highest_timeout_round. Returns whether
  // the state changed; the caller then persists state() before anything that relies on it.
  // REQUIRES: tc verified by the caller, of this epoch, round > 0.
  bool ObserveHighTc(const v1::TimeoutCertificate& tc);

  const v1::SafetyState& state() const { return state_; }
  Mutation mutation() const { return options_.mutation; }

 private:
  void CheckInvariants() const;

  const SafetyRulesOptions options_;
  const crypto::Signer* const signer_;
  v1::SafetyState state_;
};

}  // namespace itmo::consensus
