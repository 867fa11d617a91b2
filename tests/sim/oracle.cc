#include "tests/sim/oracle.h"

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "consensus/events.h"
#include "consensus/limits.h"

namespace itmo::sim {
namespace {

absl::Status Invalid(const std::string& what, const absl::Status& cause) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", cause.message()));
}

// The digest in `bytes`, or nullopt when it is not one.
std::optional<crypto::Digest> AsDigest(std::string_view bytes) {
  absl::StatusOr<crypto::Digest> id = crypto::DigestFromBytes(bytes);
  if (!id.ok()) return std::nullopt;
  return *id;
}

}  // namespace

AcceptanceOracle::AcceptanceOracle(const IndependentVerifier* verifier) : verifier_(verifier) {
  ITMO_CHECK(verifier_ != nullptr);
  ITMO_CHECK(verifier_->validators() >= 1);
}

bool AcceptanceOracle::IsGenesis(const v1::Block& block) const {
  return block.header().round() == 0 && verifier_->BlockIdOf(block) == verifier_->genesis_id();
}

absl::Status AcceptanceOracle::Evaluate(uint32_t me, uint32_t from,
                                        const v1::ConsensusMessage& message,
                                        const consensus::Replica& receiver,
                                        const absl::btree_set<std::string>& requested) const {
  ITMO_CHECK(me < verifier_->validators());
  const uint32_t n = verifier_->validators();
  const bool from_validator = from < n;
  if (from == me) return absl::InvalidArgumentError("a message from the receiver itself");
  if (message.ByteSizeLong() > consensus::kMessageBytesMax) return absl::OkStatus();  // A limit.
  switch (message.kind_case()) {
    case v1::ConsensusMessage::kVote: {
      const v1::Vote& vote = message.vote();
      if (from_validator && from != vote.voter()) {
        return absl::InvalidArgumentError(
            absl::StrCat("vote of ", vote.voter(), " sent by validator ", from));
      }
      if (absl::Status s = verifier_->CheckVote(vote); !s.ok()) return s;
      if (verifier_->LeaderOf(vote.round() + 1) != me) {
        return absl::InvalidArgumentError(absl::StrCat("vote of round ", vote.round(),
                                                       " sent to a replica that does not lead ",
                                                       vote.round() + 1));
      }
      return absl::OkStatus();
    }
    case v1::ConsensusMessage::kTimeout: {
      const v1::Timeout& timeout = message.timeout();
      if (from_validator && from != timeout.signer()) {
        return absl::InvalidArgumentError(
            absl::StrCat("timeout of ", timeout.signer(), " sent by validator ", from));
      }
      return verifier_->CheckTimeout(timeout);
    }
    case v1::ConsensusMessage::kTc:
      return verifier_->CheckTc(message.tc());
    case v1::ConsensusMessage::kSyncInfo:
      return verifier_->CheckSyncInfo(message.sync_info());
    case v1::ConsensusMessage::kProposal:
      return verifier_->CheckProposal(message.proposal());
    case v1::ConsensusMessage::kBlockRequest:
      if (from == consensus::kFromNonValidator) {
        return absl::InvalidArgumentError("block request from an unknown peer");
      }
      if (!AsDigest(message.block_request().block_id()).has_value()) {
        return absl::InvalidArgumentError("block request for a malformed id");
      }
      return absl::OkStatus();
    case v1::ConsensusMessage::kSyncRequest:
      if (from == consensus::kFromNonValidator) {
        return absl::InvalidArgumentError("sync request from an unknown peer");
      }
      if (message.sync_request().from_height() == 0) {
        return absl::InvalidArgumentError("sync request from height 0");
      }
      return absl::OkStatus();
    case v1::ConsensusMessage::kBlockResponse:
      return EvaluateBlockResponse(message.block_response(), receiver, requested);
    case v1::ConsensusMessage::kSyncResponse:
      return EvaluateSyncResponse(message.sync_response(), receiver);
    case v1::ConsensusMessage::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("empty message");
}

absl::Status AcceptanceOracle::EvaluateBlockResponse(
    const v1::BlockRetrievalResponse& response, const consensus::Replica& receiver,
    const absl::btree_set<std::string>& requested) const {
  std::optional<crypto::Digest> expected = AsDigest(response.block_id());
  if (!expected.has_value()) return absl::InvalidArgumentError("response for a malformed id");
  if (!requested.contains(response.block_id())) {
    return absl::InvalidArgumentError("unsolicited block retrieval response");
  }
  if (response.blocks_size() > static_cast<int>(consensus::kRetrievalBlocksMax)) {
    return absl::OkStatus();  // A limit.
  }
  const consensus::BlockTree& tree = receiver.block_tree();
  // The replica verifies the chain up to the first block it has or whose parent it has.
  for (int i = 0; i < response.blocks_size(); ++i) {
    const v1::Block& block = response.blocks(i);
    const crypto::Digest id = verifier_->BlockIdOf(block);
    if (id != *expected) {
      return absl::InvalidArgumentError(
          absl::StrCat("retrieved block ", i, " is not the one asked for"));
    }
    if (absl::Status s = verifier_->CheckBlock(block); !s.ok()) {
      return Invalid(absl::StrCat("retrieved block ", i), s);
    }
    if (i > 0) {
      if (absl::Status s = verifier_->CheckExtends(response.blocks(i - 1), block); !s.ok()) {
        return Invalid(absl::StrCat("retrieved block ", i - 1), s);
      }
    }
    if (tree.Contains(id)) break;
    expected = AsDigest(block.header().parent_id());
    if (!expected.has_value()) return absl::InvalidArgumentError("malformed parent id");
    if (const v1::Block* parent = tree.Get(*expected); parent != nullptr) {
      if (absl::Status s = verifier_->CheckExtends(block, *parent); !s.ok()) {
        return Invalid(absl::StrCat("retrieved block ", i, " and its parent in the tree"), s);
      }
      break;
    }
  }
  return absl::OkStatus();
}

absl::Status AcceptanceOracle::EvaluateSyncResponse(const v1::SyncResponse& response,
                                                    const consensus::Replica& receiver) const {
  if (response.blocks_size() > static_cast<int>(consensus::kSyncBlocksMax)) {
    return absl::OkStatus();  // A limit.
  }
  const v1::Block* previous = &receiver.block_tree().root();
  for (int i = 0; i < response.blocks_size(); ++i) {
    const v1::CommittedBlock& committed = response.blocks(i);
    const v1::Block& block = committed.block();
    if (block.header().height() != receiver.committed_height() + 1 + static_cast<uint64_t>(i)) {
      return absl::InvalidArgumentError(
          absl::StrCat("synced block ", i, " at height ", block.header().height()));
    }
    if (absl::Status s = verifier_->CheckBlock(block); !s.ok()) {
      return Invalid(absl::StrCat("synced block ", i), s);
    }
    if (absl::Status s = verifier_->CheckExtends(block, *previous); !s.ok()) {
      return Invalid(absl::StrCat("synced block ", i), s);
    }
    if (absl::Status s = verifier_->CheckCommitted(committed); !s.ok()) {
      return Invalid(absl::StrCat("synced block ", i), s);
    }
    previous = &block;
  }
  return absl::OkStatus();
}

absl::Status AcceptanceOracle::CheckInserted(const crypto::Digest& id,
                                             const consensus::Replica& receiver) const {
  const consensus::BlockTree& tree = receiver.block_tree();
  const v1::Block* block = tree.Get(id);
  ITMO_CHECK(block != nullptr);
  if (verifier_->BlockIdOf(*block) != id) {
    return absl::InvalidArgumentError("a block in the tree under another block's id");
  }
  if (IsGenesis(*block)) return absl::OkStatus();
  if (absl::Status s = verifier_->CheckBlock(*block); !s.ok()) {
    return Invalid("inserted an invalid block", s);
  }
  std::optional<crypto::Digest> parent_id = AsDigest(block->header().parent_id());
  if (!parent_id.has_value()) return absl::InvalidArgumentError("inserted a block without parent");
  const v1::Block* parent = tree.Get(*parent_id);
  if (parent == nullptr) return absl::OkStatus();  // It became the root; its parent is pruned.
  if (absl::Status s = verifier_->CheckExtends(*block, *parent); !s.ok()) {
    return Invalid("inserted a block that does not extend its parent", s);
  }
  return absl::OkStatus();
}

absl::Status AcceptanceOracle::CheckEmitted(uint32_t me, const v1::ConsensusMessage& message,
                                            const consensus::Replica& sender) const {
  switch (message.kind_case()) {
    case v1::ConsensusMessage::kVote: {
      const v1::Vote& vote = message.vote();
      if (vote.voter() != me) return absl::InvalidArgumentError("a vote for another voter");
      if (absl::Status s = verifier_->CheckVote(vote); !s.ok()) return s;
      std::optional<crypto::Digest> id = AsDigest(vote.block_id());
      ITMO_CHECK(id.has_value());  // CheckVote.
      if (const v1::Block* block = sender.block_tree().Get(*id); block != nullptr) {
        if (absl::Status s = verifier_->CheckBlock(*block); !s.ok()) {
          return Invalid("voted for an invalid block", s);
        }
      }
      return absl::OkStatus();
    }
    case v1::ConsensusMessage::kTimeout:
      if (message.timeout().signer() != me) {
        return absl::InvalidArgumentError("a timeout for another signer");
      }
      return verifier_->CheckTimeout(message.timeout());
    case v1::ConsensusMessage::kTc:
      return verifier_->CheckTc(message.tc());
    case v1::ConsensusMessage::kSyncInfo:
      return verifier_->CheckSyncInfo(message.sync_info());
    case v1::ConsensusMessage::kProposal:
      if (message.proposal().block().header().proposer() != me) {
        return absl::InvalidArgumentError("a proposal for another proposer");
      }
      return verifier_->CheckProposal(message.proposal());
    case v1::ConsensusMessage::kBlockRequest:
      if (!AsDigest(message.block_request().block_id()).has_value()) {
        return absl::InvalidArgumentError("a request for a malformed id");
      }
      return absl::OkStatus();
    case v1::ConsensusMessage::kSyncRequest:
      if (message.sync_request().from_height() == 0) {
        return absl::InvalidArgumentError("a sync request from height 0");
      }
      return absl::OkStatus();
    case v1::ConsensusMessage::kBlockResponse: {
      const v1::BlockRetrievalResponse& response = message.block_response();
      for (int i = 0; i < response.blocks_size(); ++i) {
        const v1::Block& block = response.blocks(i);
        const crypto::Digest id = verifier_->BlockIdOf(block);
        if (i == 0 && response.block_id() != crypto::AsStringView(id)) {
          return absl::InvalidArgumentError("served a block that was not asked for");
        }
        if (i > 0 && response.blocks(i - 1).header().parent_id() != crypto::AsStringView(id)) {
          return absl::InvalidArgumentError("served blocks that do not form a chain");
        }
        if (IsGenesis(block)) continue;
        if (absl::Status s = verifier_->CheckBlock(block); !s.ok()) {
          return Invalid("served an invalid block", s);
        }
      }
      return absl::OkStatus();
    }
    case v1::ConsensusMessage::kSyncResponse: {
      const v1::SyncResponse& response = message.sync_response();
      for (int i = 0; i < response.blocks_size(); ++i) {
        const v1::CommittedBlock& committed = response.blocks(i);
        if (absl::Status s = verifier_->CheckBlock(committed.block()); !s.ok()) {
          return Invalid("served an invalid committed block", s);
        }
        if (absl::Status s = verifier_->CheckCommitted(committed); !s.ok()) {
          return Invalid("served a committed block without its proof", s);
        }
        if (i > 0) {
          if (absl::Status s =
                  verifier_->CheckExtends(committed.block(), response.blocks(i - 1).block());
              !s.ok()) {
            return Invalid("served committed blocks that do not form a chain", s);
          }
        }
      }
      return absl::OkStatus();
    }
    case v1::ConsensusMessage::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("an empty message");
}

}  // namespace itmo::sim
