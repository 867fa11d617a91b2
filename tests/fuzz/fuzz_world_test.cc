// Tests of the fuzz worlds: the seeds fuzz_seed_gen writes are what the fuzz targets assume (valid
// transactions are accepted, broken ones rejected with their code; consensus seeds are accepted by
// the lagging replica and move it forward), and the worlds are deterministic.
#include <set>
#include <string>
#include <vector>

#include "consensus/limits.h"
#include "gtest/gtest.h"
#include "tests/fuzz/consensus_world.h"
#include "tests/fuzz/ledger_world.h"

namespace itmo::fuzz {
namespace {

v1::TransactionOutcome ExecuteAndAbort(LedgerUnderTest& world, const v1::SignedTransaction& tx) {
  storage::WriteBatch batch;
  auto outcomes =
      world.ledger->ExecuteBlock({world.ledger->height() + 1, kLedgerTimeMs}, {tx}, false, &batch);
  EXPECT_TRUE(outcomes.ok());
  world.ledger->AbortBlock();
  return outcomes.ok() ? (*outcomes)[0] : v1::TransactionOutcome();
}

TEST(LedgerWorldTest, ValidSeedsAreAcceptedAndBrokenOnesRejectedWithTheirCode) {
  std::unique_ptr<LedgerUnderTest> world = OpenLedgerUnderTest();
  EXPECT_EQ(world->ledger->height(), PreludeTransactions().size());
  const std::vector<v1::SignedTransaction> seeds = SeedTransactions();
  ASSERT_EQ(seeds.size(), 20u);
  std::set<int> actions;
  for (size_t i = 0; i < 14; ++i) {
    const v1::TransactionOutcome outcome = ExecuteAndAbort(*world, seeds[i]);
    EXPECT_EQ(outcome.status(), v1::TX_ACCEPTED)
        << "seed " << i << ": " << v1::ReasonCode_Name(outcome.code()) << " " << outcome.message();
    v1::TransactionBody body;
    ASSERT_TRUE(body.ParseFromString(seeds[i].body()));
    actions.insert(body.action_case());
  }
  EXPECT_EQ(actions.size(), 9u) << "one valid seed of every action";
  EXPECT_EQ(ExecuteAndAbort(*world, seeds[14]).code(), v1::REASON_WRONG_CHAIN_ID);
  EXPECT_EQ(ExecuteAndAbort(*world, seeds[15]).code(), v1::REASON_BAD_SIGNATURE);
  EXPECT_EQ(ExecuteAndAbort(*world, seeds[16]).code(), v1::REASON_MALFORMED_TRANSACTION);
  EXPECT_EQ(ExecuteAndAbort(*world, seeds[17]).code(), v1::REASON_MISSING_SIGNATURE);
  EXPECT_EQ(ExecuteAndAbort(*world, seeds[18]).status(), v1::TX_REJECTED);
  EXPECT_EQ(ExecuteAndAbort(*world, seeds[19]).code(), v1::REASON_MALFORMED_TRANSACTION);
}

TEST(LedgerWorldTest, SeedsAreDeterministic) {
  const auto a = SeedTransactions();
  const auto b = SeedTransactions();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].SerializeAsString(), b[i].SerializeAsString());
}

TEST(ConsensusWorldTest, PrefixLeavesTheReplicaLaggingBeyondTheSyncThreshold) {
  const ConsensusWorld world = BuildConsensusWorld();
  EXPECT_GE(world.prefix_committed_height, 3u);
  EXPECT_GT(world.others_committed_height,
            world.prefix_committed_height + consensus::kSyncLagBlocksMin);
  std::unique_ptr<ReplicaHarness> replica = ReplayPrefix(world);
  EXPECT_EQ(replica->replica().committed_height(), world.prefix_committed_height);
}

TEST(ConsensusWorldTest, WorldIsDeterministic) {
  const ConsensusWorld a = BuildConsensusWorld();
  const ConsensusWorld b = BuildConsensusWorld();
  ASSERT_EQ(a.seeds.size(), b.seeds.size());
  EXPECT_EQ(a.prefix.size(), b.prefix.size());
  for (size_t i = 0; i < a.seeds.size(); ++i) {
    EXPECT_EQ(a.seeds[i].SerializeAsString(), b.seeds[i].SerializeAsString());
  }
}

TEST(ConsensusWorldTest, SeedsReachDeepIntoTheReplica) {
  const ConsensusWorld world = BuildConsensusWorld();
  std::set<int> kinds;
  size_t accepted = 0;
  bool moved = false;
  for (const v1::ConsensusMessage& seed : world.seeds) {
    kinds.insert(seed.kind_case());
    std::unique_ptr<ReplicaHarness> replica = ReplayPrefix(world);
    const uint64_t round = replica->replica().round();
    const uint64_t height = replica->replica().committed_height();
    auto actions = replica->Handle(consensus::MessageReceived{SenderOf(seed, 0), seed});
    if (!actions.ok()) continue;
    ++accepted;
    moved = moved || replica->replica().round() > round ||
            replica->replica().committed_height() > height;
  }
  EXPECT_GE(kinds.size(), 6u) << "proposals, votes, timeouts, sync messages...";
  EXPECT_GE(accepted, world.seeds.size() / 2);
  EXPECT_TRUE(moved) << "some seed advances the lagging replica";
}

}  // namespace
}  // namespace itmo::fuzz
