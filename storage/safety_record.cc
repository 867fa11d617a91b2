// File: storage/safety_record.cc
#include "storage/safety_record.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "base/strings.h"

namespace itmo::storage {
namespace {

constexpr std::string_view kMagic = "ITSR";
constexpr size_t kLengthBytes = 4;
constexpr size_t kChecksumBytes = 8;
constexpr size_t kFrameBytes = kMagic.size() + kLengthBytes + kChecksumBytes;
static_assert(kRecordBytesMax + kFrameBytes <= kValueBytesMax);
static_assert(kRecordBytesMax <= UINT32_MAX);

uint64_t Fnv1a64(std::string_view data) {
  uint64_t hash = 14695981039346656037ULL;
  for (const char c : data) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

void AppendLittleEndian(std::string& out, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t ReadLittleEndian(std::string_view in, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) {
    value |= uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  }
  return value;
}

}  // namespace

absl::Status WriteRecord(Store& store, ColumnFamily family, std::string_view key,
                         std::string_view bytes) {
  if (key.size() > kKeyBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("record key too long: ", key.size()));
  }
  if (bytes.size() > kRecordBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("record too large: ", bytes.size()));
  }
  std::string frame;
  frame.reserve(bytes.size() + kFrameBytes);
  frame.append(kMagic);
  AppendLittleEndian(frame, bytes.size(), kLengthBytes);
  frame.append(bytes);
  AppendLittleEndian(frame, Fnv1a64(frame), kChecksumBytes);
  ITMO_CHECK(frame.size() == bytes.size() + kFrameBytes);
  ITMO_CHECK(frame.size() <= kValueBytesMax);
  WriteBatch batch;
  batch.Put(family, key, frame);
  return store.Write(batch, WriteOptions{.sync = true});
}

absl::StatusOr<std::optional<std::string>> ReadRecord(const Store& store, ColumnFamily family,
                                                      std::string_view key) {
  if (key.size() > kKeyBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("record key too long: ", key.size()));
  }
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> frame, store.Get(family, key));
  if (!frame.has_value()) return std::nullopt;
  const std::string_view view(*frame);
  const auto corrupt = [&](std::string_view why) {
    return absl::DataLossError(absl::StrCat("record '", ToAbsl(key), "': ", ToAbsl(why)));
  };
  if (view.size() < kFrameBytes) return corrupt("shorter than a frame");
  if (view.substr(0, kMagic.size()) != kMagic) return corrupt("bad magic");
  const uint64_t length = ReadLittleEndian(view.substr(kMagic.size()), kLengthBytes);
  if (length > kRecordBytesMax || length + kFrameBytes != view.size()) return corrupt("bad length");
  const std::string_view covered = view.substr(0, view.size() - kChecksumBytes);
  const uint64_t checksum = ReadLittleEndian(view.substr(covered.size()), kChecksumBytes);
  if (checksum != Fnv1a64(covered)) return corrupt("checksum mismatch");
  ITMO_CHECK(length <= kRecordBytesMax);
  ITMO_CHECK(covered.size() == kMagic.size() + kLengthBytes + length);
  return std::optional<std::string>(std::string(view.substr(kMagic.size() + kLengthBytes, length)));
}

}  // namespace itmo::storage
