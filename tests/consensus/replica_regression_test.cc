// Regression tests for two bugs the deterministic simulator found (docs/consensus.md, Catch-up):
// a stale pending proposal made a timer tick CHECK-fail (itmo-sim --seed 10022), and a replica a
// few blocks behind never caught up because retrieval stops at the responder's committed root
// (itmo-sim --seed 10254).
#include <algorithm>
#include <optional>
#include <vector>

#include "consensus/canonical.h"
#include "consensus/replica.h"
#include "gtest/gtest.h"
#include "tests/consensus/consensus_test_util.h"

namespace itmo::consensus {
namespace {

using ::itmo::consensus::testing::Cluster;
using ::itmo::consensus::testing::FakeApp;
using ::itmo::consensus::testing::Id;
using ::itmo::consensus::testing::Keys;
using ::itmo::consensus::testing::MakeBlock;
using ::itmo::consensus::testing::MakeProposal;
using ::itmo::consensus::testing::MakeQc;
using ::itmo::consensus::testing::MakeTc;
using ::itmo::consensus::testing::MustHandle;
using ::itmo::consensus::testing::Options;

MessageReceived Received(uint32_t from, v1::ConsensusMessage message) {
  MessageReceived m;
  m.from = from;
  m.message = std::move(message);
  return m;
}

MessageReceived ProposalFrom(uint32_t from, v1::Proposal proposal) {
  v1::ConsensusMessage message;
  *message.mutable_proposal() = std::move(proposal);
  return Received(from, std::move(message));
}

// The first SendTo in `actions` whose message satisfies `has`, if any.
template <typename Pred>
std::optional<SendTo> FindSend(const std::vector<Action>& actions, Pred has) {
  for (const Action& action : actions) {
    if (const auto* send = std::get_if<SendTo>(&action); send != nullptr && has(send->message)) {
      return *send;
    }
  }
  return std::nullopt;
}

uint64_t CommittedIn(const std::vector<Action>& actions) {
  uint64_t height = 0;
  for (const Action& action : actions) {
    if (const auto* commit = std::get_if<Commit>(&action)) height = commit->height();
  }
  return height;
}

// A committed chain of at least `height` blocks from a 4-validator cluster (same keys as Keys(4)).
std::vector<v1::CommittedBlock> CommittedChain(Cluster& cluster, uint64_t height) {
  cluster.Start();
  cluster.Run(100'000, [&] { return cluster.MinCommitted() >= height; });
  EXPECT_GE(cluster.app(0).committed().size(), height);
  return cluster.app(0).committed();
}

// Bug 1 (itmo-sim --seed 10022): a proposal kept while its parent is retrieved went stale when
// other blocks committed past the parent's height; the next round timeout re-requested the parent
// and RequestBlock CHECK-failed on `qc.height() > committed_height`. Now the stale proposal is
// dropped, and a QC at or below the root is never requested.
TEST(ReplicaRegressionTest, StalePendingProposalIsDroppedNotRequestedOnTick) {
  Cluster cluster(4, 0);
  const std::vector<v1::CommittedBlock> chain = CommittedChain(cluster, 8);
  ASSERT_GE(chain.size(), 8u);
  Keys keys(4);
  crypto::Ed25519Verifier verifier;
  FakeApp app;
  Replica replica(Options(keys, 3), {}, keys.signer(3), &verifier, &app, RecoveredChain{});
  MustHandle(replica, Start{});

  // A certified fork block X at height 2 (never delivered), and a proposal P extending it in a
  // round far above the chain's, justified by a TC of the previous round.
  const v1::Block x = MakeBlock(chain[0].block(), chain[0].qc(), 2, 4, {"fork"});
  const v1::QuorumCert x_qc = MakeQc(keys, x, {0, 1, 2});
  uint64_t chain_round_max = 0;
  for (const v1::CommittedBlock& c : chain) {
    chain_round_max = std::max(chain_round_max, c.block().header().round());
  }
  const uint64_t p_round = chain_round_max + 20;
  const v1::TimeoutCertificate tc = MakeTc(keys, p_round - 1, {0, 1, 2}, {2, 2, 2});
  const v1::Block p = MakeBlock(x, x_qc, p_round, 4, {"p"}, &tc);
  std::vector<Action> actions = MustHandle(replica, ProposalFrom(1, MakeProposal(keys, p)));
  ASSERT_TRUE(FindSend(actions,
                       [&](const v1::ConsensusMessage& m) {
                         return m.has_block_request() && m.block_request().block_id() == Id(x);
                       })
                  .has_value())
      << "P is kept pending and its parent X is requested";
  ASSERT_EQ(replica.round(), p_round);

  // The honest chain arrives and commits past X's height; the round stays p_round, so P is not
  // dropped by a round change.
  uint64_t committed = 0;
  for (size_t i = 0; i < 6; ++i) {
    committed = std::max(
        committed,
        CommittedIn(MustHandle(replica, ProposalFrom(1, MakeProposal(keys, chain[i].block())))));
  }
  ASSERT_GE(replica.committed_height(), x.header().height());
  EXPECT_EQ(committed, replica.committed_height());
  ASSERT_EQ(replica.round(), p_round);

  // The round timer expires: a timeout is broadcast, and X (below the root) is not requested.
  bool timed_out = false;
  for (uint32_t tick = 0; tick < 1'000 && !timed_out; ++tick) {
    absl::StatusOr<std::vector<Action>> result = replica.Handle(Tick{});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_FALSE(FindSend(*result,
                          [&](const v1::ConsensusMessage& m) {
                            return m.has_block_request() && m.block_request().block_id() == Id(x);
                          })
                     .has_value())
        << "a block at or below the committed root is never requested";
    for (const Action& action : *result) {
      if (const auto* b = std::get_if<Broadcast>(&action);
          b != nullptr && b->message.has_timeout()) {
        timed_out = b->message.timeout().round() == p_round;
      }
    }
  }
  EXPECT_TRUE(timed_out);

  // The same stale proposal delivered again is neither kept nor its parent requested.
  actions = MustHandle(replica, ProposalFrom(2, MakeProposal(keys, p)));
  EXPECT_FALSE(FindSend(actions, [](const v1::ConsensusMessage& m) {
                 return m.has_block_request();
               }).has_value());
  for (uint32_t tick = 0; tick < 100; ++tick) {
    absl::StatusOr<std::vector<Action>> result = replica.Handle(Tick{});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_FALSE(FindSend(*result, [&](const v1::ConsensusMessage& m) {
                   return m.has_block_request() && m.block_request().block_id() == Id(x);
                 }).has_value());
  }
}

// Bug 2 (itmo-sim --seed 10254): a replica fewer than kSyncLagBlocksMin blocks behind retrieves
// the missing parent by id, but the responder has committed and pruned it and answers
// RETRIEVAL_NOT_FOUND; nothing else happened, so the replica never caught up. Now a not-found
// retrieval starts a sync of committed blocks (served from Application::CommittedRange).
TEST(ReplicaRegressionTest, NotFoundRetrievalFallsBackToCommittedSync) {
  Cluster cluster(4, 0);
  const std::vector<v1::CommittedBlock> chain = CommittedChain(cluster, 12);
  ASSERT_GE(chain.size(), 12u);
  Replica& responder = cluster.replica(0);
  ASSERT_GE(responder.committed_height(), 12u);
  Keys keys(4);
  crypto::Ed25519Verifier verifier;
  FakeApp app;
  Replica lagging(Options(keys, 3), {}, keys.signer(3), &verifier, &app, RecoveredChain{});
  MustHandle(lagging, Start{});

  // The block at height 5 arrives; its parent (height 4) is within kSyncLagBlocksMin: retrieval.
  const v1::Block& b5 = chain[4].block();
  ASSERT_LE(b5.qc().height(), kSyncLagBlocksMin);
  std::vector<Action> actions = MustHandle(lagging, ProposalFrom(0, MakeProposal(keys, b5)));
  std::optional<SendTo> request =
      FindSend(actions, [](const v1::ConsensusMessage& m) { return m.has_block_request(); });
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->to, 0u);
  EXPECT_EQ(request->message.block_request().block_id(), Id(chain[3].block()));
  EXPECT_FALSE(FindSend(actions, [](const v1::ConsensusMessage& m) { return m.has_sync_request(); })
                   .has_value())
      << "the lag is below kSyncLagBlocksMin";

  // The responder has committed (and pruned) height 4: it answers not-found.
  actions = MustHandle(responder, Received(3, request->message));
  std::optional<SendTo> response =
      FindSend(actions, [](const v1::ConsensusMessage& m) { return m.has_block_response(); });
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->message.block_response().status(), v1::RETRIEVAL_NOT_FOUND);
  ASSERT_EQ(response->message.block_response().blocks_size(), 0);

  // The lagging replica falls back to a sync of committed blocks from its height + 1.
  actions = MustHandle(lagging, Received(0, response->message));
  std::optional<SendTo> sync =
      FindSend(actions, [](const v1::ConsensusMessage& m) { return m.has_sync_request(); });
  ASSERT_TRUE(sync.has_value()) << "RETRIEVAL_NOT_FOUND must start a committed-block sync";
  EXPECT_EQ(sync->to, 0u);
  EXPECT_EQ(sync->message.sync_request().from_height(), 1u);

  // The responder serves it from CommittedRange; the lagging replica commits in order past the
  // height it was missing.
  actions = MustHandle(responder, Received(3, sync->message));
  std::optional<SendTo> served =
      FindSend(actions, [](const v1::ConsensusMessage& m) { return m.has_sync_response(); });
  ASSERT_TRUE(served.has_value());
  ASSERT_GE(served->message.sync_response().blocks_size(), 5);
  actions = MustHandle(lagging, Received(0, served->message));
  uint64_t expected = 1;
  for (const Action& action : actions) {
    if (const auto* commit = std::get_if<Commit>(&action)) {
      EXPECT_EQ(commit->height(), expected);
      EXPECT_EQ(Id(commit->block()), Id(chain[expected - 1].block()));
      ++expected;
    }
  }
  EXPECT_GE(lagging.committed_height(), b5.header().height());
  EXPECT_EQ(lagging.committed_height(), expected - 1);
}

// Issue 7, defect 2: after f + 1 timeouts a replica joined the round's timeout again on EVERY
// further timeout it received (an fsync and a broadcast each time: O(n^3) messages per failed
// round). It joins a round once.
TEST(ReplicaRegressionTest, JoinsARoundsTimeoutOnce) {
  Keys keys(7);  // f = 2, quorum 5: a window of timeouts after joining and before the TC.
  FakeApp app;
  crypto::Ed25519Verifier verifier;
  Replica replica(Options(keys, 0), {}, keys.signer(0), &verifier, &app, RecoveredChain{});
  MustHandle(replica, Start{});
  uint32_t persists = 0;
  uint32_t tc_persists = 0;  // Persists of the high TC (defect 3) once the TC forms.
  uint32_t timeouts_sent = 0;
  for (uint32_t signer : {1u, 2u, 3u, 4u}) {
    v1::ConsensusMessage message;
    v1::Timeout* timeout = message.mutable_timeout();
    timeout->set_round(1);
    *timeout->mutable_high_qc() = GenesisQc(testing::kChainId, 0);
    timeout->set_signer(signer);
    timeout->set_signature(std::string(crypto::AsStringView(keys.signer(signer)->Sign(
        crypto::kContextTimeout, testing::kChainId, TimeoutMessage(0, 1, 0)))));
    for (const Action& action : MustHandle(replica, Received(signer, std::move(message)))) {
      if (const auto* p = std::get_if<PersistSafetyState>(&action)) {
        ++(p->state.has_high_tc() ? tc_persists : persists);
      }
      if (const auto* b = std::get_if<Broadcast>(&action); b && b->message.has_timeout()) {
        ++timeouts_sent;
      }
    }
  }
  EXPECT_EQ(timeouts_sent, 1u) << "joined the round's timeout more than once";
  EXPECT_EQ(persists, 1u);
  EXPECT_EQ(tc_persists, 1u) << "the TC is persisted once";
  EXPECT_EQ(replica.round(), 2u) << "own timeout + 4 others form the TC";
}

}  // namespace
}  // namespace itmo::consensus
