// Regression tests for issue 7: what one byzantine leader (or peer) could do to honest replicas.
// Defect 1: a leader claiming an executed_height this node has not executed (or below its parent's)
// with a garbage executed_state_root got every honest vote, and every node diverged at commit.
// Defect 5: a leader could stamp a block arbitrarily far in the future (only "not below the
// parent" was checked) and move ledger time, so the reporting year of every later action, for good.
// Defect 4: the host stored every received proposal before verification (any peer could fill the
// pending-block store), and sync requests (disk reads) were served without a per-peer limit.
#include <optional>
#include <string>
#include <vector>

#include "consensus/canonical.h"
#include "consensus/limits.h"
#include "consensus/replica.h"
#include "gtest/gtest.h"
#include "tests/consensus/consensus_test_util.h"

namespace itmo::consensus {
namespace {

using ::itmo::consensus::testing::FakeApp;
using ::itmo::consensus::testing::FakeRoot;
using ::itmo::consensus::testing::Keys;
using ::itmo::consensus::testing::MakeBlock;
using ::itmo::consensus::testing::MakeProposal;
using ::itmo::consensus::testing::MakeQc;
using ::itmo::consensus::testing::Options;

MessageReceived ProposalFrom(uint32_t from, const v1::Proposal& proposal) {
  MessageReceived m;
  m.from = from;
  *m.message.mutable_proposal() = proposal;
  return m;
}

// The round of the first vote among `actions`, if any (sent, or held as the next leader's own).
std::optional<uint64_t> VotedRound(const std::vector<Action>& actions) {
  for (const Action& action : actions) {
    if (const auto* send = std::get_if<SendTo>(&action); send && send->message.has_vote()) {
      return send->message.vote().round();
    }
  }
  return std::nullopt;
}

bool SentSyncRequestTo(const std::vector<Action>& actions, uint32_t to) {
  for (const Action& action : actions) {
    if (const auto* send = std::get_if<SendTo>(&action);
        send && send->to == to && send->message.has_sync_request()) {
      return true;
    }
  }
  return false;
}

void SetExecuted(v1::Block* block, uint64_t height, const std::string& root) {
  block->mutable_header()->set_executed_height(height);
  block->mutable_header()->set_executed_state_root(root);
}

std::string RootBytes(uint64_t height) {
  return std::string(crypto::AsStringView(FakeRoot(height)));
}

class ByzantineLeaderTest : public ::testing::Test {
 protected:
  // Validator 0: votes of rounds 1 and 2 go to validators 2 and 3 (never its own).
  ByzantineLeaderTest()
      : replica_(Options(keys_, 0), {}, keys_.signer(0), &verifier_, &app_, RecoveredChain{}) {
    EXPECT_TRUE(replica_.Handle(Start{}).ok());
    genesis_ = GenesisBlock(testing::kChainId, 0);
    b1_ = MakeBlock(genesis_, GenesisQc(testing::kChainId, 0), 1, 4);
  }

  absl::StatusOr<std::vector<Action>> Deliver(const v1::Block& block) {
    return replica_.Handle(ProposalFrom(block.header().proposer(), MakeProposal(keys_, block)));
  }

  // Delivers b1 (voted for) and returns a child b2 of it for round 2, claiming the given head.
  v1::Block B2Claiming(uint64_t executed_height, const std::string& root) {
    absl::StatusOr<std::vector<Action>> actions = Deliver(b1_);
    EXPECT_TRUE(actions.ok()) << actions.status();
    EXPECT_EQ(VotedRound(*actions), std::optional<uint64_t>(1));
    v1::Block b2 = MakeBlock(b1_, MakeQc(keys_, b1_, {0, 1, 2}), 2, 4);
    SetExecuted(&b2, executed_height, root);
    return b2;
  }

  Keys keys_{4};
  crypto::Ed25519Verifier verifier_;
  FakeApp app_;
  Replica replica_;
  v1::Block genesis_;
  v1::Block b1_;
};

TEST_F(ByzantineLeaderTest, NoVoteForAGarbageRootAtTheExecutedHead) {
  v1::Block b1 = b1_;
  SetExecuted(&b1, 0, std::string(32, 'x'));
  absl::StatusOr<std::vector<Action>> actions = Deliver(b1);
  ASSERT_TRUE(actions.ok()) << actions.status();  // Kept in the tree, but not voted for.
  EXPECT_EQ(VotedRound(*actions), std::nullopt);
  EXPECT_EQ(replica_.safety_state().last_voted_round(), 0u);
}

TEST_F(ByzantineLeaderTest, NoVoteForAGarbageRootAboveTheExecutedHeadEvenOnceExecuted) {
  // The defect: executed_height = h - 1 (not executed here yet) with a garbage root was voted for.
  const v1::Block b2 = B2Claiming(1, std::string(32, 'x'));
  absl::StatusOr<std::vector<Action>> actions = Deliver(b2);
  ASSERT_TRUE(actions.ok()) << actions.status();
  EXPECT_EQ(VotedRound(*actions), std::nullopt);
  EXPECT_TRUE(SentSyncRequestTo(*actions, b2.header().proposer()))
      << "height 1 is not committed here: the committed blocks are fetched from the proposer";
  EXPECT_EQ(replica_.round(), 2u);
  // This node executes height 1: its own root differs from the claim, so still no vote.
  app_.base_height = 1;
  actions = replica_.Handle(Executed{1});
  ASSERT_TRUE(actions.ok()) << actions.status();
  EXPECT_EQ(VotedRound(*actions), std::nullopt);
  EXPECT_EQ(replica_.safety_state().last_voted_round(), 1u);
}

TEST_F(ByzantineLeaderTest, LaggingVoterVotesOnceItHasExecutedTheClaimedHeight) {
  const v1::Block b2 = B2Claiming(1, RootBytes(1));
  absl::StatusOr<std::vector<Action>> actions = Deliver(b2);
  ASSERT_TRUE(actions.ok()) << actions.status();
  EXPECT_EQ(VotedRound(*actions), std::nullopt) << "cannot check the root yet: no vote now";
  actions = replica_.Handle(Executed{0});  // Nothing new executed: still waiting.
  ASSERT_TRUE(actions.ok());
  EXPECT_EQ(VotedRound(*actions), std::nullopt);
  app_.base_height = 1;  // The host executed height 1 (e.g. after a sync).
  actions = replica_.Handle(Executed{1});
  ASSERT_TRUE(actions.ok()) << actions.status();
  EXPECT_EQ(VotedRound(*actions), std::optional<uint64_t>(2));
  EXPECT_EQ(replica_.safety_state().last_voted_round(), 2u);
}

TEST_F(ByzantineLeaderTest, RejectsExecutedHeightBelowTheParentsOrNotBelowItsOwnHeight) {
  app_.base_height = 1;  // Height 1 is executed here: the roots below would all check.
  const v1::Block b2 = B2Claiming(1, RootBytes(1));
  absl::StatusOr<std::vector<Action>> actions = Deliver(b2);
  ASSERT_TRUE(actions.ok()) << actions.status();
  EXPECT_EQ(VotedRound(*actions), std::optional<uint64_t>(2));

  // A child of b2 claiming executed_height 0, below its parent's 1: refused.
  v1::Block b3 = MakeBlock(b2, MakeQc(keys_, b2, {0, 1, 2}), 3, 4);
  SetExecuted(&b3, 0, RootBytes(0));
  absl::StatusOr<std::vector<Action>> refused = Deliver(b3);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_EQ(replica_.safety_state().last_voted_round(), 2u);
  EXPECT_FALSE(replica_.block_tree().Contains(BlockId(b3)));

  // executed_height == height: a block cannot contain its own post-state.
  SetExecuted(&b3, 3, RootBytes(1));
  refused = Deliver(b3);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_FALSE(replica_.block_tree().Contains(BlockId(b3)));
  EXPECT_EQ(replica_.safety_state().last_voted_round(), 2u);
}

TEST(ByzantineLeaderBlockTreeTest, CheckExtendsRefusesExecutedHeightBelowTheParents) {
  const v1::Block genesis = GenesisBlock(testing::kChainId, 0);
  Keys keys(4);
  v1::Block parent = MakeBlock(genesis, GenesisQc(testing::kChainId, 0), 1, 4);
  SetExecuted(&parent, 0, RootBytes(0));
  v1::Block child = MakeBlock(parent, MakeQc(keys, parent, {0, 1, 2}), 2, 4);
  SetExecuted(&child, 1, RootBytes(1));
  EXPECT_TRUE(CheckExtends(child, parent).ok());
  v1::Block grandchild = MakeBlock(child, MakeQc(keys, child, {0, 1, 2}), 3, 4);
  SetExecuted(&grandchild, 0, RootBytes(0));
  EXPECT_EQ(CheckExtends(grandchild, child).code(), absl::StatusCode::kInvalidArgument);
  SetExecuted(&grandchild, 1, RootBytes(1));
  EXPECT_TRUE(CheckExtends(grandchild, child).ok());
}

// Defect 5. Validator 0's clock reads kNowMs; b1 (round 1) is stamped `ahead_ms` beyond it.
class FutureTimestampTest : public ::testing::Test {
 protected:
  static constexpr int64_t kNowMs = 1'000'000;
  static constexpr uint64_t kBoundMs = kTimestampAheadMsDefault;

  FutureTimestampTest()
      : replica_(Options(keys_, 0), {}, keys_.signer(0), &verifier_, &app_, RecoveredChain{}) {
    EXPECT_TRUE(replica_.Handle(Start{kNowMs}).ok());
  }

  absl::StatusOr<std::vector<Action>> DeliverB1AheadBy(uint64_t ahead_ms) {
    const v1::Block genesis = GenesisBlock(testing::kChainId, 0);
    v1::Block b1 = MakeBlock(genesis, GenesisQc(testing::kChainId, 0), 1, 4);
    b1.mutable_header()->set_timestamp_ms(static_cast<uint64_t>(kNowMs) + ahead_ms);
    return replica_.Handle(ProposalFrom(b1.header().proposer(), MakeProposal(keys_, b1)));
  }

  Keys keys_{4};
  crypto::Ed25519Verifier verifier_;
  FakeApp app_;
  Replica replica_;
};

TEST_F(FutureTimestampTest, NoVoteForABlockFarAheadOfTheClock) {
  absl::StatusOr<std::vector<Action>> actions = DeliverB1AheadBy(1'000'000'000);
  ASSERT_TRUE(actions.ok()) << actions.status();  // Kept (its QC may still matter), not voted for.
  EXPECT_EQ(VotedRound(*actions), std::nullopt);
  actions = replica_.Handle(Tick{kNowMs + 1'000});
  ASSERT_TRUE(actions.ok());
  EXPECT_EQ(VotedRound(*actions), std::nullopt);
  EXPECT_EQ(replica_.safety_state().last_voted_round(), 0u);
}

TEST_F(FutureTimestampTest, VotesForABlockWithinTheBound) {
  absl::StatusOr<std::vector<Action>> actions = DeliverB1AheadBy(kBoundMs);
  ASSERT_TRUE(actions.ok()) << actions.status();
  EXPECT_EQ(VotedRound(*actions), std::optional<uint64_t>(1));
}

TEST_F(FutureTimestampTest, VoterWhoseClockIsBehindVotesOnceItCatchesUp) {
  absl::StatusOr<std::vector<Action>> actions = DeliverB1AheadBy(kBoundMs + 500);
  ASSERT_TRUE(actions.ok()) << actions.status();
  EXPECT_EQ(VotedRound(*actions), std::nullopt);
  actions = replica_.Handle(Tick{kNowMs + 499});
  ASSERT_TRUE(actions.ok());
  EXPECT_EQ(VotedRound(*actions), std::nullopt);
  actions = replica_.Handle(Tick{kNowMs + 500});
  ASSERT_TRUE(actions.ok());
  EXPECT_EQ(VotedRound(*actions), std::optional<uint64_t>(1));
  EXPECT_EQ(replica_.safety_state().last_voted_round(), 1u);
}

TEST(FutureTimestampOptionsTest, BoundIsValidatedAgainstTheLimits) {
  Keys keys(4);
  ReplicaOptions options = Options(keys, 0);
  EXPECT_TRUE(Replica::ValidateOptions(options).ok());
  options.timestamp_ahead_ms_max = kTimestampAheadMsMin - 1;
  EXPECT_EQ(Replica::ValidateOptions(options).code(), absl::StatusCode::kInvalidArgument);
  options.timestamp_ahead_ms_max = kTimestampAheadMsMax + 1;
  EXPECT_EQ(Replica::ValidateOptions(options).code(), absl::StatusCode::kInvalidArgument);
  options.timestamp_ahead_ms_max = kTimestampAheadMsMax;
  EXPECT_TRUE(Replica::ValidateOptions(options).ok());
}

size_t KeptBlocks(const std::vector<Action>& actions) {
  size_t kept = 0;
  for (const Action& action : actions) kept += std::holds_alternative<KeepBlock>(action) ? 1 : 0;
  return kept;
}

TEST_F(ByzantineLeaderTest, KeepsOnlyVerifiedBlocksOfTheRoundsLeader) {
  // A proposal whose signature does not verify: refused, nothing to keep.
  v1::Proposal forged = MakeProposal(keys_, b1_);
  forged.set_signature(std::string(64, 'x'));
  absl::StatusOr<std::vector<Action>> refused =
      replica_.Handle(ProposalFrom(b1_.header().proposer(), forged));
  EXPECT_FALSE(refused.ok());
  // A block proposed (and signed) by a validator that is not the round's leader: refused.
  v1::Block not_leader = b1_;
  not_leader.mutable_header()->set_proposer((b1_.header().proposer() + 1) % 4);
  refused = replica_.Handle(
      ProposalFrom(not_leader.header().proposer(), MakeProposal(keys_, not_leader)));
  EXPECT_FALSE(refused.ok());
  // The leader's verified proposal: kept once, before the vote leaves.
  absl::StatusOr<std::vector<Action>> actions = Deliver(b1_);
  ASSERT_TRUE(actions.ok()) << actions.status();
  ASSERT_EQ(KeptBlocks(*actions), 1u);
  EXPECT_TRUE(std::holds_alternative<KeepBlock>(actions->front()));
  EXPECT_EQ(BlockId(std::get<KeepBlock>(actions->front()).block), BlockId(b1_));
  // The same proposal again is already in the tree: nothing new to keep.
  actions = Deliver(b1_);
  ASSERT_TRUE(actions.ok()) << actions.status();
  EXPECT_EQ(KeptBlocks(*actions), 0u);
}

TEST(KeepBlockTest, LeaderKeepsItsOwnProposalBeforeItsPersistAndBroadcast) {
  Keys keys(4);
  crypto::Ed25519Verifier verifier;
  FakeApp app;
  // Validator 1 leads round 1.
  Replica replica(Options(keys, 1), {}, keys.signer(1), &verifier, &app, RecoveredChain{});
  absl::StatusOr<std::vector<Action>> actions = replica.Handle(Start{});
  ASSERT_TRUE(actions.ok()) << actions.status();
  ASSERT_EQ(KeptBlocks(*actions), 1u);
  size_t keep = actions->size(), persist = actions->size(), broadcast = actions->size();
  for (size_t i = 0; i < actions->size(); ++i) {
    const Action& action = (*actions)[i];
    if (std::holds_alternative<KeepBlock>(action)) keep = i;
    if (std::holds_alternative<PersistSafetyState>(action) && persist == actions->size()) {
      persist = i;
    }
    if (std::holds_alternative<Broadcast>(action)) broadcast = i;
  }
  EXPECT_LT(keep, persist);
  EXPECT_LT(persist, broadcast);
  EXPECT_EQ(std::get<KeepBlock>((*actions)[keep]).block.header().round(), 1u);
}

MessageReceived SyncRequestFrom(uint32_t from) {
  MessageReceived m;
  m.from = from;
  m.message.mutable_sync_request()->set_from_height(1);
  m.message.mutable_sync_request()->set_count(kSyncBlocksMax);
  return m;
}

TEST_F(ByzantineLeaderTest, SyncRequestsAreRateLimitedPerPeer) {
  ASSERT_TRUE(replica_.Handle(Tick{1'000}).ok());
  for (uint32_t i = 0; i < kSyncRequestsBurst; ++i) {
    EXPECT_TRUE(replica_.Handle(SyncRequestFrom(1)).ok()) << i;
  }
  absl::StatusOr<std::vector<Action>> refused = replica_.Handle(SyncRequestFrom(1));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  // Another peer is not crowded out by the flooder.
  EXPECT_TRUE(replica_.Handle(SyncRequestFrom(2)).ok());
  // Observers (ids above the validators) share one bucket.
  for (uint32_t i = 0; i < kSyncRequestsBurst; ++i) {
    EXPECT_TRUE(replica_.Handle(SyncRequestFrom(10 + i)).ok()) << i;
  }
  EXPECT_FALSE(replica_.Handle(SyncRequestFrom(20)).ok());
  // One token back per kSyncRequestRefillMs of the replica's clock.
  ASSERT_TRUE(replica_.Handle(Tick{1'000 + kSyncRequestRefillMs - 1}).ok());
  EXPECT_FALSE(replica_.Handle(SyncRequestFrom(1)).ok());
  ASSERT_TRUE(replica_.Handle(Tick{1'000 + kSyncRequestRefillMs}).ok());
  EXPECT_TRUE(replica_.Handle(SyncRequestFrom(1)).ok());
  EXPECT_FALSE(replica_.Handle(SyncRequestFrom(1)).ok());
}

}  // namespace
}  // namespace itmo::consensus
