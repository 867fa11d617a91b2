// File: ledger/internal/rep.h
// The private representation of StateMachine, shared by state_machine.cc and queries.cc.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "crypto/digest.h"
#include "ledger/internal/executor.h"
#include "ledger/internal/kv_state.h"
#include "ledger/state_machine.h"
#include "storage/store.h"

namespace itmo::ledger {

struct StateMachine::Rep {
  storage::Store* store = nullptr;
  storage::ColumnFamily state_family;
  storage::ColumnFamily index_family;  // The persisted kIndex table (LedgerView reads it).
  storage::ColumnFamily meta_family;
  internal::LedgerConfig config;
  internal::KvState kv;
  uint64_t height = 0;
  uint64_t pending_height = 0;
  crypto::Digest committed_root{};

  absl::Status Initialize(const v1::Genesis& genesis);
  absl::Status Load();
  // Makes the persisted index family equal to the in-memory index rebuilt by Load (a store written
  // before the index was persisted, or any drift): puts the missing keys, deletes the extra ones.
  absl::Status ReconcileIndex();
  absl::Status CheckReadable() const {
    if (kv.open()) return absl::UnavailableError("a block is being committed; retry");
    return absl::OkStatus();
  }
};

}  // namespace itmo::ledger
