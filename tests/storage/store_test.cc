#include "storage/store.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace itmo::storage {
namespace {

using ::itmo::testing::IsOk;
using ::itmo::testing::StatusIs;
using ::itmo::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::Pair;

using Entries = std::vector<std::pair<std::string, std::string>>;

StoreOptions Families(bool in_memory = false) {
  StoreOptions options;
  options.column_families = {"blocks", "state"};
  options.in_memory = in_memory;
  return options;
}

// Everything Scan visits, in order.
Entries ScanAll(const Store& store, ColumnFamily family, std::string_view start,
                std::string_view end, const Snapshot* snapshot = nullptr) {
  Entries out;
  EXPECT_OK(store.Scan(
      family, start, end,
      [&](std::string_view k, std::string_view v) {
        out.emplace_back(std::string(k), std::string(v));
        return true;
      },
      snapshot));
  return out;
}

Entries ScanPrefixAll(const Store& store, ColumnFamily family, std::string_view prefix) {
  Entries out;
  EXPECT_OK(store.ScanPrefix(family, prefix, [&](std::string_view k, std::string_view v) {
    out.emplace_back(std::string(k), std::string(v));
    return true;
  }));
  return out;
}

void PutOne(Store& store, ColumnFamily family, std::string_view key, std::string_view value) {
  WriteBatch batch;
  batch.Put(family, key, value);
  ASSERT_OK(store.Write(batch, {.sync = true}));
}

class StoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(dir_.File("db"), Families(GetParam())));
    ASSERT_OK_AND_ASSIGN(blocks_, store_->Family("blocks"));
    ASSERT_OK_AND_ASSIGN(state_, store_->Family("state"));
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  ColumnFamily blocks_;
  ColumnFamily state_;
};

INSTANTIATE_TEST_SUITE_P(OnDiskAndInMemory, StoreTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("InMemory") : std::string("OnDisk");
                         });

TEST_P(StoreTest, OpensWithNamedFamiliesAndDefault) {
  EXPECT_EQ(store_->path(), dir_.File("db"));
  EXPECT_THAT(store_->family_names(), ElementsAre("default", "blocks", "state"));
  ASSERT_OK_AND_ASSIGN(ColumnFamily def, store_->Family("default"));
  EXPECT_EQ(def.index, 0u);
  EXPECT_EQ(blocks_.index, 1u);
  EXPECT_EQ(state_.index, 2u);
  EXPECT_THAT(store_->Family("nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Family(""), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreTest, FamiliesAreSeparateKeySpaces) {
  PutOne(*store_, blocks_, "k", "in-blocks");
  PutOne(*store_, state_, "k", "in-state");
  ASSERT_OK_AND_ASSIGN(auto b, store_->Get(blocks_, "k"));
  ASSERT_OK_AND_ASSIGN(auto s, store_->Get(state_, "k"));
  ASSERT_OK_AND_ASSIGN(auto d, store_->Get(ColumnFamily{0}, "k"));
  EXPECT_EQ(b, "in-blocks");
  EXPECT_EQ(s, "in-state");
  EXPECT_EQ(d, std::nullopt);
}

TEST_P(StoreTest, GetMissingKeyIsNullopt) {
  ASSERT_OK_AND_ASSIGN(auto v, store_->Get(state_, "absent"));
  EXPECT_FALSE(v.has_value());
}

TEST_P(StoreTest, OverlongReadKeyIsInvalidArgument) {
  const std::string key(kKeyBytesMax + 1, 'k');
  EXPECT_THAT(store_->Get(state_, key), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->SeekAtOrBefore(state_, key), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StoreOpenTest, InMemoryStoreTakesARelativeName) {
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open("relative-name", Families(/*in_memory=*/true)));
  EXPECT_EQ(store->path(), "relative-name");
  ASSERT_OK_AND_ASSIGN(ColumnFamily state, store->Family("state"));
  PutOne(*store, state, "k", "v");
  ASSERT_OK_AND_ASSIGN(auto v, store->Get(state, "k"));
  EXPECT_EQ(v, "v");
  EXPECT_FALSE(std::filesystem::exists("relative-name"));
}

// In memory so that the aborted child leaves no files behind: the path is only a name.
TEST(StoreDeathTest, DestroyingStoreBeforeSnapshotAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        std::unique_ptr<Store> store = Store::Open("death-test-db", Families(true)).value();
        std::unique_ptr<Snapshot> snapshot = store->GetSnapshot();
        store.reset();
      },
      "live_snapshots");
}

TEST_P(StoreTest, BatchCountsAndBytes) {
  WriteBatch batch;
  EXPECT_EQ(batch.count(), 0u);
  EXPECT_EQ(batch.bytes(), 0u);
  batch.Put(state_, "abc", "12345");
  batch.Delete(blocks_, "xy");
  EXPECT_EQ(batch.count(), 2u);
  EXPECT_EQ(batch.bytes(), 3u + 5u + 2u);
  batch.Clear();
  EXPECT_EQ(batch.count(), 0u);
  EXPECT_EQ(batch.bytes(), 0u);
  // A moved-from batch is empty and reusable.
  batch.Put(state_, "a", "b");
  WriteBatch moved = std::move(batch);
  EXPECT_EQ(moved.count(), 1u);
  EXPECT_EQ(batch.count(), 0u);  // NOLINT(bugprone-use-after-move): documented reuse.
  batch.Put(state_, "c", "d");
  EXPECT_EQ(batch.count(), 1u);
}

TEST_P(StoreTest, BatchIsAtomicAcrossFamilies) {
  PutOne(*store_, state_, "old", "1");
  WriteBatch batch;
  batch.Put(blocks_, "h1", "block1");
  batch.Put(state_, "new", "2");
  batch.Delete(state_, "old");
  ASSERT_OK_AND_ASSIGN(auto before_new, store_->Get(state_, "new"));
  ASSERT_OK_AND_ASSIGN(auto before_block, store_->Get(blocks_, "h1"));
  EXPECT_EQ(before_new, std::nullopt);  // Nothing visible before Write.
  EXPECT_EQ(before_block, std::nullopt);
  ASSERT_OK(store_->Write(batch, {.sync = false}));
  EXPECT_THAT(ScanAll(*store_, state_, "", ""), ElementsAre(Pair("new", "2")));
  EXPECT_THAT(ScanAll(*store_, blocks_, "", ""), ElementsAre(Pair("h1", "block1")));
  // An empty batch is a no-op.
  ASSERT_OK(store_->Write(WriteBatch(), {.sync = true}));
  EXPECT_THAT(ScanAll(*store_, state_, "", ""), ElementsAre(Pair("new", "2")));
}

TEST_P(StoreTest, LaterOpInBatchWins) {
  WriteBatch batch;
  batch.Put(state_, "k", "1");
  batch.Put(state_, "k", "2");
  batch.Put(state_, "gone", "x");
  batch.Delete(state_, "gone");
  ASSERT_OK(store_->Write(batch, {.sync = true}));
  EXPECT_THAT(ScanAll(*store_, state_, "", ""), ElementsAre(Pair("k", "2")));
}

TEST_P(StoreTest, MaximumKeyAndValueSizes) {
  const std::string key(kKeyBytesMax, 'k');
  const std::string value(1 << 20, 'v');
  PutOne(*store_, state_, key, value);
  ASSERT_OK_AND_ASSIGN(auto got, store_->Get(state_, key));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, value);
}

TEST_P(StoreTest, ScanIsOrderedAndBounded) {
  WriteBatch batch;
  for (const char* key : {"b", "a", "d", "c", "e", "ca"})
    batch.Put(state_, key, std::string("v") + key);
  ASSERT_OK(store_->Write(batch, {.sync = true}));
  EXPECT_THAT(ScanAll(*store_, state_, "", ""),
              ElementsAre(Pair("a", "va"), Pair("b", "vb"), Pair("c", "vc"), Pair("ca", "vca"),
                          Pair("d", "vd"), Pair("e", "ve")));
  // [start, end): start included, end excluded.
  EXPECT_THAT(ScanAll(*store_, state_, "b", "d"),
              ElementsAre(Pair("b", "vb"), Pair("c", "vc"), Pair("ca", "vca")));
  EXPECT_THAT(ScanAll(*store_, state_, "bb", "ca"), ElementsAre(Pair("c", "vc")));
  EXPECT_THAT(ScanAll(*store_, state_, "d", ""), ElementsAre(Pair("d", "vd"), Pair("e", "ve")));
  EXPECT_TRUE(ScanAll(*store_, state_, "f", "").empty());
  EXPECT_TRUE(ScanAll(*store_, state_, "d", "b").empty());
  EXPECT_TRUE(ScanAll(*store_, blocks_, "", "").empty());
}

TEST_P(StoreTest, ScanStopsEarly) {
  WriteBatch batch;
  for (int i = 0; i < 10; ++i) batch.Put(state_, std::string(1, static_cast<char>('0' + i)), "v");
  ASSERT_OK(store_->Write(batch, {.sync = true}));
  std::vector<std::string> seen;
  ASSERT_OK(store_->Scan(state_, "", "", [&](std::string_view k, std::string_view) {
    seen.emplace_back(k);
    return seen.size() < 3;
  }));
  EXPECT_THAT(seen, ElementsAre("0", "1", "2"));
}

TEST_P(StoreTest, ScanPrefixIncludesOnlyThePrefix) {
  WriteBatch batch;
  batch.Put(state_, "acct/", "root");
  batch.Put(state_, "acct/a", "1");
  batch.Put(state_, "acct/b", "2");
  batch.Put(state_, "acct0", "next");  // '0' follows '/'.
  batch.Put(state_, "acc", "before");
  batch.Put(state_, "unit/a", "u");
  ASSERT_OK(store_->Write(batch, {.sync = true}));
  EXPECT_THAT(ScanPrefixAll(*store_, state_, "acct/"),
              ElementsAre(Pair("acct/", "root"), Pair("acct/a", "1"), Pair("acct/b", "2")));
  EXPECT_THAT(ScanPrefixAll(*store_, state_, "unit/"), ElementsAre(Pair("unit/a", "u")));
  EXPECT_TRUE(ScanPrefixAll(*store_, state_, "zzz").empty());
  EXPECT_EQ(ScanPrefixAll(*store_, state_, "").size(), 6u);
}

TEST_P(StoreTest, ScanPrefixWithFfBytes) {
  const std::string ff = "\xff\xff";
  const std::string a1 = std::string("a\xff") + "1";
  WriteBatch batch;
  batch.Put(state_, ff, "1");
  batch.Put(state_, ff + "x", "2");
  batch.Put(state_, "\xfe", "3");
  batch.Put(state_, a1, "4");
  batch.Put(state_, "b", "5");
  ASSERT_OK(store_->Write(batch, {.sync = true}));
  EXPECT_THAT(ScanPrefixAll(*store_, state_, ff), ElementsAre(Pair(ff, "1"), Pair(ff + "x", "2")));
  EXPECT_THAT(ScanPrefixAll(*store_, state_, "a\xff"), ElementsAre(Pair(a1, "4")));
}

TEST_P(StoreTest, SeekAtOrBeforeEdgeCases) {
  // Big-endian heights so that byte order is numeric order.
  WriteBatch batch;
  batch.Put(blocks_, std::string("\x00\x10", 2), "h16");
  batch.Put(blocks_, std::string("\x00\x20", 2), "h32");
  batch.Put(blocks_, std::string("\x00\x30", 2), "h48");
  ASSERT_OK(store_->Write(batch, {.sync = true}));
  ASSERT_OK_AND_ASSIGN(auto before_first,
                       store_->SeekAtOrBefore(blocks_, std::string("\x00\x0f", 2)));
  EXPECT_EQ(before_first, std::nullopt);
  ASSERT_OK_AND_ASSIGN(auto exact, store_->SeekAtOrBefore(blocks_, std::string("\x00\x20", 2)));
  ASSERT_TRUE(exact.has_value());
  EXPECT_EQ(exact->first, std::string("\x00\x20", 2));
  EXPECT_EQ(exact->second, "h32");
  ASSERT_OK_AND_ASSIGN(auto between, store_->SeekAtOrBefore(blocks_, std::string("\x00\x2f", 2)));
  ASSERT_TRUE(between.has_value());
  EXPECT_EQ(between->second, "h32");
  ASSERT_OK_AND_ASSIGN(auto after_last, store_->SeekAtOrBefore(blocks_, "\xff"));
  ASSERT_TRUE(after_last.has_value());
  EXPECT_EQ(after_last->second, "h48");
  ASSERT_OK_AND_ASSIGN(auto empty_family, store_->SeekAtOrBefore(state_, "\xff"));
  EXPECT_EQ(empty_family, std::nullopt);
  ASSERT_OK_AND_ASSIGN(auto empty_key, store_->SeekAtOrBefore(blocks_, ""));
  EXPECT_EQ(empty_key, std::nullopt);
}

TEST_P(StoreTest, SnapshotIsolation) {
  PutOne(*store_, state_, "a", "1");
  PutOne(*store_, state_, "b", "1");
  std::unique_ptr<Snapshot> snapshot = store_->GetSnapshot();
  WriteBatch batch;
  batch.Put(state_, "a", "2");
  batch.Delete(state_, "b");
  batch.Put(state_, "c", "new");
  ASSERT_OK(store_->Write(batch, {.sync = true}));

  ASSERT_OK_AND_ASSIGN(auto a_then, store_->Get(state_, "a", snapshot.get()));
  ASSERT_OK_AND_ASSIGN(auto c_then, store_->Get(state_, "c", snapshot.get()));
  EXPECT_EQ(a_then, "1");
  EXPECT_EQ(c_then, std::nullopt);
  EXPECT_THAT(ScanAll(*store_, state_, "", "", snapshot.get()),
              ElementsAre(Pair("a", "1"), Pair("b", "1")));
  ASSERT_OK_AND_ASSIGN(auto seek_then, store_->SeekAtOrBefore(state_, "z", snapshot.get()));
  ASSERT_TRUE(seek_then.has_value());
  EXPECT_EQ(seek_then->first, "b");

  // The live view sees the batch.
  EXPECT_THAT(ScanAll(*store_, state_, "", ""), ElementsAre(Pair("a", "2"), Pair("c", "new")));
  ASSERT_OK_AND_ASSIGN(auto seek_now, store_->SeekAtOrBefore(state_, "z"));
  ASSERT_TRUE(seek_now.has_value());
  EXPECT_EQ(seek_now->first, "c");
  snapshot.reset();  // Released before the Store.
}

TEST(StoreOpenTest, RejectsBadOptions) {
  TempDir dir;
  StoreOptions dup;
  dup.column_families = {"a", "a"};
  EXPECT_THAT(Store::Open(dir.File("db"), dup), StatusIs(absl::StatusCode::kInvalidArgument));
  StoreOptions empty_name;
  empty_name.column_families = {""};
  EXPECT_THAT(Store::Open(dir.File("db"), empty_name),
              StatusIs(absl::StatusCode::kInvalidArgument));
  StoreOptions too_many;
  for (size_t i = 0; i < kColumnFamiliesMax; ++i)
    too_many.column_families.push_back(std::to_string(i));
  EXPECT_THAT(Store::Open(dir.File("db"), too_many), StatusIs(absl::StatusCode::kInvalidArgument));
  StoreOptions no_cache;
  no_cache.block_cache_bytes = 0;
  EXPECT_THAT(Store::Open(dir.File("db"), no_cache), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Store::Open("", StoreOptions()), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(std::filesystem::exists(dir.File("db")));
}

TEST(StoreOpenTest, MissingDatabaseWithoutCreateFails) {
  TempDir dir;
  StoreOptions options;
  options.create_if_missing = false;
  EXPECT_THAT(Store::Open(dir.File("db"), options), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(std::filesystem::exists(dir.File("db/CURRENT")));
}

// The fault campaign cut a MANIFEST at a record boundary: RocksDB read a valid, shorter MANIFEST
// without the later families, and with create_missing_column_families they came back empty (the
// validator reopened at height 0). A required family missing from an existing database is
// kDataLoss; a new database creates it, and families not required may still be added (upgrades).
TEST(StoreOpenTest, ExistingDatabaseWithoutARequiredFamilyIsDataLoss) {
  TempDir dir;
  StoreOptions first;
  first.column_families = {"state"};
  first.required_families = {"state"};
  { ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.File("db"), first)); }  // New: created.
  StoreOptions later = first;
  later.column_families = {"state", "added_later", "blocks"};
  later.required_families = {"state", "blocks"};
  EXPECT_THAT(Store::Open(dir.File("db"), later), StatusIs(absl::StatusCode::kDataLoss));
  later.required_families = {"state"};  // "blocks" and "added_later" are new here: created.
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.File("db"), later));
  EXPECT_THAT(store->family_names(), ElementsAre("default", "state", "added_later", "blocks"));
}

TEST(StoreOpenTest, DurableAcrossCloseAndReopen) {
  TempDir dir;
  {
    ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.File("db"), Families()));
    ASSERT_OK_AND_ASSIGN(ColumnFamily state, store->Family("state"));
    PutOne(*store, state, "height", "42");
    ASSERT_OK_AND_ASSIGN(ColumnFamily blocks, store->Family("blocks"));
    PutOne(*store, blocks, "b", "block");
  }
  // Reopen naming only one family: the others on disk are opened too, after the named ones.
  StoreOptions options;
  options.column_families = {"state"};
  options.create_if_missing = false;
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.File("db"), options));
  EXPECT_THAT(store->family_names(), ElementsAre("default", "state", "blocks"));
  ASSERT_OK_AND_ASSIGN(ColumnFamily state, store->Family("state"));
  ASSERT_OK_AND_ASSIGN(ColumnFamily blocks, store->Family("blocks"));
  ASSERT_OK_AND_ASSIGN(auto height, store->Get(state, "height"));
  ASSERT_OK_AND_ASSIGN(auto block, store->Get(blocks, "b"));
  EXPECT_EQ(height, "42");
  EXPECT_EQ(block, "block");
}

TEST(StoreOpenTest, InMemoryStoreLeavesNoFiles) {
  TempDir dir;
  {
    ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.File("db"), Families(/*in_memory=*/true)));
    ASSERT_OK_AND_ASSIGN(ColumnFamily state, store->Family("state"));
    PutOne(*store, state, "k", "v");
    ASSERT_OK(store->Flush());
    EXPECT_THAT(store->Checkpoint(dir.File("cp")), StatusIs(absl::StatusCode::kFailedPrecondition));
  }
  EXPECT_FALSE(std::filesystem::exists(dir.File("db")));
  // A new in-memory store with the same name starts empty.
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.File("db"), Families(/*in_memory=*/true)));
  ASSERT_OK_AND_ASSIGN(ColumnFamily state, store->Family("state"));
  ASSERT_OK_AND_ASSIGN(auto v, store->Get(state, "k"));
  EXPECT_EQ(v, std::nullopt);
}

TEST(StoreOpenTest, SecondOpenOfSamePathIsUnavailable) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto first, Store::Open(dir.File("db"), Families()));
  EXPECT_THAT(Store::Open(dir.File("db"), Families()), StatusIs(absl::StatusCode::kUnavailable));
  first.reset();
  EXPECT_OK(Store::Open(dir.File("db"), Families()));  // The lock goes with the Store.
}

TEST(StoreOpenTest, CheckpointOpensWithSameContent) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.File("db"), Families()));
  ASSERT_OK_AND_ASSIGN(ColumnFamily state, store->Family("state"));
  WriteBatch batch;
  for (int i = 0; i < 100; ++i) batch.Put(state, "k" + std::to_string(1000 + i), std::to_string(i));
  ASSERT_OK(store->Write(batch, {.sync = true}));
  const Entries expected = ScanAll(*store, state, "", "");
  ASSERT_EQ(expected.size(), 100u);

  ASSERT_OK(store->Checkpoint(dir.File("cp")));
  EXPECT_THAT(store->Checkpoint(dir.File("cp")), StatusIs(absl::StatusCode::kInvalidArgument));
  PutOne(*store, state, "after", "x");  // Not in the checkpoint.

  ASSERT_OK_AND_ASSIGN(auto copy, Store::Open(dir.File("cp"), Families()));
  ASSERT_OK_AND_ASSIGN(ColumnFamily copy_state, copy->Family("state"));
  EXPECT_EQ(ScanAll(*copy, copy_state, "", ""), expected);
  ASSERT_OK_AND_ASSIGN(auto after, copy->Get(copy_state, "after"));
  EXPECT_EQ(after, std::nullopt);
}

// Overwrites bytes in the middle of every SST file; returns how many files it changed.
int CorruptSstFiles(const std::string& directory) {
  int corrupted = 0;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.path().extension() != ".sst") continue;
    const uintmax_t size = std::filesystem::file_size(entry.path());
    std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(size / 2));
    const std::string garbage(64, '\x5a');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    if (file.good()) ++corrupted;
  }
  return corrupted;
}

TEST(StoreCorruptionTest, CorruptSstIsDataLossNotWrongData) {
  TempDir dir;
  std::vector<std::string> keys;
  auto value_of = [](size_t i) { return std::string(200, static_cast<char>('a' + i % 26)); };
  {
    ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.File("db"), Families()));
    ASSERT_OK_AND_ASSIGN(ColumnFamily state, store->Family("state"));
    WriteBatch batch;
    for (size_t i = 0; i < 2000; ++i) {
      keys.push_back("key" + std::to_string(100000 + i));
      batch.Put(state, keys.back(), value_of(i));
    }
    ASSERT_OK(store->Write(batch, {.sync = true}));
    ASSERT_OK(store->Flush());
  }
  ASSERT_GE(CorruptSstFiles(dir.File("db")), 1);

  auto reopened = Store::Open(dir.File("db"), Families());
  if (!reopened.ok()) {  // Open may already notice.
    EXPECT_THAT(reopened, StatusIs(absl::StatusCode::kDataLoss));
    return;
  }
  std::unique_ptr<Store> store = std::move(reopened).value();
  ASSERT_OK_AND_ASSIGN(ColumnFamily state, store->Family("state"));
  size_t scanned = 0;
  const absl::Status scan = store->Scan(state, "", "", [&](std::string_view k, std::string_view v) {
    EXPECT_LT(scanned, keys.size());
    if (scanned < keys.size()) {
      EXPECT_EQ(k, keys[scanned]);
      EXPECT_EQ(v, value_of(scanned));
    }
    ++scanned;
    return true;
  });
  EXPECT_THAT(scan, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_LT(scanned, keys.size());
  // Each point read returns the right value or kDataLoss; never a wrong value or "absent".
  size_t data_loss = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto got = store->Get(state, keys[i]);
    if (!got.ok()) {
      EXPECT_THAT(got, StatusIs(absl::StatusCode::kDataLoss));
      ++data_loss;
      continue;
    }
    ASSERT_TRUE(got->has_value()) << keys[i];
    EXPECT_EQ(**got, value_of(i));
  }
  EXPECT_GE(data_loss, 1u);
}

}  // namespace
}  // namespace itmo::storage
