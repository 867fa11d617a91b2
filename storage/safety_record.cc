// File: storage/safety_record.cc
#include "storage/safety_record.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
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

constexpr std::string_view kFileMagic = "ITSF";
constexpr size_t kGenerationBytes = 8;
constexpr size_t kSlotHeaderBytes = kFileMagic.size() + kGenerationBytes + kLengthBytes;
constexpr size_t kSlotBytes = kSlotHeaderBytes + kRecordBytesMax + kChecksumBytes;

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(ToAbsl(what), " ", path, ": ", std::strerror(errno)));
}

// Reads slot `slot` of `fd`: its generation and bytes, or nullopt when it holds no intact frame.
std::optional<std::pair<uint64_t, std::string>> ReadSlot(int fd, int slot) {
  std::string frame(kSlotBytes, '\0');
  const ssize_t got =
      ::pread(fd, frame.data(), frame.size(), static_cast<off_t>(slot * kSlotBytes));
  if (got < static_cast<ssize_t>(kSlotHeaderBytes + kChecksumBytes)) return std::nullopt;
  const std::string_view view(frame.data(), static_cast<size_t>(got));
  if (view.substr(0, kFileMagic.size()) != kFileMagic) return std::nullopt;
  const uint64_t generation = ReadLittleEndian(view.substr(kFileMagic.size()), kGenerationBytes);
  const uint64_t length =
      ReadLittleEndian(view.substr(kFileMagic.size() + kGenerationBytes), kLengthBytes);
  if (length > kRecordBytesMax || kSlotHeaderBytes + length + kChecksumBytes > view.size()) {
    return std::nullopt;
  }
  const std::string_view covered = view.substr(0, kSlotHeaderBytes + length);
  const uint64_t checksum = ReadLittleEndian(view.substr(covered.size()), kChecksumBytes);
  if (checksum != Fnv1a64(covered) || generation == 0) return std::nullopt;
  return std::make_pair(generation, std::string(view.substr(kSlotHeaderBytes, length)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SafetyFile>> SafetyFile::Open(const std::string& path) {
  const bool existed = std::filesystem::exists(path);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open", path);
  std::unique_ptr<SafetyFile> file(new SafetyFile(fd, path));
  if (::fchmod(fd, 0600) != 0) return Errno("chmod", path);  // Never wider than 0600.
  if (!existed) {
    // The new file's directory entry must be durable before any record in it counts.
    const std::string dir = std::filesystem::path(path).parent_path().string();
    const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) return Errno("open directory of", path);
    const int synced = ::fsync(dir_fd);
    ::close(dir_fd);
    if (synced != 0) return Errno("fsync directory of", path);
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) return Errno("stat", path);
  std::optional<std::pair<uint64_t, std::string>> best;
  for (int slot = 0; slot < 2; ++slot) {
    std::optional<std::pair<uint64_t, std::string>> record = ReadSlot(fd, slot);
    if (!record.has_value()) continue;
    if (record->first % 2 != static_cast<uint64_t>(slot)) continue;  // Not where it was written.
    if (!best.has_value() || record->first > best->first) best = std::move(record);
  }
  if (!best.has_value() && info.st_size > 0) {
    return absl::DataLossError(absl::StrCat(
        "safety file ", path, " (", info.st_size,
        " bytes) holds no intact record: the disk lost acknowledged safety state, or the very "
        "first write was torn. Restore it, or remove it only if this validator has never voted"));
  }
  if (best.has_value()) {
    file->generation_ = best->first;
    file->initial_ = std::move(best->second);
  }
  return file;
}

SafetyFile::~SafetyFile() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status SafetyFile::Write(std::string_view bytes) {
  if (bytes.size() > kRecordBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("safety record too large: ", bytes.size()));
  }
  const uint64_t generation = generation_ + 1;
  std::string frame;
  frame.reserve(kSlotHeaderBytes + bytes.size() + kChecksumBytes);
  frame.append(kFileMagic);
  AppendLittleEndian(frame, generation, kGenerationBytes);
  AppendLittleEndian(frame, bytes.size(), kLengthBytes);
  frame.append(bytes);
  AppendLittleEndian(frame, Fnv1a64(frame), kChecksumBytes);
  ITMO_CHECK(frame.size() <= kSlotBytes);
  const off_t offset = static_cast<off_t>((generation % 2) * kSlotBytes);
  size_t done = 0;
  while (done < frame.size()) {
    const ssize_t n =
        ::pwrite(fd_, frame.data() + done, frame.size() - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("write", path_);
    done += static_cast<size_t>(n);
  }
  // fdatasync also covers the file size when the write grew the file.
  if (::fdatasync(fd_) != 0) return Errno("fdatasync", path_);
  generation_ = generation;
  return absl::OkStatus();
}

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
