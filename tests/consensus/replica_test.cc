#include "consensus/replica.h"

#include <algorithm>
#include <cstdio>

#include "consensus/canonical.h"
#include "gtest/gtest.h"
#include "tests/consensus/consensus_test_util.h"
#include "tests/testing/status_matchers.h"

namespace itmo::consensus {
namespace {

using ::itmo::consensus::testing::Cluster;
using ::itmo::consensus::testing::Envelope;
using ::itmo::consensus::testing::FakeApp;
using ::itmo::consensus::testing::Id;
using ::itmo::consensus::testing::Keys;
using ::itmo::consensus::testing::MakeBlock;
using ::itmo::consensus::testing::MakeProposal;
using ::itmo::consensus::testing::MakeQc;
using ::itmo::consensus::testing::MakeTc;
using ::itmo::consensus::testing::MustHandle;
using ::itmo::consensus::testing::Options;

// Every peer's committed chain is a prefix of peer 0's (or the other way round): agreement.
void ExpectAgreement(Cluster& cluster) {
  uint32_t longest = 0;
  for (uint32_t p = 1; p < cluster.peers(); ++p) {
    if (cluster.app(p).committed().size() > cluster.app(longest).committed().size()) longest = p;
  }
  const auto& reference = cluster.app(longest).committed();
  for (uint32_t p = 0; p < cluster.peers(); ++p) {
    const auto& mine = cluster.app(p).committed();
    for (size_t i = 0; i < mine.size(); ++i) {
      ASSERT_EQ(Id(mine[i].block()), Id(reference[i].block()))
          << "peer " << p << " height " << i + 1;
    }
  }
}

MessageReceived Received(uint32_t from, v1::Proposal proposal) {
  MessageReceived m;
  m.from = from;
  *m.message.mutable_proposal() = std::move(proposal);
  return m;
}

// The vote sent in `actions`, if any.
std::optional<v1::Vote> SentVote(const std::vector<Action>& actions, uint32_t* to = nullptr) {
  for (const Action& action : actions) {
    if (const auto* send = std::get_if<SendTo>(&action);
        send != nullptr && send->message.has_vote()) {
      if (to != nullptr) *to = send->to;
      return send->message.vote();
    }
  }
  return std::nullopt;
}

TEST(ReplicaClusterTest, FourValidatorsAndAnObserverCommitHundredsOfBlocks) {
  Cluster cluster(4, 1);
  cluster.Start();
  cluster.Run(400'000, [&] { return cluster.MinCommitted() >= 300; });
  EXPECT_GE(cluster.MinCommitted(), 300u);
  EXPECT_EQ(cluster.errors, 0u);
  EXPECT_EQ(cluster.order_violations, 0u);
  ExpectAgreement(cluster);
  // The observer followed and verified the same chain.
  EXPECT_GE(cluster.app(4).committed().size(), 290u);
  // Payloads made it through intact, and every block's proof links to its block.
  for (const v1::CommittedBlock& c : cluster.app(0).committed()) {
    ASSERT_EQ(c.block().txs_size(), 2);
    EXPECT_EQ(c.block().txs(0), "tx-" + std::to_string(c.block().header().height()) + "-0");
    EXPECT_EQ(c.qc().block_id(), Id(c.block()));
  }
  // In the fault-free run every round ends in a QC: rounds equal heights.
  const auto& last = cluster.app(0).committed().back();
  EXPECT_EQ(last.block().header().round(), last.block().header().height());
}

TEST(ReplicaClusterTest, SingleValidatorCommits) {
  Cluster cluster(1, 0);
  cluster.Start();
  cluster.Run(10'000, [&] { return cluster.MinCommitted() >= 20; });
  EXPECT_GE(cluster.MinCommitted(), 20u);
  EXPECT_EQ(cluster.errors, 0u);
}

TEST(ReplicaClusterTest, SilentLeaderRoundsEndInTcsAndCommitsContinue) {
  Cluster cluster(4, 0);
  cluster.drop = [](const Envelope& e) { return e.from == 1; };  // Validator 1 sends nothing.
  cluster.Start();
  cluster.Run(400'000, [&] { return cluster.MinCommitted() >= 40; });
  EXPECT_GE(cluster.MinCommitted(), 40u);
  EXPECT_EQ(cluster.order_violations, 0u);
  ExpectAgreement(cluster);
  bool saw_tc = false;
  for (const v1::CommittedBlock& c : cluster.app(0).committed()) {
    EXPECT_NE(c.block().header().proposer(), 1u) << "validator 1's proposals never arrive";
    saw_tc = saw_tc || c.block().has_tc();
  }
  EXPECT_TRUE(saw_tc) << "blocks after a silent leader's round carry the TC";
  EXPECT_GT(cluster.replica(0).round(), cluster.replica(0).committed_height());
}

TEST(ReplicaClusterTest, PartitionedValidatorCatchesUpBySync) {
  Cluster cluster(4, 0);
  bool partitioned = true;
  cluster.drop = [&](const Envelope& e) { return partitioned && (e.from == 3 || e.to == 3); };
  cluster.Start();
  cluster.Run(400'000, [&] { return cluster.replica(0).committed_height() >= 80; });
  ASSERT_GE(cluster.replica(0).committed_height(), 80u);
  EXPECT_EQ(cluster.replica(3).committed_height(), 0u);
  partitioned = false;
  cluster.Run(400'000, [&] { return cluster.replica(3).committed_height() >= 120; });
  EXPECT_GE(cluster.replica(3).committed_height(), 120u);
  ExpectAgreement(cluster);
}

TEST(ReplicaClusterTest, RestartedValidatorResumesFromPersistedState) {
  Cluster cluster(4, 1);
  cluster.Start();
  cluster.Run(100'000, [&] { return cluster.MinCommitted() >= 30; });
  ASSERT_GE(cluster.MinCommitted(), 30u);
  const uint64_t voted = cluster.persisted[2].last_voted_round();
  cluster.Restart(2);
  EXPECT_EQ(cluster.replica(2).committed_height(), cluster.app(2).committed().size());
  EXPECT_EQ(cluster.replica(2).safety_state().last_voted_round(), voted);
  cluster.Restart(4);  // The observer too.
  cluster.Run(200'000, [&] { return cluster.MinCommitted() >= 80; });
  EXPECT_GE(cluster.MinCommitted(), 80u);
  EXPECT_GE(cluster.app(4).committed().size(), 70u);
  EXPECT_EQ(cluster.order_violations, 0u);
  ExpectAgreement(cluster);
}

TEST(ReplicaClusterTest, MinorityRestartedTogetherRejoins) {
  Cluster cluster(4, 0);
  cluster.Start();
  cluster.Run(100'000, [&] { return cluster.MinCommitted() >= 20; });
  cluster.Restart(1);
  cluster.Restart(3);
  cluster.queue.clear();  // Everything in flight is lost too.
  cluster.Run(200'000, [&] { return cluster.MinCommitted() >= 60; });
  EXPECT_GE(cluster.MinCommitted(), 60u);
  ExpectAgreement(cluster);
}

TEST(ReplicaClusterTest, AllRestartedTogetherRecoverWithTheirStoredBlocks) {
  Cluster cluster(4, 0);
  cluster.Start();
  cluster.Run(100'000, [&] { return cluster.MinCommitted() >= 20; });
  for (uint32_t i = 0; i < 4; ++i) cluster.Restart(i);
  cluster.queue.clear();
  cluster.Run(200'000, [&] { return cluster.MinCommitted() >= 60; });
  EXPECT_GE(cluster.MinCommitted(), 60u);
  EXPECT_EQ(cluster.order_violations, 0u);
  ExpectAgreement(cluster);
}

TEST(ReplicaClusterTest, MutationPersistAfterSendIsVisibleInActionOrder) {
  Cluster cluster(4, 0, Mutation::kPersistAfterSend);
  cluster.Start();
  cluster.Run(10'000, [&] { return cluster.MinCommitted() >= 5; });
  EXPECT_GT(cluster.order_violations, 0u);
}

class ReplicaTest : public ::testing::Test {
 protected:
  ReplicaTest() : keys_(4), genesis_(GenesisBlock(testing::kChainId, 0)) {}

  std::unique_ptr<Replica> Make(uint32_t me, v1::SafetyState state = {},
                                Mutation mutation = Mutation::kNone) {
    return std::make_unique<Replica>(Options(keys_, me, mutation), std::move(state),
                                     keys_.signer(me), &verifier_, &app_, RecoveredChain{});
  }
  v1::Block B1(std::vector<std::string> txs = {}) {
    return MakeBlock(genesis_, GenesisQc(testing::kChainId, 0), 1, 4, std::move(txs));
  }

  Keys keys_;
  crypto::Ed25519Verifier verifier_;
  FakeApp app_;
  v1::Block genesis_;
};

TEST_F(ReplicaTest, PersistsSafetyStateBeforeSendingItsVote) {
  std::unique_ptr<Replica> leader = Make(1);  // Leader of round 1.
  std::vector<Action> actions = MustHandle(*leader, Start{});
  int persist_at = -1;
  int vote_at = -1;
  int proposal_at = -1;
  for (int i = 0; i < static_cast<int>(actions.size()); ++i) {
    if (std::holds_alternative<PersistSafetyState>(actions[i])) persist_at = i;
    if (const auto* s = std::get_if<SendTo>(&actions[i]); s && s->message.has_vote()) vote_at = i;
    if (const auto* b = std::get_if<Broadcast>(&actions[i]); b && b->message.has_proposal()) {
      proposal_at = i;
    }
  }
  ASSERT_GE(proposal_at, 0);
  ASSERT_GE(persist_at, 0);
  ASSERT_GE(vote_at, 0);
  EXPECT_LT(persist_at, vote_at);
  const auto& persisted = std::get<PersistSafetyState>(actions[persist_at]).state;
  const auto& vote = std::get<SendTo>(actions[vote_at]);
  EXPECT_EQ(vote.to, 2u) << "votes go to the next leader";
  EXPECT_EQ(persisted.last_vote().SerializeAsString(), vote.message.vote().SerializeAsString());

  std::unique_ptr<Replica> mutant = Make(1, {}, Mutation::kPersistAfterSend);
  actions = MustHandle(*mutant, Start{});
  persist_at = vote_at = -1;
  for (int i = 0; i < static_cast<int>(actions.size()); ++i) {
    if (std::holds_alternative<PersistSafetyState>(actions[i])) persist_at = i;
    if (const auto* s = std::get_if<SendTo>(&actions[i]); s && s->message.has_vote()) vote_at = i;
  }
  EXPECT_GT(persist_at, vote_at);
}

TEST_F(ReplicaTest, TimesOutAfterTheRoundTimerAndPersistsFirst) {
  std::unique_ptr<Replica> replica = Make(0);
  MustHandle(*replica, Start{});
  const uint32_t ticks = Options(keys_, 0).round_timeout_ticks_base;
  for (uint32_t i = 0; i + 1 < ticks; ++i) EXPECT_TRUE(MustHandle(*replica, Tick{}).empty());
  std::vector<Action> actions = MustHandle(*replica, Tick{});
  ASSERT_EQ(actions.size(), 2u);
  ASSERT_TRUE(std::holds_alternative<PersistSafetyState>(actions[0]));
  const auto& broadcast = std::get<Broadcast>(actions[1]);
  ASSERT_TRUE(broadcast.message.has_timeout());
  EXPECT_EQ(broadcast.message.timeout().round(), 1u);
  EXPECT_EQ(std::get<PersistSafetyState>(actions[0]).state.last_timeout().SerializeAsString(),
            broadcast.message.timeout().SerializeAsString());
  EXPECT_EQ(replica->safety_state().last_voted_round(), 1u);
}

TEST_F(ReplicaTest, VotesForAValidProposalAndAdvancesOnQcAndTc) {
  std::unique_ptr<Replica> replica = Make(0);
  MustHandle(*replica, Start{});
  EXPECT_EQ(replica->round(), 1u);
  v1::Block b1 = B1({"a", "b"});
  uint32_t to = 99;
  std::optional<v1::Vote> vote =
      SentVote(MustHandle(*replica, Received(1, MakeProposal(keys_, b1))), &to);
  ASSERT_TRUE(vote.has_value());
  EXPECT_EQ(vote->block_id(), Id(b1));
  EXPECT_EQ(to, 2u);
  // A QC for round 1 (in a SyncInfo) moves the replica to round 2.
  MessageReceived sync;
  sync.from = 2;
  *sync.message.mutable_sync_info()->mutable_high_qc() = MakeQc(keys_, b1, {0, 1, 2});
  MustHandle(*replica, sync);
  EXPECT_EQ(replica->round(), 2u);
  EXPECT_EQ(replica->high_qc_round(), 1u);
  // A TC for round 2 moves it to round 3.
  MessageReceived tc;
  tc.from = 3;
  *tc.message.mutable_tc() = MakeTc(keys_, 2, {1, 2, 3}, {1, 1, 1});
  MustHandle(*replica, tc);
  EXPECT_EQ(replica->round(), 3u);
  EXPECT_EQ(replica->high_qc_round(), 1u);
}

TEST_F(ReplicaTest, FormsTcFromQuorumOfTimeoutsAndForwardsIt) {
  std::unique_ptr<Replica> replica = Make(0);
  MustHandle(*replica, Start{});
  std::vector<Action> all;
  for (uint32_t signer : {1u, 2u, 3u}) {
    v1::Timeout timeout;
    timeout.set_round(1);
    *timeout.mutable_high_qc() = GenesisQc(testing::kChainId, 0);
    timeout.set_signer(signer);
    timeout.set_signature(std::string(crypto::AsStringView(keys_.signer(signer)->Sign(
        crypto::kContextTimeout, testing::kChainId, TimeoutMessage(0, 1, 0)))));
    MessageReceived m;
    m.from = signer;
    *m.message.mutable_timeout() = timeout;
    std::vector<Action> last = MustHandle(*replica, m);
    all.insert(all.end(), last.begin(), last.end());
    if (signer == 2) {
      // f + 1 = 2 timeouts: the replica joins with its own (persisted first).
      ASSERT_GE(last.size(), 2u);
      EXPECT_TRUE(std::holds_alternative<PersistSafetyState>(last[0]));
      EXPECT_TRUE(std::get<Broadcast>(last[1]).message.has_timeout());
    }
  }
  EXPECT_EQ(replica->round(), 2u);
  bool forwarded = false;
  for (const Action& a : all) {
    if (const auto* s = std::get_if<SendTo>(&a); s && s->message.has_tc()) {
      forwarded = s->to == 2 && s->message.tc().round() == 1 &&
                  BitmapSigners(s->message.tc().signers()) == std::vector<uint32_t>{0, 1, 2};
    }
  }
  EXPECT_TRUE(forwarded) << "the TC (own timeout + f + 1 others) goes to the leader of round 2";
}

TEST_F(ReplicaTest, RestartResendsTheSameVoteAndNeverADifferentOne) {
  v1::Block b1 = B1();
  v1::SafetyState persisted;
  v1::Vote first;
  {
    std::unique_ptr<Replica> replica = Make(3);
    MustHandle(*replica, Start{});
    std::vector<Action> actions = MustHandle(*replica, Received(1, MakeProposal(keys_, b1)));
    for (const Action& a : actions) {
      if (const auto* p = std::get_if<PersistSafetyState>(&a)) persisted = p->state;
    }
    ASSERT_TRUE(SentVote(actions).has_value());
    first = *SentVote(actions);
  }
  std::unique_ptr<Replica> restarted = Make(3, persisted);
  std::optional<v1::Vote> resent = SentVote(MustHandle(*restarted, Start{}));
  ASSERT_TRUE(resent.has_value());
  EXPECT_EQ(resent->SerializeAsString(), first.SerializeAsString());
  // An equivocating leader's second block for round 1 gets no vote.
  v1::Block other = B1({"other"});
  EXPECT_FALSE(
      SentVote(MustHandle(*restarted, Received(1, MakeProposal(keys_, other)))).has_value());
  // The same block again gets the same vote.
  std::optional<v1::Vote> again =
      SentVote(MustHandle(*restarted, Received(1, MakeProposal(keys_, b1))));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->SerializeAsString(), first.SerializeAsString());
}

TEST_F(ReplicaTest, RetrievesAMissingParentThenVotes) {
  std::unique_ptr<Replica> replica = Make(0);
  MustHandle(*replica, Start{});
  v1::Block b1 = B1({"x"});
  v1::Block b2 = MakeBlock(b1, MakeQc(keys_, b1, {1, 2, 3}), 2, 4, {"y"});
  std::vector<Action> actions = MustHandle(*replica, Received(2, MakeProposal(keys_, b2)));
  EXPECT_FALSE(SentVote(actions).has_value());
  const SendTo* request = nullptr;
  for (const Action& a : actions) {
    if (const auto* s = std::get_if<SendTo>(&a); s && s->message.has_block_request()) request = s;
  }
  ASSERT_NE(request, nullptr);
  EXPECT_EQ(request->message.block_request().block_id(), Id(b1));
  EXPECT_EQ(request->to, 2u) << "asks the peer that sent the proposal";
  EXPECT_EQ(replica->round(), 2u) << "the QC alone moves the round";
  // An unsolicited or wrong response is rejected without effect.
  MessageReceived wrong;
  wrong.from = 2;
  wrong.message.mutable_block_response()->set_block_id(Id(b1));
  wrong.message.mutable_block_response()->set_status(v1::RETRIEVAL_SUCCEEDED);
  *wrong.message.mutable_block_response()->add_blocks() = b2;
  EXPECT_FALSE(replica->Handle(wrong).ok());
  MessageReceived response = wrong;
  *response.message.mutable_block_response()->mutable_blocks(0) = b1;
  std::optional<v1::Vote> vote = SentVote(MustHandle(*replica, response));
  ASSERT_TRUE(vote.has_value()) << "the pending proposal is retried once its parent arrives";
  EXPECT_EQ(vote->block_id(), Id(b2));
  EXPECT_TRUE(replica->block_tree().Contains(BlockId(b1)));
}

TEST_F(ReplicaTest, ServesBlockRetrieval) {
  std::unique_ptr<Replica> replica = Make(0);
  MustHandle(*replica, Start{});
  v1::Block b1 = B1();
  MustHandle(*replica, Received(1, MakeProposal(keys_, b1)));
  MessageReceived request;
  request.from = 3;
  request.message.mutable_block_request()->set_block_id(Id(b1));
  request.message.mutable_block_request()->set_count(5);
  std::vector<Action> actions = MustHandle(*replica, request);
  ASSERT_EQ(actions.size(), 1u);
  const auto& send = std::get<SendTo>(actions[0]);
  EXPECT_EQ(send.to, 3u);
  ASSERT_EQ(send.message.block_response().blocks_size(), 2);  // b1 and the genesis root.
  EXPECT_EQ(Id(send.message.block_response().blocks(0)), Id(b1));
}

TEST_F(ReplicaTest, RejectsByzantineMessagesWithoutChangingState) {
  std::unique_ptr<Replica> replica = Make(0);
  MustHandle(*replica, Start{});
  const std::string before = replica->safety_state().SerializeAsString();
  v1::Block b1 = B1();
  v1::Proposal bad_sig = MakeProposal(keys_, b1);
  bad_sig.mutable_signature()->at(0) ^= 1;
  EXPECT_FALSE(replica->Handle(Received(1, bad_sig)).ok());
  v1::Block wrong_leader = b1;
  wrong_leader.mutable_header()->set_proposer(3);
  EXPECT_FALSE(replica->Handle(Received(3, MakeProposal(keys_, wrong_leader))).ok());
  v1::Block bad_root = b1;
  bad_root.add_txs("smuggled");
  EXPECT_FALSE(replica->Handle(Received(1, MakeProposal(keys_, bad_root))).ok());
  v1::Block forged_qc = MakeBlock(b1, MakeQc(keys_, b1, {1, 2}), 2, 4);  // Too few signers.
  EXPECT_FALSE(replica->Handle(Received(2, MakeProposal(keys_, forged_qc))).ok());
  EXPECT_FALSE(replica->Handle(MessageReceived{1, v1::ConsensusMessage()}).ok());
  MessageReceived vote_to_non_leader;
  vote_to_non_leader.from = 1;
  vote_to_non_leader.message.mutable_vote()->set_voter(2);
  EXPECT_FALSE(replica->Handle(vote_to_non_leader).ok());
  EXPECT_EQ(replica->round(), 1u);
  EXPECT_EQ(replica->high_qc_round(), 0u);
  EXPECT_EQ(replica->block_tree().pending_blocks(), 0u);
  EXPECT_EQ(replica->safety_state().SerializeAsString(), before);
}

TEST_F(ReplicaTest, RefusesToVoteWhenTheApplicationRefuses) {
  std::unique_ptr<Replica> replica = Make(0);
  MustHandle(*replica, Start{});
  app_.refuse = true;
  EXPECT_FALSE(SentVote(MustHandle(*replica, Received(1, MakeProposal(keys_, B1())))).has_value());
  EXPECT_EQ(replica->safety_state().last_voted_round(), 0u);
}

TEST_F(ReplicaTest, ObserverNeverSignsAndValidatesOptions) {
  Replica observer(Options(keys_, std::nullopt), {}, nullptr, &verifier_, &app_, RecoveredChain{});
  MustHandle(observer, Start{});
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(MustHandle(observer, Tick{}).empty());
  EXPECT_FALSE(SentVote(MustHandle(observer, Received(1, MakeProposal(keys_, B1())))).has_value());
  EXPECT_TRUE(observer.is_observer());
  ReplicaOptions bad = Options(keys_, 7);
  EXPECT_FALSE(Replica::ValidateOptions(bad).ok());
  bad = Options(keys_, 0);
  bad.round_timeout_ticks_base = 0;
  EXPECT_FALSE(Replica::ValidateOptions(bad).ok());
  EXPECT_TRUE(Replica::ValidateOptions(Options(keys_, 0)).ok());
}

}  // namespace
}  // namespace itmo::consensus

namespace itmo::consensus {
namespace {

// xorshift64*: the test's own deterministic PRNG (the core uses none).
class TestRng {
 public:
  explicit TestRng(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

// Drops, duplicates, reorders and restarts under fixed seeds: agreement holds, nothing aborts, and
// the cluster keeps committing once the faults stop.
class ReplicaChaosTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(ReplicaChaosTest, AgreementUnderDropsDuplicatesReordersAndRestarts) {
  TestRng rng(GetParam());
  Cluster cluster(4, 1);
  cluster.Start();
  for (uint64_t step = 0; step < 12'000; ++step) {
    if (cluster.queue.empty() || rng.Below(20) == 0) {
      cluster.Run(1, [] { return false; });  // Ticks everyone when the queue is empty.
      if (!cluster.queue.empty()) continue;
      cluster.queue.push_back(Envelope{0, 1, v1::ConsensusMessage()});  // Junk: must be rejected.
      continue;
    }
    const size_t index = rng.Below(std::min<size_t>(cluster.queue.size(), 8));
    Envelope envelope = cluster.queue[index];
    const uint64_t roll = rng.Below(100);
    if (roll < 10) {
      cluster.queue.erase(cluster.queue.begin() + static_cast<std::ptrdiff_t>(index));  // Drop.
      continue;
    }
    if (roll >= 95) {
      cluster.queue.push_back(envelope);  // Duplicate (delivered now and later).
    } else {
      cluster.queue.erase(cluster.queue.begin() + static_cast<std::ptrdiff_t>(index));
    }
    cluster.Deliver(envelope);
    if (rng.Below(3'000) == 0) cluster.Restart(static_cast<uint32_t>(rng.Below(cluster.peers())));
  }
  ExpectAgreement(cluster);
  EXPECT_EQ(cluster.order_violations, 0u);
  const uint64_t before = cluster.MinCommitted();
  std::printf("seed %llu: committed %llu, round %llu, queue %zu, errors %llu\n",
              static_cast<unsigned long long>(GetParam()), static_cast<unsigned long long>(before),
              static_cast<unsigned long long>(cluster.replica(0).round()), cluster.queue.size(),
              static_cast<unsigned long long>(cluster.errors));
  cluster.Run(400'000, [&] { return cluster.MinCommitted() >= before + 20; });
  EXPECT_GE(cluster.MinCommitted(), before + 20) << "seed " << GetParam();
  ExpectAgreement(cluster);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ReplicaChaosTest, ::testing::Range<uint64_t>(1, 5));

}  // namespace
}  // namespace itmo::consensus

namespace itmo::consensus {
namespace {

TEST(ReplicaSyncTest, AcceptsOnlyVerifiedCommittedBlocksThatLink) {
  Cluster cluster(4, 0);
  cluster.Start();
  cluster.Run(100'000, [&] { return cluster.MinCommitted() >= 12; });
  ASSERT_GE(cluster.app(0).committed().size(), 12u);
  std::vector<v1::CommittedBlock> chain(cluster.app(0).committed().begin(),
                                        cluster.app(0).committed().begin() + 10);
  auto response = [&](const std::vector<v1::CommittedBlock>& blocks) {
    MessageReceived m;
    m.from = 1;
    for (const auto& b : blocks) *m.message.mutable_sync_response()->add_blocks() = b;
    return m;
  };
  Keys keys(4);
  crypto::Ed25519Verifier verifier;
  FakeApp app;
  Replica fresh(Options(keys, 3), {}, keys.signer(3), &verifier, &app, RecoveredChain{});
  MustHandle(fresh, Start{});
  // A tampered QC signature, a gap, and a wrong first height are all refused without effect.
  std::vector<v1::CommittedBlock> tampered = chain;
  tampered[4].mutable_qc()->mutable_signatures(0)->at(3) ^= 1;
  EXPECT_FALSE(fresh.Handle(response(tampered)).ok());
  std::vector<v1::CommittedBlock> gap = chain;
  gap.erase(gap.begin() + 3);
  EXPECT_FALSE(fresh.Handle(response(gap)).ok());
  std::vector<v1::CommittedBlock> late(chain.begin() + 1, chain.end());
  EXPECT_FALSE(fresh.Handle(response(late)).ok());
  EXPECT_EQ(fresh.committed_height(), 0u);
  // The genuine range commits every block up to the last one with a 2-chain proof, in order.
  std::vector<Action> actions = MustHandle(fresh, response(chain));
  uint64_t expected = 1;
  for (const Action& a : actions) {
    if (const auto* c = std::get_if<Commit>(&a)) {
      EXPECT_EQ(c->height(), expected++);
      EXPECT_EQ(Id(c->block()), Id(chain[c->height() - 1].block()));
    }
  }
  EXPECT_EQ(fresh.committed_height(), expected - 1);
  EXPECT_GE(fresh.committed_height(), 9u);
  EXPECT_GT(fresh.round(), chain[fresh.committed_height() - 1].block().header().round());
}

}  // namespace
}  // namespace itmo::consensus

namespace itmo::consensus {
namespace {

bool HasProposal(const std::vector<Action>& actions) {
  for (const Action& action : actions) {
    if (const auto* b = std::get_if<Broadcast>(&action); b && b->message.has_proposal()) {
      return true;
    }
  }
  return false;
}

class ProposalPacingTest : public ::testing::Test {
 protected:
  ProposalPacingTest() : keys_(4) {}

  std::unique_ptr<Replica> MakeLeader(uint32_t wait_ticks) {
    ReplicaOptions options = Options(keys_, 1);  // Leader of round 1.
    options.empty_block_wait_ticks = wait_ticks;
    return std::make_unique<Replica>(options, v1::SafetyState{}, keys_.signer(1), &verifier_, &app_,
                                     RecoveredChain{});
  }

  Keys keys_;
  crypto::Ed25519Verifier verifier_;
  FakeApp app_;
};

TEST_F(ProposalPacingTest, IdleLeaderHoldsBackAnEmptyProposalForTheWaitTicks) {
  app_.txs_per_block = 0;
  std::unique_ptr<Replica> leader = MakeLeader(3);
  EXPECT_FALSE(HasProposal(MustHandle(*leader, Start{})));
  EXPECT_FALSE(HasProposal(MustHandle(*leader, Tick{})));
  EXPECT_FALSE(HasProposal(MustHandle(*leader, Tick{})));
  EXPECT_TRUE(HasProposal(MustHandle(*leader, Tick{}))) << "the heartbeat block after 3 ticks";
}

TEST_F(ProposalPacingTest, LeaderProposesAtOnceWhenTransactionsArrive) {
  app_.txs_per_block = 0;
  std::unique_ptr<Replica> leader = MakeLeader(3);
  EXPECT_FALSE(HasProposal(MustHandle(*leader, Start{})));
  app_.txs_per_block = 2;
  EXPECT_TRUE(HasProposal(MustHandle(*leader, Tick{})));
}

TEST_F(ProposalPacingTest, WithoutPacingAnEmptyBlockIsProposedAtOnce) {
  app_.txs_per_block = 0;
  std::unique_ptr<Replica> leader = MakeLeader(0);
  EXPECT_TRUE(HasProposal(MustHandle(*leader, Start{})));
}

TEST_F(ProposalPacingTest, WaitMustStayBelowTheRoundTimeout) {
  ReplicaOptions options = Options(keys_, 1);
  options.empty_block_wait_ticks = options.round_timeout_ticks_base;
  EXPECT_THAT(Replica::ValidateOptions(options),
              ::itmo::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ProposalPacingClusterTest, PacedClusterCommitsBothIdleAndBusy) {
  // Round timers are 4 ticks; idle leaders wait 3 for transactions, so heartbeat blocks arrive
  // before anyone times out, and blocks with transactions are driven to commit.
  Cluster idle(4, 0, Mutation::kNone, 3);
  for (uint32_t i = 0; i < 4; ++i) idle.app(i).txs_per_block = 0;
  idle.Start();
  idle.Run(50'000, [&] { return idle.MinCommitted() >= 10; });
  EXPECT_GE(idle.MinCommitted(), 10u);

  Cluster busy(4, 0, Mutation::kNone, 3);
  busy.Start();
  busy.Run(50'000, [&] { return busy.MinCommitted() >= 30; });
  EXPECT_GE(busy.MinCommitted(), 30u);
  ExpectAgreement(busy);
}

}  // namespace
}  // namespace itmo::consensus
