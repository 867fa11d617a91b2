#include "consensus/block_tree.h"

#include <algorithm>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "consensus/canonical.h"
#include "consensus/limits.h"

namespace itmo::consensus {
namespace {

crypto::Digest IdFromBytes(std::string_view bytes) {
  crypto::Digest id{};
  if (bytes.size() == id.size()) std::copy(bytes.begin(), bytes.end(), id.begin());
  return id;
}

}  // namespace

BlockTree::BlockTree(v1::Block root, v1::QuorumCert root_qc) {
  ResetRoot(std::move(root), std::move(root_qc));
}

void BlockTree::ResetRoot(v1::Block root, v1::QuorumCert root_qc) {
  const crypto::Digest id = BlockId(root);
  ITMO_CHECK(root_qc.block_id() == crypto::AsStringView(id));
  ITMO_CHECK(root_qc.round() == root.header().round());
  root_ = std::move(root);
  root_id_ = id;
  root_qc_ = std::move(root_qc);
  if (high_qc_.block_id().empty() || high_qc_.round() < root_qc_.round()) high_qc_ = root_qc_;
  // A sync may re-root onto a block this tree holds: its pending descendants stay (they may be the
  // only copies of the blocks the high QC certifies); everything else goes.
  blocks_.erase(id);
  DropNonDescendants();
}

void BlockTree::DropNonDescendants() {
  ITMO_CHECK(!blocks_.contains(root_id_));
  // Visit by ascending height so parents come first.
  std::vector<std::pair<uint64_t, crypto::Digest>> by_height;
  by_height.reserve(blocks_.size());
  for (const auto& [block_id, block] : blocks_) {
    by_height.emplace_back(block.header().height(), block_id);
  }
  std::sort(by_height.begin(), by_height.end());
  absl::btree_set<crypto::Digest> alive = {root_id_};
  for (const auto& [height, block_id] : by_height) {
    const crypto::Digest parent = IdFromBytes(blocks_.at(block_id).header().parent_id());
    if (height > root_.header().height() && alive.contains(parent)) {
      alive.insert(block_id);
    } else {
      blocks_.erase(block_id);
    }
  }
  // Keep QCs of blocks above the root: a block may still arrive for them.
  for (auto q = qcs_.begin(); q != qcs_.end();) {
    q = q->second.round() <= root_qc_.round() ? qcs_.erase(q) : std::next(q);
  }
  ITMO_CHECK(alive.size() == blocks_.size() + 1);
  CheckInvariants();
}

bool BlockTree::Contains(const crypto::Digest& id) const {
  return id == root_id_ || blocks_.contains(id);
}

const v1::Block* BlockTree::Get(const crypto::Digest& id) const {
  if (id == root_id_) return &root_;
  auto it = blocks_.find(id);
  return it == blocks_.end() ? nullptr : &it->second;
}

const v1::QuorumCert* BlockTree::QcFor(const crypto::Digest& id) const {
  if (id == root_id_) return &root_qc_;
  auto it = qcs_.find(id);
  return it == qcs_.end() ? nullptr : &it->second;
}

absl::Status CheckExtends(const v1::Block& child, const v1::Block& parent) {
  const v1::BlockHeader& header = child.header();
  const v1::BlockHeader& ph = parent.header();
  if (child.qc().block_id() != header.parent_id() ||
      header.parent_id() != crypto::AsStringView(BlockId(parent))) {
    return absl::InvalidArgumentError("block qc / parent_id do not name its parent");
  }
  if (header.epoch() != ph.epoch() || header.height() != ph.height() + 1 ||
      header.round() <= ph.round() || child.qc().round() != ph.round() ||
      child.qc().height() != ph.height()) {
    return absl::InvalidArgumentError(
        absl::StrCat("block (round ", header.round(), ", height ", header.height(), ", qc round ",
                     child.qc().round(), ") does not extend its parent (round ", ph.round(),
                     ", height ", ph.height(), ")"));
  }
  if (header.executed_height() < ph.executed_height()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "block executed_height ", header.executed_height(), " < parent's ", ph.executed_height()));
  }
  if (header.timestamp_ms() < ph.timestamp_ms()) {
    return absl::InvalidArgumentError(absl::StrCat("block timestamp ", header.timestamp_ms(),
                                                   " < parent timestamp ", ph.timestamp_ms()));
  }
  return absl::OkStatus();
}

absl::Status BlockTree::CheckInsert(const v1::Block& block) const {
  const crypto::Digest id = BlockId(block);
  if (Contains(id)) return absl::OkStatus();
  const v1::BlockHeader& header = block.header();
  if (header.round() <= root_.header().round() || header.height() <= root_.header().height()) {
    return absl::OutOfRangeError(absl::StrCat("block round ", header.round(), " height ",
                                              header.height(), " at or below the committed root"));
  }
  if (block.qc().block_id() != header.parent_id()) {
    return absl::InvalidArgumentError("block qc does not certify its parent_id");
  }
  const v1::Block* parent = Get(IdFromBytes(header.parent_id()));
  if (parent == nullptr) {
    return absl::NotFoundError(absl::StrCat("parent of block round ", header.round(), " height ",
                                            header.height(), " is unknown"));
  }
  ITMO_RETURN_IF_ERROR(CheckExtends(block, *parent));
  if (blocks_.size() >= kPendingBlocksMax) {
    return absl::ResourceExhaustedError(
        absl::StrCat(blocks_.size(), " pending blocks: limit reached"));
  }
  uint32_t same_round = 0;
  for (const auto& [other_id, other] : blocks_) {
    if (other.header().round() == header.round()) ++same_round;
  }
  if (same_round >= kBlocksPerRoundMax) {
    return absl::ResourceExhaustedError(
        absl::StrCat(same_round, " pending blocks of round ", header.round(), ": limit reached"));
  }
  return absl::OkStatus();
}

absl::Status BlockTree::Insert(const v1::Block& block) {
  const crypto::Digest id = BlockId(block);
  if (Contains(id)) return absl::OkStatus();
  ITMO_RETURN_IF_ERROR(CheckInsert(block));
  blocks_.emplace(id, block);
  const crypto::Digest parent_id = IdFromBytes(block.header().parent_id());
  if (parent_id != root_id_ && !qcs_.contains(parent_id)) qcs_.emplace(parent_id, block.qc());
  ITMO_CHECK(blocks_.size() <= kPendingBlocksMax);
  ITMO_CHECK(Contains(id));
  return absl::OkStatus();
}

std::vector<v1::CommittedBlock> BlockTree::InsertQc(const v1::QuorumCert& qc) {
  ITMO_CHECK(qc.epoch() == root_.header().epoch());
  ITMO_CHECK(qc.block_id().size() == crypto::kDigestBytes);
  if (qc.round() > high_qc_.round()) high_qc_ = qc;
  if (qc.round() <= root_qc_.round()) return {};
  const crypto::Digest id = IdFromBytes(qc.block_id());
  if (!qcs_.contains(id)) {
    if (qcs_.size() >= 2 * kPendingBlocksMax) {
      // Drop the lowest-round QC of an unknown block; QCs of known blocks stay.
      for (auto it = qcs_.begin(); it != qcs_.end(); ++it) {
        if (!blocks_.contains(it->first)) {
          qcs_.erase(it);
          break;
        }
      }
    }
    qcs_.emplace(id, qc);
  }
  return CommitsFromQc(id);
}

std::vector<v1::CommittedBlock> BlockTree::CommitsFromQc(const crypto::Digest& certified) {
  auto child = blocks_.find(certified);
  if (child == blocks_.end()) return {};
  const crypto::Digest parent_id = IdFromBytes(child->second.header().parent_id());
  auto parent = blocks_.find(parent_id);
  if (parent == blocks_.end()) return {};  // The parent is the root (committed) or unknown.
  if (child->second.header().round() != parent->second.header().round() + 1) return {};
  const v1::QuorumCert* child_qc = QcFor(certified);
  ITMO_CHECK(child_qc != nullptr);
  return CommitThrough(parent_id, *child_qc);
}

std::vector<v1::CommittedBlock> BlockTree::CommitThrough(const crypto::Digest& id,
                                                         const v1::QuorumCert& child_qc) {
  // Walk from `id` down to the root, then emit in height order.
  std::vector<crypto::Digest> path;
  crypto::Digest cursor = id;
  for (uint32_t i = 0; i <= kPendingBlocksMax && cursor != root_id_; ++i) {
    auto it = blocks_.find(cursor);
    ITMO_CHECK(it != blocks_.end());  // Inserted blocks always link to the root.
    path.push_back(cursor);
    cursor = IdFromBytes(it->second.header().parent_id());
  }
  ITMO_CHECK(cursor == root_id_);
  std::reverse(path.begin(), path.end());
  std::vector<v1::CommittedBlock> commits;
  commits.reserve(path.size());
  const crypto::Digest child_id = IdFromBytes(child_qc.block_id());
  for (const crypto::Digest& block_id : path) {
    v1::CommittedBlock committed;
    *committed.mutable_block() = blocks_.at(block_id);
    const v1::QuorumCert* qc = QcFor(block_id);
    ITMO_CHECK(qc != nullptr);
    *committed.mutable_qc() = *qc;
    if (block_id == id) {
      *committed.mutable_child_header() = blocks_.at(child_id).header();
      *committed.mutable_child_qc() = child_qc;
    }
    commits.push_back(std::move(committed));
  }
  PruneTo(id);
  ITMO_CHECK(root_id_ == id);
  return commits;
}

void BlockTree::PruneTo(const crypto::Digest& new_root_id) {
  auto it = blocks_.find(new_root_id);
  ITMO_CHECK(it != blocks_.end());
  root_ = std::move(it->second);
  root_id_ = new_root_id;
  root_qc_ = qcs_.at(new_root_id);
  blocks_.erase(it);
  DropNonDescendants();  // Keep only descendants of the new root.
  ITMO_CHECK(root_id_ == new_root_id);
}

std::vector<v1::Block> BlockTree::Ancestry(const crypto::Digest& id, uint32_t count) const {
  std::vector<v1::Block> out;
  crypto::Digest cursor = id;
  const uint32_t count_max = std::min(count, kRetrievalBlocksMax);
  while (out.size() < count_max) {
    const v1::Block* block = Get(cursor);
    if (block == nullptr) break;
    out.push_back(*block);
    if (cursor == root_id_) break;
    cursor = IdFromBytes(block->header().parent_id());
  }
  ITMO_CHECK(out.size() <= kRetrievalBlocksMax);
  return out;
}

void BlockTree::CheckInvariants() const {
  ITMO_CHECK(blocks_.size() <= kPendingBlocksMax);
  ITMO_CHECK(qcs_.size() <= 2 * kPendingBlocksMax + 1);
  ITMO_CHECK(high_qc_.round() >= root_qc_.round());
  ITMO_CHECK(!blocks_.contains(root_id_));
  ITMO_DCHECK(std::all_of(blocks_.begin(), blocks_.end(), [this](const auto& entry) {
    return entry.second.header().round() > root_.header().round();
  }));
}

}  // namespace itmo::consensus
