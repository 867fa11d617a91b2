// File: storage/store.h
// Store: the node's one RocksDB database, with named column families, atomic write batches, point
// reads, ordered range and prefix scans, consistent snapshots and checkpoints. Every error is an
// absl::Status; corruption is reported as kDataLoss, never ignored. RocksDB stays behind this
// header.
//
// Thread-safety: Store is thread-safe (RocksDB's own guarantees). A WriteBatch or Snapshot is owned
// by one thread at a time; a Snapshot must not outlive the Store that made it.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
//                         Store::Open("/var/lib/itmo/db", {.column_families = {"blocks",
//                         "state"}}));
//   ITMO_ASSIGN_OR_RETURN(ColumnFamily state, store->Family("state"));
//   WriteBatch batch;
//   batch.Put(state, "k", "v");
//   ITMO_RETURN_IF_ERROR(store->Write(batch, {.sync = true}));
//   ITMO_ASSIGN_OR_RETURN(std::optional<std::string> v, store->Get(state, "k"));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace itmo::storage {

inline constexpr size_t kColumnFamiliesMax = 32;
inline constexpr size_t kKeyBytesMax = 4096;
inline constexpr size_t kValueBytesMax = 64 << 20;
inline constexpr size_t kColumnFamilyNameBytesMax = 64;
// Puts and deletes in one WriteBatch.
inline constexpr size_t kWriteBatchOpsMax = 1 << 20;
inline constexpr uint64_t kBlockCacheBytesMax = uint64_t{64} << 30;

// A column family of an open Store. Index 0 is RocksDB's "default".
struct ColumnFamily {
  uint32_t index = 0;
};

struct StoreOptions {
  // Created when missing; "default" is always present and need not be named.
  std::vector<std::string> column_families;
  // Families an existing database must already have (a subset of column_families): one missing
  // there means the database lost it (e.g. a MANIFEST cut at a record boundary, which RocksDB
  // reads as a valid, shorter one) and Open fails with kDataLoss instead of re-creating it empty.
  // Families added by later versions belong only in column_families.
  std::vector<std::string> required_families;
  bool create_if_missing = true;
  uint64_t block_cache_bytes = 64 << 20;
  // For tests: keep the database in memory (rocksdb::NewMemEnv); `path` is then only a name.
  bool in_memory = false;
};

struct WriteOptions {
  bool sync = true;  // fsync the WAL before Write returns: acknowledged means durable.
};

// An atomic group of puts and deletes.
class WriteBatch final {
 public:
  WriteBatch();
  ~WriteBatch();
  WriteBatch(WriteBatch&&) noexcept;
  WriteBatch& operator=(WriteBatch&&) noexcept;

  // REQUIRES: key.size() <= kKeyBytesMax, value.size() <= kValueBytesMax, count() <
  // kWriteBatchOpsMax (callers validate untrusted data first). `family` must come from the Store
  // the batch is written to.
  void Put(ColumnFamily family, std::string_view key, std::string_view value);
  // REQUIRES: key.size() <= kKeyBytesMax, count() < kWriteBatchOpsMax.
  void Delete(ColumnFamily family, std::string_view key);
  // Number of puts and deletes.
  uint64_t count() const;
  // Sum of the key and value sizes of all operations.
  uint64_t bytes() const;
  void Clear();

 private:
  friend class Store;
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

// A consistent read view.
class Snapshot final {
 public:
  ~Snapshot();

 private:
  friend class Store;
  struct Rep;
  explicit Snapshot(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

// Called for each key in order; return false to stop early.
using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;

class Store final {
 public:
  // Errors: kInvalidArgument for bad options (also a missing database with create_if_missing =
  // false), kDataLoss for corruption, kUnavailable if another process (or another open Store in
  // this one) holds the lock, kResourceExhausted when the disk is full, kInternal otherwise (the
  // message carries RocksDB's). Every family already in the database is opened, named or not.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     const StoreOptions& options);
  ~Store();

  // Errors: kNotFound if the family was not opened.
  absl::StatusOr<ColumnFamily> Family(std::string_view name) const;

  // Applies the whole batch or nothing.
  absl::Status Write(const WriteBatch& batch, const WriteOptions& options);

  // std::nullopt when the key is absent. Reads verify checksums.
  // Errors: kInvalidArgument if key.size() > kKeyBytesMax; kDataLoss for corruption.
  // REQUIRES (also Scan, SeekAtOrBefore): `family` comes from this Store; `snapshot`, if any, too.
  absl::StatusOr<std::optional<std::string>> Get(ColumnFamily family, std::string_view key,
                                                 const Snapshot* snapshot = nullptr) const;

  // Keys in [start, end) in ascending order; an empty `end` means no upper bound. The views passed
  // to `fn` are valid only during the call. Errors: kDataLoss if corruption stops the scan, even
  // after `fn` has seen earlier keys. ScanPrefix visits exactly the keys that start with `prefix`.
  absl::Status Scan(ColumnFamily family, std::string_view start, std::string_view end,
                    const ScanFn& fn, const Snapshot* snapshot = nullptr) const;
  absl::Status ScanPrefix(ColumnFamily family, std::string_view prefix, const ScanFn& fn,
                          const Snapshot* snapshot = nullptr) const;
  // The greatest key <= `key`, if any. Errors: as Get.
  absl::StatusOr<std::optional<std::pair<std::string, std::string>>> SeekAtOrBefore(
      ColumnFamily family, std::string_view key, const Snapshot* snapshot = nullptr) const;

  // REQUIRES: the Snapshot is destroyed before the Store (checked when the Store is destroyed).
  std::unique_ptr<Snapshot> GetSnapshot() const;

  // A consistent on-disk copy in `directory` (which must not exist), openable with Open().
  // Errors: kFailedPrecondition for an in-memory store; kInvalidArgument if `directory` exists.
  absl::Status Checkpoint(const std::string& directory) const;

  // Writes every family's memtable to SST files and waits for it (tests, orderly shutdown).
  absl::Status Flush();

  // Names of the open families by index: [0] is "default", then StoreOptions::column_families in
  // the given order, then any family already in the database but not named in the options.
  const std::vector<std::string>& family_names() const;

  const std::string& path() const;

 private:
  struct Rep;
  explicit Store(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace itmo::storage
