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
#include <optional>
#include <string>
#include <string_view>

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

}  // namespace itmo::storage
