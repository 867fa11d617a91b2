// File: consensus/replica.h
// Replica runs the 2-chain HotStuff protocol (Jolteon / DiemBFT v4) for one validator or observer.
// It is a deterministic state machine: the same events in the same order yield the same actions. It
// performs no I/O, reads no clock and uses no randomness; time arrives as Tick events. Not
// thread-safe: the node's consensus thread (or the simulator) owns it.
//
// Message flow: the leader of round r proposes a block carrying the QC of its parent (and the TC of
// round r - 1 when that round timed out); validators vote to the leader of r + 1, which forms the
// QC and proposes in r + 1. A round that does not end in a QC times out: validators broadcast
// signed timeouts with their high QC, and a quorum of them forms a TC that moves everyone to r + 1.
//
// Example:
//   Replica replica(options, recovered_state, &signer, &verifier, &app, RecoveredChain{});
//   ITMO_ASSIGN_OR_RETURN(std::vector<Action> actions, replica.Handle(Start{now_ms}));
//   for (Action& action : actions) Execute(action);  // In order; PersistSafetyState fsyncs first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "consensus/actions.h"
#include "consensus/block_tree.h"
#include "consensus/events.h"
#include "consensus/interfaces.h"
#include "consensus/limits.h"
#include "consensus/pacemaker.h"
#include "consensus/quorum.h"
#include "consensus/safety_rules.h"
#include "crypto/keys.h"
#include "crypto/verifier.h"
#include "itmo/v1/consensus.pb.h"

namespace itmo::consensus {

struct ReplicaOptions {
  std::string chain_id;
  uint64_t epoch = 0;
  std::vector<crypto::PublicKey> validators;  // Index = validator index; 1..kValidatorsMax.
  std::optional<uint32_t> my_index;           // nullopt: an observer (never votes or proposes).
  uint32_t round_timeout_ticks_base = 10;
  uint32_t round_timeout_ticks_max = 640;
  uint32_t block_txs_max = kBlockTxsMaxDefault;
  uint64_t block_bytes_max = kBlockBytesMaxDefault;
  Mutation mutation = Mutation::kNone;
  // Proposal pacing. 0: a leader proposes as soon as it may (the simulator's default). Otherwise a
  // leader with no transactions to propose, and no uncommitted transactions in the chain it
  // extends, waits up to this many ticks of its round for some before it proposes an empty block:
  // an idle network then commits a heartbeat block per round instead of spinning. REQUIRES: below
  // round_timeout_ticks_base, so that the followers' timers do not fire first.
  uint32_t empty_block_wait_ticks = 0;
  // A validator votes only for a block whose timestamp_ms is at most this far ahead of its own
  // clock (the now_ms of its last Start / Tick); one further ahead waits for the clock. In
  // [kTimestampAheadMsMin, kTimestampAheadMsMax] (issue 7, defect 5).
  uint64_t timestamp_ahead_ms_max = kTimestampAheadMsDefault;

  static constexpr uint32_t kBlockTxsMaxDefault = 2'000;
  static constexpr uint64_t kBlockBytesMaxDefault = 4ull << 20;
};

// What a restarted node has committed. `head` unset: nothing beyond genesis.
struct RecoveredChain {
  std::optional<v1::CommittedBlock> head;  // The highest committed block and its commit proof.
  // Optional: blocks of proposals the node stored (received or sent) above `head`, any order; the
  // replica verifies each and keeps those that link. Without them a network whose validators all
  // restart at once can lose the uncommitted blocks its highest QC certifies, and stall.
  std::vector<v1::Block> pending_blocks;
};

class Replica final {
 public:
  // REQUIRES: options valid (see ValidateOptions), verifier and app non-null and outliving this;
  // signer non-null iff options.my_index is set, and signer->public_key() ==
  // validators[*my_index]. `recovered` is the persisted SafetyState (default for a fresh node).
  Replica(const ReplicaOptions& options, v1::SafetyState recovered, const crypto::Signer* signer,
          const crypto::Verifier* verifier, Application* app, RecoveredChain chain);

  // Errors: kInvalidArgument naming the first bad option.
  static absl::Status ValidateOptions(const ReplicaOptions& options);

  // Returns the actions to execute, in order. On error the event is rejected and the replica's
  // state is unchanged (a bad message from a byzantine peer is dropped). Never CHECK-fails on peer
  // data.
  absl::StatusOr<std::vector<Action>> Handle(const Event& event);

  uint64_t round() const { return pacemaker_.round(); }
  // Whether this replica asked a peer for the block `id` and awaits it (the id came from a QC it
  // verified). The host indexes a retrieval response's blocks only when they answer such a
  // request, so unsolicited blocks never reach its bounded indexes.
  bool AwaitsBlock(const crypto::Digest& id) const { return requested_blocks_.contains(id); }
  uint64_t committed_height() const { return tree_.committed_height(); }
  const crypto::Digest& committed_id() const { return tree_.root_id(); }
  uint64_t high_qc_round() const { return tree_.high_qc().round(); }
  const v1::SafetyState& safety_state() const;
  bool is_observer() const { return !options_.my_index.has_value(); }
  const ValidatorSet& validator_set() const { return validators_; }
  const BlockTree& block_tree() const { return tree_; }

  // Aborts on a broken internal invariant; runs at the end of every Handle().
  void CheckInvariants() const;

 private:
  absl::Status HandleStart(const Start& start, std::vector<Action>* actions);
  absl::Status HandleTick(const Tick& tick, std::vector<Action>* actions);
  void HandleExecuted(const Executed& executed, std::vector<Action>* actions);
  void InsertRecoveredBlocks(std::vector<Action>* actions);
  absl::Status HandleMessage(const MessageReceived& message, std::vector<Action>* actions);
  absl::Status OnProposal(uint32_t from, const v1::Proposal& proposal,
                          std::vector<Action>* actions);
  absl::Status OnVote(uint32_t from, const v1::Vote& vote, std::vector<Action>* actions);
  absl::Status OnTimeout(uint32_t from, const v1::Timeout& timeout, std::vector<Action>* actions);
  absl::Status OnTc(const v1::TimeoutCertificate& tc, std::vector<Action>* actions);
  absl::Status OnSyncInfo(uint32_t from, const v1::SyncInfo& info, std::vector<Action>* actions);
  absl::Status OnBlockRequest(uint32_t from, const v1::BlockRetrievalRequest& request,
                              std::vector<Action>* actions);
  absl::Status OnBlockResponse(uint32_t from, const v1::BlockRetrievalResponse& response,
                               std::vector<Action>* actions);
  absl::Status OnSyncRequest(uint32_t from, const v1::SyncRequest& request,
                             std::vector<Action>* actions);
  absl::Status OnSyncResponse(uint32_t from, const v1::SyncResponse& response,
                              std::vector<Action>* actions);
  // Takes one token from `from`'s sync bucket. Errors: kResourceExhausted when it is empty (the
  // bucket is then left as it was).
  absl::Status TakeSyncToken(uint32_t from);

  // Checks that need no state: limits, payload digests, certificate signatures, round
  // justification.
  absl::Status VerifyBlock(const v1::Block& block, const crypto::Digest& id);
  absl::Status VerifySyncInfo(const v1::SyncInfo& info);
  // The state changes (no errors past this point).
  void ApplySyncInfo(const v1::SyncInfo& info, uint32_t from, std::vector<Action>* actions);
  void ProcessQc(const v1::QuorumCert& qc, uint32_t hint_peer, std::vector<Action>* actions);
  void ProcessTc(const v1::TimeoutCertificate& tc, std::vector<Action>* actions);
  void ProcessTimeout(const v1::Timeout& timeout, std::vector<Action>* actions);
  void AddVote(const v1::Vote& vote, std::vector<Action>* actions);
  // Inserts a verified block; emits KeepBlock for it when `keep` (not for recovered blocks).
  void InsertBlock(const v1::Block& block, std::vector<Action>* actions, bool keep = true);
  void AdvanceRound(std::vector<Action>* actions);
  void MaybePropose(std::vector<Action>* actions);
  // Whether a leader should hold back an empty proposal on `parent` (see empty_block_wait_ticks).
  bool ShouldWaitForTransactions(const v1::Block& parent) const;
  void MaybeVote(const v1::Block& block, const crypto::Digest& id, std::vector<Action>* actions);
  // Whether block's executed_state_root is this node's root at its executed_height. When the
  // application has not executed that far, notes the block in vote_awaiting_execution_ and, when
  // that height is not committed here either, asks the proposer for the committed blocks (false).
  bool ExecutedRootMatches(const v1::Block& block, const crypto::Digest& id,
                           std::vector<Action>* actions);
  // Whether block's timestamp is at most timestamp_ahead_ms_max ahead of now_ms_; if not, notes
  // the block in vote_awaiting_clock_ (HandleTick looks again).
  bool TimestampWithinBound(const v1::Block& block, const crypto::Digest& id);
  // Votes for the block in vote_awaiting_clock_ once the clock has caught up (round still on).
  void RetryVoteAwaitingClock(std::vector<Action>* actions);
  // Signs and broadcasts a timeout for the current round, or re-broadcasts the last one (no fsync)
  // when it is of this round or a later one.
  void SendTimeout(std::vector<Action>* actions);
  void RebroadcastTimeout(std::vector<Action>* actions);
  // PersistSafetyState of the current safety state; Flush only if it changed since the last one.
  void PersistSafetyStateNow(std::vector<Action>* actions);
  void FlushSafetyState(std::vector<Action>* actions);
  void EmitSigned(std::optional<uint32_t> to, v1::ConsensusMessage message,
                  std::vector<Action>* actions);
  void RequestBlock(const v1::QuorumCert& qc, uint32_t hint_peer, std::vector<Action>* actions);
  void RequestSync(uint32_t hint_peer, std::vector<Action>* actions);
  void RetryPendingProposal(std::vector<Action>* actions);
  // Whether the pending proposal's parent is below the committed root or on a fork at or below
  // it (it can never link). A parent that is the root itself is not stale.
  bool PendingProposalIsStale() const;
  v1::SyncInfo MakeSyncInfo() const;
  void EmitCommits(std::vector<v1::CommittedBlock> commits, std::vector<Action>* actions);
  uint32_t PeerFor(const v1::QuorumCert& qc, uint32_t hint_peer) const;
  uint32_t RotatingPeer(uint64_t seed) const;
  bool IsValidator(uint32_t peer) const { return peer < validators_.size(); }
  bool IsMe(uint32_t peer) const {
    return options_.my_index.has_value() && *options_.my_index == peer;
  }

  const ReplicaOptions options_;
  ValidatorSet validators_;
  std::optional<SafetyRules> safety_rules_;  // Unset for observers.
  v1::SafetyState observer_state_;           // What safety_state() returns for observers.
  Application* const app_;
  BlockTree tree_;
  Pacemaker pacemaker_;
  VoteCollector votes_;
  TimeoutCollector timeouts_;
  std::optional<v1::TimeoutCertificate> high_tc_;  // Also in the safety state (persisted).
  bool safety_dirty_ = false;  // The safety state changed after the last PersistSafetyState.
  v1::QuorumCert highest_commit_qc_;
  uint64_t emitted_height_ = 0;      // Height of the last Commit action (gap-free check).
  uint64_t proposed_round_ = 0;      // Highest round this replica proposed in.
  uint64_t timed_out_round_ = 0;     // Highest round this replica has broadcast a timeout for.
  uint64_t sync_target_height_ = 0;  // Highest committed height seen in a peer's certificate.
  uint64_t sync_requested_from_ =
      0;  // from_height of the last SyncRequest (0: none outstanding)...
  uint64_t sync_requested_round_ = 0;                           // ...and the round it was sent in.
  absl::btree_map<crypto::Digest, uint64_t> requested_blocks_;  // Outstanding retrieval -> round.
  std::optional<v1::Proposal> pending_proposal_;                // Waiting for its parent.
  // This replica's vote when it is also the next leader, counted after the event (no re-entrance).
  std::optional<v1::Vote> deferred_self_vote_;
  // The current round's proposal this replica would vote for once its application has executed
  // the proposal's executed_height (re-checked on Executed events).
  std::optional<crypto::Digest> vote_awaiting_execution_;
  // The current round's proposal stamped too far ahead of this replica's clock (re-checked on
  // every Tick while its round is on).
  std::optional<crypto::Digest> vote_awaiting_clock_;
  std::vector<v1::Block> recovered_blocks_;  // RecoveredChain::pending_blocks, inserted on Start.
  uint32_t pending_proposal_from_ = kFromNonValidator;
  // Per-peer SyncRequest token buckets (kSyncRequestsBurst, one token per kSyncRequestRefillMs):
  // index = validator index; the last entry is shared by every non-validator peer.
  struct SyncBucket {
    uint32_t tokens = kSyncRequestsBurst;
    int64_t refilled_ms = 0;  // now_ms_ when `tokens` was last brought up to date.
  };
  std::vector<SyncBucket> sync_buckets_;
  int64_t now_ms_ = 0;
};

}  // namespace itmo::consensus
