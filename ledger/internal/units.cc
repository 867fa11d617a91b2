// Actions on existing units: Transfer, Use, Cancel, SetQuarantine. Ranges resolve to pieces of
// blocks (R3), every piece is checked (R4, R10, R5, R7, R8, R9) before any is split and changed
// (R2).
#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/strings.h"
#include "ledger/internal/executor.h"
#include "ledger/internal/keys.h"
#include "ledger/internal/quantity.h"
#include "ledger/limits.h"

namespace itmo::ledger::internal {
namespace {

template <typename List>
bool ListContains(const List& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string RangeText(const std::string& registry, uint64_t first, uint64_t last) {
  return absl::StrCat(registry, " [", first, ", ", last, "]");
}

}  // namespace

Check BlockExecutor::CheckAccount(const v1::AccountRef& ref, v1::Account* account) const {
  if (kv_->Get(Table::kState, RegistryKey(ref.registry_id())) == nullptr) {
    return Reject(v1::REASON_UNKNOWN_REGISTRY,
                  absl::StrCat("unknown registry '", ref.registry_id(), "'"));
  }
  auto found =
      ReadProto<v1::Account>(*kv_, Table::kState, AccountKey(ref.registry_id(), ref.account_id()));
  if (!found) {
    return Reject(v1::REASON_UNKNOWN_ACCOUNT,
                  absl::StrCat("unknown account ", ref.registry_id(), "/", ref.account_id()));
  }
  if (found->closed()) {
    return Reject(v1::REASON_ACCOUNT_CLOSED,
                  absl::StrCat("account ", ref.registry_id(), "/", ref.account_id(), " is closed"));
  }
  *account = std::move(*found);
  return std::nullopt;
}

Check BlockExecutor::CollectPieces(const google::protobuf::RepeatedPtrField<v1::UnitRange>& ranges,
                                   std::vector<Piece>* pieces) const {
  ITMO_CHECK(pieces->empty());
  if (ranges.empty()) return Reject(v1::REASON_INVALID_FIELD, "no ranges");
  if (static_cast<size_t>(ranges.size()) > kRangesPerTxMax) {
    return Reject(v1::REASON_TOO_MANY_RANGES,
                  absl::StrCat(ranges.size(), " ranges, limit ", kRangesPerTxMax));
  }
  std::vector<const v1::UnitRange*> sorted;
  sorted.reserve(ranges.size());
  for (const v1::UnitRange& r : ranges) {
    if (!ValidId(r.originating_registry()) || r.first() > r.last()) {
      return Reject(v1::REASON_INVALID_RANGE,
                    RangeText(r.originating_registry(), r.first(), r.last()));
    }
    sorted.push_back(&r);
  }
  std::sort(sorted.begin(), sorted.end(), [](const v1::UnitRange* a, const v1::UnitRange* b) {
    if (a->originating_registry() != b->originating_registry()) {
      return a->originating_registry() < b->originating_registry();
    }
    return a->first() < b->first();
  });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i - 1]->originating_registry() == sorted[i]->originating_registry() &&
        sorted[i - 1]->last() >= sorted[i]->first()) {
      return Reject(v1::REASON_OVERLAPPING_RANGES,
                    absl::StrCat("ranges overlap at ", sorted[i]->originating_registry(), " ",
                                 sorted[i]->first()));
    }
  }
  for (const v1::UnitRange* r : sorted) {
    uint64_t cursor = r->first();
    while (true) {  // Bounded by kBlocksTouchedPerTxMax.
      auto found = BlockContaining(*kv_, r->originating_registry(), cursor);
      if (!found) {
        return Reject(v1::REASON_UNITS_NOT_FOUND,
                      absl::StrCat("no unit ", r->originating_registry(), " ", cursor));
      }
      uint64_t end = std::min(r->last(), found->second.last());
      pieces->push_back(Piece{cursor, end, std::move(found->second)});
      if (pieces->size() > kBlocksTouchedPerTxMax) {
        return Reject(v1::REASON_TOO_MANY_BLOCKS,
                      absl::StrCat("ranges touch more than ", kBlocksTouchedPerTxMax, " blocks"));
      }
      if (end == r->last()) break;
      ITMO_CHECK(end < r->last());
      cursor = end + 1;  // No overflow: end < r->last() <= 2^64-1.
    }
  }
  return std::nullopt;
}

Check BlockExecutor::CheckHeld(const Piece& piece, const v1::AccountRef& from) const {
  const v1::UnitBlock& b = piece.block;
  std::string where = RangeText(b.originating_registry(), piece.first, piece.last);
  if (IsTerminal(b.state())) {
    return Reject(v1::REASON_UNITS_TERMINAL,
                  absl::StrCat(where, " is ", v1::UnitState_Name(b.state())));
  }
  if (b.quarantined()) {
    return Reject(v1::REASON_UNITS_QUARANTINED, absl::StrCat(where, " is quarantined"));
  }
  if (b.holder().registry_id() != from.registry_id() ||
      b.holder().account_id() != from.account_id()) {
    return Reject(
        v1::REASON_UNITS_NOT_HELD,
        absl::StrCat(where, " is not held by ", from.registry_id(), "/", from.account_id()));
  }
  return std::nullopt;
}

Check BlockExecutor::AddFirstTransfer(const v1::UnitBlock& block, uint64_t units,
                                      v1::Purpose purpose, std::string_view oimp,
                                      FirstTransfers* first_transfers) const {
  ITMO_CHECK(units >= 1);
  ITMO_CHECK(!block.first_transferred());
  std::string where = RangeText(block.originating_registry(), block.first(), block.last());
  if (block.authorization_id().empty()) {
    return Reject(v1::REASON_NO_AUTHORIZATION, absl::StrCat(where, " is not authorized"));
  }
  auto cached = first_transfers->authorizations.find(block.authorization_id());
  if (cached == first_transfers->authorizations.end()) {
    auto a = ReadProto<v1::Authorization>(*kv_, Table::kState,
                                          AuthorizationKey(block.authorization_id()));
    if (!a) {
      return Reject(v1::REASON_NO_AUTHORIZATION, absl::StrCat(where, ": authorization missing"));
    }
    cached = first_transfers->authorizations.emplace(block.authorization_id(), std::move(*a)).first;
  }
  const v1::Authorization& a = cached->second;
  LEDGER_RETURN_IF_REJECTED(CheckCovers(a, block.vintage(), block.sector(), block.activity_type()));
  if (purpose == v1::PURPOSE_NDC && !a.ndc()) {
    return Reject(v1::REASON_PURPOSE_NOT_AUTHORIZED,
                  absl::StrCat(a.id(), " does not authorize NDC use"));
  }
  if (purpose == v1::PURPOSE_OIMP && !ListContains(a.oimp_purposes(), std::string(oimp))) {
    return Reject(v1::REASON_PURPOSE_NOT_AUTHORIZED,
                  absl::StrCat(a.id(), " does not authorize ", ToAbsl(oimp)));
  }
  first_transfers->demand[a.id()] += units;
  return std::nullopt;
}

Check BlockExecutor::CheckCaps(const FirstTransfers& first_transfers) const {
  for (const auto& [id, demand] : first_transfers.demand) {
    const v1::Authorization& a = first_transfers.authorizations.at(id);
    if (static_cast<unsigned __int128>(a.first_transferred()) + demand > a.cap()) {
      return Reject(
          v1::REASON_CAP_EXCEEDED,
          absl::StrCat("authorization ", id, ": ", a.first_transferred(), " of cap ", a.cap(),
                       " first transferred, ", static_cast<uint64_t>(demand), " more asked"));
    }
  }
  return std::nullopt;
}

void BlockExecutor::ApplyCaps(const FirstTransfers& first_transfers) {
  for (const auto& [id, demand] : first_transfers.demand) {
    v1::Authorization a = first_transfers.authorizations.at(id);
    ITMO_CHECK(static_cast<unsigned __int128>(a.first_transferred()) + demand <= a.cap());
    a.set_first_transferred(a.first_transferred() + static_cast<uint64_t>(demand));
    ITMO_CHECK(a.first_transferred() <= a.cap());  // R8.
    kv_->Put(Table::kState, AuthorizationKey(id), Serialize(a));
  }
}

void BlockExecutor::MarkFirstTransfer(TxState& tx, const FirstTransfers& first_transfers,
                                      v1::UnitBlock* block, v1::Purpose purpose,
                                      std::string_view oimp) {
  ITMO_CHECK(!block->first_transferred());  // R6: once per unit.
  ITMO_CHECK(block->state() == v1::UNIT_STATE_AUTHORIZED);
  v1::Authorization snapshot = first_transfers.authorizations.at(block->authorization_id());
  snapshot.set_first_transferred(0);  // The terms, not the running counter.
  *block->mutable_authorization_snapshot() = std::move(snapshot);
  block->set_state(v1::UNIT_STATE_ACTIVE);
  block->set_first_transferred(true);
  block->set_first_transfer_year(year_);
  block->set_first_transfer_tx(tx.id_hex);
  tx.first_transfer = true;
  Adjust(block->first_transferring_party(), block->last() - block->first() + 1, *block,
         v1::ADJUSTMENT_ADDITION, purpose, nullptr, oimp);
}

namespace {

// The sort key of an adjustment entry: one entry per distinct key.
auto EntryKey(const v1::AdjustmentEntry& e) {
  return std::make_tuple(static_cast<int>(e.direction()), e.metric(), e.conversion_numerator(),
                         e.conversion_denominator(), static_cast<int>(e.purpose()),
                         e.ndc_period().first_year(), e.ndc_period().last_year(), e.oimp_purpose());
}

U128 ParseStored(const std::string& decimal) {
  std::optional<U128> v = ParseU128(decimal);
  ITMO_CHECK(v.has_value());  // Written by U128ToDecimal.
  return *v;
}

// Recomputes the t CO2e totals of `a` from its exact entries, rounding each figure once.
void Totalize(v1::Adjustment* a) {
  U128 added = 0;
  U128 subtracted = 0;
  for (v1::AdjustmentEntry& e : *a->mutable_entries()) {
    U128 micro = ParseStored(e.tco2e_micro());
    e.set_tco2e(RoundMicroToMilli(static_cast<I128>(micro)));
    if (e.direction() == v1::ADJUSTMENT_ADDITION) {
      added += micro;
    } else {
      subtracted += micro;
    }
  }
  ITMO_CHECK(added < (static_cast<U128>(1) << 126));  // limits.h: sums stay below 2^120.
  ITMO_CHECK(subtracted < (static_cast<U128>(1) << 126));
  const I128 net = static_cast<I128>(added) - static_cast<I128>(subtracted);
  a->set_added_tco2e_micro(U128ToDecimal(added));
  a->set_subtracted_tco2e_micro(U128ToDecimal(subtracted));
  a->set_net_tco2e_micro(I128ToDecimal(net));
  a->set_added_tco2e(RoundMicroToMilli(static_cast<I128>(added)));
  a->set_subtracted_tco2e(RoundMicroToMilli(static_cast<I128>(subtracted)));
  a->set_net_tco2e(RoundMicroToMilli(net));
}

}  // namespace

void BlockExecutor::Adjust(const std::string& party, uint64_t units, const v1::UnitBlock& block,
                           v1::AdjustmentDirection direction, v1::Purpose purpose,
                           const v1::NdcPeriod* period, std::string_view oimp) {
  const uint64_t num = block.conversion_numerator();
  const uint64_t den = block.conversion_denominator();
  ITMO_CHECK(num >= 1 && num <= kConversionNumeratorMax);  // Issue: CheckSpecSyntax.
  ITMO_CHECK(den >= 1 && kConversionDenominatorMax % den == 0);
  ITMO_CHECK(units >= 1);
  v1::AdjustmentEntry key;
  key.set_direction(direction);
  key.set_metric(block.metric());
  key.set_conversion_numerator(num);
  key.set_conversion_denominator(den);
  key.set_purpose(purpose);
  if (period != nullptr) *key.mutable_ndc_period() = *period;
  key.set_oimp_purpose(std::string(oimp));
  std::string state_key = AdjustmentKey(party, year_);
  v1::Adjustment a;
  if (auto found = ReadProto<v1::Adjustment>(*kv_, Table::kState, state_key)) a = std::move(*found);
  a.set_party(party);
  a.set_year(year_);
  auto* entries = a.mutable_entries();
  auto it = std::lower_bound(entries->begin(), entries->end(), key,
                             [](const v1::AdjustmentEntry& x, const v1::AdjustmentEntry& y) {
                               return EntryKey(x) < EntryKey(y);
                             });
  if (it == entries->end() || EntryKey(*it) != EntryKey(key)) {
    const int index = static_cast<int>(it - entries->begin());
    key.set_units("0");
    key.set_tco2e_micro("0");
    *entries->Add() = key;
    for (int i = entries->size() - 1; i > index; --i) entries->SwapElements(i, i - 1);
    it = entries->begin() + index;
  }
  const U128 total_units = ParseStored(it->units()) + units;
  ITMO_CHECK(total_units < (static_cast<U128>(1) << 80));  // limits.h.
  it->set_units(U128ToDecimal(total_units));
  it->set_tco2e_micro(U128ToDecimal(total_units * num * (kConversionDenominatorMax / den)));
  Totalize(&a);
  kv_->Put(Table::kState, state_key, Serialize(a));
}

void BlockExecutor::AddHistory(TxState& tx, std::string_view action, const v1::AccountRef& from,
                               const v1::AccountRef& to, const v1::UnitBlock& after,
                               bool first_transfer) {
  ITMO_CHECK(after.first() <= after.last());
  ITMO_CHECK(tx.history.size() <= 3 * kBlocksTouchedPerTxMax + kRevokeBlocksMax);
  v1::UnitHistoryEntry& e = tx.history.emplace_back();
  e.set_tx_id(std::string(crypto::AsStringView(tx.id)));
  e.set_height(ctx_.height);
  e.set_index(tx.index);
  e.set_timestamp_ms(ctx_.timestamp_ms);
  e.set_action(std::string(action));
  if (!from.registry_id().empty()) *e.mutable_from() = from;
  if (!to.registry_id().empty()) *e.mutable_to() = to;
  e.mutable_range()->set_originating_registry(after.originating_registry());
  e.mutable_range()->set_first(after.first());
  e.mutable_range()->set_last(after.last());
  e.set_state_after(after.state());
  e.set_first_transfer(first_transfer);
  if (first_transfer && after.has_authorization_snapshot()) {
    // The terms in force at this first transfer: AuthorizationVersion (authorization_id, version).
    e.set_authorization_id(after.authorization_id());
    e.set_authorization_version(after.authorization_snapshot().version());
  }
  e.set_submitter(tx.body->submitter());
  e.set_client_tx_id(tx.body->client_tx_id());
  e.set_quarantined_after(after.quarantined());
}

void BlockExecutor::MutatePiece(TxState& tx, const Piece& piece, std::string_view action,
                                const v1::AccountRef& from, const v1::AccountRef& to,
                                const std::function<void(v1::UnitBlock&)>& mutate,
                                bool first_transfer) {
  const std::string& registry = piece.block.originating_registry();
  auto found = BlockContaining(*kv_, registry, piece.first);
  ITMO_CHECK(found.has_value());
  const v1::UnitBlock old = std::move(found->second);
  ITMO_CHECK(old.last() >= piece.last);
  if (old.first() < piece.first) {  // Left piece keeps the key.
    v1::UnitBlock left = old;
    left.set_last(piece.first - 1);
    PutBlock(kv_, left, &old);
  }
  v1::UnitBlock middle = old;
  middle.set_first(piece.first);
  middle.set_last(piece.last);
  mutate(middle);
  PutBlock(kv_, middle, old.first() == piece.first ? &old : nullptr);
  if (piece.last < old.last()) {
    v1::UnitBlock right = old;
    right.set_first(piece.last + 1);  // No overflow: piece.last < old.last().
    PutBlock(kv_, right, nullptr);
  }
  AddHistory(tx, action, from, to, middle, first_transfer);
}

Check BlockExecutor::Transfer(TxState& tx, const v1::Transfer& action) {
  v1::Account from;
  v1::Account to;
  LEDGER_RETURN_IF_REJECTED(CheckAccount(action.from(), &from));
  LEDGER_RETURN_IF_REJECTED(CheckAccount(action.to(), &to));
  if (action.from().registry_id() == action.to().registry_id() &&
      action.from().account_id() == action.to().account_id()) {
    return Reject(v1::REASON_SAME_ACCOUNT, "transfer to the sending account");
  }
  std::vector<Piece> pieces;
  LEDGER_RETURN_IF_REJECTED(CollectPieces(action.ranges(), &pieces));
  FirstTransfers first_transfers;
  std::vector<bool> first(pieces.size(), false);
  for (size_t i = 0; i < pieces.size(); ++i) {
    const Piece& p = pieces[i];
    LEDGER_RETURN_IF_REJECTED(CheckHeld(p, action.from()));
    // International, to another Party than the first-transferring one: the first transfer of
    // NDC-authorized units (R5, R6). Sent back and out again, the units are ACTIVE: a plain
    // transfer.
    // International means between two Parties: the holder Parties of the accounts differ,
    // whatever registry hosts them (two Parties' accounts in UN-IR included).
    bool crosses = from.holder_party() != to.holder_party() &&
                   to.holder_party() != p.block.first_transferring_party();
    std::string where = RangeText(p.block.originating_registry(), p.first, p.last);
    if (p.block.state() == v1::UNIT_STATE_ISSUED) {
      if (crosses) {
        return Reject(v1::REASON_NO_AUTHORIZATION, absl::StrCat(where, " is not authorized"));
      }
      return Reject(v1::REASON_UNITS_WRONG_STATE,
                    absl::StrCat(where, " is ISSUED, not authorized"));
    }
    if (p.block.state() != v1::UNIT_STATE_AUTHORIZED) continue;
    auto a = ReadProto<v1::Authorization>(*kv_, Table::kState,
                                          AuthorizationKey(p.block.authorization_id()));
    ITMO_CHECK(a.has_value());
    if (a->status() == v1::AUTHORIZATION_REVOKED) {
      return Reject(v1::REASON_AUTHORIZATION_REVOKED,
                    absl::StrCat(where, ": authorization revoked"));
    }
    if (crosses && a->ndc()) {
      const v1::UnitBlock piece_block = p.AsBlock();
      LEDGER_RETURN_IF_REJECTED(
          AddFirstTransfer(piece_block, p.units(), v1::PURPOSE_NDC, "", &first_transfers));
      first[i] = true;
    }
  }
  LEDGER_RETURN_IF_REJECTED(CheckCaps(first_transfers));
  // Phase 2: mutate.
  ApplyCaps(first_transfers);
  for (size_t i = 0; i < pieces.size(); ++i) {
    MutatePiece(
        tx, pieces[i], "transfer", action.from(), action.to(),
        [&](v1::UnitBlock& b) {
          *b.mutable_holder() = action.to();
          if (first[i]) MarkFirstTransfer(tx, first_transfers, &b, v1::PURPOSE_NDC);
        },
        first[i]);
  }
  tx.affected.assign(action.ranges().begin(), action.ranges().end());
  return std::nullopt;
}

}  // namespace itmo::ledger::internal
