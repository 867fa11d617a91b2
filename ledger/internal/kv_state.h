// File: ledger/internal/kv_state.h
// KvState: the in-memory mirror of the ledger's state column family (table kState, covered by the
// LtHash state root and persisted) plus derived indexes (table kIndex, rebuilt on open, not in the
// root; persisted to their own column family so that snapshot reads (LedgerView) can use them).
// Every change is undo-logged so that a rejected transaction (RollbackTo a savepoint) or a failed
// block write (AbortBlock) restores the exact previous content and root. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "ledger/state_root.h"
#include "storage/store.h"

namespace itmo::ledger::internal {

enum class Table : uint8_t { kState = 0, kIndex = 1 };

class KvState final {
 public:
  using Map = absl::btree_map<std::string, std::string>;

  struct Savepoint {
    size_t undo_size = 0;
    LtHash hash;
  };

  const std::string* Get(Table table, std::string_view key) const;
  // REQUIRES: a block is open (Begin()).
  void Put(Table table, std::string_view key, std::string_view value);
  void Delete(Table table, std::string_view key);

  const Map& map(Table table) const { return maps_[static_cast<size_t>(table)]; }

  // Loading (REQUIRES: no block open): adds an entry without undo or dirty tracking.
  void Load(Table table, std::string key, std::string value);

  // A block of changes: Begin, any Put/Delete, then WriteDirty + (Commit or Abort).
  void Begin();
  Savepoint MakeSavepoint() const;
  void RollbackTo(const Savepoint& savepoint);
  // Adds the final value of every state key changed since Begin() to `batch` (`family`), and of
  // every index key to `index_family`.
  void WriteDirty(storage::WriteBatch* batch, storage::ColumnFamily family,
                  storage::ColumnFamily index_family) const;
  void Commit();
  void Abort();
  bool open() const { return open_; }
  size_t dirty_count() const { return dirty_.size() + dirty_index_.size(); }

  const LtHash& hash() const { return hash_; }

 private:
  struct Undo {
    Table table;
    std::string key;
    std::optional<std::string> old;
  };
  Map& MutableMap(Table table) { return maps_[static_cast<size_t>(table)]; }
  void Restore(const Undo& undo);

  std::array<Map, 2> maps_;
  LtHash hash_;
  LtHash hash_at_begin_;
  std::vector<Undo> undo_;
  absl::btree_set<std::string> dirty_;
  absl::btree_set<std::string> dirty_index_;
  bool open_ = false;
};

}  // namespace itmo::ledger::internal
