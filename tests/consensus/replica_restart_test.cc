// Regression tests for what a replica must persist to survive a crash (issue 7): the high TC and
// the timeout re-broadcast on every timer expiry (defect 3), and the round it proposed in
// (defect 6).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "consensus/canonical.h"
#include "consensus/replica.h"
#include "gtest/gtest.h"
#include "tests/consensus/consensus_test_util.h"

namespace itmo::consensus {
namespace {

using ::itmo::consensus::testing::Cluster;
using ::itmo::consensus::testing::Envelope;
using ::itmo::consensus::testing::FakeApp;
using ::itmo::consensus::testing::Keys;
using ::itmo::consensus::testing::MakeTc;
using ::itmo::consensus::testing::MustHandle;
using ::itmo::consensus::testing::Options;

MessageReceived TcFrom(uint32_t from, const v1::TimeoutCertificate& tc) {
  MessageReceived received;
  received.from = from;
  *received.message.mutable_tc() = tc;
  return received;
}

uint64_t MinRound(Cluster& cluster) {
  uint64_t low = UINT64_MAX;
  for (uint32_t i = 0; i < cluster.peers(); ++i) low = std::min(low, cluster.replica(i).round());
  return low;
}

// Defect 3: every replica of the network goes through rounds that end by TC (all proposals lost),
// then all crash at once, losing what was in flight, and restart from what they persisted; what
// they send at Start is lost too (peers not connected yet). Before the fix each resumed at
// high_qc.round + 1, below its highest_timeout_round: it could neither time out nor propose there,
// and the network stalled for good.
TEST(ReplicaRestartTest, FullNetworkRestartAfterTcRoundsMakesProgress) {
  Cluster cluster(4, 0);
  cluster.Start();
  cluster.Run(100'000, [&] { return cluster.MinCommitted() >= 3; });
  ASSERT_GE(cluster.MinCommitted(), 3u);

  cluster.drop = [](const Envelope& envelope) { return envelope.message.has_proposal(); };
  const uint64_t round_before = MinRound(cluster);
  cluster.Run(100'000, [&] { return MinRound(cluster) >= round_before + 4; });
  ASSERT_GE(MinRound(cluster), round_before + 4) << "rounds end by TC";
  for (uint32_t i = 0; i < cluster.peers(); ++i) {
    const v1::SafetyState& state = cluster.persisted[i];
    ASSERT_GE(state.highest_timeout_round(), state.high_qc().round() + 2)
        << "replica " << i << " timed out in at least two rounds after its high QC";
  }

  cluster.queue.clear();  // In flight at the crash.
  for (uint32_t i = 0; i < cluster.peers(); ++i) cluster.Restart(i);
  cluster.queue.clear();  // Sent at Start, before any peer was connected.
  cluster.drop = [](const Envelope&) { return false; };
  for (uint32_t i = 0; i < cluster.peers(); ++i) {
    EXPECT_GT(cluster.replica(i).round(), cluster.persisted[i].high_tc().round())
        << "replica " << i << " resumes after its persisted high TC";
  }

  const uint64_t committed = cluster.MinCommitted();
  cluster.Run(200'000, [&] { return cluster.MinCommitted() >= committed + 3; });
  EXPECT_GE(cluster.MinCommitted(), committed + 3) << "the network stalled after the restart";
  EXPECT_EQ(cluster.order_violations, 0u);
}

// Defect 3: a TC the replica receives is persisted, and a replica restarted from that state
// resumes in round high_tc.round + 1 (not high_qc.round + 1), where the leader proposes at once,
// justified by the TC.
TEST(ReplicaRestartTest, RestartedPacemakerResumesAfterThePersistedHighTc) {
  Keys keys(4);
  crypto::Ed25519Verifier verifier;
  FakeApp app;
  constexpr uint64_t kTcRound = 5;
  constexpr uint32_t kLeader = (kTcRound + 1) % 4;  // The leader of the round after the TC.
  constexpr uint32_t kMe = (kLeader + 1) % 4;
  Replica replica(Options(keys, kMe), {}, keys.signer(kMe), &verifier, &app, RecoveredChain{});
  MustHandle(replica, Start{});
  const v1::TimeoutCertificate tc = MakeTc(keys, kTcRound, {0, 1, 3}, {0, 0, 0});
  std::optional<v1::SafetyState> persisted;
  for (const Action& action : MustHandle(replica, TcFrom(0, tc))) {
    if (const auto* persist = std::get_if<PersistSafetyState>(&action)) persisted = persist->state;
  }
  ASSERT_EQ(replica.round(), kTcRound + 1);
  ASSERT_TRUE(persisted.has_value()) << "the TC was not persisted";
  EXPECT_EQ(persisted->high_tc().round(), kTcRound);

  // Crash, restart from the persisted state (only genesis committed): no QC above genesis.
  Replica restarted(Options(keys, kMe), *persisted, keys.signer(kMe), &verifier, &app,
                    RecoveredChain{});
  EXPECT_EQ(restarted.high_qc_round(), 0u);
  EXPECT_EQ(restarted.round(), kTcRound + 1);
  MustHandle(restarted, Start{});

  // The leader of that round, restarted from such a state, proposes with the TC.
  v1::SafetyState leader_state = *persisted;
  Replica leader(Options(keys, kLeader), leader_state, keys.signer(kLeader), &verifier, &app,
                 RecoveredChain{});
  EXPECT_EQ(leader.round(), kTcRound + 1);
  bool proposed = false;
  for (const Action& action : MustHandle(leader, Start{})) {
    if (const auto* b = std::get_if<Broadcast>(&action);
        b != nullptr && b->message.has_proposal()) {
      proposed = true;
      EXPECT_EQ(b->message.proposal().block().header().round(), kTcRound + 1);
      EXPECT_EQ(b->message.proposal().block().tc().round(), kTcRound) << "justified by the TC";
    }
  }
  EXPECT_TRUE(proposed) << "the restarted leader proposes with its persisted TC";
}

// Defect 3: the leader of the round after a TC persists the TC before its proposal (which the TC
// justifies) leaves.
TEST(ReplicaRestartTest, LeaderPersistsTheTcBeforeItsProposal) {
  Keys keys(4);
  crypto::Ed25519Verifier verifier;
  FakeApp app;
  constexpr uint64_t kTcRound = 5;
  constexpr uint32_t kMe = (kTcRound + 1) % 4;
  Replica replica(Options(keys, kMe), {}, keys.signer(kMe), &verifier, &app, RecoveredChain{});
  MustHandle(replica, Start{});
  const v1::TimeoutCertificate tc = MakeTc(keys, kTcRound, {0, 1, 3}, {0, 0, 0});
  std::optional<v1::SafetyState> persisted;
  bool proposed = false;
  for (const Action& action : MustHandle(replica, TcFrom(0, tc))) {
    if (const auto* persist = std::get_if<PersistSafetyState>(&action)) persisted = persist->state;
    if (const auto* b = std::get_if<Broadcast>(&action);
        b != nullptr && b->message.has_proposal()) {
      proposed = true;
      ASSERT_TRUE(persisted.has_value() && persisted->high_tc().round() == kTcRound)
          << "the proposal left before the TC that justifies it was persisted";
    }
  }
  EXPECT_TRUE(proposed);
}

// Defect 3: while a replica stays in a round it has timed out in, every expiry of its round timer
// re-broadcasts the same timeout, with no new fsync (and only on expiry: defect 2's "join once"
// is covered by ReplicaRegressionTest.JoinsARoundsTimeoutOnce).
TEST(ReplicaRestartTest, EveryTimerExpiryRebroadcastsTheLastTimeoutWithoutFsync) {
  Keys keys(4);
  crypto::Ed25519Verifier verifier;
  FakeApp app;
  Replica replica(Options(keys, 0), {}, keys.signer(0), &verifier, &app, RecoveredChain{});
  MustHandle(replica, Start{});
  uint32_t timeouts = 0;
  uint32_t persists = 0;
  for (uint32_t tick = 0; tick < 10 * 32 && timeouts < 4; ++tick) {
    for (const Action& action : MustHandle(replica, Tick{})) {
      if (std::holds_alternative<PersistSafetyState>(action)) ++persists;
      if (const auto* b = std::get_if<Broadcast>(&action);
          b != nullptr && b->message.has_timeout()) {
        EXPECT_EQ(b->message.timeout().round(), 1u);
        ++timeouts;
      }
    }
  }
  EXPECT_EQ(replica.round(), 1u);
  EXPECT_EQ(timeouts, 4u) << "one timeout per timer expiry";
  EXPECT_EQ(persists, 1u) << "only the first timeout of the round is persisted";

  // Restarted from that state (in the same round), the replica re-sends the timeout at Start and
  // again on every expiry.
  Replica restarted(Options(keys, 0), replica.safety_state(), keys.signer(0), &verifier, &app,
                    RecoveredChain{});
  MustHandle(restarted, Start{});
  timeouts = 0;
  persists = 0;
  for (uint32_t tick = 0; tick < 10 * 32 && timeouts < 2; ++tick) {
    for (const Action& action : MustHandle(restarted, Tick{})) {
      if (std::holds_alternative<PersistSafetyState>(action)) ++persists;
      if (const auto* b = std::get_if<Broadcast>(&action);
          b != nullptr && b->message.has_timeout()) {
        ++timeouts;
      }
    }
  }
  EXPECT_EQ(timeouts, 2u);
  EXPECT_EQ(persists, 0u);
}

// Defect 6: a leader broadcast its proposal before anything was persisted; crashing right after
// the send (before the persist of its own vote) it restarted in the same round and proposed a
// second, different block there. Now last_proposed_round is durable before the proposal leaves.
TEST(ReplicaRestartTest, LeaderCrashedAfterItsProposalNeverProposesAgainInThatRound) {
  Keys keys(4);
  crypto::Ed25519Verifier verifier;
  FakeApp app;
  constexpr uint32_t kMe = 1;  // The leader of round 1.
  Replica replica(Options(keys, kMe), {}, keys.signer(kMe), &verifier, &app, RecoveredChain{});
  const std::vector<Action> actions = MustHandle(replica, Start{100});
  // The durable state of a crash right after the proposal's Broadcast (or right after the persist
  // before it: the same state).
  v1::SafetyState durable;
  bool proposed = false;
  uint32_t persists = 0;
  for (const Action& action : actions) {
    if (const auto* persist = std::get_if<PersistSafetyState>(&action)) {
      ++persists;
      if (!proposed) durable = persist->state;
    }
    if (const auto* b = std::get_if<Broadcast>(&action);
        b != nullptr && b->message.has_proposal()) {
      ASSERT_FALSE(proposed);
      proposed = true;
      EXPECT_EQ(b->message.proposal().block().header().round(), 1u);
    }
  }
  ASSERT_TRUE(proposed);
  EXPECT_EQ(durable.last_proposed_round(), 1u)
      << "the proposed round was not durable before it left";
  EXPECT_EQ(persists, 1u) << "one fsync covers the proposed round and the leader's own vote";
  EXPECT_EQ(replica.safety_state().last_voted_round(), 1u);

  // Restarted from that state at a later time (a different timestamp: a different block), still in
  // round 1: no second proposal, neither at Start nor on the ticks of the round.
  Replica restarted(Options(keys, kMe), durable, keys.signer(kMe), &verifier, &app,
                    RecoveredChain{});
  EXPECT_EQ(restarted.round(), 1u);
  uint32_t proposals = 0;
  auto count = [&](const std::vector<Action>& out) {
    for (const Action& action : out) {
      if (const auto* b = std::get_if<Broadcast>(&action);
          b != nullptr && b->message.has_proposal()) {
        ++proposals;
      }
    }
  };
  count(MustHandle(restarted, Start{5'000}));
  for (uint32_t tick = 0; tick < 3 && restarted.round() == 1; ++tick) {
    count(MustHandle(restarted, Tick{5'000 + 10 * tick}));
  }
  EXPECT_EQ(proposals, 0u) << "a second proposal in round 1 after the restart";
  EXPECT_EQ(restarted.safety_state().last_proposed_round(), 1u);
}

}  // namespace
}  // namespace itmo::consensus
