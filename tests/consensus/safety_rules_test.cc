#include "consensus/safety_rules.h"

#include "consensus/canonical.h"
#include "gtest/gtest.h"
#include "tests/consensus/consensus_test_util.h"
#include "tests/testing/status_matchers.h"

namespace itmo::consensus {
namespace {

using ::itmo::consensus::testing::Keys;
using ::itmo::consensus::testing::MakeBlock;
using ::itmo::consensus::testing::MakeQc;
using ::itmo::consensus::testing::MakeTc;
using ::itmo::testing::StatusIs;

constexpr uint32_t kN = 4;

class SafetyRulesTest : public ::testing::Test {
 protected:
  SafetyRulesTest()
      : keys_(kN),
        genesis_(GenesisBlock(testing::kChainId, 0)),
        genesis_qc_(GenesisQc(testing::kChainId, 0)) {}

  SafetyRules Rules(v1::SafetyState state = {}, Mutation mutation = Mutation::kNone) {
    return SafetyRules(SafetyRulesOptions{testing::kChainId, 0, 1, mutation}, std::move(state),
                       keys_.signer(1));
  }
  // A block in `round` whose parent is certified in `qc_round` (a fake chain of the right shape).
  v1::Block BlockAt(uint64_t round, uint64_t qc_round, const v1::TimeoutCertificate* tc = nullptr,
                    std::vector<std::string> txs = {}) {
    v1::Block parent = genesis_;
    parent.mutable_header()->set_round(qc_round);
    v1::QuorumCert qc = MakeQc(keys_, parent, {0, 1, 2});
    return MakeBlock(parent, qc, round, kN, std::move(txs), tc);
  }
  v1::QuorumCert QcAt(uint64_t round) {
    v1::Block block = genesis_;
    block.mutable_header()->set_round(round);
    return MakeQc(keys_, block, {0, 1, 2});
  }

  Keys keys_;
  v1::Block genesis_;
  v1::QuorumCert genesis_qc_;
};

TEST_F(SafetyRulesTest, VotesForBlockExtendingQcOfPreviousRound) {
  SafetyRules rules = Rules();
  v1::Block block = BlockAt(1, 0);
  ASSERT_OK_AND_ASSIGN(v1::Vote vote, rules.SignVote(block, BlockId(block)));
  EXPECT_EQ(vote.round(), 1u);
  EXPECT_EQ(vote.voter(), 1u);
  EXPECT_EQ(vote.block_id(), testing::Id(block));
  EXPECT_EQ(rules.state().last_voted_round(), 1u);
  EXPECT_EQ(rules.state().one_chain_round(), 0u);
  EXPECT_EQ(rules.state().last_vote().SerializeAsString(), vote.SerializeAsString());
  // The signature verifies.
  crypto::Ed25519Verifier verifier;
  ASSERT_OK_AND_ASSIGN(crypto::Signature sig, crypto::SignatureFromBytes(vote.signature()));
  EXPECT_TRUE(verifier.Verify(keys_.public_keys()[1], crypto::kContextVote, testing::kChainId,
                              VoteMessage(0, 1, vote.block_id(), vote.height()), sig));
}

TEST_F(SafetyRulesTest, RaisesOneChainRoundToTheBlockQcRound) {
  SafetyRules rules = Rules();
  v1::Block block = BlockAt(6, 5);
  ASSERT_OK(rules.SignVote(block, BlockId(block)));
  EXPECT_EQ(rules.state().one_chain_round(), 5u);
  EXPECT_EQ(rules.state().last_voted_round(), 6u);
}

TEST_F(SafetyRulesTest, PersistsTheHighestQcItVotedOrTimedOutWith) {
  SafetyRules rules = Rules();
  v1::Block block = BlockAt(6, 5);
  ASSERT_OK(rules.SignVote(block, BlockId(block)));
  EXPECT_EQ(rules.state().high_qc().SerializeAsString(), block.qc().SerializeAsString());
  v1::TimeoutCertificate tc = MakeTc(keys_, 7, {0, 2, 3}, {6, 6, 6});
  ASSERT_OK(rules.SignTimeout(8, QcAt(6), &tc));
  EXPECT_EQ(rules.state().high_qc().round(), 6u);
  EXPECT_GE(rules.state().high_qc().round(), rules.state().one_chain_round());
}

TEST_F(SafetyRulesTest, RefusesRoundNotAboveLastVotedRound) {
  SafetyRules rules = Rules();
  v1::Block b5 = BlockAt(5, 4);
  ASSERT_OK(rules.SignVote(b5, BlockId(b5)));
  v1::Block b4 = BlockAt(4, 3);
  absl::StatusOr<v1::Vote> vote = rules.SignVote(b4, BlockId(b4));
  EXPECT_THAT(vote, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_NE(vote.status().message().find("4 <= last_voted_round 5"), std::string::npos);
  EXPECT_EQ(rules.state().last_voted_round(), 5u);
}

TEST_F(SafetyRulesTest, RepeatReturnsTheSameVoteAndRefusesADifferentBlock) {
  SafetyRules rules = Rules();
  v1::Block block = BlockAt(3, 2);
  ASSERT_OK_AND_ASSIGN(v1::Vote first, rules.SignVote(block, BlockId(block)));
  ASSERT_OK_AND_ASSIGN(v1::Vote again, rules.SignVote(block, BlockId(block)));
  EXPECT_EQ(first.SerializeAsString(), again.SerializeAsString());
  v1::Block other = BlockAt(3, 2, nullptr, {"different"});
  EXPECT_THAT(rules.SignVote(other, BlockId(other)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(SafetyRulesTest, AfterRestartReturnsThePersistedVoteOnly) {
  v1::Block block = BlockAt(3, 2);
  v1::Vote first;
  v1::SafetyState persisted;
  {
    SafetyRules rules = Rules();
    ASSERT_OK_AND_ASSIGN(first, rules.SignVote(block, BlockId(block)));
    persisted = rules.state();
  }
  SafetyRules restarted = Rules(persisted);
  ASSERT_OK_AND_ASSIGN(v1::Vote again, restarted.SignVote(block, BlockId(block)));
  EXPECT_EQ(first.SerializeAsString(), again.SerializeAsString());
  v1::Block other = BlockAt(3, 2, nullptr, {"different"});
  EXPECT_THAT(restarted.SignVote(other, BlockId(other)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // A fresh (unpersisted) state would have voted: the persisted state is what protects.
  SafetyRules amnesiac = Rules();
  EXPECT_OK(amnesiac.SignVote(other, BlockId(other)));
}

TEST_F(SafetyRulesTest, RefusesRoundGapWithoutTc) {
  SafetyRules rules = Rules();
  v1::Block block = BlockAt(5, 3);
  EXPECT_THAT(rules.SignVote(block, BlockId(block)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(rules.state().last_voted_round(), 0u);
}

TEST_F(SafetyRulesTest, VotesAfterTcWhenQcIsAtLeastTheTcsHighestQc) {
  SafetyRules rules = Rules();
  v1::TimeoutCertificate tc = MakeTc(keys_, 4, {0, 2, 3}, {3, 2, 3});
  v1::Block block = BlockAt(5, 3, &tc);
  ASSERT_OK_AND_ASSIGN(v1::Vote vote, rules.SignVote(block, BlockId(block)));
  EXPECT_EQ(vote.round(), 5u);
  EXPECT_EQ(rules.state().one_chain_round(), 3u);
}

TEST_F(SafetyRulesTest, RefusesTcBlockWhoseQcIsBelowTheTcsHighestQc) {
  SafetyRules rules = Rules();
  v1::TimeoutCertificate tc = MakeTc(keys_, 4, {0, 2, 3}, {1, 3, 2});
  v1::Block block = BlockAt(5, 2, &tc);
  absl::StatusOr<v1::Vote> vote = rules.SignVote(block, BlockId(block));
  EXPECT_THAT(vote, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_NE(vote.status().message().find("highest qc round in tc 3"), std::string::npos);
}

TEST_F(SafetyRulesTest, RefusesTcBlockNotInTheRoundAfterTheTc) {
  SafetyRules rules = Rules();
  v1::TimeoutCertificate tc = MakeTc(keys_, 3, {0, 2, 3}, {2, 2, 2});
  v1::Block block = BlockAt(5, 2, &tc);
  EXPECT_THAT(rules.SignVote(block, BlockId(block)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(SafetyRulesTest, RefusesBlockOfAnotherEpoch) {
  SafetyRules rules = Rules();
  v1::Block block = BlockAt(1, 0);
  block.mutable_header()->set_epoch(7);
  EXPECT_THAT(rules.SignVote(block, BlockId(block)), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SafetyRulesTest, SignsTimeoutAfterHighQcAndRaisesLastVotedRound) {
  SafetyRules rules = Rules();
  ASSERT_OK_AND_ASSIGN(v1::Timeout timeout, rules.SignTimeout(4, QcAt(3), nullptr));
  EXPECT_EQ(timeout.round(), 4u);
  EXPECT_EQ(timeout.high_qc().round(), 3u);
  EXPECT_EQ(rules.state().last_voted_round(), 4u);
  EXPECT_EQ(rules.state().highest_timeout_round(), 4u);
  EXPECT_EQ(rules.state().one_chain_round(), 3u);
  // Having timed out round 4, it no longer votes in it.
  v1::Block block = BlockAt(4, 3);
  EXPECT_THAT(rules.SignVote(block, BlockId(block)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(SafetyRulesTest, SignsTimeoutAfterTc) {
  SafetyRules rules = Rules();
  v1::TimeoutCertificate tc = MakeTc(keys_, 6, {0, 2, 3}, {3, 3, 3});
  ASSERT_OK_AND_ASSIGN(v1::Timeout timeout, rules.SignTimeout(7, QcAt(3), &tc));
  EXPECT_EQ(timeout.round(), 7u);
}

TEST_F(SafetyRulesTest, TimeoutInTheRoundItVotedInIsAllowed) {
  SafetyRules rules = Rules();
  v1::Block block = BlockAt(4, 3);
  ASSERT_OK(rules.SignVote(block, BlockId(block)));
  EXPECT_OK(rules.SignTimeout(4, QcAt(3), nullptr));
}

TEST_F(SafetyRulesTest, RefusesTimeoutBelowLastVotedRound) {
  SafetyRules rules = Rules();
  v1::Block block = BlockAt(5, 4);
  ASSERT_OK(rules.SignVote(block, BlockId(block)));
  EXPECT_THAT(rules.SignTimeout(4, QcAt(3), nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(SafetyRulesTest, RepeatedTimeoutIsTheSameAndOlderOneIsRefused) {
  SafetyRules rules = Rules();
  ASSERT_OK_AND_ASSIGN(v1::Timeout first, rules.SignTimeout(4, QcAt(3), nullptr));
  ASSERT_OK_AND_ASSIGN(v1::Timeout again, rules.SignTimeout(4, QcAt(3), nullptr));
  EXPECT_EQ(first.SerializeAsString(), again.SerializeAsString());
  v1::TimeoutCertificate tc = MakeTc(keys_, 4, {0, 2, 3}, {3, 3, 3});
  ASSERT_OK(rules.SignTimeout(5, QcAt(3), &tc));
  absl::StatusOr<v1::Timeout> old = rules.SignTimeout(4, QcAt(3), nullptr);
  EXPECT_THAT(old, StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(SafetyRulesTest, RefusesTimeoutFollowingNeitherQcNorTc) {
  SafetyRules rules = Rules();
  EXPECT_THAT(rules.SignTimeout(6, QcAt(3), nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  v1::TimeoutCertificate tc = MakeTc(keys_, 4, {0, 2, 3}, {3, 3, 3});
  EXPECT_THAT(rules.SignTimeout(6, QcAt(3), &tc), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(rules.state().highest_timeout_round(), 0u);
}

TEST_F(SafetyRulesTest, RefusesTimeoutWhoseHighQcIsBelowOneChainRound) {
  SafetyRules rules = Rules();
  v1::Block block = BlockAt(6, 5);
  ASSERT_OK(rules.SignVote(block, BlockId(block)));  // one_chain_round = 5.
  v1::TimeoutCertificate tc = MakeTc(keys_, 6, {0, 2, 3}, {3, 3, 3});
  absl::StatusOr<v1::Timeout> timeout = rules.SignTimeout(7, QcAt(3), &tc);
  EXPECT_THAT(timeout, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_NE(timeout.status().message().find("one_chain_round 5"), std::string::npos);
}

TEST_F(SafetyRulesTest, ProposalSignedOnlyAboveLastVotedRoundByItsProposer) {
  SafetyRules rules = Rules();
  v1::Block mine = BlockAt(5, 4);  // Leader of round 5 among 4 is validator 1.
  ASSERT_EQ(mine.header().proposer(), 1u);
  ASSERT_OK(rules.SignProposal(mine, BlockId(mine)));
  v1::Block other = BlockAt(6, 5);
  EXPECT_THAT(rules.SignProposal(other, BlockId(other)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK(rules.SignVote(mine, BlockId(mine)));
  EXPECT_THAT(rules.SignProposal(mine, BlockId(mine)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// Issue 7, defect 6: one proposal per round, also when the leader has not voted yet (a crash
// between the proposal and its vote) and after a restart from the persisted state.
TEST_F(SafetyRulesTest, ProposalSignedOncePerRoundAndRecorded) {
  SafetyRules rules = Rules();
  v1::Block mine = BlockAt(5, 4);
  ASSERT_OK(rules.SignProposal(mine, BlockId(mine)));
  EXPECT_EQ(rules.state().last_proposed_round(), 5u);
  EXPECT_EQ(rules.state().high_qc().round(), 4u);
  v1::Block again = BlockAt(5, 4, nullptr, {"different"});
  EXPECT_THAT(rules.SignProposal(again, BlockId(again)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  SafetyRules restarted = Rules(rules.state());
  EXPECT_THAT(restarted.SignProposal(again, BlockId(again)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(SafetyRulesTest, MutationSkipLastVotedRoundVotesTwiceInARound) {
  SafetyRules rules = Rules({}, Mutation::kSkipLastVotedRound);
  v1::Block a = BlockAt(3, 2);
  v1::Block b = BlockAt(3, 2, nullptr, {"different"});
  ASSERT_OK_AND_ASSIGN(v1::Vote va, rules.SignVote(a, BlockId(a)));
  ASSERT_OK_AND_ASSIGN(v1::Vote vb, rules.SignVote(b, BlockId(b)));
  EXPECT_NE(va.block_id(), vb.block_id());
}

TEST_F(SafetyRulesTest, MutationIgnoreLockDropsBothLockConditions) {
  SafetyRules rules = Rules({}, Mutation::kIgnoreLock);
  v1::TimeoutCertificate tc = MakeTc(keys_, 4, {0, 2, 3}, {1, 3, 2});
  v1::Block block = BlockAt(5, 2, &tc);
  EXPECT_OK(rules.SignVote(block, BlockId(block)));
  v1::Block high = BlockAt(7, 6);
  ASSERT_OK(rules.SignVote(high, BlockId(high)));  // one_chain_round = 6.
  v1::TimeoutCertificate tc7 = MakeTc(keys_, 7, {0, 2, 3}, {3, 3, 3});
  EXPECT_OK(rules.SignTimeout(8, QcAt(3), &tc7));
}

TEST_F(SafetyRulesTest, StateOfAnOlderEpochIsReset) {
  v1::SafetyState old;
  old.set_epoch(0);
  old.set_last_voted_round(40);
  SafetyRules rules(SafetyRulesOptions{testing::kChainId, 1, 1, Mutation::kNone}, old,
                    keys_.signer(1));
  EXPECT_EQ(rules.state().epoch(), 1u);
  EXPECT_EQ(rules.state().last_voted_round(), 0u);
}

}  // namespace
}  // namespace itmo::consensus
