// File: storage/safety_record.h
// Small durable records, such as the consensus safety state, that must reach the disk before the
// caller acts on them: a vote or timeout leaves only after WriteRecord has returned OK.
//
// A record is stored framed: 4-byte magic "ITSR", 4-byte little-endian length, the bytes, and an
// 8-byte little-endian FNV-1a 64 checksum of everything before it. ReadRecord checks the frame, so
// a key written by anything else, or a torn or altered value, is reported as kDataLoss, never
// returned. RocksDB's block checksums cover the disk; the frame covers misuse of the key.
//
// Thread-safety: as Store.
//
// Example:
//   ITMO_RETURN_IF_ERROR(WriteRecord(*store, safety, "safety_state", state.SerializeAsString()));
//   ITMO_ASSIGN_OR_RETURN(std::optional<std::string> bytes, ReadRecord(*store, safety,
//   "safety_state"));
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/store.h"

namespace itmo::storage {

inline constexpr size_t kRecordBytesMax = 1 << 20;

// Writes `bytes` under `key` in `family` with sync = true: durable when OK is returned.
// Errors: kInvalidArgument if key.size() > kKeyBytesMax or bytes.size() > kRecordBytesMax; else as
// Store::Write.
absl::Status WriteRecord(Store& store, ColumnFamily family, std::string_view key,
                         std::string_view bytes);

// The record's bytes, or std::nullopt if none was written.
// Errors: kDataLoss if the stored value is not an intact record; else as Store::Get.
absl::StatusOr<std::optional<std::string>> ReadRecord(const Store& store, ColumnFamily family,
                                                      std::string_view key);

// SafetyFile: the consensus safety state in its own file, outside RocksDB, so that damage to the
// database's write-ahead log (a truncated or rolled-back WAL, which RocksDB's point-in-time
// recovery opens silently) can never take a validator back to before a vote it sent.
//
// The file holds two fixed slots; write k goes to slot k % 2 as one frame: magic "ITSF", 8-byte
// generation k, 4-byte length, the bytes, an 8-byte FNV-1a 64 checksum of everything before it.
// Write returns OK only after fdatasync, so the newest intact slot is always the last write that
// was acknowledged; a write torn by a crash damages only its own slot (the other still holds the
// previous acknowledged record). Created with mode 0600.
//
// Thread-safety: not thread-safe (one owner: the consensus thread).
class SafetyFile final {
 public:
  // Opens `path`, creating it (and fsyncing its directory) when missing, and reads both slots.
  // Errors: kDataLoss if the file is not empty but holds no intact slot; kInternal for I/O errors.
  static absl::StatusOr<std::unique_ptr<SafetyFile>> Open(const std::string& path);
  ~SafetyFile();
  SafetyFile(const SafetyFile&) = delete;
  SafetyFile& operator=(const SafetyFile&) = delete;

  // The record of the newest intact slot found at Open, or nullopt for a new file.
  const std::optional<std::string>& initial() const { return initial_; }
  // The generation of the newest record written or found (0: none).
  uint64_t generation() const { return generation_; }

  // Writes `bytes` as the next generation and fdatasyncs: durable when OK is returned.
  // Errors: kInvalidArgument if bytes.size() > kRecordBytesMax; kInternal for I/O errors (the
  // previous record stays intact).
  absl::Status Write(std::string_view bytes);

 private:
  SafetyFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
  uint64_t generation_ = 0;
  std::optional<std::string> initial_;
};

}  // namespace itmo::storage
