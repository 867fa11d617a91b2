// Tests of storage::SafetyFile: the newest acknowledged record survives reopen, a torn write and
// the loss of the database around it; damage that leaves nothing intact is kDataLoss.
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "storage/safety_record.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace itmo::storage {
namespace {

using ::itmo::testing::StatusIs;
using ::itmo::testing::TempDir;

// Overwrites `count` bytes at `offset` of `path` with 0xA5.
void Clobber(const std::string& path, uint64_t offset, uint64_t count) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(file.is_open());
  file.seekp(static_cast<std::streamoff>(offset));
  for (uint64_t i = 0; i < count; ++i) file.put(static_cast<char>(0xA5));
}

// The byte offset of slot 1 (slot 0 starts at 0): header, the largest record, checksum.
constexpr uint64_t kSlot1 = 4 + 8 + 4 + kRecordBytesMax + 8;

TEST(SafetyFileTest, NewFileIsEmptyAndPrivate) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto file, SafetyFile::Open(dir.File("safety_state")));
  EXPECT_EQ(file->initial(), std::nullopt);
  EXPECT_EQ(file->generation(), 0u);
  struct stat info {};
  ASSERT_EQ(::stat(dir.File("safety_state").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST(SafetyFileTest, NewestWriteSurvivesReopen) {
  TempDir dir;
  const std::string path = dir.File("safety_state");
  {
    ASSERT_OK_AND_ASSIGN(auto file, SafetyFile::Open(path));
    ASSERT_OK(file->Write("round=1"));
    ASSERT_OK(file->Write(std::string("round=2\0\xff", 9)));
    ASSERT_OK(file->Write("round=3, a longer record than before"));
    ASSERT_OK(file->Write("round=4"));  // Shorter than the slot's previous record.
    EXPECT_EQ(file->generation(), 4u);
  }
  ASSERT_OK_AND_ASSIGN(auto file, SafetyFile::Open(path));
  EXPECT_EQ(file->initial(), "round=4");
  EXPECT_EQ(file->generation(), 4u);
  ASSERT_OK(file->Write("round=5"));
  ASSERT_OK_AND_ASSIGN(auto again, SafetyFile::Open(path));
  EXPECT_EQ(again->initial(), "round=5");
}

TEST(SafetyFileTest, TornNewestSlotFallsBackToThePreviousAcknowledgedRecord) {
  TempDir dir;
  const std::string path = dir.File("safety_state");
  {
    ASSERT_OK_AND_ASSIGN(auto file, SafetyFile::Open(path));
    ASSERT_OK(file->Write("round=1"));  // Generation 1: slot 1.
    ASSERT_OK(file->Write("round=2"));  // Generation 2: slot 0.
  }
  Clobber(path, 20, 3);  // Inside slot 0's record: as if the write of generation 2 was torn.
  ASSERT_OK_AND_ASSIGN(auto file, SafetyFile::Open(path));
  EXPECT_EQ(file->initial(), "round=1");
  EXPECT_EQ(file->generation(), 1u);
  // The next write goes to slot 0 again and wins.
  ASSERT_OK(file->Write("round=2 again"));
  ASSERT_OK_AND_ASSIGN(auto again, SafetyFile::Open(path));
  EXPECT_EQ(again->initial(), "round=2 again");
}

TEST(SafetyFileTest, NothingIntactIsDataLossNotAFreshStart) {
  TempDir dir;
  const std::string path = dir.File("safety_state");
  {
    ASSERT_OK_AND_ASSIGN(auto file, SafetyFile::Open(path));
    ASSERT_OK(file->Write("round=1"));
    ASSERT_OK(file->Write("round=2"));
  }
  Clobber(path, 0, 4);       // Slot 0's magic.
  Clobber(path, kSlot1, 4);  // Slot 1's magic.
  EXPECT_THAT(SafetyFile::Open(path).status(), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(SafetyFileTest, TruncatedFileKeepsTheSlotThatIsWhole) {
  TempDir dir;
  const std::string path = dir.File("safety_state");
  {
    ASSERT_OK_AND_ASSIGN(auto file, SafetyFile::Open(path));
    ASSERT_OK(file->Write("round=1"));  // Slot 1.
    ASSERT_OK(file->Write("round=2"));  // Slot 0.
  }
  std::filesystem::resize_file(path, kSlot1 + 10);  // Cuts slot 1 short.
  ASSERT_OK_AND_ASSIGN(auto file, SafetyFile::Open(path));
  EXPECT_EQ(file->initial(), "round=2");
  std::filesystem::resize_file(path, 10);  // Now both are cut.
  EXPECT_THAT(SafetyFile::Open(path).status(), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(SafetyFileTest, RejectsOversizedRecordAndKeepsThePrevious) {
  TempDir dir;
  const std::string path = dir.File("safety_state");
  ASSERT_OK_AND_ASSIGN(auto file, SafetyFile::Open(path));
  ASSERT_OK(file->Write("round=1"));
  EXPECT_THAT(file->Write(std::string(kRecordBytesMax + 1, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(file->Write(std::string(kRecordBytesMax, 'y')));  // The largest fits.
  ASSERT_OK_AND_ASSIGN(auto again, SafetyFile::Open(path));
  EXPECT_EQ(again->initial(), std::string(kRecordBytesMax, 'y'));
  EXPECT_EQ(again->generation(), 2u);
}

TEST(SafetyFileTest, MissingDirectoryIsAnError) {
  TempDir dir;
  EXPECT_THAT(SafetyFile::Open(dir.File("no/such/dir/safety_state")).status(),
              StatusIs(absl::StatusCode::kInternal));
}

}  // namespace
}  // namespace itmo::storage
