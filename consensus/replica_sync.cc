// Replica: retrieval of missing blocks by id, and sync of committed blocks with their proofs.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "consensus/canonical.h"
#include "consensus/limits.h"
#include "consensus/replica.h"

namespace itmo::consensus {
namespace {

absl::StatusOr<crypto::Digest> IdFrom(std::string_view bytes) {
  if (bytes.size() != crypto::kDigestBytes) {
    return absl::InvalidArgumentError(absl::StrCat("block id of ", bytes.size(), " bytes"));
  }
  crypto::Digest id{};
  std::copy(bytes.begin(), bytes.end(), id.begin());
  return id;
}

// Whether a response already holding `*bytes` bytes of blocks takes one of `block_bytes` more (with
// its framing) within kResponseBytesMax; the first block always fits (limits.h static_asserts it
// for every valid block). Adds it to `*bytes` when it does.
bool TakeIntoResponse(uint64_t block_bytes, bool first, uint64_t* bytes) {
  constexpr uint64_t kFramingBytes = 8;  // Field tag and length of one repeated block.
  const uint64_t next = *bytes + block_bytes + kFramingBytes;
  if (!first && next > kResponseBytesMax) return false;
  *bytes = next;
  ITMO_CHECK(*bytes >= block_bytes);
  return true;
}

}  // namespace

uint32_t Replica::PeerFor(const v1::QuorumCert& qc, uint32_t hint_peer) const {
  if (IsValidator(hint_peer) && !IsMe(hint_peer)) return hint_peer;
  if (qc.signers().size() == (validators_.size() + 7) / 8) {
    for (uint32_t signer : BitmapSigners(qc.signers())) {
      if (IsValidator(signer) && !IsMe(signer)) return signer;
    }
  }
  const uint32_t leader = validators_.LeaderOf(pacemaker_.round());
  if (!IsMe(leader)) return leader;
  const uint32_t other = (leader + 1) % validators_.size();
  ITMO_CHECK(!IsMe(other) || validators_.size() == 1);
  return other;
}

uint32_t Replica::RotatingPeer(uint64_t seed) const {
  const uint32_t n = validators_.size();
  uint32_t peer = static_cast<uint32_t>(seed % n);
  if (IsMe(peer)) peer = (peer + 1) % n;
  ITMO_CHECK(peer < n);
  ITMO_CHECK(!IsMe(peer) || n == 1);
  return peer;
}

void Replica::RequestBlock(const v1::QuorumCert& qc, uint32_t hint_peer,
                           std::vector<Action>* actions) {
  if (validators_.size() == 1 && !is_observer()) return;  // Nobody to ask.
  // A block at or below the committed root is either committed (and pruned) or on a dead fork:
  // never retrievable by id. Such a QC can come from a peer (a stale proposal's parent), so this is
  // a silent no-op, never a CHECK.
  if (qc.height() <= tree_.committed_height() || qc.round() <= tree_.committed_round()) return;
  absl::StatusOr<crypto::Digest> id = IdFrom(qc.block_id());
  if (!id.ok()) return;  // Unreachable for a verified QC; peer data never CHECK-fails.
  const uint64_t round = pacemaker_.round();
  if (auto it = requested_blocks_.find(*id);
      it != requested_blocks_.end() && round < it->second + kRequestRetryRounds) {
    return;  // Outstanding.
  }
  if (!requested_blocks_.contains(*id) && requested_blocks_.size() >= kRetrievalBlocksMax) {
    auto oldest = requested_blocks_.begin();
    for (auto it = requested_blocks_.begin(); it != requested_blocks_.end(); ++it) {
      if (it->second < oldest->second) oldest = it;
    }
    requested_blocks_.erase(oldest);
  }
  const uint64_t missing = qc.height() - tree_.committed_height();
  ITMO_CHECK(missing >= 1);
  ITMO_CHECK(requested_blocks_.size() < kRetrievalBlocksMax || requested_blocks_.contains(*id));
  // A retry asks someone else: the peers rotate with the round.
  const bool retry = requested_blocks_.contains(*id);
  requested_blocks_[*id] = round;
  v1::ConsensusMessage message;
  v1::BlockRetrievalRequest* request = message.mutable_block_request();
  request->set_block_id(qc.block_id());
  request->set_count(static_cast<uint32_t>(std::min<uint64_t>(missing, kRetrievalBlocksMax)));
  actions->push_back(
      SendTo{retry ? RotatingPeer(round) : PeerFor(qc, hint_peer), std::move(message)});
}

void Replica::RequestSync(uint32_t hint_peer, std::vector<Action>* actions) {
  if (validators_.size() == 1 && !is_observer()) return;
  const uint64_t from_height = tree_.committed_height() + 1;
  const bool retry = sync_requested_from_ == from_height;
  if (retry && pacemaker_.round() < sync_requested_round_ + kRequestRetryRounds) {
    return;  // Outstanding.
  }
  sync_requested_from_ = from_height;
  sync_requested_round_ = pacemaker_.round();
  v1::ConsensusMessage message;
  message.mutable_sync_request()->set_from_height(from_height);
  message.mutable_sync_request()->set_count(kSyncBlocksMax);
  actions->push_back(
      SendTo{retry ? RotatingPeer(pacemaker_.round()) : PeerFor(v1::QuorumCert(), hint_peer),
             std::move(message)});
  ITMO_CHECK(sync_requested_from_ > tree_.committed_height());
}

absl::Status Replica::OnBlockRequest(uint32_t from, const v1::BlockRetrievalRequest& request,
                                     std::vector<Action>* actions) {
  if (from == kFromNonValidator) return absl::InvalidArgumentError("request from an unknown peer");
  ITMO_ASSIGN_OR_RETURN(const crypto::Digest id, IdFrom(request.block_id()));
  const uint32_t count = std::clamp<uint32_t>(request.count(), 1, kRetrievalBlocksMax);
  std::vector<v1::Block> blocks = tree_.Ancestry(id, count);
  ITMO_CHECK(blocks.size() <= count);
  v1::ConsensusMessage message;
  v1::BlockRetrievalResponse* response = message.mutable_block_response();
  response->set_block_id(request.block_id());
  response->set_status(blocks.empty() ? v1::RETRIEVAL_NOT_FOUND : v1::RETRIEVAL_SUCCEEDED);
  uint64_t bytes = 0;
  for (v1::Block& block : blocks) {
    // Newest first: a shorter chain still links further once the requester asks for the rest.
    if (!TakeIntoResponse(block.ByteSizeLong(), response->blocks_size() == 0, &bytes)) break;
    *response->add_blocks() = std::move(block);
  }
  ITMO_CHECK(response->blocks_size() <= static_cast<int>(count));
  actions->push_back(SendTo{from, std::move(message)});
  return absl::OkStatus();
}

absl::Status Replica::OnBlockResponse(uint32_t from, const v1::BlockRetrievalResponse& response,
                                      std::vector<Action>* actions) {
  ITMO_ASSIGN_OR_RETURN(const crypto::Digest requested, IdFrom(response.block_id()));
  if (!requested_blocks_.contains(requested)) {
    return absl::FailedPreconditionError("unsolicited block retrieval response");
  }
  if (response.blocks_size() > static_cast<int>(kRetrievalBlocksMax)) {
    return absl::ResourceExhaustedError(
        absl::StrCat(response.blocks_size(), " blocks > ", kRetrievalBlocksMax));
  }
  // Verify the whole chain before changing anything: blocks[0] is the requested block, each next
  // one the parent of the previous.
  crypto::Digest expected = requested;
  int link = -1;       // Newest-first index of the oldest block whose parent we already have.
  int verified = 0;    // Blocks verified (the rest of the response is ignored).
  bool known = false;  // The requested block is already in the tree.
  for (int i = 0; i < response.blocks_size(); ++i) {
    const v1::Block& block = response.blocks(i);
    const crypto::Digest id = BlockId(block);
    if (id != expected) {
      return absl::InvalidArgumentError(
          absl::StrCat("retrieved block ", i, " is not the one asked"));
    }
    ITMO_RETURN_IF_ERROR(VerifyBlock(block, id));
    if (i > 0) ITMO_RETURN_IF_ERROR(CheckExtends(response.blocks(i - 1), block));
    verified = i + 1;
    if (tree_.Contains(id)) {
      known = true;  // Only possible for i == 0: a known parent ends the walk below.
      break;
    }
    ITMO_ASSIGN_OR_RETURN(expected, IdFrom(block.header().parent_id()));
    if (tree_.Contains(expected)) {
      ITMO_RETURN_IF_ERROR(tree_.CheckInsert(block));
      link = i;
      break;
    }
  }
  requested_blocks_.erase(requested);
  if (link < 0) {
    if (response.blocks_size() == 0) {
      // RETRIEVAL_NOT_FOUND: peers serve retrieval only down to their committed root, so the block
      // asked for is most likely committed (and pruned) there. Fetch the committed blocks with
      // their proofs instead, whatever the lag (RequestSync dedups and rate-limits).
      RequestSync(from, actions);
      return absl::OkStatus();
    }
    // Not linked yet: ask for the ancestors of the oldest verified block, if it is above the root
    // (RequestBlock ignores anything at or below it).
    ITMO_CHECK(verified >= 1 && verified <= response.blocks_size());
    if (!known) RequestBlock(response.blocks(verified - 1).qc(), from, actions);
    return absl::OkStatus();
  }
  for (int i = link; i >= 0; --i) InsertBlock(response.blocks(i), actions);
  RetryPendingProposal(actions);
  return absl::OkStatus();
}

bool Replica::PendingProposalIsStale() const {
  if (!pending_proposal_.has_value()) return false;
  const v1::QuorumCert& qc = pending_proposal_->block().qc();
  if (qc.block_id() == crypto::AsStringView(tree_.root_id()))
    return false;  // Its parent is the root.
  return qc.height() <= tree_.committed_height() || qc.round() <= tree_.committed_round();
}

void Replica::RetryPendingProposal(std::vector<Action>* actions) {
  if (PendingProposalIsStale()) pending_proposal_.reset();
  if (!pending_proposal_.has_value()) return;
  absl::StatusOr<crypto::Digest> parent = IdFrom(pending_proposal_->block().header().parent_id());
  if (!parent.ok() || !tree_.Contains(*parent)) return;
  const v1::Proposal proposal = *std::move(pending_proposal_);
  pending_proposal_.reset();
  OnProposal(pending_proposal_from_, proposal, actions).IgnoreError();
}

absl::Status Replica::OnSyncRequest(uint32_t from, const v1::SyncRequest& request,
                                    std::vector<Action>* actions) {
  if (from == kFromNonValidator) return absl::InvalidArgumentError("request from an unknown peer");
  if (request.from_height() == 0) return absl::InvalidArgumentError("sync from height 0");
  ITMO_RETURN_IF_ERROR(TakeSyncToken(from));  // Before any disk read (issue 7, defect 4).
  const uint32_t count = std::clamp<uint32_t>(request.count(), 1, kSyncBlocksMax);
  std::vector<v1::CommittedBlock> blocks =
      app_->CommittedRange(request.from_height(), count, kResponseBytesMax);
  v1::ConsensusMessage message;
  v1::SyncResponse* response = message.mutable_sync_response();
  uint64_t bytes = 0;
  for (size_t i = 0; i < blocks.size() && i < count; ++i) {
    // Bounded by bytes here too, whatever the application returned.
    if (!TakeIntoResponse(blocks[i].ByteSizeLong(), i == 0, &bytes)) break;
    *response->add_blocks() = std::move(blocks[i]);
  }
  ITMO_CHECK(response->blocks_size() <= static_cast<int>(kSyncBlocksMax));
  actions->push_back(SendTo{from, std::move(message)});
  return absl::OkStatus();
}

absl::Status Replica::TakeSyncToken(uint32_t from) {
  ITMO_CHECK(from != kFromNonValidator);
  ITMO_CHECK(sync_buckets_.size() == validators_.size() + 1);
  SyncBucket& bucket = sync_buckets_[IsValidator(from) ? from : validators_.size()];
  // now_ms_ never decreases (Start / Tick take the max); elapsed is clamped anyway.
  const int64_t elapsed_ms = std::max<int64_t>(0, now_ms_ - bucket.refilled_ms);
  const int64_t refill = elapsed_ms / kSyncRequestRefillMs;
  const uint32_t tokens = static_cast<uint32_t>(std::min<int64_t>(
      kSyncRequestsBurst, bucket.tokens + std::min<int64_t>(refill, kSyncRequestsBurst)));
  if (tokens == 0) {
    return absl::ResourceExhaustedError(absl::StrCat("sync requests from peer ", from, " above ",
                                                     kSyncRequestsBurst, " per burst and one per ",
                                                     kSyncRequestRefillMs, " ms"));
  }
  // A full bucket restarts its refill clock now; otherwise whole refill periods are consumed.
  bucket.refilled_ms =
      tokens == kSyncRequestsBurst ? now_ms_ : bucket.refilled_ms + refill * kSyncRequestRefillMs;
  bucket.tokens = tokens - 1;
  ITMO_CHECK(bucket.tokens < kSyncRequestsBurst);
  return absl::OkStatus();
}

absl::Status Replica::OnSyncResponse(uint32_t from, const v1::SyncResponse& response,
                                     std::vector<Action>* actions) {
  if (response.blocks_size() > static_cast<int>(kSyncBlocksMax)) {
    return absl::ResourceExhaustedError(
        absl::StrCat(response.blocks_size(), " blocks > ", kSyncBlocksMax));
  }
  const v1::Block* previous = &tree_.root();
  int last_direct = -1;
  for (int i = 0; i < response.blocks_size(); ++i) {
    const v1::CommittedBlock& committed = response.blocks(i);
    const v1::Block& block = committed.block();
    const crypto::Digest id = BlockId(block);
    if (block.header().height() != tree_.committed_height() + 1 + static_cast<uint64_t>(i)) {
      return absl::InvalidArgumentError(
          absl::StrCat("synced block ", i, " has height ", block.header().height()));
    }
    ITMO_RETURN_IF_ERROR(VerifyBlock(block, id));
    ITMO_RETURN_IF_ERROR(CheckExtends(block, *previous));
    const v1::QuorumCert& qc = committed.qc();
    if (qc.block_id() != crypto::AsStringView(id) || qc.round() != block.header().round() ||
        qc.height() != block.header().height()) {
      return absl::InvalidArgumentError(
          absl::StrCat("synced block ", i, ": qc does not certify it"));
    }
    ITMO_RETURN_IF_ERROR(validators_.VerifyQc(qc));
    if (committed.has_child_header()) {
      const v1::BlockHeader& child = committed.child_header();
      const crypto::Digest child_id = BlockId(child, qc);
      if (child.parent_id() != crypto::AsStringView(id) ||
          child.round() != block.header().round() + 1 ||
          committed.child_qc().block_id() != crypto::AsStringView(child_id) ||
          committed.child_qc().round() != child.round() ||
          committed.child_qc().height() != child.height()) {
        return absl::InvalidArgumentError(absl::StrCat("synced block ", i, ": bad 2-chain proof"));
      }
      ITMO_RETURN_IF_ERROR(validators_.VerifyQc(committed.child_qc()));
      last_direct = i;
    }
    previous = &block;
  }
  sync_requested_from_ = 0;
  if (last_direct < 0) return absl::OkStatus();  // Nothing provably committed (or empty).
  ITMO_CHECK(last_direct < response.blocks_size());
  const v1::CommittedBlock& head = response.blocks(last_direct);
  std::vector<v1::CommittedBlock> commits(response.blocks().begin(),
                                          response.blocks().begin() + last_direct + 1);
  tree_.ResetRoot(head.block(), head.qc());
  pending_proposal_.reset();
  requested_blocks_.clear();
  EmitCommits(std::move(commits), actions);
  ITMO_CHECK(tree_.committed_height() == head.block().header().height());
  ProcessQc(head.child_qc(), from, actions);
  if (sync_target_height_ > tree_.committed_height() + kSyncLagBlocksMin) {
    RequestSync(from, actions);
  }
  return absl::OkStatus();
}

}  // namespace itmo::consensus
