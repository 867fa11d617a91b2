#include "consensus/block_tree.h"

#include "consensus/canonical.h"
#include "consensus/limits.h"
#include "gtest/gtest.h"
#include "tests/consensus/consensus_test_util.h"
#include "tests/testing/status_matchers.h"

namespace itmo::consensus {
namespace {

using ::itmo::consensus::testing::Id;
using ::itmo::consensus::testing::Keys;
using ::itmo::consensus::testing::MakeBlock;
using ::itmo::consensus::testing::MakeQc;
using ::itmo::testing::StatusIs;

constexpr uint32_t kN = 4;

class BlockTreeTest : public ::testing::Test {
 protected:
  BlockTreeTest()
      : keys_(kN),
        genesis_(GenesisBlock(testing::kChainId, 0)),
        tree_(genesis_, GenesisQc(testing::kChainId, 0)) {}

  v1::QuorumCert Qc(const v1::Block& block) { return MakeQc(keys_, block, {0, 1, 2}); }
  // A child of `parent` in `round`, certified parent by a fresh QC.
  v1::Block Child(const v1::Block& parent, uint64_t round, std::vector<std::string> txs = {}) {
    const v1::QuorumCert qc =
        parent.header().height() == 0 ? GenesisQc(testing::kChainId, 0) : Qc(parent);
    return MakeBlock(parent, qc, round, kN, std::move(txs));
  }
  crypto::Digest D(const v1::Block& block) { return BlockId(block); }

  Keys keys_;
  v1::Block genesis_;
  BlockTree tree_;
};

TEST_F(BlockTreeTest, CommitsParentWhenChildInNextRoundIsCertified) {
  v1::Block b1 = Child(genesis_, 1);
  v1::Block b2 = Child(b1, 2);
  ASSERT_OK(tree_.Insert(b1));
  ASSERT_OK(tree_.Insert(b2));
  EXPECT_TRUE(tree_.InsertQc(b2.qc()).empty()) << "b1 certified alone commits nothing";
  std::vector<v1::CommittedBlock> commits = tree_.InsertQc(Qc(b2));
  ASSERT_EQ(commits.size(), 1u);
  EXPECT_EQ(Id(commits[0].block()), Id(b1));
  EXPECT_EQ(commits[0].qc().block_id(), Id(b1));
  EXPECT_EQ(commits[0].child_header().SerializeAsString(), b2.header().SerializeAsString());
  EXPECT_EQ(commits[0].child_qc().block_id(), Id(b2));
  EXPECT_EQ(tree_.committed_height(), 1u);
  EXPECT_EQ(tree_.root_id(), D(b1));
  EXPECT_EQ(tree_.high_qc().round(), 2u);
}

TEST_F(BlockTreeTest, NoCommitOnNonConsecutiveRoundsThenCommitsAncestorsInOrder) {
  v1::Block b1 = Child(genesis_, 1);
  v1::Block b3 = Child(b1, 3);  // Round 2 timed out.
  ASSERT_OK(tree_.Insert(b1));
  ASSERT_OK(tree_.Insert(b3));
  EXPECT_TRUE(tree_.InsertQc(Qc(b3)).empty()) << "rounds 1 and 3 are not a 2-chain";
  EXPECT_EQ(tree_.committed_height(), 0u);
  v1::Block b4 = Child(b3, 4);
  ASSERT_OK(tree_.Insert(b4));
  std::vector<v1::CommittedBlock> commits = tree_.InsertQc(Qc(b4));
  ASSERT_EQ(commits.size(), 2u);
  EXPECT_EQ(Id(commits[0].block()), Id(b1));
  EXPECT_FALSE(commits[0].has_child_header()) << "b1 is committed as an ancestor";
  EXPECT_EQ(commits[0].qc().block_id(), Id(b1));
  EXPECT_EQ(Id(commits[1].block()), Id(b3));
  EXPECT_EQ(commits[1].child_qc().block_id(), Id(b4));
  EXPECT_EQ(tree_.committed_height(), 2u);
}

TEST_F(BlockTreeTest, CommitPrunesForksAndOldBlocks) {
  v1::Block b1 = Child(genesis_, 1);
  v1::Block fork = Child(genesis_, 2, {"fork"});
  v1::Block b2 = Child(b1, 2);
  v1::Block b3 = Child(b2, 3);
  for (const v1::Block* b : {&b1, &fork, &b2, &b3}) ASSERT_OK(tree_.Insert(*b));
  EXPECT_EQ(tree_.pending_blocks(), 4u);
  std::vector<v1::CommittedBlock> commits = tree_.InsertQc(Qc(b3));
  ASSERT_EQ(commits.size(), 2u);  // b1 (ancestor) and b2 (direct).
  EXPECT_EQ(tree_.root_id(), D(b2));
  EXPECT_FALSE(tree_.Contains(D(fork)));
  EXPECT_FALSE(tree_.Contains(D(b1)));
  EXPECT_TRUE(tree_.Contains(D(b3)));
  EXPECT_EQ(tree_.pending_blocks(), 1u);
  // A block at or below the committed root is refused.
  EXPECT_THAT(tree_.Insert(Child(genesis_, 1, {"late"})), StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_F(BlockTreeTest, MissingParentIsNotFoundAndBadLinksAreInvalid) {
  v1::Block b1 = Child(genesis_, 1);
  v1::Block b2 = Child(b1, 2);
  EXPECT_THAT(tree_.Insert(b2), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(tree_.Insert(b1));
  v1::Block wrong_height = b2;
  wrong_height.mutable_header()->set_height(5);
  EXPECT_THAT(tree_.Insert(wrong_height), StatusIs(absl::StatusCode::kInvalidArgument));
  v1::Block same_round = Child(b1, 1);
  EXPECT_THAT(tree_.Insert(same_round), StatusIs(absl::StatusCode::kInvalidArgument));
  v1::Block earlier = b2;
  earlier.mutable_header()->set_timestamp_ms(-5);
  EXPECT_THAT(tree_.Insert(earlier), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(tree_.Insert(b2));
  ASSERT_OK(tree_.Insert(b2)) << "idempotent";
  EXPECT_EQ(tree_.pending_blocks(), 2u);
}

TEST_F(BlockTreeTest, QcBeforeItsBlockCommitsOnceTheBlockArrives) {
  v1::Block b1 = Child(genesis_, 1);
  v1::Block b2 = Child(b1, 2);
  ASSERT_OK(tree_.Insert(b1));
  EXPECT_TRUE(tree_.InsertQc(Qc(b2)).empty());  // b2 unknown yet.
  EXPECT_EQ(tree_.high_qc().round(), 2u);
  ASSERT_OK(tree_.Insert(b2));
  ASSERT_NE(tree_.QcFor(D(b2)), nullptr);
  std::vector<v1::CommittedBlock> commits = tree_.InsertQc(*tree_.QcFor(D(b2)));
  ASSERT_EQ(commits.size(), 1u);
  EXPECT_EQ(Id(commits[0].block()), Id(b1));
}

TEST_F(BlockTreeTest, AncestryServesRetrievalNewestFirstAndBounded) {
  std::vector<v1::Block> chain = {genesis_};
  for (uint64_t r = 1; r <= 5; ++r) {
    chain.push_back(Child(chain.back(), r));
    ASSERT_OK(tree_.Insert(chain.back()));
  }
  std::vector<v1::Block> got = tree_.Ancestry(D(chain[5]), 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(Id(got[0]), Id(chain[5]));
  EXPECT_EQ(Id(got[2]), Id(chain[3]));
  EXPECT_EQ(tree_.Ancestry(D(chain[2]), 10).size(), 3u) << "stops at the root";
  EXPECT_TRUE(tree_.Ancestry(crypto::Digest{}, 10).empty());
}

// A sync that re-roots the tree onto a block it holds keeps that block's pending descendants (they
// may be the only copy of the block the high QC certifies) and drops everything else.
TEST_F(BlockTreeTest, ResetRootKeepsPendingDescendantsOfTheNewRoot) {
  v1::Block b1 = Child(genesis_, 1);
  v1::Block b2 = Child(b1, 2);
  v1::Block b3 = Child(b2, 4);              // Round 3 timed out: nothing commits.
  v1::Block fork = Child(b1, 3, {"fork"});  // Does not descend from b2.
  for (const v1::Block* b : {&b1, &b2, &b3, &fork}) ASSERT_OK(tree_.Insert(*b));
  const v1::QuorumCert b3_qc = Qc(b3);
  EXPECT_TRUE(tree_.InsertQc(b3_qc).empty());
  ASSERT_EQ(tree_.committed_height(), 0u);
  tree_.ResetRoot(b2, b3.qc());
  EXPECT_EQ(tree_.root_id(), D(b2));
  EXPECT_EQ(tree_.committed_height(), 2u);
  EXPECT_TRUE(tree_.Contains(D(b3))) << "a pending descendant of the new root stays";
  EXPECT_FALSE(tree_.Contains(D(b1)));
  EXPECT_FALSE(tree_.Contains(D(fork)));
  EXPECT_EQ(tree_.pending_blocks(), 1u);
  ASSERT_NE(tree_.QcFor(D(b3)), nullptr);
  EXPECT_EQ(tree_.high_qc().block_id(), Id(b3));
  // The kept block still extends and commits as usual.
  v1::Block b4 = Child(b3, 5);
  ASSERT_OK(tree_.Insert(b4));
  std::vector<v1::CommittedBlock> commits = tree_.InsertQc(Qc(b4));
  ASSERT_EQ(commits.size(), 1u);
  EXPECT_EQ(Id(commits[0].block()), Id(b3));
  // Re-rooting onto a block the tree does not hold drops every pending block.
  v1::Block other = Child(b1, 6, {"other"});
  tree_.ResetRoot(Child(other, 7), Qc(Child(other, 7)));
  EXPECT_EQ(tree_.pending_blocks(), 0u);
}

TEST_F(BlockTreeTest, RefusesTooManyBlocksOfOneRound) {
  for (uint32_t i = 0; i < kBlocksPerRoundMax; ++i) {
    ASSERT_OK(tree_.Insert(Child(genesis_, 1, {std::to_string(i)})));
  }
  EXPECT_THAT(tree_.Insert(Child(genesis_, 1, {"one more"})),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_OK(tree_.Insert(Child(genesis_, 2)));
}

TEST_F(BlockTreeTest, RefusesBeyondPendingLimit) {
  for (uint64_t r = 1; r <= kPendingBlocksMax; ++r) {
    // Siblings of one another (all children of genesis) so no QC is needed.
    v1::Block b = Child(genesis_, r, {std::to_string(r)});
    ASSERT_OK(tree_.Insert(b));
  }
  EXPECT_THAT(tree_.Insert(Child(genesis_, kPendingBlocksMax + 1)),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace itmo::consensus
