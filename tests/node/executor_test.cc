// File: tests/node/executor_test.cc
// The Application adapter and the commit path over a real ledger and RocksDB, and the Driver
// running a one-validator Replica with logical ticks (no sleeping), including a restart from disk.
#include "node/executor.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "consensus/canonical.h"
#include "consensus/replica.h"
#include "crypto/verifier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/block_store.h"
#include "node/commit_feed.h"
#include "node/driver.h"
#include "node/mempool.h"
#include "tests/node/node_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace itmo::node {
namespace {

using ::itmo::testing::IsOk;
using ::itmo::testing::StatusIs;
using ::testing::HasSubstr;

class NullNetwork final : public ConsensusNetwork {
 public:
  void SendTo(uint32_t, const v1::ConsensusMessage&) override { ++sent; }
  void Broadcast(const v1::ConsensusMessage&) override { ++broadcast; }
  int sent = 0;
  int broadcast = 0;
};

// One node's worth of storage, ledger and adapter, reopenable on the same directory.
struct Stack {
  explicit Stack(const std::string& path, const v1::Genesis& genesis) {
    storage::StoreOptions options;
    options.column_families = BlockStore::ColumnFamilies();
    for (const std::string& f : ledger::StateMachine::ColumnFamilies()) {
      options.column_families.push_back(f);
    }
    store = storage::Store::Open(path, options).value();
    ledger = ledger::StateMachine::Open(store.get(), genesis, &verifier).value();
    blocks = BlockStore::Open(store.get()).value();
    feed = std::make_unique<CommitFeed>();
    MempoolOptions mempool_options{1000, 1 << 24, 1000, 1 << 16, kTxLifetimeMsMax, nullptr};
    mempool_options.now_ms = testing::FixedNowMs;
    const crypto::Verifier* v = &verifier;
    mempool = std::make_unique<Mempool>(
        mempool_options,
        [v](const v1::SignedTransaction& tx) -> absl::StatusOr<VerifiedTx> {
          absl::StatusOr<v1::TransactionBody> body =
              ledger::VerifyTransaction(tx, testing::kChainId, *v);
          if (!body.ok()) return body.status();
          return VerifiedTx{std::string(crypto::AsStringView(ledger::TransactionId(tx))),
                            body->submitter(), body->client_tx_id(), body->submitter_kind(),
                            body->valid_until_ms()};
        },
        nullptr);
    executor =
        Executor::Create({100, 1 << 20}, ledger.get(), blocks.get(), mempool.get(), feed.get())
            .value();
  }

  crypto::Ed25519Verifier verifier;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<ledger::StateMachine> ledger;
  std::unique_ptr<BlockStore> blocks;
  std::unique_ptr<CommitFeed> feed;
  std::unique_ptr<Mempool> mempool;
  std::unique_ptr<Executor> executor;
};

v1::Block MakeBlock(uint64_t height, const std::vector<std::string>& txs, uint64_t executed_height,
                    std::string_view executed_root) {
  v1::Block block;
  v1::BlockHeader* header = block.mutable_header();
  header->set_height(height);
  header->set_round(height);
  header->set_timestamp_ms(1'767'225'600'000);  // 2026-01-01.
  header->set_executed_height(executed_height);
  header->set_executed_state_root(std::string(executed_root));
  for (const std::string& tx : txs) block.add_txs(tx);
  header->set_tx_root(std::string(crypto::AsStringView(consensus::TxRoot(block.txs()))));
  return block;
}

// A block at parent's height + 1 that links to `parent`.
// Executed head as in the parent unless `executed_root` is given (then at height - 1).
v1::Block Child(const v1::Block& parent, const std::vector<std::string>& txs,
                std::string_view executed_root = "") {
  const uint64_t height = parent.header().height() + 1;
  v1::Block block = executed_root.empty()
                        ? MakeBlock(height, txs, parent.header().executed_height(),
                                    parent.header().executed_state_root())
                        : MakeBlock(height, txs, height - 1, executed_root);
  block.mutable_header()->set_parent_id(
      std::string(crypto::AsStringView(consensus::BlockId(parent))));
  return block;
}

std::string Root(const consensus::ExecutedHead& head) {
  return std::string(crypto::AsStringView(head.state_root));
}

class ExecutorTest : public ::testing::Test {
 protected:
  v1::Genesis genesis_ = testing::TestGenesis(1);
  itmo::testing::TempDir dir_;
};

TEST_F(ExecutorTest, ValidateProposalChecksSignatures) {
  Stack s(dir_.File("db"), genesis_);
  const std::string genesis_root = Root(s.executor->executed_head());
  const std::string good = testing::OpenAccountTx("c1", "acc-1").SerializeAsString();
  EXPECT_FALSE(s.mempool->IsVerified(good));
  EXPECT_THAT(s.executor->ValidateProposal(MakeBlock(1, {good}, 0, genesis_root)), IsOk());
  EXPECT_TRUE(s.mempool->IsVerified(good));  // Cached for execution.

  v1::SignedTransaction forged = testing::OpenAccountTx("c2", "acc-2");
  std::string* sig = forged.mutable_signatures(0)->mutable_signature();
  (*sig)[0] = static_cast<char>((*sig)[0] ^ 1);
  absl::Status bad =
      s.executor->ValidateProposal(MakeBlock(1, {forged.SerializeAsString()}, 0, genesis_root));
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(bad.message()), HasSubstr("proposal tx 0"));
}

// Issue 7 defect 1: the executor answered "cannot check yet" (OK) for a root above its executed
// head, so a leader claiming executed_height = h - 1 with a garbage root got every vote. Now the
// replica asks ExecutedRootAt: unknown above the head (no vote now), this node's root at or below.
TEST_F(ExecutorTest, ExecutedRootAtIsUnknownAboveTheExecutedHead) {
  Stack s(dir_.File("db"), genesis_);
  const consensus::ExecutedHead genesis = s.executor->executed_head();
  ASSERT_EQ(s.executor->ExecutedRootAt(0), std::optional<crypto::Digest>(genesis.state_root));
  EXPECT_EQ(s.executor->ExecutedRootAt(1), std::nullopt);
  EXPECT_EQ(s.executor->ExecutedRootAt(8), std::nullopt);
  v1::CommittedBlock first;
  *first.mutable_block() = MakeBlock(1, {}, 0, Root(genesis));
  ASSERT_OK(s.executor->ExecuteCommitted(first));
  v1::CommittedBlock second;
  *second.mutable_block() = Child(first.block(), {}, Root(s.executor->executed_head()));
  ASSERT_OK(s.executor->ExecuteCommitted(second));
  const consensus::ExecutedHead head = s.executor->executed_head();
  ASSERT_EQ(head.height, 2u);
  EXPECT_EQ(s.executor->ExecutedRootAt(2), std::optional<crypto::Digest>(head.state_root));
  absl::StatusOr<crypto::Digest> root1 = s.executor->RootAt(1);
  ASSERT_OK(root1.status());
  EXPECT_EQ(s.executor->ExecutedRootAt(1), std::optional<crypto::Digest>(*root1));
  EXPECT_EQ(s.executor->ExecutedRootAt(0), std::optional<crypto::Digest>(genesis.state_root));
  EXPECT_EQ(s.executor->ExecutedRootAt(3), std::nullopt);
  // At commit, a claim above the executed head is refused (consensus bounds it; never "OK").
  v1::CommittedBlock ahead;
  *ahead.mutable_block() = Child(second.block(), {});
  ahead.mutable_block()->mutable_header()->set_executed_height(3);
  EXPECT_FALSE(s.executor->ExecuteCommitted(ahead).ok());
  EXPECT_EQ(s.executor->executed_head().height, 2u);
}

TEST_F(ExecutorTest, ValidateProposalRefusesDuplicatesCommittedAndExpiredTransactions) {
  Stack s(dir_.File("db"), genesis_);
  const std::string root0 = Root(s.executor->executed_head());
  const std::string a = testing::OpenAccountTx("a", "acc-a").SerializeAsString();
  const std::string b = testing::OpenAccountTx("b", "acc-b").SerializeAsString();
  const std::string c = testing::OpenAccountTx("c", "acc-c").SerializeAsString();
  // Twice in one block.
  absl::Status twice = s.executor->ValidateProposal(MakeBlock(1, {a, b, a}, 0, root0));
  EXPECT_THAT(twice, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(twice.message()), HasSubstr("duplicates tx 0"));
  // Committed at height 1.
  v1::CommittedBlock first;
  *first.mutable_block() = MakeBlock(1, {a}, 0, root0);
  ASSERT_OK(s.executor->ExecuteCommitted(first));
  v1::Block again = Child(first.block(), {b, a});
  absl::Status committed = s.executor->ValidateProposal(again);
  EXPECT_THAT(committed, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(committed.message()), HasSubstr("already committed at height 1"));
  // In an uncommitted ancestor (height 2), proposed again at height 3 (the defect: a leader that
  // missed the proposal of height 2 re-proposed its transactions above it).
  v1::Block second = Child(first.block(), {b});
  s.executor->NoteBlock(second);
  absl::Status in_ancestor = s.executor->ValidateProposal(Child(second, {c, b}));
  EXPECT_THAT(in_ancestor, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(in_ancestor.message()), HasSubstr("uncommitted ancestor at height 2"));
  EXPECT_THAT(s.executor->ValidateProposal(Child(second, {c})), IsOk());
  // An unknown ancestor cannot be checked: no vote.
  v1::Block orphan = Child(Child(second, {}), {c});
  EXPECT_THAT(s.executor->ValidateProposal(orphan),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Expired: the deadline is below the block's timestamp.
  const std::string late =
      testing::OpenAccountTx("late", "acc-l", testing::RegistryKey(), testing::kNowMs + 10)
          .SerializeAsString();
  v1::Block expired = Child(second, {late});
  expired.mutable_header()->set_timestamp_ms(testing::kNowMs + 11);
  absl::Status too_late = s.executor->ValidateProposal(expired);
  EXPECT_THAT(too_late, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(too_late.message()), HasSubstr("expired"));
  // A far-future timestamp (that would expire every pending transaction) is refused.
  v1::Block future = Child(second, {c});
  future.mutable_header()->set_timestamp_ms(testing::kNowMs + kBlockTimestampAheadMsMax + 1);
  absl::Status ahead = s.executor->ValidateProposal(future);
  EXPECT_THAT(ahead, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(ahead.message()), HasSubstr("ahead of this node's clock"));
}

TEST_F(ExecutorTest, PayloadLeavesOutTransactionsOfUncommittedBlocks) {
  Stack s(dir_.File("db"), genesis_);
  const std::string root0 = Root(s.executor->executed_head());
  const std::string a = testing::OpenAccountTx("a", "acc-a").SerializeAsString();
  ASSERT_OK(s.mempool->Add(a));
  // `a` is in a block of a dead fork at height 1 and in a live block at height 2 above the block
  // that commits at height 1: the commit releases the fork's in-flight mark, not the live one.
  v1::Block fork = MakeBlock(1, {a}, 0, root0);
  fork.mutable_header()->set_round(7);
  s.executor->NoteBlock(fork);
  v1::Block committed_block = MakeBlock(1, {}, 0, root0);
  v1::Block live = Child(committed_block, {a});
  s.executor->NoteBlock(committed_block);
  s.executor->NoteBlock(live);
  v1::CommittedBlock committed;
  *committed.mutable_block() = committed_block;
  ASSERT_OK(s.executor->ExecuteCommitted(committed));
  EXPECT_TRUE(s.executor->Payload(3, 100, 1 << 20).empty());
  EXPECT_EQ(s.mempool->size(), 1u);
}

TEST_F(ExecutorTest, CommittedRecordCarriesItsStateRootInTheSameWrite) {
  Stack s(dir_.File("db"), genesis_);
  const std::string tx = testing::OpenAccountTx("c1", "acc-1").SerializeAsString();
  v1::CommittedBlock committed;
  *committed.mutable_block() = MakeBlock(1, {tx}, 0, Root(s.executor->executed_head()));
  ASSERT_OK(s.executor->ExecuteCommitted(committed));
  // The raw record, as a reader racing the commit would read it: no second write fills it in.
  ASSERT_OK_AND_ASSIGN(storage::ColumnFamily family, s.store->Family(kBlocksFamily));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> bytes, s.store->Get(family, HeightKey(1)));
  ASSERT_TRUE(bytes.has_value());
  v1::SubscribeCommitsResponse record;
  ASSERT_TRUE(record.ParseFromString(*bytes));
  EXPECT_EQ(record.state_root(), Root(s.executor->executed_head()));
  EXPECT_NE(record.state_root(), std::string(32, '\0'));
}

TEST_F(ExecutorTest, ExecuteCommittedStoresOutcomesAndPublishes) {
  Stack s(dir_.File("db"), genesis_);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Subscription> sub, s.feed->Subscribe());
  const std::string tx = testing::OpenAccountTx("c1", "acc-1").SerializeAsString();
  ASSERT_OK_AND_ASSIGN(std::string id, s.mempool->Add(tx));
  v1::CommittedBlock committed;
  *committed.mutable_block() = MakeBlock(1, {tx, tx}, 0, Root(s.executor->executed_head()));
  ASSERT_OK(s.executor->ExecuteCommitted(committed));

  EXPECT_EQ(s.executor->executed_head().height, 1u);
  EXPECT_EQ(s.blocks->head_height(), 1u);
  EXPECT_EQ(s.mempool->size(), 0u);
  ASSERT_OK_AND_ASSIGN(auto record, s.blocks->Get(1));
  ASSERT_TRUE(record.has_value());
  ASSERT_EQ(record->outcomes_size(), 2);
  EXPECT_EQ(record->outcomes(0).status(), v1::TX_ACCEPTED);
  EXPECT_EQ(record->outcomes(1).status(), v1::TX_REJECTED);  // Duplicate (R12).
  EXPECT_EQ(record->outcomes(1).code(), v1::REASON_DUPLICATE_TRANSACTION);
  EXPECT_EQ(record->state_root(), Root(s.executor->executed_head()));
  ASSERT_OK_AND_ASSIGN(auto location, s.blocks->FindTx(id));
  ASSERT_TRUE(location.has_value());
  EXPECT_EQ(location->index, 0u);
  v1::AccountRef ref;
  ref.set_registry_id(testing::kRegistry);
  ref.set_account_id("acc-1");
  auto account =
      s.executor->WithLedger([&](const ledger::StateMachine& l) { return l.GetAccount(ref); });
  ASSERT_OK(account.status());
  EXPECT_TRUE(account->has_value());
  CommitRecord published;
  EXPECT_EQ(sub->Next(absl::ZeroDuration(), &published), Subscription::Result::kBlock);
  EXPECT_EQ(published->height(), 1u);
  // Out of order: refused without change.
  EXPECT_THAT(s.executor->ExecuteCommitted(committed),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(ExecutorTest, DivergentCommittedRootIsDataLossNamingHeightAndRoots) {
  Stack s(dir_.File("db"), genesis_);
  v1::CommittedBlock first;
  *first.mutable_block() = MakeBlock(1, {}, 0, Root(s.executor->executed_head()));
  ASSERT_OK(s.executor->ExecuteCommitted(first));
  const std::string ours = crypto::ToHex(s.executor->executed_head().state_root);
  v1::CommittedBlock second;
  *second.mutable_block() = MakeBlock(2, {}, 1, std::string(32, '\x07'));
  absl::Status status = s.executor->ExecuteCommitted(second);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(std::string(status.message()), HasSubstr("DIVERGENCE at height 1"));
  EXPECT_THAT(std::string(status.message()), HasSubstr(ours));
  EXPECT_THAT(std::string(status.message()), HasSubstr(crypto::ToHex(std::string(32, '\x07'))));
  EXPECT_TRUE(s.executor->diverged());
  EXPECT_EQ(s.blocks->head_height(), 1u);  // Nothing of block 2 was stored.
}

consensus::ReplicaOptions OneValidator() {
  consensus::ReplicaOptions options;
  options.chain_id = testing::kChainId;
  options.validators = {testing::ValidatorKey(0).public_key()};
  options.my_index = 0;
  options.round_timeout_ticks_base = 5;
  options.round_timeout_ticks_max = 40;
  options.block_txs_max = 100;
  options.block_bytes_max = 1 << 20;
  return options;
}

std::unique_ptr<consensus::Replica> MakeReplica(Stack& s, const crypto::Signer* signer) {
  std::optional<v1::SafetyState> safety = s.blocks->LoadSafetyState().value();
  consensus::RecoveredChain chain;
  if (s.blocks->head_height() > 0) {
    chain.head = s.blocks->Get(s.blocks->head_height()).value()->committed();
  }
  chain.pending_blocks = s.blocks->LoadPendingBlocks().value();
  std::sort(chain.pending_blocks.begin(), chain.pending_blocks.end(),
            [](const v1::Block& a, const v1::Block& b) {
              return a.header().height() < b.header().height();
            });
  for (const v1::Block& block : chain.pending_blocks) s.executor->NoteBlock(block);  // As node.cc.
  return std::make_unique<consensus::Replica>(OneValidator(), safety.value_or(v1::SafetyState()),
                                              signer, &s.verifier, s.executor.get(),
                                              std::move(chain));
}

// Ticks until `height` is committed (bounded).
void RunUntil(Driver& driver, uint64_t height, int64_t* now_ms) {
  for (int i = 0; i < 500 && driver.committed_height() < height; ++i) {
    *now_ms += 10;
    absl::Status status = driver.ProcessForTest(consensus::Tick{*now_ms});
    if (!status.ok() && i % 50 == 0) ADD_FAILURE() << "tick " << i << ": " << status;
    ASSERT_FALSE(driver.failed()) << status;
  }
  ASSERT_GE(driver.committed_height(), height);
}

TEST_F(ExecutorTest, DriverCommitsWithOneValidatorAndRecoversFromDisk) {
  crypto::Ed25519Signer signer(testing::ValidatorKey(0));
  int64_t now_ms = 1'767'225'600'000;
  std::string id;
  uint64_t first_run_height = 0;
  {
    Stack s(dir_.File("db"), genesis_);
    ASSERT_OK_AND_ASSIGN(id,
                         s.mempool->Add(testing::OpenAccountTx("c1", "acc-1").SerializeAsString()));
    auto replica = MakeReplica(s, &signer);
    NullNetwork network;
    Driver driver({10, 100, 1 << 20}, replica.get(), s.executor.get(), s.blocks.get(), &network,
                  nullptr);
    ASSERT_OK(driver.ProcessForTest(consensus::Start{now_ms}));
    RunUntil(driver, 3, &now_ms);
    ASSERT_OK_AND_ASSIGN(auto location, s.blocks->FindTx(id));
    ASSERT_TRUE(location.has_value());
    ASSERT_OK_AND_ASSIGN(auto record, s.blocks->Get(location->height));
    EXPECT_EQ(record->outcomes(location->index).status(), v1::TX_ACCEPTED);
    EXPECT_EQ(s.mempool->size(), 0u);
    ASSERT_OK_AND_ASSIGN(auto safety, s.blocks->LoadSafetyState());
    ASSERT_TRUE(safety.has_value());
    EXPECT_GT(safety->last_voted_round(), 0u);  // Persisted before the votes it covers.
    first_run_height = s.blocks->head_height();
  }
  // "kill -9": everything is reopened from disk; nothing is replayed from genesis.
  Stack s(dir_.File("db"), genesis_);
  EXPECT_EQ(s.ledger->height(), first_run_height);
  EXPECT_EQ(s.executor->executed_head().height, first_run_height);
  ASSERT_OK_AND_ASSIGN(crypto::Digest root, s.executor->RootAt(first_run_height));
  EXPECT_EQ(root, s.ledger->state_root());
  ASSERT_OK_AND_ASSIGN(auto safety, s.blocks->LoadSafetyState());
  ASSERT_TRUE(safety.has_value());
  // The replica restarts from the recovered safety state and head.
  auto replica = MakeReplica(s, &signer);
  EXPECT_EQ(replica->committed_height(), first_run_height);
  NullNetwork network;
  Driver driver({10, 100, 1 << 20}, replica.get(), s.executor.get(), s.blocks.get(), &network,
                nullptr);
  ASSERT_OK(driver.ProcessForTest(consensus::Start{now_ms}));
  // Consensus continues from the recovered head (and the kept pending proposal blocks).
  ASSERT_OK(s.mempool->Add(testing::OpenAccountTx("c2", "acc-2").SerializeAsString()));
  RunUntil(driver, first_run_height + 3, &now_ms);
  for (int i = 0; i < 500 && s.mempool->size() > 0; ++i) {
    now_ms += 10;
    ASSERT_OK(driver.ProcessForTest(consensus::Tick{now_ms}));
  }
  EXPECT_EQ(s.mempool->size(), 0u);
  v1::AccountRef ref;
  ref.set_registry_id(testing::kRegistry);
  ref.set_account_id("acc-2");
  auto account =
      s.executor->WithLedger([&](const ledger::StateMachine& l) { return l.GetAccount(ref); });
  ASSERT_OK(account.status());
  EXPECT_TRUE(account->has_value());
  // The committed transaction is known after the restart: a resubmission is refused at execution.
  const uint64_t next_height = s.executor->executed_head().height + 1;
  ASSERT_OK_AND_ASSIGN(crypto::Digest head_root, s.executor->RootAt(next_height - 1));
  v1::CommittedBlock next;
  const std::string again = testing::OpenAccountTx("c1", "acc-1").SerializeAsString();
  *next.mutable_block() =
      MakeBlock(next_height, {again}, next_height - 1, crypto::AsStringView(head_root));
  ASSERT_OK(s.executor->ExecuteCommitted(next));
  ASSERT_OK_AND_ASSIGN(auto record, s.blocks->Get(next_height));
  EXPECT_EQ(record->outcomes(0).code(), v1::REASON_DUPLICATE_TRANSACTION);
}

// Issue 7 defect 4: the driver wrote every received proposal to the pending-block store before
// the replica verified it, so any pinned peer could fill the store with junk. Now it stores only
// the KeepBlock actions of its replica: verified blocks of the round's leader and its own.
TEST_F(ExecutorTest, DriverStoresOnlyBlocksTheReplicaVerified) {
  Stack s(dir_.File("db"), genesis_);
  crypto::Ed25519Signer signer(testing::ValidatorKey(0));
  auto replica = MakeReplica(s, &signer);
  NullNetwork network;
  Driver driver({10, 100, 1 << 20}, replica.get(), s.executor.get(), s.blocks.get(), &network,
                nullptr);
  const int64_t now_ms = 1'767'225'600'000;
  ASSERT_OK(driver.ProcessForTest(consensus::Start{now_ms}));  // Proposes round 1 (its own).
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Block> kept, s.blocks->LoadPendingBlocks());
  ASSERT_FALSE(kept.empty());  // Its own proposals (one validator: a round per event).
  EXPECT_EQ(kept[0].header().round(), 1u);
  // A peer's forged proposal (a later round, no valid signature) is refused and not stored.
  for (uint64_t round = 40; round < 50; ++round) {
    consensus::MessageReceived junk;
    junk.from = 7;  // Not a validator: any pinned peer.
    v1::Proposal* proposal = junk.message.mutable_proposal();
    *proposal->mutable_block() = kept[0];
    proposal->mutable_block()->mutable_header()->set_round(round);
    proposal->mutable_block()->mutable_header()->set_height(2);
    proposal->set_signature(std::string(64, 'x'));
    EXPECT_FALSE(driver.ProcessForTest(junk).ok());
  }
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Block> after, s.blocks->LoadPendingBlocks());
  ASSERT_EQ(after.size(), kept.size());
  for (const v1::Block& block : after) EXPECT_LT(block.header().round(), 40u);
  EXPECT_FALSE(driver.failed());
}

// Found while fuzzing the proposal path (fuzz_ledger_request): the driver indexed every block of
// every block_response for the duplicate checks before the replica saw it, so any pinned peer
// (an observer too) could send kPendingIndexBlocksMax unsolicited blocks at heights far above the
// head and fill the executor's bounded index for good: every honest proposal after that had an
// unindexed parent, ValidateProposal answered FAILED_PRECONDITION and the node stopped voting.
// The driver now indexes only a response to the replica's own request (Replica::AwaitsBlock).
TEST_F(ExecutorTest, UnsolicitedRetrievedBlocksDoNotStopHonestProposals) {
  Stack s(dir_.File("db"), genesis_);
  crypto::Ed25519Signer signer(testing::ValidatorKey(0));
  auto replica = MakeReplica(s, &signer);
  NullNetwork network;
  Driver driver({10, 100, 1 << 20}, replica.get(), s.executor.get(), s.blocks.get(), &network,
                nullptr);
  const std::string root0 = Root(s.executor->executed_head());
  for (uint32_t batch = 0; batch < kPendingIndexBlocksMax / 64 + 1; ++batch) {
    consensus::MessageReceived junk;
    junk.from = 7;  // Any pinned peer.
    v1::BlockRetrievalResponse* response = junk.message.mutable_block_response();
    for (uint32_t i = 0; i < 64; ++i) {
      *response->add_blocks() = MakeBlock(1'000'000'000 + batch * 64 + i, {}, 0, root0);
    }
    (void)driver.ProcessForTest(junk);  // Refused by the replica; must leave no trace.
  }
  v1::Block parent = MakeBlock(1, {}, 0, root0);
  s.executor->NoteBlock(parent);
  EXPECT_THAT(s.executor->ValidateProposal(Child(parent, {})), IsOk());
  EXPECT_FALSE(driver.failed());
}

TEST_F(ExecutorTest, FloodingPeerFillsOnlyItsOwnConsensusQueue) {
  Stack s(dir_.File("db"), genesis_);
  crypto::Ed25519Signer signer(testing::ValidatorKey(0));
  auto replica = MakeReplica(s, &signer);
  NullNetwork network;
  Driver driver({10, /*queue_max=*/3, /*queue_bytes_max=*/1000}, replica.get(), s.executor.get(),
                s.blocks.get(), &network, nullptr);
  auto message = [](uint32_t from) { return consensus::MessageReceived{from, {}}; };
  for (int i = 0; i < 5; ++i) {
    absl::Status status = driver.Enqueue(message(1), 10);
    EXPECT_EQ(status.ok(), i < 3) << i;
  }
  EXPECT_THAT(driver.Enqueue(message(1), 0), StatusIs(absl::StatusCode::kResourceExhausted));
  // By bytes too.
  EXPECT_THAT(driver.Enqueue(message(2), 1001), StatusIs(absl::StatusCode::kResourceExhausted));
  // The flood does not crowd out another peer.
  ASSERT_OK(driver.Enqueue(message(2), 100));
  ASSERT_OK(driver.Enqueue(message(0), 100));
  EXPECT_EQ(driver.dropped_messages_from(1), 3u);
  EXPECT_EQ(driver.dropped_messages_from(2), 1u);
  EXPECT_EQ(driver.dropped_messages_from(0), 0u);
  EXPECT_EQ(driver.dropped_messages(), 4u);
  // Round-robin: one message of each sender before the flooder's second.
  std::vector<consensus::MessageReceived> batch = driver.TEST_TakeBatch(4);
  ASSERT_EQ(batch.size(), 4u);
  EXPECT_EQ(batch[0].from, 0u);
  EXPECT_EQ(batch[1].from, 1u);
  EXPECT_EQ(batch[2].from, 2u);
  EXPECT_EQ(batch[3].from, 1u);
  EXPECT_EQ(driver.TEST_TakeBatch(10).size(), 1u);
  EXPECT_TRUE(driver.TEST_TakeBatch(10).empty());
}

TEST(CommitFeedTest, SlowSubscriberOverflowsWithoutBlockingPublisher) {
  CommitFeed feed(/*buffer_max=*/2, /*subscribers_max=*/1);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Subscription> sub, feed.Subscribe());
  EXPECT_THAT(feed.Subscribe(), StatusIs(absl::StatusCode::kResourceExhausted));
  for (uint64_t h = 1; h <= 3; ++h) {
    auto record = std::make_shared<v1::SubscribeCommitsResponse>();
    record->set_height(h);
    feed.Publish(record);  // Never blocks.
  }
  CommitRecord record;
  EXPECT_EQ(sub->Next(absl::ZeroDuration(), &record), Subscription::Result::kOverflow);
  sub->Reset();
  EXPECT_EQ(sub->Next(absl::ZeroDuration(), &record), Subscription::Result::kTimeout);
  feed.Close();
  EXPECT_EQ(sub->Next(absl::ZeroDuration(), &record), Subscription::Result::kClosed);
  feed.Unsubscribe(sub);
  EXPECT_EQ(feed.subscribers(), 0u);
}

}  // namespace
}  // namespace itmo::node
