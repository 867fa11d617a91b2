#include "consensus/safety_rules.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "consensus/canonical.h"
#include "consensus/quorum.h"

namespace itmo::consensus {

SafetyRules::SafetyRules(SafetyRulesOptions options, v1::SafetyState recovered,
                         const crypto::Signer* signer)
    : options_(std::move(options)), signer_(signer), state_(std::move(recovered)) {
  ITMO_CHECK(signer_ != nullptr);
  ITMO_CHECK(state_.epoch() <= options_.epoch);
  if (state_.epoch() < options_.epoch) {
    // A new epoch starts its rounds from zero; nothing signed in an old epoch is valid in this one.
    state_.Clear();
    state_.set_epoch(options_.epoch);
  }
  CheckInvariants();
}

void SafetyRules::CheckInvariants() const {
  ITMO_CHECK(state_.epoch() == options_.epoch);
  ITMO_CHECK(state_.highest_timeout_round() <= state_.last_voted_round());
  ITMO_CHECK(!state_.has_last_vote() || state_.last_vote().round() <= state_.last_voted_round());
  ITMO_CHECK(!state_.has_last_timeout() ||
             state_.last_timeout().round() == state_.highest_timeout_round());
}

absl::StatusOr<v1::Vote> SafetyRules::SignVote(const v1::Block& block,
                                               const crypto::Digest& block_id) {
  const v1::BlockHeader& header = block.header();
  ITMO_CHECK(BlockId(block) == block_id);
  ITMO_CHECK(block.qc().block_id() == header.parent_id());
  if (header.epoch() != options_.epoch) {
    return absl::InvalidArgumentError(
        absl::StrCat("block epoch ", header.epoch(), " != safety epoch ", options_.epoch));
  }
  const uint64_t round = header.round();
  // Repeat: the same vote again, never a different one.
  if (state_.has_last_vote() && state_.last_vote().round() == round &&
      state_.last_vote().block_id() == crypto::AsStringView(block_id)) {
    return state_.last_vote();
  }
  const bool skip_last_voted = options_.mutation == Mutation::kSkipLastVotedRound &&
                               state_.has_last_vote() && state_.last_vote().round() == round;
  if (round <= state_.last_voted_round() && !skip_last_voted) {
    return absl::FailedPreconditionError(
        absl::StrCat("vote round ", round, " <= last_voted_round ", state_.last_voted_round()));
  }
  const uint64_t qc_round = block.qc().round();
  if (round != qc_round + 1) {
    if (!block.has_tc()) {
      return absl::FailedPreconditionError(absl::StrCat("block round ", round, " != qc round ",
                                                        qc_round, " + 1 and the block has no tc"));
    }
    if (round != block.tc().round() + 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("block round ", round, " != tc round ", block.tc().round(), " + 1"));
    }
    const uint64_t tc_high_qc_round = TcHighQcRound(block.tc());
    if (qc_round < tc_high_qc_round && options_.mutation != Mutation::kIgnoreLock) {
      return absl::FailedPreconditionError(absl::StrCat(
          "block qc round ", qc_round, " < highest qc round in tc ", tc_high_qc_round));
    }
  }
  v1::Vote vote;
  vote.set_epoch(options_.epoch);
  vote.set_round(round);
  vote.set_block_id(std::string(crypto::AsStringView(block_id)));
  vote.set_height(header.height());
  vote.set_voter(options_.my_index);
  const crypto::Signature sig =
      signer_->Sign(crypto::kContextVote, options_.chain_id,
                    VoteMessage(vote.epoch(), vote.round(), vote.block_id(), vote.height()));
  vote.set_signature(std::string(crypto::AsStringView(sig)));
  state_.set_last_voted_round(std::max(state_.last_voted_round(), round));
  state_.set_one_chain_round(std::max(state_.one_chain_round(), qc_round));
  if (!state_.has_high_qc() || state_.high_qc().round() < qc_round) {
    *state_.mutable_high_qc() = block.qc();
  }
  *state_.mutable_last_vote() = vote;
  CheckInvariants();
  return vote;
}

absl::StatusOr<v1::Timeout> SafetyRules::SignTimeout(uint64_t round, const v1::QuorumCert& high_qc,
                                                     const v1::TimeoutCertificate* high_tc) {
  ITMO_CHECK(high_qc.epoch() == options_.epoch);
  ITMO_CHECK(high_tc == nullptr || high_tc->epoch() == options_.epoch);
  if (state_.has_last_timeout() && state_.last_timeout().round() == round) {
    return state_.last_timeout();  // Re-sign: the same timeout.
  }
  if (round < state_.last_voted_round()) {
    return absl::FailedPreconditionError(
        absl::StrCat("timeout round ", round, " < last_voted_round ", state_.last_voted_round()));
  }
  if (round <= state_.highest_timeout_round()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "timeout round ", round, " <= highest_timeout_round ", state_.highest_timeout_round()));
  }
  const bool after_qc = round == high_qc.round() + 1;
  const bool after_tc = high_tc != nullptr && round == high_tc->round() + 1;
  if (!after_qc && !after_tc) {
    return absl::FailedPreconditionError(
        absl::StrCat("timeout round ", round, " follows neither high qc round ", high_qc.round(),
                     " nor tc round ", high_tc == nullptr ? 0 : high_tc->round()));
  }
  if (high_qc.round() < state_.one_chain_round() && options_.mutation != Mutation::kIgnoreLock) {
    return absl::FailedPreconditionError(absl::StrCat("timeout high qc round ", high_qc.round(),
                                                      " < one_chain_round ",
                                                      state_.one_chain_round()));
  }
  v1::Timeout timeout;
  timeout.set_epoch(options_.epoch);
  timeout.set_round(round);
  *timeout.mutable_high_qc() = high_qc;
  timeout.set_signer(options_.my_index);
  const crypto::Signature sig =
      signer_->Sign(crypto::kContextTimeout, options_.chain_id,
                    TimeoutMessage(options_.epoch, round, high_qc.round()));
  timeout.set_signature(std::string(crypto::AsStringView(sig)));
  state_.set_last_voted_round(std::max(state_.last_voted_round(), round));
  state_.set_highest_timeout_round(round);
  state_.set_one_chain_round(std::max(state_.one_chain_round(), high_qc.round()));
  if (!state_.has_high_qc() || state_.high_qc().round() < high_qc.round()) {
    *state_.mutable_high_qc() = high_qc;
  }
  *state_.mutable_last_timeout() = timeout;
  CheckInvariants();
  return timeout;
}

absl::StatusOr<std::string> SafetyRules::SignProposal(const v1::Block& block,
                                                      const crypto::Digest& block_id) {
  ITMO_CHECK(BlockId(block) == block_id);
  ITMO_CHECK(block.header().epoch() == options_.epoch);
  if (block.header().proposer() != options_.my_index) {
    return absl::FailedPreconditionError(absl::StrCat(
        "proposer ", block.header().proposer(), " is not this validator ", options_.my_index));
  }
  if (block.header().round() <= state_.last_voted_round()) {
    return absl::FailedPreconditionError(absl::StrCat("proposal round ", block.header().round(),
                                                      " <= last_voted_round ",
                                                      state_.last_voted_round()));
  }
  if (block.header().round() <= state_.last_proposed_round()) {
    return absl::FailedPreconditionError(absl::StrCat("proposal round ", block.header().round(),
                                                      " <= last_proposed_round ",
                                                      state_.last_proposed_round()));
  }
  ITMO_CHECK(block.qc().round() < block.header().round());
  const crypto::Signature sig = signer_->Sign(
      crypto::kContextProposal, options_.chain_id,
      ProposalMessage(options_.epoch, block.header().round(), crypto::AsStringView(block_id)));
  state_.set_last_proposed_round(block.header().round());
  // A restarted leader then resumes at or above the round it proposed in (never below it).
  if (!state_.has_high_qc() || state_.high_qc().round() < block.qc().round()) {
    *state_.mutable_high_qc() = block.qc();
  }
  CheckInvariants();
  return std::string(crypto::AsStringView(sig));
}

bool SafetyRules::ObserveHighTc(const v1::TimeoutCertificate& tc) {
  ITMO_CHECK(tc.epoch() == options_.epoch);
  ITMO_CHECK(tc.round() > 0);
  if (state_.has_high_tc() && state_.high_tc().round() >= tc.round()) return false;
  *state_.mutable_high_tc() = tc;
  CheckInvariants();
  return true;
}

void SafetyRules::ObservePreferredRound(uint64_t round) {
  state_.set_preferred_round(std::max(state_.preferred_round(), round));
  CheckInvariants();
}

}  // namespace itmo::consensus
