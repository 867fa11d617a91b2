#include "storage/safety_record.h"

#include <memory>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "storage/store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace itmo::storage {
namespace {

using ::itmo::testing::StatusIs;
using ::itmo::testing::TempDir;

StoreOptions SafetyOptions() {
  StoreOptions options;
  options.column_families = {"safety"};
  return options;
}

TEST(SafetyRecordTest, RoundTripsAndSurvivesReopen) {
  TempDir dir;
  const std::string state = std::string("epoch=1;round=7\0\xff", 17);
  {
    ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.File("db"), SafetyOptions()));
    ASSERT_OK_AND_ASSIGN(ColumnFamily safety, store->Family("safety"));
    ASSERT_OK_AND_ASSIGN(auto none, ReadRecord(*store, safety, "safety_state"));
    EXPECT_EQ(none, std::nullopt);
    ASSERT_OK(WriteRecord(*store, safety, "safety_state", "old"));
    ASSERT_OK(WriteRecord(*store, safety, "safety_state", state));
    ASSERT_OK(WriteRecord(*store, safety, "empty", ""));
  }
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.File("db"), SafetyOptions()));
  ASSERT_OK_AND_ASSIGN(ColumnFamily safety, store->Family("safety"));
  ASSERT_OK_AND_ASSIGN(auto got, ReadRecord(*store, safety, "safety_state"));
  EXPECT_EQ(got, state);
  ASSERT_OK_AND_ASSIGN(auto empty, ReadRecord(*store, safety, "empty"));
  EXPECT_EQ(empty, std::string());
}

TEST(SafetyRecordTest, RejectsOversizedRecordAndKey) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.File("db"), SafetyOptions()));
  ASSERT_OK_AND_ASSIGN(ColumnFamily safety, store->Family("safety"));
  EXPECT_THAT(WriteRecord(*store, safety, "k", std::string(kRecordBytesMax + 1, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(WriteRecord(*store, safety, std::string(kKeyBytesMax + 1, 'k'), "v"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(WriteRecord(*store, safety, "k", std::string(kRecordBytesMax, 'x')));
  ASSERT_OK_AND_ASSIGN(auto got, ReadRecord(*store, safety, "k"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->size(), kRecordBytesMax);
}

TEST(SafetyRecordTest, ValueThatIsNotARecordIsDataLoss) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(dir.File("db"), SafetyOptions()));
  ASSERT_OK_AND_ASSIGN(ColumnFamily safety, store->Family("safety"));
  ASSERT_OK(WriteRecord(*store, safety, "good", "payload"));
  ASSERT_OK_AND_ASSIGN(auto raw, store->Get(safety, "good"));
  ASSERT_TRUE(raw.has_value());

  auto put_raw = [&](const std::string& key, const std::string& value) {
    WriteBatch batch;
    batch.Put(safety, key, value);
    ASSERT_OK(store->Write(batch, {.sync = true}));
  };
  std::string flipped = *raw;
  flipped[10] ^= 0x01;  // Inside the payload.
  put_raw("flipped", flipped);
  put_raw("short", "ITSR");
  put_raw("magic", "XXXX" + raw->substr(4));
  put_raw("truncated", raw->substr(0, raw->size() - 1));
  std::string long_length = *raw;
  long_length[4] = '\x7f';
  put_raw("length", long_length);
  for (const char* key : {"flipped", "short", "magic", "truncated", "length"}) {
    EXPECT_THAT(ReadRecord(*store, safety, key), StatusIs(absl::StatusCode::kDataLoss)) << key;
  }
  ASSERT_OK_AND_ASSIGN(auto good, ReadRecord(*store, safety, "good"));
  EXPECT_EQ(good, "payload");
}

}  // namespace
}  // namespace itmo::storage
