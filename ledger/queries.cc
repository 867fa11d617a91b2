// StateMachine queries over committed state.
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "ledger/internal/executor.h"
#include "ledger/internal/keys.h"
#include "ledger/internal/quantity.h"
#include "ledger/internal/rep.h"
#include "ledger/limits.h"
#include "ledger/state_machine.h"

namespace itmo::ledger {

using internal::ReadProto;
using internal::Table;

absl::StatusOr<v1::Holdings> StateMachine::GetHoldings(const v1::AccountRef& account) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  const internal::KvState& kv = rep_->kv;
  if (kv.Get(Table::kState, internal::AccountKey(account.registry_id(), account.account_id())) ==
      nullptr) {
    return absl::NotFoundError(
        absl::StrCat("unknown account ", account.registry_id(), "/", account.account_id()));
  }
  v1::Holdings holdings;
  *holdings.mutable_account() = account;
  holdings.set_height(rep_->height);
  absl::btree_map<std::pair<uint32_t, int>, std::pair<internal::U128, uint64_t>> totals;
  std::string prefix = internal::HolderPrefix(account.registry_id(), account.account_id());
  const internal::KvState::Map& index = kv.map(Table::kIndex);
  internal::U128 held = 0;  // 128 bits: an account may hold more than 2^64 units.
  internal::U128 retired = 0;
  for (auto it = index.lower_bound(prefix);
       it != index.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (static_cast<size_t>(holdings.blocks_size()) >= kHoldingsBlocksMax) {
      return absl::ResourceExhaustedError(
          absl::StrCat("account holds more than ", kHoldingsBlocksMax, " blocks"));
    }
    auto block =
        ReadProto<v1::UnitBlock>(kv, Table::kState, "u/" + it->first.substr(prefix.size()));
    ITMO_CHECK(block.has_value());
    ITMO_CHECK(block->holder().account_id() == account.account_id());
    internal::ApplyRevocation(kv, &*block);
    const internal::U128 units = static_cast<internal::U128>(block->last() - block->first()) + 1;
    auto& t = totals[{block->vintage(), static_cast<int>(block->state())}];
    t.first += units;
    t.second += 1;
    const v1::UnitState s = block->state();
    const bool is_retired = s == v1::UNIT_STATE_USED_NDC || s == v1::UNIT_STATE_USED_OIMP ||
                            s == v1::UNIT_STATE_CANCELLED;
    (is_retired ? retired : held) += units;
    *holdings.add_blocks() = std::move(*block);
  }
  for (const auto& [key, value] : totals) {
    v1::HoldingsTotal* t = holdings.add_totals();
    t->set_vintage(key.first);
    t->set_state(static_cast<v1::UnitState>(key.second));
    t->set_units(internal::U128ToDecimal(value.first));
    t->set_blocks(value.second);
  }
  holdings.set_held_units(internal::U128ToDecimal(held));
  holdings.set_retired_units(internal::U128ToDecimal(retired));
  return holdings;
}

absl::StatusOr<std::vector<v1::UnitHistoryEntry>> StateMachine::GetUnitHistory(
    const std::string& originating_registry, uint64_t serial) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  auto block = internal::BlockContaining(rep_->kv, originating_registry, serial);
  if (!block.has_value()) {
    return absl::NotFoundError(absl::StrCat("no unit ", originating_registry, " ", serial));
  }
  std::vector<v1::UnitHistoryEntry> entries;
  bool too_many = false;
  bool corrupt = false;
  ITMO_RETURN_IF_ERROR(rep_->store->ScanPrefix(
      rep_->config.history_family,
      internal::HistoryPrefix(originating_registry, block->second.issued_first()),
      [&](std::string_view, std::string_view value) {
        v1::UnitHistoryEntry entry;
        if (!entry.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          corrupt = true;
          return false;
        }
        if (entry.range().first() <= serial && serial <= entry.range().last()) {
          if (entries.size() >= kHistoryEntriesMax) {
            too_many = true;
            return false;
          }
          entries.push_back(std::move(entry));
        }
        return true;
      }));
  if (corrupt) return absl::DataLossError("unparsable unit history entry");
  if (too_many) {
    return absl::ResourceExhaustedError(absl::StrCat("more than ", kHistoryEntriesMax, " entries"));
  }
  return entries;
}

absl::StatusOr<std::vector<v1::Adjustment>> StateMachine::GetAdjustments(const std::string& party,
                                                                         uint32_t year_first,
                                                                         uint32_t year_last) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  if (year_first > year_last) {
    return absl::InvalidArgumentError(absl::StrCat("years ", year_first, " > ", year_last));
  }
  const internal::KvState::Map& m = rep_->kv.map(Table::kState);
  std::string last = internal::AdjustmentKey(party, year_last);
  std::vector<v1::Adjustment> out;
  for (auto it = m.lower_bound(internal::AdjustmentKey(party, year_first));
       it != m.end() && it->first <= last; ++it) {
    v1::Adjustment a;
    bool parsed = a.ParseFromString(it->second);
    ITMO_CHECK(parsed);
    ITMO_CHECK(a.party() == party);
    out.push_back(std::move(a));
  }
  return out;
}

absl::StatusOr<std::optional<v1::TransactionOutcome>> StateMachine::GetOutcome(
    const std::string& submitter, const std::string& client_tx_id) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                        rep_->store->Get(rep_->config.outcomes_family,
                                         internal::OutcomeKey(submitter, client_tx_id)));
  if (!bytes.has_value()) return std::optional<v1::TransactionOutcome>();
  v1::TransactionOutcome outcome;
  if (!outcome.ParseFromString(*bytes)) return absl::DataLossError("unparsable outcome");
  return std::optional<v1::TransactionOutcome>(std::move(outcome));
}

absl::StatusOr<std::optional<v1::UnitBlock>> StateMachine::GetBlockAt(
    const std::string& originating_registry, uint64_t serial) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  auto block = internal::BlockContaining(rep_->kv, originating_registry, serial);
  if (!block.has_value()) return std::optional<v1::UnitBlock>();
  return std::optional<v1::UnitBlock>(std::move(block->second));
}

absl::StatusOr<std::optional<v1::Authorization>> StateMachine::GetAuthorization(
    const std::string& id) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  return ReadProto<v1::Authorization>(rep_->kv, Table::kState, internal::AuthorizationKey(id));
}

absl::StatusOr<std::vector<v1::AuthorizationVersion>> StateMachine::GetAuthorizationVersions(
    const std::string& id) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  const internal::KvState::Map& m = rep_->kv.map(Table::kState);
  const std::string prefix = internal::AuthorizationVersionPrefix(id);
  std::vector<v1::AuthorizationVersion> out;
  for (auto it = m.lower_bound(prefix);
       it != m.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    v1::AuthorizationVersion v;
    bool parsed = v.ParseFromString(it->second);
    ITMO_CHECK(parsed);
    ITMO_CHECK(v.authorization_id() == id);
    out.push_back(std::move(v));
  }
  return out;
}

absl::StatusOr<std::optional<v1::Account>> StateMachine::GetAccount(
    const v1::AccountRef& ref) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  return ReadProto<v1::Account>(rep_->kv, Table::kState,
                                internal::AccountKey(ref.registry_id(), ref.account_id()));
}

absl::StatusOr<crypto::PublicKey> StateMachine::SubmitterKey(v1::SubmitterKind kind,
                                                             const std::string& submitter) const {
  std::string key_bytes;
  if (kind == v1::SUBMITTER_REGISTRY) {
    auto r = ReadProto<v1::Registry>(rep_->kv, Table::kState, internal::RegistryKey(submitter));
    if (r) key_bytes = r->registry_key();
  } else if (kind == v1::SUBMITTER_PARTY) {
    auto p = ReadProto<v1::Party>(rep_->kv, Table::kState, internal::PartyKey(submitter));
    if (p) key_bytes = p->authority_key();
  } else if (kind == v1::SUBMITTER_SECRETARIAT && submitter == "SECRETARIAT") {
    return rep_->config.secretariat_key;
  }
  if (key_bytes.empty()) {
    return absl::NotFoundError(absl::StrCat("unknown submitter '", submitter, "'"));
  }
  return crypto::PublicKeyFromBytes(ToStd(key_bytes));
}

bool StateMachine::IsClientTxIdUsed(const std::string& submitter,
                                    const std::string& client_tx_id) const {
  auto stored =
      rep_->store->Get(rep_->config.outcomes_family, internal::OutcomeKey(submitter, client_tx_id));
  return !stored.ok() || stored->has_value();  // A read error counts as used: never a double.
}

}  // namespace itmo::ledger
