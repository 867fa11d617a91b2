#include "tests/sim/checkers.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "consensus/events.h"
#include "crypto/keys.h"

namespace itmo::sim {
namespace {

std::string Short(const crypto::Digest& digest) {
  return crypto::ToHex(std::span<const uint8_t>(digest.data(), 4));
}

}  // namespace

SafetyChecker::SafetyChecker(std::string chain_id, uint64_t epoch,
                             std::vector<crypto::PublicKey> keys, const crypto::Verifier* verifier,
                             std::vector<uint32_t> endpoint_validator,
                             std::vector<bool> honest_validator)
    : chain_id_(std::move(chain_id)),
      verifier_(chain_id_, epoch, std::move(keys), verifier),
      endpoint_validator_(std::move(endpoint_validator)),
      honest_validator_(std::move(honest_validator)),
      last_(endpoint_validator_.size()),
      records_(honest_validator_.size()) {
  ITMO_CHECK(!honest_validator_.empty());
  ITMO_CHECK(!endpoint_validator_.empty());
  for (EndpointChain& chain : last_) chain.id = verifier_.genesis_id();
  crypto::Hasher hasher;
  hasher.Update("itmo-sim/genesis-state");
  reference_roots_.push_back(hasher.Finish());
}

bool SafetyChecker::HonestEndpoint(uint32_t endpoint) const {
  ITMO_CHECK(endpoint < endpoint_validator_.size());
  const uint32_t validator = endpoint_validator_[endpoint];
  return validator != consensus::kFromNonValidator && honest_validator_[validator];
}

void SafetyChecker::Fail(uint32_t endpoint, const std::string& what) {
  if (violation_.has_value()) return;
  violation_ = absl::StrCat("t=", now_ms_, "ms endpoint ", endpoint, " (validator ",
                            endpoint_validator_[endpoint], "): ", what);
}

void SafetyChecker::OnPersisted(uint32_t endpoint, const v1::SafetyState& state) {
  ++checks_;
  EndpointChain& chain = last_[endpoint];
  if (chain.has_persisted && HonestEndpoint(endpoint)) {
    const v1::SafetyState& old = chain.persisted;
    if (state.last_voted_round() < old.last_voted_round()) {
      Fail(endpoint, absl::StrCat("persisted last_voted_round decreased: ", old.last_voted_round(),
                                  " -> ", state.last_voted_round()));
    }
    if (state.highest_timeout_round() < old.highest_timeout_round()) {
      Fail(endpoint,
           absl::StrCat("persisted highest_timeout_round decreased: ", old.highest_timeout_round(),
                        " -> ", state.highest_timeout_round()));
    }
    if (state.epoch() != old.epoch()) Fail(endpoint, "persisted epoch changed");
  }
  chain.persisted = state;
  chain.has_persisted = true;
}

void SafetyChecker::OnSend(uint32_t endpoint, const v1::ConsensusMessage& message,
                           const v1::SafetyState& durable) {
  if (!HonestEndpoint(endpoint)) return;
  ++checks_;
  if (message.has_vote()) CheckVote(endpoint, message.vote(), durable);
  if (message.has_timeout()) CheckTimeout(endpoint, message.timeout(), durable);
  if (message.has_proposal() && check_double_proposals_) {
    CheckProposal(endpoint, message.proposal());
  }
}

void SafetyChecker::CheckProposal(uint32_t endpoint, const v1::Proposal& proposal) {
  const v1::Block& block = proposal.block();
  const uint64_t round = block.header().round();
  const crypto::Digest id = verifier_.BlockIdOf(block);
  ValidatorRecord& record = records_[endpoint_validator_[endpoint]];
  if (auto it = record.proposals.find(round); it != record.proposals.end()) {
    if (it->second != id) {
      Fail(endpoint, absl::StrCat("two different proposals in round ", round, ": ",
                                  Short(it->second), " and ", Short(id)));
    }
    return;  // The same proposal again is fine.
  }
  // A leader that gave up on its round (timed out in it) or moved on (voted in a later one) does
  // not propose in it any more.
  if (round <= record.max_timeout_round || round < record.max_vote_round) {
    Fail(endpoint, absl::StrCat("proposal for round ", round, " after a timeout for round ",
                                record.max_timeout_round, " / a vote for round ",
                                record.max_vote_round));
    return;
  }
  record.proposals.emplace(round, id);
  if (record.proposals.size() > kRoundsTrackedMax) record.proposals.erase(record.proposals.begin());
}

void SafetyChecker::CheckVote(uint32_t endpoint, const v1::Vote& vote,
                              const v1::SafetyState& durable) {
  const uint64_t round = vote.round();
  if (durable.last_voted_round() < round) {
    Fail(endpoint, absl::StrCat("order: vote for round ", round,
                                " sent before a durable last_voted_round >= it (durable ",
                                durable.last_voted_round(), ")"));
    return;
  }
  auto id = crypto::DigestFromBytes(vote.block_id());
  if (!id.ok()) {
    Fail(endpoint, "honest vote with a malformed block id");
    return;
  }
  ValidatorRecord& record = records_[endpoint_validator_[endpoint]];
  auto it = record.votes.find(round);
  if (it != record.votes.end()) {
    if (it->second != *id) {
      Fail(endpoint, absl::StrCat("double vote in round ", round, ": ", Short(it->second), " and ",
                                  Short(*id)));
    }
    return;  // A re-sent identical vote is fine.
  }
  if (round < record.max_vote_round) {
    Fail(endpoint,
         absl::StrCat("vote for round ", round, " after a vote for round ", record.max_vote_round));
    return;
  }
  if (round <= record.max_timeout_round) {
    Fail(endpoint, absl::StrCat("vote for round ", round, " after a timeout for round ",
                                record.max_timeout_round));
    return;
  }
  if (record.votes.size() >= kRoundsTrackedMax) record.votes.erase(record.votes.begin());
  record.votes.emplace(round, *id);
  record.max_vote_round = round;
  if (check_voting_rules_) CheckVotingRule(endpoint, vote);
}

void SafetyChecker::CheckVotingRule(uint32_t endpoint, const v1::Vote& vote) {
  auto id = crypto::DigestFromBytes(vote.block_id());
  ITMO_CHECK(id.ok());
  auto it = blocks_seen_.find(*id);
  if (it == blocks_seen_.end()) return;  // Only checkable for blocks the network carried.
  const v1::Block& block = it->second;
  const uint64_t round = block.header().round();
  const uint64_t qc_round = block.qc().round();
  ValidatorRecord& record = records_[endpoint_validator_[endpoint]];
  if (round != vote.round()) {
    Fail(endpoint, absl::StrCat("vote round ", vote.round(), " for a block of round ", round));
    return;
  }
  if (absl::Status status = verifier_.CheckQc(block.qc()); !status.ok()) {
    Fail(endpoint, absl::StrCat("voted for block ", Short(*id), " of round ", round,
                                " whose qc does not verify: ", status.message()));
    return;
  }
  const bool direct = round == qc_round + 1;
  const bool via_tc = block.has_tc() && round == block.tc().round() + 1 &&
                      qc_round >= IndependentVerifier::MaxHighQcRound(block.tc());
  if (!direct && via_tc) {
    if (absl::Status status = verifier_.CheckTc(block.tc()); !status.ok()) {
      Fail(endpoint, absl::StrCat("voted for block ", Short(*id), " of round ", round,
                                  " through a tc that does not verify: ", status.message()));
      return;
    }
  }
  if (!direct && !via_tc) {
    Fail(endpoint,
         absl::StrCat("voted for block ", Short(*id), " of round ", round, " with qc round ",
                      qc_round, " and tc high-qc round ",
                      block.has_tc() ? IndependentVerifier::MaxHighQcRound(block.tc()) : 0,
                      ": breaks the 2-chain voting rule (lock)"));
    return;
  }
  record.one_chain_round = std::max(record.one_chain_round, qc_round);
}

void SafetyChecker::CheckTimeout(uint32_t endpoint, const v1::Timeout& timeout,
                                 const v1::SafetyState& durable) {
  const uint64_t round = timeout.round();
  if (durable.highest_timeout_round() < round) {
    Fail(endpoint, absl::StrCat("order: timeout for round ", round,
                                " sent before a durable highest_timeout_round >= it (durable ",
                                durable.highest_timeout_round(), ")"));
    return;
  }
  ValidatorRecord& record = records_[endpoint_validator_[endpoint]];
  const uint64_t high_qc_round = timeout.high_qc().round();
  auto it = record.timeouts.find(round);
  if (it != record.timeouts.end()) {
    if (it->second != high_qc_round) {
      Fail(endpoint, absl::StrCat("two different timeouts for round ", round, " (high qc rounds ",
                                  it->second, " and ", high_qc_round, ")"));
    }
    return;
  }
  if (round < record.max_vote_round || round < record.max_timeout_round) {
    Fail(endpoint,
         absl::StrCat("timeout for round ", round, " after a vote for round ",
                      record.max_vote_round, " / a timeout for round ", record.max_timeout_round));
    return;
  }
  if (check_voting_rules_ && high_qc_round < record.one_chain_round) {
    Fail(endpoint,
         absl::StrCat("timeout for round ", round, " with high qc round ", high_qc_round,
                      " below the qc round it already voted on (", record.one_chain_round, ")"));
    return;
  }
  if (record.timeouts.size() >= kRoundsTrackedMax) record.timeouts.erase(record.timeouts.begin());
  record.timeouts.emplace(round, high_qc_round);
  record.max_timeout_round = std::max(record.max_timeout_round, round);
  record.one_chain_round = std::max(record.one_chain_round, high_qc_round);
}

void SafetyChecker::OnBlockSeen(const v1::Block& block) {
  if (blocks_seen_.size() >= kBlocksSeenMax) return;
  blocks_seen_.emplace(verifier_.BlockIdOf(block), block);
}

bool SafetyChecker::CheckCommitProof(uint32_t endpoint, const v1::CommittedBlock& committed,
                                     const crypto::Digest& id) {
  const v1::BlockHeader& header = committed.block().header();
  const v1::QuorumCert& qc = committed.qc();
  if (qc.block_id() != crypto::AsStringView(id) || qc.round() != header.round() ||
      qc.height() != header.height()) {
    Fail(endpoint, absl::StrCat("commit at height ", header.height(), ": qc does not certify it"));
    return false;
  }
  if (absl::Status status = verifier_.CheckQc(qc); !status.ok()) {
    Fail(endpoint,
         absl::StrCat("commit at height ", header.height(), ": bad qc: ", status.message()));
    return false;
  }
  EndpointChain& chain = last_[endpoint];
  if (!committed.has_child_header()) {
    chain.last_direct = false;  // Proven by the next direct commit, which must extend it.
    return true;
  }
  const v1::BlockHeader& child = committed.child_header();
  const v1::QuorumCert& child_qc = committed.child_qc();
  if (child.parent_id() != crypto::AsStringView(id) || child.round() != header.round() + 1 ||
      child_qc.block_id() != crypto::AsStringView(verifier_.BlockIdOf(child, qc)) ||
      child_qc.round() != child.round() || child_qc.height() != child.height() ||
      child.height() != header.height() + 1) {
    Fail(endpoint, absl::StrCat("commit at height ", header.height(),
                                ": child header / child qc do not form a 2-chain"));
    return false;
  }
  if (absl::Status status = verifier_.CheckQc(child_qc); !status.ok()) {
    Fail(endpoint,
         absl::StrCat("commit at height ", header.height(), ": bad child qc: ", status.message()));
    return false;
  }
  chain.last_direct = true;
  return true;
}

void SafetyChecker::OnCommit(uint32_t endpoint, const v1::CommittedBlock& committed) {
  ++checks_;
  const crypto::Digest id = verifier_.BlockIdOf(committed.block());
  const v1::BlockHeader& header = committed.block().header();
  EndpointChain& chain = last_[endpoint];
  if (header.height() != chain.height + 1) {
    Fail(endpoint,
         absl::StrCat("commit at height ", header.height(), " after height ", chain.height));
    return;
  }
  if (header.parent_id() != crypto::AsStringView(chain.id)) {
    Fail(endpoint, absl::StrCat("commit ", Short(id), " at height ", header.height(),
                                " does not extend its previous commit ", Short(chain.id)));
    return;
  }
  if (!CheckCommitProof(endpoint, committed, id)) return;
  if (HonestEndpoint(endpoint)) {
    auto [it, inserted] = committed_ids_.emplace(header.height(), id);
    if (!inserted && it->second != id) {
      Fail(endpoint,
           absl::StrCat("agreement: height ", header.height(), " committed as ", Short(id),
                        " but another honest replica committed ", Short(it->second)));
      return;
    }
    if (inserted) RecordHonestCommit(header.height(), id);
    CheckCommittedState(endpoint, header);
  }
  chain.height = header.height();
  chain.id = id;
}

void SafetyChecker::RecordHonestCommit(uint64_t height, const crypto::Digest& id) {
  // Heights arrive in order: the first honest replica to commit h already committed 1..h-1.
  ITMO_CHECK(height == reference_roots_.size());
  ITMO_CHECK(reference_roots_.size() < kRoundsTrackedMax);
  crypto::Hasher hasher;
  hasher.Update(std::span<const uint8_t>(reference_roots_.back()));
  hasher.Update(std::span<const uint8_t>(id));
  reference_roots_.push_back(hasher.Finish());
}

void SafetyChecker::CheckCommittedState(uint32_t endpoint, const v1::BlockHeader& header) {
  const uint64_t executed = header.executed_height();
  if (executed >= header.height()) {
    Fail(endpoint, absl::StrCat("committed block at height ", header.height(),
                                " claims executed_height ", executed));
    return;
  }
  if (header.executed_state_root() != crypto::AsStringView(reference_roots_[executed])) {
    Fail(endpoint, absl::StrCat("committed block at height ", header.height(),
                                ": executed_state_root is not the application's root at height ",
                                executed, " (no agreement on state)"));
    return;
  }
  const uint64_t timestamp = static_cast<uint64_t>(std::max<int64_t>(0, header.timestamp_ms()));
  if (timestamp_bound_ms_ > 0 && timestamp > now_ms_ + timestamp_bound_ms_) {
    Fail(endpoint,
         absl::StrCat("committed block at height ", header.height(), " has timestamp ", timestamp,
                      "ms, more than ", timestamp_bound_ms_, "ms ahead of the clock"));
  }
}

void SafetyChecker::AfterStep(uint32_t endpoint, uint64_t committed_height) {
  ++checks_;
  EndpointChain& chain = last_[endpoint];
  if (committed_height < chain.max_committed_height) {
    Fail(endpoint, absl::StrCat("committed height decreased: ", chain.max_committed_height, " -> ",
                                committed_height));
  }
  if (committed_height != chain.height) {
    Fail(endpoint, absl::StrCat("replica reports committed height ", committed_height,
                                " but its Commit actions reached ", chain.height));
  }
  chain.max_committed_height = std::max(chain.max_committed_height, committed_height);
}

void SafetyChecker::Finish() {
  for (uint32_t e = 0; e < last_.size(); ++e) {
    if (!last_[e].last_direct) {
      Fail(e, absl::StrCat("newest commit (height ", last_[e].height,
                           ") was committed as an ancestor and never directly proven"));
    }
  }
}

}  // namespace itmo::sim
