// File: consensus/block_tree.h
// The tree of uncommitted blocks above the committed root, the QC certifying each, the high QC, and
// 2-chain commit detection: a block B commits when a QC certifies its child C with
// C.round == B.round + 1 (B's own QC is C.qc). Committing B commits its uncommitted ancestors too,
// in height order, and prunes every block that does not descend from B. Bounded by
// kPendingBlocksMax. Certificates are verified by the caller (ValidatorSet) before they get here.
// Not thread-safe: owned by one Replica.
//
// Example:
//   BlockTree tree(GenesisBlock(chain_id, epoch), GenesisQc(chain_id, epoch));
//   ITMO_RETURN_IF_ERROR(tree.Insert(block));
//   std::vector<v1::CommittedBlock> commits = tree.InsertQc(qc);  // In height order.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "crypto/digest.h"
#include "itmo/v1/consensus.pb.h"

namespace itmo::consensus {

// Whether `child` may extend `parent`: qc certifies the parent (block id, round, height), height is
// parent + 1, round above the parent's, same epoch, timestamp and executed_height not below the
// parent's.
// Errors: kInvalidArgument naming the mismatch.
absl::Status CheckExtends(const v1::Block& child, const v1::Block& parent);

class BlockTree final {
 public:
  // `root` is committed; `root_qc` certifies it. REQUIRES: root_qc.block_id == BlockId(root).
  BlockTree(v1::Block root, v1::QuorumCert root_qc);

  // Adds a block whose parent (block.qc.block_id) is in the tree. Idempotent for a known block.
  // Errors: kNotFound when the parent is unknown (retrieve it), kInvalidArgument when the block
  // does not extend its parent (parent_id, height, round, epoch), kOutOfRange for a block at or
  // below the root, kResourceExhausted when kPendingBlocksMax blocks are pending.
  absl::Status Insert(const v1::Block& block);
  // What Insert would return, without inserting.
  absl::Status CheckInsert(const v1::Block& block) const;

  // Records a verified QC: raises the high QC, remembers it for its block, and returns the blocks
  // it commits (empty when none), each with its commit proof, in height order. Commits prune the
  // tree.
  std::vector<v1::CommittedBlock> InsertQc(const v1::QuorumCert& qc);

  // Moves the committed root to `root` (after a sync of committed blocks). Pending blocks that
  // descend from it (when it was itself pending) stay, with the QCs above it; the rest is dropped.
  void ResetRoot(v1::Block root, v1::QuorumCert root_qc);

  bool Contains(const crypto::Digest& id) const;
  const v1::Block* Get(const crypto::Digest& id) const;  // Null when unknown.
  // The QC certifying block `id`, if known.
  const v1::QuorumCert* QcFor(const crypto::Digest& id) const;
  // The block and up to count - 1 ancestors (stopping at the root, inclusive), newest first.
  std::vector<v1::Block> Ancestry(const crypto::Digest& id, uint32_t count) const;

  const v1::Block& root() const { return root_; }
  const crypto::Digest& root_id() const { return root_id_; }
  const v1::QuorumCert& root_qc() const { return root_qc_; }
  uint64_t committed_height() const { return root_.header().height(); }
  uint64_t committed_round() const { return root_.header().round(); }
  const v1::QuorumCert& high_qc() const { return high_qc_; }
  size_t pending_blocks() const { return blocks_.size(); }

  void CheckInvariants() const;

 private:
  std::vector<v1::CommittedBlock> CommitThrough(const crypto::Digest& id, const v1::QuorumCert& qc);
  std::vector<v1::CommittedBlock> CommitsFromQc(const crypto::Digest& certified);
  void PruneTo(const crypto::Digest& new_root_id);
  // Drops pending blocks that do not descend from the root, and QCs at or below its round.
  void DropNonDescendants();

  v1::Block root_;
  crypto::Digest root_id_{};
  v1::QuorumCert root_qc_;
  v1::QuorumCert high_qc_;
  absl::btree_map<crypto::Digest, v1::Block> blocks_;    // Pending, excluding the root.
  absl::btree_map<crypto::Digest, v1::QuorumCert> qcs_;  // Block id -> QC certifying it.
};

}  // namespace itmo::consensus
