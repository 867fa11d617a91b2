#include "ledger/internal/kv_state.h"

#include "base/check.h"
#include "base/strings.h"

namespace itmo::ledger::internal {

const std::string* KvState::Get(Table table, std::string_view key) const {
  const Map& m = map(table);
  auto it = m.find(ToAbsl(key));
  if (it == m.end()) return nullptr;
  return &it->second;
}

void KvState::Put(Table table, std::string_view key, std::string_view value) {
  ITMO_CHECK(open_);
  ITMO_CHECK(!key.empty());
  Map& m = MutableMap(table);
  auto it = m.find(ToAbsl(key));
  if (it != m.end()) {
    if (it->second == value) return;
    undo_.push_back(Undo{table, std::string(key), it->second});
    if (table == Table::kState) hash_.Remove(key, it->second);
    it->second.assign(value.data(), value.size());
  } else {
    undo_.push_back(Undo{table, std::string(key), std::nullopt});
    m.emplace(std::string(key), std::string(value));
  }
  if (table == Table::kState) {
    hash_.Add(key, value);
    dirty_.insert(std::string(key));
  } else {
    dirty_index_.insert(std::string(key));
  }
}

void KvState::Delete(Table table, std::string_view key) {
  ITMO_CHECK(open_);
  ITMO_CHECK(!key.empty());
  Map& m = MutableMap(table);
  auto it = m.find(ToAbsl(key));
  if (it == m.end()) return;
  undo_.push_back(Undo{table, std::string(key), std::move(it->second)});
  if (table == Table::kState) {
    hash_.Remove(key, *undo_.back().old);
    dirty_.insert(std::string(key));
  } else {
    dirty_index_.insert(std::string(key));
  }
  m.erase(it);
}

void KvState::Load(Table table, std::string key, std::string value) {
  ITMO_CHECK(!open_);
  ITMO_CHECK(!key.empty());
  if (table == Table::kState) hash_.Add(key, value);
  MutableMap(table).insert_or_assign(std::move(key), std::move(value));
}

void KvState::Begin() {
  ITMO_CHECK(!open_);
  ITMO_CHECK(undo_.empty());
  open_ = true;
  hash_at_begin_ = hash_;
  dirty_.clear();
  dirty_index_.clear();
}

KvState::Savepoint KvState::MakeSavepoint() const {
  ITMO_CHECK(open_);
  return Savepoint{undo_.size(), hash_};
}

void KvState::Restore(const Undo& undo) {
  Map& m = MutableMap(undo.table);
  if (undo.old.has_value()) {
    m.insert_or_assign(undo.key, *undo.old);
  } else {
    m.erase(undo.key);
  }
}

void KvState::RollbackTo(const Savepoint& savepoint) {
  ITMO_CHECK(open_);
  ITMO_CHECK(savepoint.undo_size <= undo_.size());
  while (undo_.size() > savepoint.undo_size) {
    Restore(undo_.back());
    undo_.pop_back();
  }
  hash_ = savepoint.hash;
}

void KvState::WriteDirty(storage::WriteBatch* batch, storage::ColumnFamily family,
                         storage::ColumnFamily index_family) const {
  ITMO_CHECK(open_);
  ITMO_CHECK(batch != nullptr);
  ITMO_CHECK(family.index != index_family.index);
  const Map& m = map(Table::kState);
  for (const std::string& key : dirty_) {
    auto it = m.find(key);
    if (it == m.end()) {
      batch->Delete(family, key);
    } else {
      batch->Put(family, key, it->second);
    }
  }
  const Map& index = map(Table::kIndex);
  for (const std::string& key : dirty_index_) {
    auto it = index.find(key);
    if (it == index.end()) {
      batch->Delete(index_family, key);
    } else {
      batch->Put(index_family, key, it->second);
    }
  }
}

void KvState::Commit() {
  ITMO_CHECK(open_);
  open_ = false;
  undo_.clear();
  dirty_.clear();
  dirty_index_.clear();
}

void KvState::Abort() {
  ITMO_CHECK(open_);
  RollbackTo(Savepoint{0, hash_at_begin_});
  ITMO_CHECK(undo_.empty());
  open_ = false;
  dirty_.clear();
  dirty_index_.clear();
}

}  // namespace itmo::ledger::internal
