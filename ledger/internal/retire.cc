// Use (R7, R9), Cancel and SetQuarantine (R10).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/strings.h"
#include "ledger/internal/executor.h"
#include "ledger/internal/keys.h"
#include "ledger/limits.h"

namespace itmo::ledger::internal {
namespace {

template <typename List>
bool ListContains(const List& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string Where(const Piece& p) {
  return absl::StrCat(p.block.originating_registry(), " [", p.first, ", ", p.last, "]");
}

bool UsesOrCancellationFirstTransfer(const v1::Authorization& a) {
  return !a.oimp_purposes().empty() &&
         a.first_transfer_definition() == v1::FIRST_TRANSFER_USE_OR_CANCELLATION;
}

}  // namespace

Check BlockExecutor::CheckUser(const v1::Use& action, const v1::Account& from) const {
  const bool ndc = action.purpose() == v1::PURPOSE_NDC;
  ITMO_CHECK(ndc || action.purpose() == v1::PURPOSE_OIMP);  // CheckRoles.
  if (ndc) {
    auto party = ReadProto<v1::Party>(*kv_, Table::kState, PartyKey(action.using_party()));
    ITMO_CHECK(party.has_value());  // CheckRoles: the submitting Party.
    if (from.holder_party() != action.using_party()) {
      return Reject(
          v1::REASON_ACCOUNT_NOT_OF_PARTY,
          absl::StrCat("account of ", from.holder_party(), ", not of ", action.using_party()));
    }
    bool known = false;
    for (const v1::NdcPeriod& period : party->ndc_periods()) {
      known = known || (period.first_year() == action.ndc_period().first_year() &&
                        period.last_year() == action.ndc_period().last_year());
    }
    if (!known) {
      return Reject(v1::REASON_UNKNOWN_NDC_PERIOD,
                    absl::StrCat("no NDC period ", action.ndc_period().first_year(), "-",
                                 action.ndc_period().last_year(), " of ", action.using_party()));
    }
    // R9, R14: the use is subtracted in the consensus year, which must belong to the period used
    // for (a use in 2031 cannot count towards a 2021-2030 NDC, nor a 2030 use towards 2031-2035).
    if (year_ < action.ndc_period().first_year() || year_ > action.ndc_period().last_year()) {
      return Reject(
          v1::REASON_USE_YEAR_OUTSIDE_NDC_PERIOD,
          absl::StrCat("year of use ", year_, " is outside the NDC period ",
                       action.ndc_period().first_year(), "-", action.ndc_period().last_year()));
    }
  } else {
    LEDGER_RETURN_IF_REJECTED(CheckId(action.oimp_purpose(), "OIMP purpose"));
  }
  return std::nullopt;
}

Check BlockExecutor::CheckUsePiece(const v1::Use& action, const Piece& p,
                                   FirstTransfers* first_transfers, bool* first,
                                   bool* flagged) const {
  const bool ndc = action.purpose() == v1::PURPOSE_NDC;
  ITMO_CHECK(!*first);
  ITMO_CHECK(!*flagged);
  LEDGER_RETURN_IF_REJECTED(CheckHeld(p, action.from()));
  if (p.block.state() == v1::UNIT_STATE_ISSUED) {
    return Reject(v1::REASON_NO_AUTHORIZATION, absl::StrCat(Where(p), " is not authorized"));
  }
  if (ndc) {
    if (p.block.state() != v1::UNIT_STATE_ACTIVE) {
      return Reject(v1::REASON_UNITS_WRONG_STATE, absl::StrCat(Where(p), " not first transferred"));
    }
    if (!p.block.authorization_snapshot().ndc()) {  // R7.
      return Reject(v1::REASON_PURPOSE_NOT_AUTHORIZED,
                    absl::StrCat(Where(p), " not authorized for NDC use"));
    }
    auto approach =
        ReadProto<v1::CooperativeApproach>(*kv_, Table::kState, ApproachKey(p.block.approach_id()));
    ITMO_CHECK(approach.has_value());
    bool inside = p.block.vintage() >= action.ndc_period().first_year() &&
                  p.block.vintage() <= action.ndc_period().last_year();
    if (!inside &&
        approach->ndc_vintage_rule() != v1::VINTAGE_RULE_FLAG_OUTSIDE_NDC_PERIOD) {  // R9.
      return Reject(
          v1::REASON_VINTAGE_OUTSIDE_NDC_PERIOD,
          absl::StrCat(Where(p), " vintage ", p.block.vintage(), " outside the NDC period"));
    }
    *flagged = !inside;
    return std::nullopt;
  }
  if (p.block.state() == v1::UNIT_STATE_ACTIVE) {
    if (!ListContains(p.block.authorization_snapshot().oimp_purposes(), action.oimp_purpose())) {
      return Reject(v1::REASON_PURPOSE_NOT_AUTHORIZED,
                    absl::StrCat(Where(p), " not authorized for ", action.oimp_purpose()));
    }
    return std::nullopt;
  }
  ITMO_CHECK(p.block.state() == v1::UNIT_STATE_AUTHORIZED);
  auto a = ReadProto<v1::Authorization>(*kv_, Table::kState,
                                        AuthorizationKey(p.block.authorization_id()));
  ITMO_CHECK(a.has_value());
  if (!ListContains(a->oimp_purposes(), action.oimp_purpose())) {
    return Reject(v1::REASON_PURPOSE_NOT_AUTHORIZED,
                  absl::StrCat(Where(p), " not authorized for ", action.oimp_purpose()));
  }
  if (!UsesOrCancellationFirstTransfer(*a)) {
    return Reject(v1::REASON_UNITS_WRONG_STATE, absl::StrCat(Where(p), " not first transferred"));
  }
  const v1::UnitBlock piece_block = p.AsBlock();
  LEDGER_RETURN_IF_REJECTED(AddFirstTransfer(piece_block, p.units(), v1::PURPOSE_OIMP,
                                             action.oimp_purpose(), first_transfers));
  *first = true;
  return std::nullopt;
}

Check BlockExecutor::Use(TxState& tx, const v1::Use& action) {
  v1::Account from;
  LEDGER_RETURN_IF_REJECTED(CheckAccount(action.from(), &from));
  LEDGER_RETURN_IF_REJECTED(CheckText(action.using_entity(), "using entity"));
  const bool ndc = action.purpose() == v1::PURPOSE_NDC;
  ITMO_CHECK(ndc || action.purpose() == v1::PURPOSE_OIMP);  // CheckRoles.
  LEDGER_RETURN_IF_REJECTED(CheckUser(action, from));
  std::vector<Piece> pieces;
  LEDGER_RETURN_IF_REJECTED(CollectPieces(action.ranges(), &pieces));
  FirstTransfers first_transfers;
  std::vector<bool> first(pieces.size(), false);
  std::vector<bool> flagged(pieces.size(), false);
  for (size_t i = 0; i < pieces.size(); ++i) {
    bool is_first = false;
    bool is_flagged = false;
    LEDGER_RETURN_IF_REJECTED(
        CheckUsePiece(action, pieces[i], &first_transfers, &is_first, &is_flagged));
    first[i] = is_first;
    flagged[i] = is_flagged;
  }
  LEDGER_RETURN_IF_REJECTED(CheckCaps(first_transfers));
  if (!ndc) LEDGER_RETURN_IF_REJECTED(CheckHostSignatures(tx, first_transfers));
  // Phase 2: mutate.
  ApplyCaps(first_transfers);
  for (size_t i = 0; i < pieces.size(); ++i) {
    MutatePiece(
        tx, pieces[i], "use", action.from(), v1::AccountRef(),
        [&](v1::UnitBlock& b) {
          if (first[i]) {
            MarkFirstTransfer(tx, first_transfers, &b, v1::PURPOSE_OIMP, action.oimp_purpose());
          }
          ITMO_CHECK(b.state() == v1::UNIT_STATE_ACTIVE);
          v1::Retirement* r = b.mutable_retirement();
          r->set_year(year_);
          if (ndc) {
            b.set_state(v1::UNIT_STATE_USED_NDC);
            r->set_using_party(action.using_party());
            *r->mutable_ndc_period() = action.ndc_period();
            r->set_vintage_outside_period(flagged[i]);
            Adjust(action.using_party(), b.last() - b.first() + 1, b, v1::ADJUSTMENT_SUBTRACTION,
                   v1::PURPOSE_NDC, &action.ndc_period(), "");
          } else {
            b.set_state(v1::UNIT_STATE_USED_OIMP);
            r->set_oimp_purpose(action.oimp_purpose());
            r->set_using_entity(action.using_entity());
          }
        },
        first[i]);
  }
  tx.affected.assign(action.ranges().begin(), action.ranges().end());
  return std::nullopt;
}

Check BlockExecutor::Cancel(TxState& tx, const v1::Cancel& action) {
  v1::Account from;
  LEDGER_RETURN_IF_REJECTED(CheckAccount(action.from(), &from));
  if (action.reason() == v1::CANCELLATION_REASON_UNSPECIFIED) {
    return Reject(v1::REASON_INVALID_FIELD, "cancellation reason missing");
  }
  LEDGER_RETURN_IF_REJECTED(CheckText(action.note(), "note"));
  std::vector<Piece> pieces;
  LEDGER_RETURN_IF_REJECTED(CollectPieces(action.ranges(), &pieces));
  FirstTransfers first_transfers;
  std::vector<bool> first(pieces.size(), false);
  for (size_t i = 0; i < pieces.size(); ++i) {
    const Piece& p = pieces[i];
    LEDGER_RETURN_IF_REJECTED(CheckHeld(p, action.from()));
    if (p.block.state() == v1::UNIT_STATE_ACTIVE) continue;  // Adjusted at its first transfer.
    std::optional<v1::Authorization> a;
    if (p.block.state() == v1::UNIT_STATE_AUTHORIZED) {
      a = ReadProto<v1::Authorization>(*kv_, Table::kState,
                                       AuthorizationKey(p.block.authorization_id()));
      ITMO_CHECK(a.has_value());
    }
    if (!a.has_value() || !UsesOrCancellationFirstTransfer(*a)) {
      // No Party booked an addition for these units: an OMGE cancellation would claim a
      // mitigation nobody accounted. A voluntary or other cancellation is what it says.
      if (action.reason() == v1::CANCELLATION_OMGE) {
        return Reject(v1::REASON_OMGE_NOT_ADJUSTED,
                      absl::StrCat(Where(p), " was never first transferred: no Party adjusted"));
      }
      continue;
    }
    const v1::UnitBlock piece_block = p.AsBlock();
    LEDGER_RETURN_IF_REJECTED(
        AddFirstTransfer(piece_block, p.units(), v1::PURPOSE_UNSPECIFIED, "", &first_transfers));
    first[i] = true;
  }
  LEDGER_RETURN_IF_REJECTED(CheckCaps(first_transfers));
  LEDGER_RETURN_IF_REJECTED(CheckHostSignatures(tx, first_transfers));
  // Phase 2: mutate.
  ApplyCaps(first_transfers);
  for (size_t i = 0; i < pieces.size(); ++i) {
    MutatePiece(
        tx, pieces[i], "cancel", action.from(), v1::AccountRef(),
        [&](v1::UnitBlock& b) {
          if (first[i]) MarkFirstTransfer(tx, first_transfers, &b, v1::PURPOSE_OIMP);
          b.set_state(v1::UNIT_STATE_CANCELLED);
          b.mutable_retirement()->set_cancellation_reason(action.reason());
          b.mutable_retirement()->set_note(action.note());
          b.mutable_retirement()->set_year(year_);
        },
        first[i]);
  }
  tx.affected.assign(action.ranges().begin(), action.ranges().end());
  return std::nullopt;
}

Check BlockExecutor::SetQuarantine(TxState& tx, const v1::SetQuarantine& action) {
  LEDGER_RETURN_IF_REJECTED(CheckText(action.reason(), "reason"));
  std::vector<Piece> pieces;
  LEDGER_RETURN_IF_REJECTED(CollectPieces(action.ranges(), &pieces));
  for (const Piece& p : pieces) {
    // R4: terminal accepts no action, but the correction that clears a quarantine always stays
    // possible (R10), whatever the state.
    if (action.quarantined() && IsTerminal(p.block.state())) {
      return Reject(v1::REASON_UNITS_TERMINAL, absl::StrCat(Where(p), " is terminal"));
    }
    if (action.quarantined() && p.block.quarantined()) {
      return Reject(v1::REASON_UNITS_QUARANTINED,
                    absl::StrCat(Where(p), " is already quarantined"));
    }
    if (!action.quarantined() && !p.block.quarantined()) {
      return Reject(v1::REASON_UNITS_NOT_QUARANTINED,
                    absl::StrCat(Where(p), " is not quarantined"));
    }
  }
  // Phase 2: mutate.
  for (const Piece& p : pieces) {
    MutatePiece(
        tx, p, "quarantine", p.block.holder(), p.block.holder(),
        [&](v1::UnitBlock& b) {
          b.set_quarantined(action.quarantined());
          b.set_quarantine_reason(action.quarantined() ? action.reason() : "");
        },
        false);
  }
  tx.affected.assign(action.ranges().begin(), action.ranges().end());
  return std::nullopt;
}

}  // namespace itmo::ledger::internal
