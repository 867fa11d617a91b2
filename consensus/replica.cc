#include "consensus/replica.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "consensus/canonical.h"
#include "consensus/limits.h"

namespace itmo::consensus {
namespace {

crypto::Digest IdOf(std::string_view bytes) {
  crypto::Digest id{};
  ITMO_CHECK(bytes.size() == id.size());
  std::copy(bytes.begin(), bytes.end(), id.begin());
  return id;
}

BlockTree MakeTree(const ReplicaOptions& options, const RecoveredChain& chain) {
  if (!chain.head.has_value()) {
    return BlockTree(GenesisBlock(options.chain_id, options.epoch),
                     GenesisQc(options.chain_id, options.epoch));
  }
  return BlockTree(chain.head->block(), chain.head->qc());
}

}  // namespace

absl::Status Replica::ValidateOptions(const ReplicaOptions& options) {
  if (options.validators.empty() || options.validators.size() > kValidatorsMax) {
    return absl::InvalidArgumentError(absl::StrCat("validators: ", options.validators.size(),
                                                   " not in [1, ", kValidatorsMax, "]"));
  }
  if (options.chain_id.empty() || options.chain_id.size() > kChainIdBytesMax) {
    return absl::InvalidArgumentError("chain_id: empty or too long");
  }
  if (options.my_index.has_value() && *options.my_index >= options.validators.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("my_index ", *options.my_index, " >= ", options.validators.size()));
  }
  if (options.round_timeout_ticks_base < kRoundTimeoutTicksMin ||
      options.round_timeout_ticks_base > options.round_timeout_ticks_max ||
      options.round_timeout_ticks_max > kRoundTimeoutTicksMax) {
    return absl::InvalidArgumentError(absl::StrCat("round timeout ticks: base ",
                                                   options.round_timeout_ticks_base, " max ",
                                                   options.round_timeout_ticks_max));
  }
  if (options.block_txs_max > kBlockTxsMax || options.block_bytes_max > kBlockBytesMax) {
    return absl::InvalidArgumentError("block_txs_max / block_bytes_max above the hard limits");
  }
  if (options.timestamp_ahead_ms_max < kTimestampAheadMsMin ||
      options.timestamp_ahead_ms_max > kTimestampAheadMsMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("timestamp_ahead_ms_max ", options.timestamp_ahead_ms_max, " not in [",
                     kTimestampAheadMsMin, ", ", kTimestampAheadMsMax, "]"));
  }
  if (options.empty_block_wait_ticks >= options.round_timeout_ticks_base) {
    return absl::InvalidArgumentError(
        absl::StrCat("empty_block_wait_ticks ", options.empty_block_wait_ticks,
                     " must be below round_timeout_ticks_base ", options.round_timeout_ticks_base));
  }
  return absl::OkStatus();
}

Replica::Replica(const ReplicaOptions& options, v1::SafetyState recovered,
                 const crypto::Signer* signer, const crypto::Verifier* verifier, Application* app,
                 RecoveredChain chain)
    : options_(options),
      validators_(options.chain_id, options.epoch, options.validators, verifier),
      app_(app),
      tree_(MakeTree(options, chain)),
      pacemaker_(options.round_timeout_ticks_base, options.round_timeout_ticks_max),
      votes_(&validators_),
      timeouts_(&validators_) {
  ITMO_CHECK(ValidateOptions(options).ok());
  ITMO_CHECK(app_ != nullptr);
  ITMO_CHECK(options.my_index.has_value() == (signer != nullptr));
  if (signer != nullptr) {
    ITMO_CHECK(signer->public_key() == options.validators[*options.my_index]);
    safety_rules_.emplace(
        SafetyRulesOptions{options.chain_id, options.epoch, *options.my_index, options.mutation},
        std::move(recovered), signer);
    proposed_round_ = safety_rules_->state().last_proposed_round();
  } else {
    observer_state_.set_epoch(options.epoch);
  }
  emitted_height_ = tree_.committed_height();
  sync_buckets_.resize(options.validators.size() + 1);
  // The high QC persisted with the safety state: with it a restarted validator can still sign the
  // timeouts its one_chain_round allows (its block is retrieved on Start).
  const v1::SafetyState& state = safety_state();
  if (state.has_high_qc() && state.high_qc().epoch() == options_.epoch &&
      state.high_qc().round() > tree_.committed_round() &&
      validators_.VerifyQc(state.high_qc()).ok()) {
    ITMO_CHECK(tree_.InsertQc(state.high_qc()).empty());  // Only the root is known: no commit.
  }
  // And the high TC: without it a network whose replicas all restart after rounds that ended by
  // TC resumes at high_qc.round + 1, below every replica's highest_timeout_round, where nobody may
  // time out or propose again (issue 7, defect 3).
  if (state.has_high_tc() && state.high_tc().epoch() == options_.epoch &&
      state.high_tc().round() > 0 && validators_.VerifyTc(state.high_tc()).ok()) {
    high_tc_ = state.high_tc();
  }
  highest_commit_qc_ = tree_.root_qc();
  if (chain.head.has_value() && chain.head->has_child_qc()) {
    highest_commit_qc_ = chain.head->qc();
  }
  const uint64_t tc_round = high_tc_.has_value() ? high_tc_->round() : 0;
  pacemaker_.AdvanceTo(std::max(tree_.high_qc().round(), tc_round) + 1, tree_.high_qc().round());
  ITMO_CHECK(pacemaker_.round() > tc_round);
  recovered_blocks_ = std::move(chain.pending_blocks);
  if (recovered_blocks_.size() > kPendingBlocksMax) recovered_blocks_.resize(kPendingBlocksMax);
  std::sort(recovered_blocks_.begin(), recovered_blocks_.end(),
            [](const v1::Block& a, const v1::Block& b) {
              return a.header().height() < b.header().height();
            });
  CheckInvariants();
}

void Replica::InsertRecoveredBlocks(std::vector<Action>* actions) {
  std::vector<v1::Block> blocks = std::move(recovered_blocks_);
  recovered_blocks_.clear();
  ITMO_CHECK(blocks.size() <= kPendingBlocksMax);
  for (const v1::Block& block : blocks) {
    const crypto::Digest id = BlockId(block);
    if (!VerifyBlock(block, id).ok() || !tree_.CheckInsert(block).ok()) continue;
    ProcessQc(block.qc(), kFromNonValidator, actions);
    InsertBlock(block, actions, /*keep=*/false);  // Already in the host's store.
  }
  ITMO_CHECK(recovered_blocks_.empty());
}

const v1::SafetyState& Replica::safety_state() const {
  return safety_rules_.has_value() ? safety_rules_->state() : observer_state_;
}

absl::StatusOr<std::vector<Action>> Replica::Handle(const Event& event) {
  std::vector<Action> actions;
  absl::Status status;
  if (const auto* start = std::get_if<Start>(&event)) {
    status = HandleStart(*start, &actions);
  } else if (const auto* tick = std::get_if<Tick>(&event)) {
    status = HandleTick(*tick, &actions);
  } else if (const auto* executed = std::get_if<Executed>(&event)) {
    HandleExecuted(*executed, &actions);
  } else {
    status = HandleMessage(std::get<MessageReceived>(event), &actions);
  }
  if (status.ok() && deferred_self_vote_.has_value()) {
    // At most one per event: with a single validator each event then advances one round.
    const v1::Vote vote = *std::move(deferred_self_vote_);
    deferred_self_vote_.reset();
    AddVote(vote, &actions);
  }
  // A safety-state change no signed message has covered yet (a higher TC) becomes durable too.
  if (status.ok()) FlushSafetyState(&actions);
  ITMO_CHECK(!status.ok() || !safety_dirty_);
  CheckInvariants();
  if (!status.ok()) return status;
  ITMO_CHECK(actions.size() <= kActionsMax);
  return actions;
}

void Replica::CheckInvariants() const {
  tree_.CheckInvariants();
  ITMO_CHECK(pacemaker_.round() > tree_.high_qc().round());
  ITMO_CHECK(!high_tc_.has_value() || pacemaker_.round() > high_tc_->round());
  ITMO_CHECK(emitted_height_ == tree_.committed_height());
  ITMO_CHECK(requested_blocks_.size() <= kRetrievalBlocksMax);
  ITMO_CHECK(sync_buckets_.size() == validators_.size() + 1);
  ITMO_CHECK(proposed_round_ <= pacemaker_.round());
  if (safety_rules_.has_value()) {
    const v1::SafetyState& state = safety_rules_->state();
    ITMO_CHECK(state.epoch() == options_.epoch);
    // The high TC this replica acts on is never above the one it persists.
    ITMO_CHECK(!high_tc_.has_value() || state.high_tc().round() >= high_tc_->round());
    // A vote or timeout is signed in the pacemaker's round, and the QC or TC that let the
    // pacemaker get there is persisted with it (high_qc, high_tc), so a restart resumes at or
    // above last_voted_round: SendTimeout never asks for a round SignTimeout must refuse.
    ITMO_CHECK(pacemaker_.round() >= state.last_voted_round());
  }
}

absl::Status Replica::HandleStart(const Start& start, std::vector<Action>* actions) {
  now_ms_ = std::max(now_ms_, start.now_ms);
  if (safety_rules_.has_value()) {
    // A restarted validator re-sends what it last signed: the same vote, never a different one.
    const v1::SafetyState& state = safety_rules_->state();
    if (state.has_last_vote() && state.last_vote().round() + 1 >= pacemaker_.round()) {
      const uint32_t leader = validators_.LeaderOf(state.last_vote().round() + 1);
      if (IsMe(leader)) {
        deferred_self_vote_ = state.last_vote();
      } else {
        v1::ConsensusMessage message;
        *message.mutable_vote() = state.last_vote();
        actions->push_back(SendTo{leader, std::move(message)});
      }
    }
    if (state.has_last_timeout() && state.last_timeout().round() >= pacemaker_.round()) {
      RebroadcastTimeout(actions);  // Often lost (peers not connected yet): again on every expiry.
    }
  }
  InsertRecoveredBlocks(actions);
  const v1::QuorumCert& high_qc = tree_.high_qc();
  if (!tree_.Contains(IdOf(high_qc.block_id())) && high_qc.height() > tree_.committed_height()) {
    RequestBlock(high_qc, kFromNonValidator, actions);
  }
  MaybePropose(actions);
  return absl::OkStatus();
}

absl::Status Replica::HandleTick(const Tick& tick, std::vector<Action>* actions) {
  now_ms_ = std::max(now_ms_, tick.now_ms);
  RetryVoteAwaitingClock(actions);  // Before the timer: a timeout would forbid the vote.
  if (!pacemaker_.OnTick()) {
    // A pacing leader that held back an empty proposal looks again on every tick.
    if (options_.empty_block_wait_ticks > 0) MaybePropose(actions);
    return absl::OkStatus();
  }
  // The round timer expired: forget outstanding requests so they may be re-sent, then time out.
  requested_blocks_.clear();
  sync_requested_from_ = 0;
  if (sync_target_height_ > tree_.committed_height() + kSyncLagBlocksMin) {
    RequestSync(kFromNonValidator, actions);
  }
  // A proposal whose parent is at or below the committed root can never link: drop it instead of
  // re-requesting a parent that nobody serves any more.
  if (PendingProposalIsStale()) pending_proposal_.reset();
  if (pending_proposal_.has_value()) {
    const v1::QuorumCert qc = pending_proposal_->block().qc();
    if (!tree_.Contains(IdOf(qc.block_id()))) {
      ITMO_CHECK(qc.height() > tree_.committed_height());  // Not stale.
      RequestBlock(qc, pending_proposal_from_, actions);
    }
  }
  SendTimeout(actions);
  return absl::OkStatus();
}

void Replica::HandleExecuted(const Executed& executed, std::vector<Action>* actions) {
  if (!vote_awaiting_execution_.has_value()) return;
  const crypto::Digest id = *vote_awaiting_execution_;
  vote_awaiting_execution_.reset();
  const v1::Block* block = tree_.Get(id);
  if (block == nullptr || block->header().round() != pacemaker_.round()) return;  // Moved on.
  ITMO_CHECK(block->header().executed_height() < block->header().height());       // Verified.
  if (block->header().executed_height() > executed.height) {
    vote_awaiting_execution_ = id;  // Still ahead of what has been executed.
    return;
  }
  const v1::Block copy = *block;
  MaybeVote(copy, id, actions);
}

absl::Status Replica::HandleMessage(const MessageReceived& received, std::vector<Action>* actions) {
  const v1::ConsensusMessage& message = received.message;
  if (message.ByteSizeLong() > kMessageBytesMax) {
    return absl::ResourceExhaustedError(
        absl::StrCat("message of ", message.ByteSizeLong(), " bytes > ", kMessageBytesMax));
  }
  const uint32_t from = received.from;
  if (IsMe(from)) return absl::InvalidArgumentError("message from this replica itself");
  switch (message.kind_case()) {
    case v1::ConsensusMessage::kProposal:
      return OnProposal(from, message.proposal(), actions);
    case v1::ConsensusMessage::kVote:
      return OnVote(from, message.vote(), actions);
    case v1::ConsensusMessage::kTimeout:
      return OnTimeout(from, message.timeout(), actions);
    case v1::ConsensusMessage::kTc:
      return OnTc(message.tc(), actions);
    case v1::ConsensusMessage::kSyncInfo:
      return OnSyncInfo(from, message.sync_info(), actions);
    case v1::ConsensusMessage::kBlockRequest:
      return OnBlockRequest(from, message.block_request(), actions);
    case v1::ConsensusMessage::kBlockResponse:
      return OnBlockResponse(from, message.block_response(), actions);
    case v1::ConsensusMessage::kSyncRequest:
      return OnSyncRequest(from, message.sync_request(), actions);
    case v1::ConsensusMessage::kSyncResponse:
      return OnSyncResponse(from, message.sync_response(), actions);
    case v1::ConsensusMessage::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("empty consensus message");
}

absl::Status Replica::VerifyBlock(const v1::Block& block, const crypto::Digest& id) {
  const v1::BlockHeader& header = block.header();
  if (header.epoch() != options_.epoch) {
    return absl::InvalidArgumentError(
        absl::StrCat("block epoch ", header.epoch(), " != ", options_.epoch));
  }
  if (header.executed_height() >= header.height()) {
    return absl::InvalidArgumentError(absl::StrCat("block executed_height ",
                                                   header.executed_height(),
                                                   " not below its height ", header.height()));
  }
  if (header.round() == 0 || header.round() <= block.qc().round()) {
    return absl::InvalidArgumentError(absl::StrCat("block round ", header.round(),
                                                   " not above its qc round ", block.qc().round()));
  }
  if (header.proposer() != validators_.LeaderOf(header.round())) {
    return absl::InvalidArgumentError(absl::StrCat("proposer ", header.proposer(),
                                                   " is not the leader of round ", header.round()));
  }
  if (block.txs_size() > static_cast<int>(options_.block_txs_max)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("block has ", block.txs_size(), " txs > ", options_.block_txs_max));
  }
  uint64_t bytes = 0;
  for (const std::string& tx : block.txs()) bytes += tx.size();
  if (bytes > options_.block_bytes_max) {
    return absl::ResourceExhaustedError(
        absl::StrCat("block has ", bytes, " tx bytes > ", options_.block_bytes_max));
  }
  if (header.payload_digest() != crypto::AsStringView(PayloadDigest(block.txs())) ||
      header.tx_root() != crypto::AsStringView(TxRoot(block.txs()))) {
    return absl::InvalidArgumentError("payload_digest or tx_root does not match the txs");
  }
  if (block.qc().block_id() != header.parent_id()) {
    return absl::InvalidArgumentError("block qc does not certify parent_id");
  }
  ITMO_RETURN_IF_ERROR(validators_.VerifyQc(block.qc()));
  if (block.has_tc()) {
    ITMO_RETURN_IF_ERROR(validators_.VerifyTc(block.tc()));
    if (header.round() != block.tc().round() + 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block round ", header.round(), " does not follow its tc round ", block.tc().round()));
    }
  } else if (header.round() != block.qc().round() + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("block round ", header.round(), " != qc round + 1 and no tc"));
  }
  ITMO_CHECK(BlockId(block) == id);
  return absl::OkStatus();
}

absl::Status Replica::VerifySyncInfo(const v1::SyncInfo& info) {
  if (info.has_high_qc()) ITMO_RETURN_IF_ERROR(validators_.VerifyQc(info.high_qc()));
  if (info.has_high_tc()) ITMO_RETURN_IF_ERROR(validators_.VerifyTc(info.high_tc()));
  if (info.has_highest_commit_qc()) {
    ITMO_RETURN_IF_ERROR(validators_.VerifyQc(info.highest_commit_qc()));
  }
  return absl::OkStatus();
}

void Replica::ApplySyncInfo(const v1::SyncInfo& info, uint32_t from, std::vector<Action>* actions) {
  if (info.has_highest_commit_qc()) {
    sync_target_height_ = std::max(sync_target_height_, info.highest_commit_qc().height());
    if (sync_target_height_ > tree_.committed_height() + kSyncLagBlocksMin) {
      RequestSync(from, actions);
    }
  }
  if (info.has_high_qc()) ProcessQc(info.high_qc(), from, actions);
  if (info.has_high_tc()) ProcessTc(info.high_tc(), actions);
}

absl::Status Replica::OnProposal(uint32_t from, const v1::Proposal& proposal,
                                 std::vector<Action>* actions) {
  const v1::Block& block = proposal.block();
  const crypto::Digest id = BlockId(block);
  ITMO_RETURN_IF_ERROR(VerifyBlock(block, id));
  ITMO_RETURN_IF_ERROR(validators_.VerifyProposalSignature(block, id, proposal.signature()));
  ITMO_RETURN_IF_ERROR(VerifySyncInfo(proposal.sync_info()));
  const absl::Status insertable = tree_.CheckInsert(block);
  if (!insertable.ok() && !absl::IsNotFound(insertable) && !absl::IsOutOfRange(insertable) &&
      !absl::IsResourceExhausted(insertable)) {
    return insertable;  // Does not extend its (known) parent.
  }
  ITMO_CHECK(block.header().round() > block.qc().round());
  // Past this point: state changes only, no errors.
  ApplySyncInfo(proposal.sync_info(), from, actions);
  ProcessQc(block.qc(), from, actions);
  if (block.has_tc()) ProcessTc(block.tc(), actions);
  if (tree_.Contains(IdOf(block.qc().block_id()))) {
    InsertBlock(block, actions);
    if (tree_.Contains(id)) MaybeVote(*tree_.Get(id), id, actions);
  } else if (block.header().round() >= pacemaker_.round() &&
             block.qc().height() > tree_.committed_height() &&
             block.qc().round() > tree_.committed_round()) {
    // Parent unknown (and not below the root, where it could never link): keep the proposal and
    // fetch the parent (ProcessQc asked for it).
    if (!pending_proposal_.has_value() ||
        pending_proposal_->block().header().round() <= block.header().round()) {
      pending_proposal_ = proposal;
      pending_proposal_from_ = from;
    }
  }
  return absl::OkStatus();
}

void Replica::InsertBlock(const v1::Block& block, std::vector<Action>* actions, bool keep) {
  const crypto::Digest id = BlockId(block);
  const bool known = tree_.Contains(id);
  if (!tree_.Insert(block).ok()) return;
  ITMO_CHECK(block.header().proposer() == validators_.LeaderOf(block.header().round()));
  // Verified (VerifyBlock) and new in the tree: a repeated proposal is not stored again.
  if (keep && !known) actions->push_back(KeepBlock{block});
  requested_blocks_.erase(id);
  EmitCommits(tree_.InsertQc(block.qc()), actions);
  // A QC for this block may have arrived before the block.
  if (const v1::QuorumCert* qc = tree_.QcFor(id); qc != nullptr && tree_.Contains(id)) {
    const v1::QuorumCert copy = *qc;
    EmitCommits(tree_.InsertQc(copy), actions);
  }
  ITMO_CHECK(tree_.Contains(id));  // Commits prune only blocks that do not descend from the root.
  ITMO_CHECK(emitted_height_ == tree_.committed_height());
  AdvanceRound(actions);  // In case the block's QC was the highest seen.
  MaybePropose(actions);
}

void Replica::MaybeVote(const v1::Block& block, const crypto::Digest& id,
                        std::vector<Action>* actions) {
  if (!safety_rules_.has_value()) return;
  if (block.header().round() != pacemaker_.round()) return;
  if (!TimestampWithinBound(block, id)) return;
  if (!ExecutedRootMatches(block, id, actions)) return;
  if (!app_->ValidateProposal(block).ok()) return;
  const v1::Block* parent = tree_.Get(IdOf(block.header().parent_id()));
  ITMO_CHECK(parent != nullptr);
  safety_rules_->ObservePreferredRound(parent->qc().round());
  absl::StatusOr<v1::Vote> vote = safety_rules_->SignVote(block, id);
  if (!vote.ok()) return;
  ITMO_CHECK(vote->round() == block.header().round());
  const uint32_t next_leader = validators_.LeaderOf(vote->round() + 1);
  if (IsMe(next_leader)) {
    PersistSafetyStateNow(actions);
    deferred_self_vote_ = *std::move(vote);
    return;
  }
  v1::ConsensusMessage message;
  *message.mutable_vote() = *std::move(vote);
  EmitSigned(next_leader, std::move(message), actions);
}

bool Replica::ExecutedRootMatches(const v1::Block& block, const crypto::Digest& id,
                                  std::vector<Action>* actions) {
  const v1::BlockHeader& header = block.header();
  ITMO_CHECK(header.executed_height() < header.height());  // VerifyBlock.
  const std::optional<crypto::Digest> root = app_->ExecutedRootAt(header.executed_height());
  if (!root.has_value()) {
    // This node has not executed that far yet (it lags, or syncs): vote once it has, if the round
    // is still on (HandleExecuted). The proposal itself is kept (it is in the tree).
    vote_awaiting_execution_ = id;
    if (header.executed_height() > tree_.committed_height()) {
      // Not even committed here: the commit that the proposer executed may be proven only on a
      // fork this replica never saw, and a majority of lagging voters would then refuse every
      // such leader for good. Fetch the committed blocks (with their proofs) from the proposer.
      ITMO_CHECK(header.proposer() < validators_.size());
      RequestSync(header.proposer(), actions);
    }
    return false;
  }
  if (vote_awaiting_execution_ == id) vote_awaiting_execution_.reset();
  return header.executed_state_root() == crypto::AsStringView(*root);
}

bool Replica::TimestampWithinBound(const v1::Block& block, const crypto::Digest& id) {
  ITMO_CHECK(options_.timestamp_ahead_ms_max >= kTimestampAheadMsMin);
  const uint64_t now_ms = now_ms_ > 0 ? static_cast<uint64_t>(now_ms_) : 0;
  const uint64_t timestamp_ms = block.header().timestamp_ms();
  if (timestamp_ms <= now_ms || timestamp_ms - now_ms <= options_.timestamp_ahead_ms_max) {
    if (vote_awaiting_clock_ == id) vote_awaiting_clock_.reset();
    return true;
  }
  // Too far ahead of this clock: a byzantine leader moving ledger time forward, or this clock is
  // behind. Not a vote now; if this clock is the one behind, a later tick catches up.
  vote_awaiting_clock_ = id;
  return false;
}

void Replica::RetryVoteAwaitingClock(std::vector<Action>* actions) {
  if (!vote_awaiting_clock_.has_value()) return;
  const crypto::Digest id = *vote_awaiting_clock_;
  const v1::Block* block = tree_.Get(id);
  if (block == nullptr || block->header().round() != pacemaker_.round()) {
    vote_awaiting_clock_.reset();  // Moved on.
    return;
  }
  const uint64_t now_ms = now_ms_ > 0 ? static_cast<uint64_t>(now_ms_) : 0;
  const uint64_t timestamp_ms = block->header().timestamp_ms();
  if (timestamp_ms > now_ms && timestamp_ms - now_ms > options_.timestamp_ahead_ms_max) return;
  ITMO_CHECK(block->header().round() == pacemaker_.round());
  const v1::Block copy = *block;
  MaybeVote(copy, id, actions);
}

void Replica::EmitSigned(std::optional<uint32_t> to, v1::ConsensusMessage message,
                         std::vector<Action>* actions) {
  ITMO_CHECK(safety_rules_.has_value());
  ITMO_CHECK(!to.has_value() || !IsMe(*to));
  Action send = to.has_value() ? Action(SendTo{*to, std::move(message)})
                               : Action(Broadcast{std::move(message)});
  if (options_.mutation == Mutation::kPersistAfterSend) {
    actions->push_back(std::move(send));
    PersistSafetyStateNow(actions);
    return;
  }
  PersistSafetyStateNow(actions);       // The node fsyncs this first...
  actions->push_back(std::move(send));  // ...then sends.
}

void Replica::PersistSafetyStateNow(std::vector<Action>* actions) {
  ITMO_CHECK(safety_rules_.has_value());
  actions->push_back(PersistSafetyState{safety_rules_->state()});
  safety_dirty_ = false;
}

void Replica::FlushSafetyState(std::vector<Action>* actions) {
  if (!safety_dirty_) return;
  PersistSafetyStateNow(actions);
  ITMO_CHECK(!safety_dirty_);
}

absl::Status Replica::OnVote(uint32_t from, const v1::Vote& vote, std::vector<Action>* actions) {
  if (IsValidator(from) && from != vote.voter()) {
    return absl::InvalidArgumentError(
        absl::StrCat("vote of validator ", vote.voter(), " sent by ", from));
  }
  ITMO_RETURN_IF_ERROR(validators_.VerifyVote(vote));
  if (!IsMe(validators_.LeaderOf(vote.round() + 1))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vote for round ", vote.round(), " sent to a replica that is not its next leader"));
  }
  if (vote.round() > pacemaker_.round() + kCollectorRoundsMax / 2) {
    return absl::ResourceExhaustedError(
        absl::StrCat("vote round ", vote.round(), " too far above ", pacemaker_.round()));
  }
  ITMO_CHECK(vote.voter() < validators_.size());  // Verified above.
  ITMO_CHECK(vote.epoch() == options_.epoch);
  AddVote(vote, actions);
  return absl::OkStatus();
}

void Replica::AddVote(const v1::Vote& vote, std::vector<Action>* actions) {
  if (vote.round() + 1 < pacemaker_.round()) return;  // Old: its round has ended.
  absl::StatusOr<std::optional<v1::QuorumCert>> qc = votes_.Add(vote);
  if (!qc.ok() || !qc->has_value()) return;
  ITMO_CHECK((*qc)->round() == vote.round());
  ProcessQc(**qc, kFromNonValidator, actions);
}

absl::Status Replica::OnTimeout(uint32_t from, const v1::Timeout& timeout,
                                std::vector<Action>* actions) {
  if (IsValidator(from) && from != timeout.signer()) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout of validator ", timeout.signer(), " sent by ", from));
  }
  ITMO_RETURN_IF_ERROR(validators_.VerifyTimeout(timeout));
  if (timeout.has_high_tc()) ITMO_RETURN_IF_ERROR(validators_.VerifyTc(timeout.high_tc()));
  ITMO_CHECK(timeout.high_qc().round() < timeout.round());  // Verified above.
  ITMO_CHECK(timeout.signer() < validators_.size());
  ProcessQc(timeout.high_qc(), from, actions);
  if (timeout.has_high_tc()) ProcessTc(timeout.high_tc(), actions);
  ProcessTimeout(timeout, actions);
  return absl::OkStatus();
}

void Replica::ProcessTimeout(const v1::Timeout& timeout, std::vector<Action>* actions) {
  if (timeout.round() < pacemaker_.round()) return;
  if (timeout.round() > pacemaker_.round() + kCollectorRoundsMax / 2) return;
  absl::StatusOr<std::optional<v1::TimeoutCertificate>> tc = timeouts_.Add(timeout);
  if (!tc.ok()) return;
  if (tc->has_value()) {
    const v1::TimeoutCertificate cert = **tc;
    ProcessTc(cert, actions);
    const uint32_t next_leader = validators_.LeaderOf(cert.round() + 1);
    if (!IsMe(next_leader)) {
      FlushSafetyState(actions);  // The TC is durable here before it leaves.
      v1::ConsensusMessage message;
      *message.mutable_tc() = cert;
      actions->push_back(SendTo{next_leader, std::move(message)});
    }
    return;
  }
  // f + 1 timeouts for this round: at least one honest validator gave up on it, so join them,
  // once: re-joining on every further timeout would fsync and broadcast O(n) times per replica.
  if (timeout.round() == pacemaker_.round() && timed_out_round_ < timeout.round() &&
      timeouts_.SignersOf(timeout.round()) > validators_.faults_max()) {
    SendTimeout(actions);
  }
}

void Replica::SendTimeout(std::vector<Action>* actions) {
  if (!safety_rules_.has_value()) return;
  const uint64_t round = pacemaker_.round();
  const v1::SafetyState& state = safety_rules_->state();
  if (state.has_last_timeout() && state.last_timeout().round() >= round) {
    // Already timed out in this round (or, from an older persisted state, a later one): send the
    // same timeout again, with no new fsync. Once per timer expiry, so with the timer's backoff.
    RebroadcastTimeout(actions);
    return;
  }
  const v1::TimeoutCertificate* tc = high_tc_.has_value() ? &*high_tc_ : nullptr;
  absl::StatusOr<v1::Timeout> timeout = safety_rules_->SignTimeout(round, tree_.high_qc(), tc);
  if (!timeout.ok()) return;
  ITMO_CHECK(timeout->round() == round);
  ITMO_CHECK(timed_out_round_ < round);  // Its last timeout is of a lower round (checked above).
  timed_out_round_ = round;
  ITMO_CHECK(safety_rules_->state().highest_timeout_round() == round);
  v1::ConsensusMessage message;
  *message.mutable_timeout() = *timeout;
  if (high_tc_.has_value()) *message.mutable_timeout()->mutable_high_tc() = *high_tc_;
  EmitSigned(std::nullopt, std::move(message), actions);
  ProcessTimeout(*timeout, actions);
}

void Replica::RebroadcastTimeout(std::vector<Action>* actions) {
  ITMO_CHECK(safety_rules_.has_value());
  const v1::Timeout last = safety_rules_->state().last_timeout();
  ITMO_CHECK(last.round() > 0);
  ITMO_CHECK(last.round() == safety_rules_->state().highest_timeout_round());
  timed_out_round_ = std::max(timed_out_round_, last.round());
  v1::ConsensusMessage message;
  *message.mutable_timeout() = last;
  if (high_tc_.has_value()) *message.mutable_timeout()->mutable_high_tc() = *high_tc_;
  // No PersistSafetyState: `last` became durable before it was first sent.
  actions->push_back(Broadcast{std::move(message)});
  // Count it here too: a restarted replica's collector is empty (a duplicate is ignored).
  ProcessTimeout(last, actions);
}

absl::Status Replica::OnTc(const v1::TimeoutCertificate& tc, std::vector<Action>* actions) {
  ITMO_RETURN_IF_ERROR(validators_.VerifyTc(tc));
  ProcessTc(tc, actions);
  return absl::OkStatus();
}

absl::Status Replica::OnSyncInfo(uint32_t from, const v1::SyncInfo& info,
                                 std::vector<Action>* actions) {
  ITMO_RETURN_IF_ERROR(VerifySyncInfo(info));
  ApplySyncInfo(info, from, actions);
  return absl::OkStatus();
}

void Replica::ProcessQc(const v1::QuorumCert& qc, uint32_t hint_peer,
                        std::vector<Action>* actions) {
  ITMO_CHECK(qc.epoch() == options_.epoch);
  if (qc.round() <= tree_.committed_round()) return;
  const crypto::Digest id = IdOf(qc.block_id());
  EmitCommits(tree_.InsertQc(qc), actions);
  if (!tree_.Contains(id) && qc.round() > tree_.committed_round()) {
    if (qc.height() > tree_.committed_height() + kSyncLagBlocksMin) {
      sync_target_height_ = std::max(sync_target_height_, qc.height() - 2);
      RequestSync(hint_peer, actions);
    } else {
      RequestBlock(qc, hint_peer, actions);
    }
  }
  AdvanceRound(actions);
}

void Replica::ProcessTc(const v1::TimeoutCertificate& tc, std::vector<Action>* actions) {
  ITMO_CHECK(tc.epoch() == options_.epoch);
  ITMO_CHECK(tc.round() > 0);
  if (!high_tc_.has_value() || high_tc_->round() < tc.round()) {
    high_tc_ = tc;
    // Persisted (at the latest at the end of this Handle) so that a restart resumes after it.
    if (safety_rules_.has_value() && safety_rules_->ObserveHighTc(tc)) safety_dirty_ = true;
  }
  AdvanceRound(actions);
}

void Replica::AdvanceRound(std::vector<Action>* actions) {
  const uint64_t qc_round = tree_.high_qc().round();
  const uint64_t tc_round = high_tc_.has_value() ? high_tc_->round() : 0;
  const uint64_t round = std::max(qc_round, tc_round) + 1;
  if (!pacemaker_.AdvanceTo(round, qc_round)) return;
  ITMO_CHECK(pacemaker_.round() == round);
  ITMO_CHECK(round > qc_round);
  votes_.PruneBelow(round - 1);
  timeouts_.PruneBelow(round);
  if (pending_proposal_.has_value() && pending_proposal_->block().header().round() < round) {
    pending_proposal_.reset();
  }
  MaybePropose(actions);
}

void Replica::MaybePropose(std::vector<Action>* actions) {
  if (!safety_rules_.has_value()) return;
  const uint64_t round = pacemaker_.round();
  if (!IsMe(validators_.LeaderOf(round)) || proposed_round_ >= round) return;
  const v1::QuorumCert high_qc = tree_.high_qc();
  const v1::Block* parent = tree_.Get(IdOf(high_qc.block_id()));
  if (parent == nullptr) return;  // Retrieval of the certified block is under way.
  const bool after_tc = round != high_qc.round() + 1;
  if (after_tc && (!high_tc_.has_value() || high_tc_->round() + 1 != round)) return;
  std::vector<std::string> txs = app_->Payload(parent->header().height() + 1,
                                               options_.block_txs_max, options_.block_bytes_max);
  // After a TC the round must make progress at once; otherwise an idle leader may wait.
  if (txs.empty() && !after_tc && ShouldWaitForTransactions(*parent)) return;
  v1::Block block;
  v1::BlockHeader* header = block.mutable_header();
  header->set_parent_id(high_qc.block_id());
  header->set_round(round);
  header->set_height(parent->header().height() + 1);
  header->set_epoch(options_.epoch);
  header->set_proposer(*options_.my_index);
  header->set_timestamp_ms(std::max(now_ms_, parent->header().timestamp_ms()));
  uint64_t bytes = 0;
  for (std::string& tx : txs) {
    if (block.txs_size() >= static_cast<int>(options_.block_txs_max)) break;
    if (bytes + tx.size() > options_.block_bytes_max) break;
    bytes += tx.size();
    block.add_txs(std::move(tx));
  }
  header->set_payload_digest(std::string(crypto::AsStringView(PayloadDigest(block.txs()))));
  header->set_tx_root(std::string(crypto::AsStringView(TxRoot(block.txs()))));
  const ExecutedHead executed = app_->executed_head();
  header->set_executed_height(executed.height);
  header->set_executed_state_root(std::string(crypto::AsStringView(executed.state_root)));
  *block.mutable_qc() = high_qc;
  if (after_tc) *block.mutable_tc() = *high_tc_;
  const crypto::Digest id = BlockId(block);
  if (!tree_.CheckInsert(block).ok()) return;  // E.g. the pending-block limit is reached.
  absl::StatusOr<std::string> signature = safety_rules_->SignProposal(block, id);
  if (!signature.ok()) return;
  proposed_round_ = round;
  ITMO_CHECK(safety_rules_->state().last_proposed_round() == round);
  v1::ConsensusMessage message;
  v1::Proposal* proposal = message.mutable_proposal();
  *proposal->mutable_block() = block;
  *proposal->mutable_sync_info() = MakeSyncInfo();
  proposal->set_signature(*std::move(signature));
  ITMO_CHECK(tree_.Insert(block).ok());
  ITMO_CHECK(tree_.Contains(id));
  // The leader signs its own vote first, so that one fsync covers it and the proposed round.
  std::vector<Action> vote_actions;
  MaybeVote(*tree_.Get(id), id, &vote_actions);
  const bool vote_persist_first =
      !vote_actions.empty() && std::holds_alternative<PersistSafetyState>(vote_actions.front());
  // last_proposed_round (with the vote and the TC that justifies the block) is durable before the
  // proposal leaves: a leader that crashes after the send never proposes again in this round
  // (issue 7, defect 6).
  actions->push_back(KeepBlock{block});  // Stored before the persist that covers it (one WAL sync).
  PersistSafetyStateNow(actions);
  actions->push_back(Broadcast{std::move(message)});
  for (size_t i = vote_persist_first ? 1 : 0; i < vote_actions.size(); ++i) {
    actions->push_back(std::move(vote_actions[i]));
  }
}

bool Replica::ShouldWaitForTransactions(const v1::Block& parent) const {
  if (options_.empty_block_wait_ticks == 0) return false;
  if (pacemaker_.elapsed_ticks() >= options_.empty_block_wait_ticks) return false;
  // A block with transactions above the committed root commits only once two more blocks are
  // certified on top of it: keep proposing (empty blocks if need be) until it does.
  const v1::Block* block = &parent;
  for (size_t i = 0; i < kPendingBlocksMax && block != nullptr; ++i) {
    if (block->header().height() <= tree_.committed_height()) return true;
    if (block->txs_size() > 0) return false;
    block = tree_.Get(IdOf(block->header().parent_id()));
  }
  return false;  // The chain down to the root is not all here: do not hold anything back.
}

v1::SyncInfo Replica::MakeSyncInfo() const {
  v1::SyncInfo info;
  *info.mutable_high_qc() = tree_.high_qc();
  if (high_tc_.has_value()) *info.mutable_high_tc() = *high_tc_;
  *info.mutable_highest_commit_qc() = highest_commit_qc_;
  return info;
}

void Replica::EmitCommits(std::vector<v1::CommittedBlock> commits, std::vector<Action>* actions) {
  for (v1::CommittedBlock& committed : commits) {
    const uint64_t height = committed.block().header().height();
    ITMO_CHECK(height == emitted_height_ + 1);
    emitted_height_ = height;
    highest_commit_qc_ = committed.qc();
    actions->push_back(Commit{std::move(committed)});
  }
  ITMO_CHECK(emitted_height_ == tree_.committed_height());
}

}  // namespace itmo::consensus
