// File: storage/store.cc
// The RocksDB implementation of Store, WriteBatch and Snapshot (see store.h).
#include "storage/store.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/status.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"

namespace itmo::storage {
namespace {

constexpr int kBloomBitsPerKey = 10;
constexpr size_t kInfoLogFilesMax = 4;

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// Maps a RocksDB status to the codes documented in store.h; `what` names the operation.
absl::Status FromRocks(const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat(ToAbsl(what), ": ", status.ToString());
  switch (status.code()) {
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(message);
    case rocksdb::Status::kInvalidArgument:
      return absl::InvalidArgumentError(message);
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(message);
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
      return absl::UnavailableError(message);
    case rocksdb::Status::kIOError:
      if (status.subcode() == rocksdb::Status::kNoSpace) {
        return absl::ResourceExhaustedError(message);
      }
      // The LOCK file is held by another process or another Store in this one: retry later.
      // (Matched on RocksDB's wording for the LOCK file; a bare "lock" would also match "block".)
      if (status.subcode() == rocksdb::Status::kLockTimeout ||
          message.find("While lock file") != std::string::npos ||
          message.find("lock hold by current process") != std::string::npos) {
        return absl::UnavailableError(message);
      }
      return absl::InternalError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status ValidateOptions(const std::string& path, const StoreOptions& options) {
  if (path.empty()) return absl::InvalidArgumentError("store path is empty");
  if (options.block_cache_bytes == 0 || options.block_cache_bytes > kBlockCacheBytesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("block_cache_bytes out of range: ", options.block_cache_bytes));
  }
  if (options.column_families.size() + 1 > kColumnFamiliesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("too many column families: ", options.column_families.size()));
  }
  for (const std::string& name : options.column_families) {
    if (name.empty() || name.size() > kColumnFamilyNameBytesMax) {
      return absl::InvalidArgumentError(absl::StrCat("bad column family name: '", name, "'"));
    }
    if (std::count(options.column_families.begin(), options.column_families.end(), name) > 1) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate column family: ", name));
    }
  }
  return absl::OkStatus();
}

// Family names in index order: "default", the requested ones, then any others already on disk
// (RocksDB refuses to open a database without all of its families).
absl::StatusOr<std::vector<std::string>> FamilyNames(const std::string& path,
                                                     const StoreOptions& options,
                                                     const rocksdb::DBOptions& db_options) {
  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName};
  for (const std::string& name : options.column_families) {
    if (name != rocksdb::kDefaultColumnFamilyName) names.push_back(name);
  }
  std::vector<std::string> existing;
  // Fails when there is no database yet; Open then reports anything real.
  if (rocksdb::DB::ListColumnFamilies(db_options, path, &existing).ok()) {
    std::vector<std::string> missing;
    for (const std::string& name : options.required_families) {
      if (std::find(existing.begin(), existing.end(), name) == existing.end()) {
        missing.push_back(name);
      }
    }
    if (!missing.empty()) {
      return absl::DataLossError(
          absl::StrCat("open ", path, ": the existing database lacks column families ",
                       absl::StrJoin(missing, ", "),
                       " that it had (a damaged MANIFEST?); refusing to re-create them empty"));
    }
    for (const std::string& name : existing) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  if (names.size() > kColumnFamiliesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("database has too many column families: ", names.size()));
  }
  ITMO_CHECK(!names.empty());
  ITMO_CHECK(names.front() == rocksdb::kDefaultColumnFamilyName);
  return names;
}

rocksdb::ColumnFamilyOptions FamilyOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = cache;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(kBloomBitsPerKey));
  rocksdb::ColumnFamilyOptions family_options;
  family_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  return family_options;
}

// Reads may be asked for keys from untrusted input: too long is an error, not a crash.
absl::Status CheckKeySize(std::string_view key) {
  if (key.size() <= kKeyBytesMax) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("key too long: ", key.size(), " bytes"));
}

// Smallest string greater than every string with `prefix`, or empty when there is none.
std::string PrefixUpperBound(std::string_view prefix) {
  std::string bound(prefix);
  while (!bound.empty() && static_cast<unsigned char>(bound.back()) == 0xff) bound.pop_back();
  if (!bound.empty())
    bound.back() = static_cast<char>(static_cast<unsigned char>(bound.back()) + 1);
  return bound;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// WriteBatch: the operations are kept by family index and turned into a rocksdb::WriteBatch by
// Store::Write, which alone knows the column family handles.

struct WriteBatch::Rep {
  struct Op {
    uint32_t family = 0;
    bool is_delete = false;
    std::string key;
    std::string value;
  };
  std::vector<Op> ops;
  uint64_t bytes = 0;
};

WriteBatch::WriteBatch() : rep_(std::make_unique<Rep>()) {}
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

void WriteBatch::Put(ColumnFamily family, std::string_view key, std::string_view value) {
  ITMO_CHECK(key.size() <= kKeyBytesMax);
  ITMO_CHECK(value.size() <= kValueBytesMax);
  if (rep_ == nullptr) rep_ = std::make_unique<Rep>();  // Reuse after a move.
  ITMO_CHECK(rep_->ops.size() < kWriteBatchOpsMax);
  rep_->ops.push_back(Rep::Op{family.index, false, std::string(key), std::string(value)});
  rep_->bytes += key.size() + value.size();
}

void WriteBatch::Delete(ColumnFamily family, std::string_view key) {
  ITMO_CHECK(key.size() <= kKeyBytesMax);
  if (rep_ == nullptr) rep_ = std::make_unique<Rep>();
  ITMO_CHECK(rep_->ops.size() < kWriteBatchOpsMax);
  rep_->ops.push_back(Rep::Op{family.index, true, std::string(key), std::string()});
  rep_->bytes += key.size();
}

uint64_t WriteBatch::count() const { return rep_ == nullptr ? 0 : rep_->ops.size(); }
uint64_t WriteBatch::bytes() const { return rep_ == nullptr ? 0 : rep_->bytes; }

void WriteBatch::Clear() {
  if (rep_ == nullptr) {
    rep_ = std::make_unique<Rep>();
    return;
  }
  rep_->ops.clear();
  rep_->bytes = 0;
}

// ---------------------------------------------------------------------------------------------------
// Snapshot

struct Snapshot::Rep {
  rocksdb::DB* db = nullptr;
  const rocksdb::Snapshot* snapshot = nullptr;
  std::atomic<int64_t>* live_snapshots = nullptr;  // The Store's count, checked in its destructor.

  ~Rep() {
    ITMO_CHECK(db != nullptr);
    ITMO_CHECK(snapshot != nullptr);
    db->ReleaseSnapshot(snapshot);
    ITMO_CHECK(live_snapshots->fetch_sub(1) > 0);
  }
};

Snapshot::Snapshot(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
Snapshot::~Snapshot() = default;

// ---------------------------------------------------------------------------------------------------
// Store

struct Store::Rep {
  // Constant after Open. Declared in destruction order: the Env outlives the database.
  std::string path;
  bool in_memory = false;
  std::unique_ptr<rocksdb::Env> memory_env;
  std::vector<std::string> names;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // Owned; index = ColumnFamily::index.
  std::atomic<int64_t> live_snapshots{0};

  ~Rep() {
    // REQUIRES: every Snapshot released first; a later release would touch a closed database.
    ITMO_CHECK(live_snapshots.load() == 0);
    if (db == nullptr) return;
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      // Only fails for a null handle, which Open never stores.
      db->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    }
    handles.clear();
    // Nothing to do with an error here: every acknowledged write is already in the WAL.
    db->Close().PermitUncheckedError();
    db.reset();
  }

  rocksdb::ColumnFamilyHandle* Handle(ColumnFamily family) const {
    ITMO_CHECK(family.index < handles.size());
    ITMO_CHECK(handles[family.index] != nullptr);
    return handles[family.index];
  }

  rocksdb::ReadOptions Read(const Snapshot* snapshot) const {
    rocksdb::ReadOptions read_options;
    read_options.verify_checksums = true;
    if (snapshot != nullptr) {
      ITMO_CHECK(snapshot->rep_ != nullptr);
      ITMO_CHECK(snapshot->rep_->db == db.get());  // A snapshot of this Store only.
      read_options.snapshot = snapshot->rep_->snapshot;
    }
    return read_options;
  }
};

Store::Store(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                                   const StoreOptions& options) {
  ITMO_RETURN_IF_ERROR(ValidateOptions(path, options));
  auto rep = std::make_unique<Rep>();
  rep->path = path;
  rep->in_memory = options.in_memory;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  db_options.keep_log_file_num = kInfoLogFilesMax;
  if (options.in_memory) {
    rep->memory_env.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    db_options.env = rep->memory_env.get();
  }
  // The memory Env wants an absolute path; there `path` is only a name.
  const std::string db_path = options.in_memory && path.front() != '/' ? "/" + path : path;
  ITMO_ASSIGN_OR_RETURN(rep->names, FamilyNames(db_path, options, db_options));

  const std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::NewLRUCache(static_cast<size_t>(options.block_cache_bytes));
  const rocksdb::ColumnFamilyOptions family_options = FamilyOptions(cache);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.reserve(rep->names.size());
  for (const std::string& name : rep->names) descriptors.emplace_back(name, family_options);

  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  const rocksdb::Status status = rocksdb::DB::Open(db_options, db_path, descriptors, &handles, &db);
  if (!status.ok()) return FromRocks(status, absl::StrCat("open ", path));
  rep->db.reset(db);
  rep->handles = std::move(handles);
  ITMO_CHECK(rep->db != nullptr);
  ITMO_CHECK(rep->handles.size() == rep->names.size());
  return std::unique_ptr<Store>(new Store(std::move(rep)));
}

absl::StatusOr<ColumnFamily> Store::Family(std::string_view name) const {
  ITMO_CHECK(rep_->names.size() == rep_->handles.size());
  ITMO_CHECK(rep_->names.size() <= kColumnFamiliesMax);
  for (size_t i = 0; i < rep_->names.size(); ++i) {
    if (rep_->names[i] == name) return ColumnFamily{static_cast<uint32_t>(i)};
  }
  return absl::NotFoundError(absl::StrCat("no column family '", ToAbsl(name), "' in ", rep_->path));
}

absl::Status Store::Write(const WriteBatch& batch, const WriteOptions& options) {
  ITMO_CHECK(rep_->db != nullptr);
  if (batch.count() == 0) return absl::OkStatus();
  ITMO_CHECK(batch.count() <= kWriteBatchOpsMax);
  // Header, plus per operation a tag, a family id and two length prefixes.
  rocksdb::WriteBatch rocks_batch(static_cast<size_t>(batch.bytes() + 16 * batch.count() + 12));
  for (const WriteBatch::Rep::Op& op : batch.rep_->ops) {
    rocksdb::ColumnFamilyHandle* handle = rep_->Handle(ColumnFamily{op.family});
    const rocksdb::Status status =
        op.is_delete ? rocks_batch.Delete(handle, ToSlice(op.key))
                     : rocks_batch.Put(handle, ToSlice(op.key), ToSlice(op.value));
    ITMO_RETURN_IF_ERROR(FromRocks(status, "batch"));
  }
  ITMO_CHECK(rocks_batch.Count() == batch.count());
  rocksdb::WriteOptions write_options;
  write_options.sync = options.sync;
  return FromRocks(rep_->db->Write(write_options, &rocks_batch), "write");
}

absl::StatusOr<std::optional<std::string>> Store::Get(ColumnFamily family, std::string_view key,
                                                      const Snapshot* snapshot) const {
  ITMO_RETURN_IF_ERROR(CheckKeySize(key));
  rocksdb::PinnableSlice value;
  const rocksdb::Status status =
      rep_->db->Get(rep_->Read(snapshot), rep_->Handle(family), ToSlice(key), &value);
  if (status.IsNotFound()) return std::nullopt;
  ITMO_RETURN_IF_ERROR(FromRocks(status, "get"));
  ITMO_CHECK(value.size() <= kValueBytesMax);
  return std::optional<std::string>(value.ToString());
}

absl::Status Store::Scan(ColumnFamily family, std::string_view start, std::string_view end,
                         const ScanFn& fn, const Snapshot* snapshot) const {
  ITMO_CHECK(fn != nullptr);
  rocksdb::ReadOptions read_options = rep_->Read(snapshot);
  const rocksdb::Slice upper = ToSlice(end);  // Must outlive the iterator.
  if (!end.empty()) read_options.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(rep_->db->NewIterator(read_options, rep_->Handle(family)));
  ITMO_CHECK(it != nullptr);
  for (it->Seek(ToSlice(start)); it->Valid(); it->Next()) {
    const std::string_view key = ToView(it->key());
    ITMO_DCHECK(key >= start);
    ITMO_DCHECK(end.empty() || key < end);
    if (!fn(key, ToView(it->value()))) break;
  }
  // Valid() is false on an error as well as at the end: only status() tells them apart.
  return FromRocks(it->status(), "scan");
}

absl::Status Store::ScanPrefix(ColumnFamily family, std::string_view prefix, const ScanFn& fn,
                               const Snapshot* snapshot) const {
  ITMO_CHECK(fn != nullptr);
  const std::string end = PrefixUpperBound(prefix);
  ITMO_CHECK(end.empty() || std::string_view(end) > prefix);
  return Scan(family, prefix, end, fn, snapshot);
}

absl::StatusOr<std::optional<std::pair<std::string, std::string>>> Store::SeekAtOrBefore(
    ColumnFamily family, std::string_view key, const Snapshot* snapshot) const {
  ITMO_RETURN_IF_ERROR(CheckKeySize(key));
  std::unique_ptr<rocksdb::Iterator> it(
      rep_->db->NewIterator(rep_->Read(snapshot), rep_->Handle(family)));
  ITMO_CHECK(it != nullptr);
  it->SeekForPrev(ToSlice(key));
  if (!it->Valid()) {
    ITMO_RETURN_IF_ERROR(FromRocks(it->status(), "seek"));
    return std::nullopt;
  }
  std::pair<std::string, std::string> found(it->key().ToString(), it->value().ToString());
  ITMO_RETURN_IF_ERROR(FromRocks(it->status(), "seek"));
  ITMO_CHECK(std::string_view(found.first) <= key);
  return std::optional<std::pair<std::string, std::string>>(std::move(found));
}

std::unique_ptr<Snapshot> Store::GetSnapshot() const {
  auto rep = std::make_unique<Snapshot::Rep>();
  rep->db = rep_->db.get();
  rep->snapshot = rep_->db->GetSnapshot();
  rep->live_snapshots = &rep_->live_snapshots;
  rep_->live_snapshots.fetch_add(1);
  ITMO_CHECK(rep->db != nullptr);
  ITMO_CHECK(rep->snapshot != nullptr);
  return std::unique_ptr<Snapshot>(new Snapshot(std::move(rep)));
}

absl::Status Store::Checkpoint(const std::string& directory) const {
  ITMO_CHECK(rep_->db != nullptr);
  if (rep_->in_memory) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot checkpoint the in-memory store ", rep_->path));
  }
  if (directory.empty()) return absl::InvalidArgumentError("checkpoint directory is empty");
  rocksdb::Checkpoint* raw = nullptr;
  ITMO_RETURN_IF_ERROR(
      FromRocks(rocksdb::Checkpoint::Create(rep_->db.get(), &raw), "checkpoint create"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  ITMO_CHECK(checkpoint != nullptr);
  // log_size_for_flush = 0: always flush the memtables, so the copy holds SSTs, not just a WAL.
  return FromRocks(checkpoint->CreateCheckpoint(directory, /*log_size_for_flush=*/0),
                   absl::StrCat("checkpoint to ", directory));
}

absl::Status Store::Flush() {
  ITMO_CHECK(rep_->db != nullptr);
  ITMO_CHECK(!rep_->handles.empty());
  rocksdb::FlushOptions flush_options;
  flush_options.wait = true;
  return FromRocks(rep_->db->Flush(flush_options, rep_->handles), "flush");
}

const std::string& Store::path() const { return rep_->path; }

const std::vector<std::string>& Store::family_names() const { return rep_->names; }

}  // namespace itmo::storage
