// File: tests/node/block_store_test.cc
#include "node/block_store.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace itmo::node {
namespace {

using ::itmo::testing::StatusIs;

std::unique_ptr<storage::Store> OpenStore(const std::string& path) {
  storage::StoreOptions options;
  options.column_families = BlockStore::ColumnFamilies();
  options.column_families.push_back("extra");
  return storage::Store::Open(path, options).value();
}

v1::SubscribeCommitsResponse Record(uint64_t height, int txs) {
  v1::SubscribeCommitsResponse record;
  record.set_height(height);
  record.set_block_id(std::string(32, static_cast<char>(height)));
  record.set_state_root(std::string(32, static_cast<char>(0x40 + height)));
  v1::Block* block = record.mutable_committed()->mutable_block();
  block->mutable_header()->set_height(height);
  block->mutable_header()->set_round(height + 1);
  for (int i = 0; i < txs; ++i) {
    block->add_txs("tx-" + std::to_string(height) + "-" + std::to_string(i));
    v1::TransactionOutcome* outcome = record.add_outcomes();
    outcome->set_tx_id(std::string(31, 'a') + static_cast<char>(height * 16 + i));
    outcome->set_height(height);
    outcome->set_index(static_cast<uint32_t>(i));
  }
  record.mutable_committed()->mutable_qc()->set_height(height);
  return record;
}

TEST(BlockStoreTest, CommitWritesBlockIndexesAndCallerChangesAtomically) {
  testing::TempDir dir;
  auto store = OpenStore(dir.File("db"));
  ASSERT_OK_AND_ASSIGN(auto blocks, BlockStore::Open(store.get()));
  EXPECT_EQ(blocks->head_height(), 0u);
  ASSERT_OK_AND_ASSIGN(storage::ColumnFamily extra, store->Family("extra"));
  storage::WriteBatch batch;
  batch.Put(extra, "ledger-key", "ledger-value");  // The ledger's changes ride in the same batch.
  ASSERT_OK(blocks->Commit(Record(1, 3), &batch));
  EXPECT_EQ(blocks->head_height(), 1u);
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> value, store->Get(extra, "ledger-key"));
  EXPECT_EQ(value, std::optional<std::string>("ledger-value"));
  ASSERT_OK_AND_ASSIGN(auto record, blocks->Get(1));
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->committed().block().txs(2), "tx-1-2");
  ASSERT_OK_AND_ASSIGN(auto location, blocks->FindTx(Record(1, 3).outcomes(2).tx_id()));
  ASSERT_TRUE(location.has_value());
  EXPECT_EQ(location->height, 1u);
  EXPECT_EQ(location->index, 2u);
  ASSERT_OK_AND_ASSIGN(auto height, blocks->FindBlock(std::string(32, '\x01')));
  EXPECT_EQ(height, std::optional<uint64_t>(1));
  ASSERT_OK_AND_ASSIGN(auto missing, blocks->FindTx(std::string(32, 'z')));
  EXPECT_FALSE(missing.has_value());
}

TEST(BlockStoreTest, RefusesGapsAndLeavesHeadUnchanged) {
  testing::TempDir dir;
  auto store = OpenStore(dir.File("db"));
  ASSERT_OK_AND_ASSIGN(auto blocks, BlockStore::Open(store.get()));
  storage::WriteBatch batch;
  EXPECT_THAT(blocks->Commit(Record(2, 1), &batch),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(blocks->head_height(), 0u);
  ASSERT_OK_AND_ASSIGN(auto record, blocks->Get(2));
  EXPECT_FALSE(record.has_value());
}

TEST(BlockStoreTest, RecoversHeadSafetyStateAndRangeAfterReopen) {
  testing::TempDir dir;
  v1::SafetyState safety;
  safety.set_last_voted_round(7);
  safety.mutable_last_vote()->set_round(7);
  {
    auto store = OpenStore(dir.File("db"));
    ASSERT_OK_AND_ASSIGN(auto blocks, BlockStore::Open(store.get()));
    ASSERT_OK_AND_ASSIGN(auto none, blocks->LoadSafetyState());
    EXPECT_FALSE(none.has_value());
    for (uint64_t h = 1; h <= 5; ++h) {
      storage::WriteBatch batch;
      ASSERT_OK(blocks->Commit(Record(h, 2), &batch));
    }
    ASSERT_OK(blocks->SaveSafetyState(safety));
    ASSERT_OK(blocks->SaveGenesisRoot(std::string(32, 'g')));
  }
  auto store = OpenStore(dir.File("db"));
  ASSERT_OK_AND_ASSIGN(auto blocks, BlockStore::Open(store.get()));
  EXPECT_EQ(blocks->head_height(), 5u);
  ASSERT_OK_AND_ASSIGN(auto loaded, blocks->LoadSafetyState());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->last_voted_round(), 7u);
  EXPECT_EQ(loaded->last_vote().round(), 7u);
  ASSERT_OK_AND_ASSIGN(auto genesis_root, blocks->LoadGenesisRoot());
  EXPECT_EQ(genesis_root, std::optional<std::string>(std::string(32, 'g')));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::CommittedBlock> range, blocks->Range(2, 3));
  ASSERT_EQ(range.size(), 3u);
  EXPECT_EQ(range[0].block().header().height(), 2u);
  EXPECT_EQ(range[2].block().header().height(), 4u);
  ASSERT_OK_AND_ASSIGN(range, blocks->Range(5, 10));
  EXPECT_EQ(range.size(), 1u);
  ASSERT_OK_AND_ASSIGN(range, blocks->Range(6, 10));
  EXPECT_TRUE(range.empty());
  storage::WriteBatch batch;
  ASSERT_OK(blocks->Commit(Record(6, 0), &batch));  // Continues from the recovered head.
  EXPECT_EQ(blocks->head_height(), 6u);
}

TEST(BlockStoreTest, FirstOccurrenceOfATxIdKeepsTheIndex) {
  testing::TempDir dir;
  auto store = OpenStore(dir.File("db"));
  ASSERT_OK_AND_ASSIGN(auto blocks, BlockStore::Open(store.get()));
  storage::WriteBatch batch;
  v1::SubscribeCommitsResponse first = Record(1, 1);
  ASSERT_OK(blocks->Commit(first, &batch));
  v1::SubscribeCommitsResponse second = Record(2, 1);
  second.mutable_outcomes(0)->set_tx_id(first.outcomes(0).tx_id());  // A rejected duplicate.
  storage::WriteBatch batch2;
  ASSERT_OK(blocks->Commit(second, &batch2));
  ASSERT_OK_AND_ASSIGN(auto location, blocks->FindTx(first.outcomes(0).tx_id()));
  ASSERT_TRUE(location.has_value());
  EXPECT_EQ(location->height, 1u);
}

TEST(BlockStoreTest, KeepsPendingProposalBlocksUntilCommitted) {
  testing::TempDir dir;
  auto store = OpenStore(dir.File("db"));
  ASSERT_OK_AND_ASSIGN(auto blocks, BlockStore::Open(store.get()));
  storage::WriteBatch batch;
  ASSERT_OK(blocks->Commit(Record(1, 0), &batch));
  for (uint64_t h : {1, 2, 3}) {
    ASSERT_OK(blocks->SavePendingBlock(Record(h, 1).committed().block()));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Block> pending, blocks->LoadPendingBlocks());
  ASSERT_EQ(pending.size(), 2u);  // Height 1 is committed already.
  EXPECT_EQ(pending[0].header().height(), 2u);
  storage::WriteBatch batch2;
  ASSERT_OK(blocks->Commit(Record(2, 0), &batch2));
  ASSERT_OK_AND_ASSIGN(pending, blocks->LoadPendingBlocks());
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].header().height(), 3u);
}

TEST(BlockStoreTest, PendingBlockStoreIsBoundedAndSaysSo) {
  testing::TempDir dir;
  auto store = OpenStore(dir.File("db"));
  ASSERT_OK_AND_ASSIGN(auto blocks, BlockStore::Open(store.get()));
  for (uint32_t i = 0; i < kPendingBlocksStoredMax; ++i) {
    v1::Block block = Record(2 + i % 100, 1).committed().block();
    block.mutable_header()->set_round(1000 + i);  // Distinct blocks.
    ASSERT_OK(blocks->SavePendingBlock(block));
  }
  v1::Block one_more = Record(2, 1).committed().block();
  one_more.mutable_header()->set_round(99'999);
  EXPECT_THAT(blocks->SavePendingBlock(one_more), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(blocks->pending_refused(), 1u);
  // A commit settles the blocks at or below it and frees their room.
  storage::WriteBatch batch;
  ASSERT_OK(blocks->Commit(Record(1, 0), &batch));
  storage::WriteBatch batch2;
  ASSERT_OK(blocks->Commit(Record(2, 0), &batch2));
  ASSERT_OK(blocks->SavePendingBlock(Record(3, 1).committed().block()));
}

// The faults campaign truncated a validator's newest WAL: RocksDB's point-in-time recovery opened
// the database at an earlier point, and the safety state stored in it went back with it (the
// validator forgot votes it had sent). With the safety file the state does not live in the
// database: a database rolled back to before the votes (here: a fresh one) keeps the newest.
TEST(BlockStoreTest, SafetyFileSurvivesARolledBackDatabase) {
  testing::TempDir dir;
  const std::string safety_path = dir.File("safety_state");
  v1::SafetyState safety;
  {
    auto store = OpenStore(dir.File("db"));
    ASSERT_OK_AND_ASSIGN(auto blocks, BlockStore::Open(store.get(), safety_path));
    for (uint64_t round = 1; round <= 9; ++round) {
      safety.set_last_voted_round(round);
      ASSERT_OK(blocks->SaveSafetyState(safety));
    }
  }
  std::filesystem::remove_all(dir.File("db"));  // Everything the WAL held is gone.
  auto store = OpenStore(dir.File("db"));
  ASSERT_OK_AND_ASSIGN(auto blocks, BlockStore::Open(store.get(), safety_path));
  ASSERT_OK_AND_ASSIGN(auto loaded, blocks->LoadSafetyState());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->last_voted_round(), 9u);
}

// A data dir from before the safety file: its record is read once, moved by the first save, and
// never read again (a stale fallback would be a rollback of its own).
TEST(BlockStoreTest, SafetyStateMovesFromTheDatabaseToTheSafetyFile) {
  testing::TempDir dir;
  const std::string safety_path = dir.File("safety_state");
  v1::SafetyState old_state;
  old_state.set_last_voted_round(4);
  {
    auto store = OpenStore(dir.File("db"));
    ASSERT_OK_AND_ASSIGN(auto blocks, BlockStore::Open(store.get()));
    ASSERT_OK(blocks->SaveSafetyState(old_state));
  }
  {
    auto store = OpenStore(dir.File("db"));
    ASSERT_OK_AND_ASSIGN(auto blocks, BlockStore::Open(store.get(), safety_path));
    ASSERT_OK_AND_ASSIGN(auto loaded, blocks->LoadSafetyState());
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->last_voted_round(), 4u);
    v1::SafetyState next = *loaded;
    next.set_last_voted_round(5);
    ASSERT_OK(blocks->SaveSafetyState(next));
  }
  {
    auto store = OpenStore(dir.File("db"));
    ASSERT_OK_AND_ASSIGN(auto blocks, BlockStore::Open(store.get()));  // The database alone.
    ASSERT_OK_AND_ASSIGN(auto none, blocks->LoadSafetyState());
    EXPECT_FALSE(none.has_value());  // The old record was removed.
  }
  auto store = OpenStore(dir.File("db"));
  ASSERT_OK_AND_ASSIGN(auto blocks, BlockStore::Open(store.get(), safety_path));
  ASSERT_OK_AND_ASSIGN(auto loaded, blocks->LoadSafetyState());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->last_voted_round(), 5u);
}

TEST(BlockStoreTest, DamagedSafetyFileStopsTheOpen) {
  testing::TempDir dir;
  const std::string safety_path = dir.File("safety_state");
  {
    std::ofstream junk(safety_path, std::ios::binary);
    junk << "not a safety file";
  }
  auto store = OpenStore(dir.File("db"));
  EXPECT_EQ(BlockStore::Open(store.get(), safety_path).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace itmo::node
