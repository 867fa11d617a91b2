// Actions that create things: RegisterApproach, OpenAccount, Issue (R1, R9), Authorize and
// ChangeAuthorization (R5, R8).
#include <algorithm>
#include <limits>

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

Check CheckPurposes(bool ndc, const google::protobuf::RepeatedPtrField<std::string>& oimp,
                    v1::FirstTransferDefinition definition) {
  if (!ndc && oimp.empty()) return Reject(v1::REASON_INVALID_FIELD, "authorization has no purpose");
  if (static_cast<size_t>(oimp.size()) > kPurposesMax) {
    return Reject(v1::REASON_FIELD_TOO_LONG,
                  absl::StrCat(oimp.size(), " OIMPs, limit ", kPurposesMax));
  }
  for (const std::string& purpose : oimp) LEDGER_RETURN_IF_REJECTED(CheckId(purpose, "OIMP"));
  if (!oimp.empty() && definition == v1::FIRST_TRANSFER_DEFINITION_UNSPECIFIED) {
    return Reject(v1::REASON_INVALID_FIELD, "OIMP authorization needs a first-transfer definition");
  }
  return std::nullopt;
}

Check CheckTextList(const google::protobuf::RepeatedPtrField<std::string>& list, size_t max,
                    std::string_view what) {
  if (static_cast<size_t>(list.size()) > max) {
    return Reject(v1::REASON_FIELD_TOO_LONG,
                  absl::StrCat(list.size(), " ", ToAbsl(what), ", limit ", max));
  }
  for (const std::string& item : list) LEDGER_RETURN_IF_REJECTED(CheckText(item, what));
  return std::nullopt;
}

// The syntax of an issuance spec (R9 vintage, range, metric, conversion factor, field limits).
Check CheckSpecSyntax(const v1::IssuanceSpec& spec, uint32_t year) {
  if (spec.vintage() < kVintageMin || spec.vintage() > year) {
    return Reject(v1::REASON_INVALID_VINTAGE, absl::StrCat("vintage ", spec.vintage(), " not in [",
                                                           kVintageMin, ", ", year, "]"));
  }
  if (spec.first() == 0 || spec.first() > spec.last()) {
    return Reject(v1::REASON_INVALID_RANGE, absl::StrCat("serials [", spec.first(), ", ",
                                                         spec.last(), "] (serial 0 is reserved)"));
  }
  if (spec.metric().empty()) return Reject(v1::REASON_INVALID_FIELD, "metric missing");
  LEDGER_RETURN_IF_REJECTED(CheckText(spec.metric(), "metric"));
  LEDGER_RETURN_IF_REJECTED(CheckText(spec.sector(), "sector"));
  LEDGER_RETURN_IF_REJECTED(CheckText(spec.activity_type(), "activity type"));
  LEDGER_RETURN_IF_REJECTED(
      CheckTextList(spec.underlying_block_ids(), kUnderlyingIdsMax, "underlying block ids"));
  // limits.h: bounded factors whose denominator divides 10^6 make every t CO2e figure an exact
  // number of micro-tonnes, and every sum of them exact in 128 bits.
  const uint64_t num = spec.conversion_numerator();
  const uint64_t den = spec.conversion_denominator();
  if (num == 0 || num > kConversionNumeratorMax || den == 0 || den > kConversionDenominatorMax ||
      kConversionDenominatorMax % den != 0) {
    return Reject(v1::REASON_INVALID_CONVERSION_FACTOR,
                  absl::StrCat("conversion factor ", num, "/", den, ": numerator in [1, ",
                               kConversionNumeratorMax, "], denominator a divisor of ",
                               kConversionDenominatorMax));
  }
  ITMO_CHECK(spec.first() >= 1);
  ITMO_CHECK(spec.first() <= spec.last());
  return std::nullopt;
}

// The terms of a new authorization (purposes, cap, vintages, lists).
Check CheckAuthorizationTerms(const v1::Authorization& a) {
  LEDGER_RETURN_IF_REJECTED(
      CheckPurposes(a.ndc(), a.oimp_purposes(), a.first_transfer_definition()));
  if (a.cap() == 0) return Reject(v1::REASON_INVALID_FIELD, "cap must be positive");
  if (a.vintage_first() < kVintageMin || a.vintage_last() < a.vintage_first() ||
      a.vintage_last() > kYearMax) {
    return Reject(v1::REASON_INVALID_VINTAGE,
                  absl::StrCat("vintages [", a.vintage_first(), ", ", a.vintage_last(), "]"));
  }
  LEDGER_RETURN_IF_REJECTED(CheckTextList(a.sectors(), kSectorsMax, "sectors"));
  LEDGER_RETURN_IF_REJECTED(CheckTextList(a.activity_types(), kSectorsMax, "activity types"));
  ITMO_CHECK(a.cap() > 0);
  ITMO_CHECK(a.vintage_first() <= a.vintage_last());
  return std::nullopt;
}

// AUTHORIZATION and ISSUANCE name events that have happened for units already issued.
bool FirstTransferredOnAttach(const v1::Authorization& a) {
  return !a.oimp_purposes().empty() &&
         (a.first_transfer_definition() == v1::FIRST_TRANSFER_AUTHORIZATION ||
          a.first_transfer_definition() == v1::FIRST_TRANSFER_ISSUANCE);
}

// Whether authorization `id` has AUTHORIZED units that are quarantined (index "q/").
bool HasQuarantinedUnits(const KvState& kv, const std::string& id) {
  const std::string prefix = QuarantineIndexPrefix(id);
  auto q = kv.map(Table::kIndex).lower_bound(prefix);
  return q != kv.map(Table::kIndex).end() && q->first.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

Check CheckCovers(const v1::Authorization& a, uint32_t vintage, const std::string& sector,
                  const std::string& activity) {
  if (a.status() == v1::AUTHORIZATION_REVOKED) {
    return Reject(v1::REASON_AUTHORIZATION_REVOKED,
                  absl::StrCat("authorization ", a.id(), " revoked"));
  }
  if (vintage < a.vintage_first() || vintage > a.vintage_last()) {
    return Reject(v1::REASON_VINTAGE_NOT_AUTHORIZED,
                  absl::StrCat("vintage ", vintage, " not covered by authorization ", a.id()));
  }
  if (!a.sectors().empty() && !ListContains(a.sectors(), sector)) {
    return Reject(v1::REASON_SECTOR_NOT_AUTHORIZED,
                  absl::StrCat("sector '", sector, "' not covered by authorization ", a.id()));
  }
  if (!a.activity_types().empty() && !ListContains(a.activity_types(), activity)) {
    return Reject(v1::REASON_ACTIVITY_NOT_AUTHORIZED,
                  absl::StrCat("activity '", activity, "' not covered by authorization ", a.id()));
  }
  return std::nullopt;
}

Check BlockExecutor::RegisterApproach(TxState& tx, const v1::RegisterApproach& action) {
  const v1::CooperativeApproach& approach = action.approach();
  LEDGER_RETURN_IF_REJECTED(CheckId(approach.id(), "approach id"));
  LEDGER_RETURN_IF_REJECTED(CheckText(approach.name(), "approach name"));
  if (kv_->Get(Table::kState, ApproachKey(approach.id())) != nullptr) {
    return Reject(v1::REASON_APPROACH_EXISTS, absl::StrCat("approach ", approach.id(), " exists"));
  }
  for (int i = 1; i < approach.parties_size(); ++i) {
    if (approach.parties(i - 1) >= approach.parties(i)) {
      return Reject(v1::REASON_INVALID_FIELD, "approach parties must be sorted and unique");
    }
  }
  ITMO_CHECK(approach.parties_size() >= 1);  // CheckRoles: the submitter is among them.
  ITMO_CHECK(tx.body->submitter_kind() == v1::SUBMITTER_PARTY);
  kv_->Put(Table::kState, ApproachKey(approach.id()), Serialize(approach));
  return std::nullopt;
}

Check BlockExecutor::OpenAccount(TxState& tx, const v1::OpenAccount& action) {
  const v1::Account& account = action.account();
  LEDGER_RETURN_IF_REJECTED(CheckId(account.ref().account_id(), "account id"));
  LEDGER_RETURN_IF_REJECTED(CheckText(account.holder_entity(), "holder entity"));
  if (account.closed()) return Reject(v1::REASON_INVALID_FIELD, "cannot open a closed account");
  auto registry =
      ReadProto<v1::Registry>(*kv_, Table::kState, RegistryKey(account.ref().registry_id()));
  ITMO_CHECK(registry.has_value());  // CheckRoles: the submitting registry.
  std::string key = AccountKey(account.ref().registry_id(), account.ref().account_id());
  if (kv_->Get(Table::kState, key) != nullptr) {
    return Reject(v1::REASON_ACCOUNT_EXISTS,
                  absl::StrCat("account ", account.ref().account_id(), " exists"));
  }
  if (kv_->Get(Table::kState, PartyKey(account.holder_party())) == nullptr) {
    return Reject(v1::REASON_UNKNOWN_PARTY,
                  absl::StrCat("unknown Party '", account.holder_party(), "'"));
  }
  if (!registry->party().empty() && registry->party() != account.holder_party()) {
    return Reject(
        v1::REASON_ACCOUNT_NOT_OF_PARTY,
        absl::StrCat("registry ", registry->id(), " holds accounts of ", registry->party()));
  }
  ITMO_CHECK(tx.body->submitter() == registry->id());
  kv_->Put(Table::kState, key, Serialize(account));
  return std::nullopt;
}

Check BlockExecutor::CheckIssuanceSpec(const v1::IssuanceSpec& spec, const v1::Registry& registry,
                                       const v1::AccountRef& to, v1::UnitBlock* block,
                                       FirstTransfers* first_transfers,
                                       bool* first_transfer) const {
  LEDGER_RETURN_IF_REJECTED(CheckId(spec.approach_id(), "approach id"));
  auto approach =
      ReadProto<v1::CooperativeApproach>(*kv_, Table::kState, ApproachKey(spec.approach_id()));
  if (!approach) {
    return Reject(v1::REASON_UNKNOWN_APPROACH,
                  absl::StrCat("unknown approach ", spec.approach_id()));
  }
  std::string party =
      spec.first_transferring_party().empty() ? registry.party() : spec.first_transferring_party();
  if (party.empty()) return Reject(v1::REASON_INVALID_FIELD, "first-transferring Party missing");
  if (kv_->Get(Table::kState, PartyKey(party)) == nullptr) {
    return Reject(v1::REASON_UNKNOWN_PARTY, absl::StrCat("unknown Party '", party, "'"));
  }
  if (!registry.party().empty() && registry.party() != party) {
    return Reject(
        v1::REASON_WRONG_REGISTRY,
        absl::StrCat("registry ", registry.id(), " issues only units of ", registry.party()));
  }
  if (!ListContains(approach->parties(), party)) {
    return Reject(v1::REASON_PARTY_NOT_IN_APPROACH,
                  absl::StrCat(party, " does not take part in ", spec.approach_id()));
  }
  LEDGER_RETURN_IF_REJECTED(CheckSpecSyntax(spec, year_));
  const uint64_t units = spec.last() - spec.first() + 1;  // first >= 1: no overflow.
  block->set_approach_id(spec.approach_id());
  block->set_originating_registry(registry.id());
  block->set_first_transferring_party(party);
  block->set_vintage(spec.vintage());
  block->set_first(spec.first());
  block->set_last(spec.last());
  block->set_metric(spec.metric());
  block->set_conversion_numerator(spec.conversion_numerator());
  block->set_conversion_denominator(spec.conversion_denominator());
  block->set_sector(spec.sector());
  block->set_activity_type(spec.activity_type());
  *block->mutable_underlying_block_ids() = spec.underlying_block_ids();
  *block->mutable_holder() = to;
  block->set_state(v1::UNIT_STATE_ISSUED);
  block->set_issued_height(ctx_.height);
  block->set_issued_first(spec.first());
  *first_transfer = false;
  if (spec.authorization_id().empty()) return std::nullopt;
  auto a =
      ReadProto<v1::Authorization>(*kv_, Table::kState, AuthorizationKey(spec.authorization_id()));
  if (!a) {
    return Reject(v1::REASON_UNKNOWN_AUTHORIZATION,
                  absl::StrCat("unknown authorization ", spec.authorization_id()));
  }
  if (a->party() != party || a->approach_id() != spec.approach_id()) {
    return Reject(
        v1::REASON_AUTHORIZATION_WRONG_PARTY,
        absl::StrCat("authorization ", a->id(), " is of ", a->party(), "/", a->approach_id()));
  }
  LEDGER_RETURN_IF_REJECTED(CheckCovers(*a, spec.vintage(), spec.sector(), spec.activity_type()));
  block->set_authorization_id(a->id());
  block->set_state(v1::UNIT_STATE_AUTHORIZED);
  // OIMP units whose first transfer is the authorization or the issuance are first transferred now.
  v1::FirstTransferDefinition d = a->first_transfer_definition();
  if (!a->oimp_purposes().empty() &&
      (d == v1::FIRST_TRANSFER_ISSUANCE || d == v1::FIRST_TRANSFER_AUTHORIZATION)) {
    *first_transfer = true;
    return AddFirstTransfer(*block, units, v1::PURPOSE_UNSPECIFIED, "", first_transfers);
  }
  return std::nullopt;
}

Check BlockExecutor::Issue(TxState& tx, const v1::Issue& action) {
  v1::Account to;
  LEDGER_RETURN_IF_REJECTED(CheckAccount(action.to(), &to));
  if (action.to().registry_id() != tx.body->submitter()) {
    return Reject(v1::REASON_WRONG_REGISTRY,
                  absl::StrCat("issuance into an account of registry ", action.to().registry_id()));
  }
  if (action.blocks().empty()) return Reject(v1::REASON_INVALID_FIELD, "nothing to issue");
  if (static_cast<size_t>(action.blocks_size()) > kIssueBlocksMax) {
    return Reject(v1::REASON_TOO_MANY_BLOCKS,
                  absl::StrCat(action.blocks_size(), " blocks, limit ", kIssueBlocksMax));
  }
  auto registry = ReadProto<v1::Registry>(*kv_, Table::kState, RegistryKey(tx.body->submitter()));
  ITMO_CHECK(registry.has_value());
  FirstTransfers first_transfers;
  std::vector<v1::UnitBlock> blocks(action.blocks_size());
  std::vector<bool> first(action.blocks_size(), false);
  for (int i = 0; i < action.blocks_size(); ++i) {
    bool is_first = false;
    LEDGER_RETURN_IF_REJECTED(CheckIssuanceSpec(action.blocks(i), *registry, action.to(),
                                                &blocks[i], &first_transfers, &is_first));
    first[i] = is_first;
  }
  std::vector<const v1::UnitBlock*> sorted;
  sorted.reserve(blocks.size());
  for (const v1::UnitBlock& b : blocks) sorted.push_back(&b);
  std::sort(sorted.begin(), sorted.end(),
            [](const v1::UnitBlock* a, const v1::UnitBlock* b) { return a->first() < b->first(); });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i - 1]->last() >= sorted[i]->first()) {
      return Reject(v1::REASON_OVERLAPPING_RANGES,
                    absl::StrCat("issued ranges overlap at serial ", sorted[i]->first()));
    }
  }
  for (const v1::UnitBlock& b : blocks) {
    // R1: blocks are disjoint, so only the block with the greatest first <= b.last can overlap.
    auto previous = BlockAtOrBefore(*kv_, b.originating_registry(), b.last());
    if (previous.has_value() && previous->second.last() >= b.first()) {
      return Reject(v1::REASON_SERIAL_OVERLAP,
                    absl::StrCat("serials [", b.first(), ", ", b.last(), "] of ",
                                 b.originating_registry(), " overlap existing units"));
    }
  }
  LEDGER_RETURN_IF_REJECTED(CheckCaps(first_transfers));
  // Phase 2: mutate.
  ApplyCaps(first_transfers);
  for (size_t i = 0; i < blocks.size(); ++i) {
    v1::UnitBlock& b = blocks[i];
    if (first[i]) MarkFirstTransfer(tx, first_transfers, &b, v1::PURPOSE_OIMP);
    PutBlock(kv_, b, nullptr);
    AddHistory(tx, "issue", v1::AccountRef(), action.to(), b, first[i]);
    v1::UnitRange* range = &tx.affected.emplace_back();
    range->set_originating_registry(b.originating_registry());
    range->set_first(b.first());
    range->set_last(b.last());
  }
  return std::nullopt;
}

Check BlockExecutor::CheckAttach(const Piece& p, const v1::Authorization& a, bool first_now,
                                 FirstTransfers* first_transfers) const {
  ITMO_CHECK(first_transfers->authorizations.contains(a.id()));
  ITMO_CHECK(p.first <= p.last);
  if (IsTerminal(p.block.state())) {
    return Reject(v1::REASON_UNITS_TERMINAL, absl::StrCat("serial ", p.first, " is terminal"));
  }
  if (p.block.quarantined()) {
    return Reject(v1::REASON_UNITS_QUARANTINED,
                  absl::StrCat("serial ", p.first, " is quarantined"));
  }
  if (p.block.state() != v1::UNIT_STATE_ISSUED) {
    return Reject(v1::REASON_UNITS_WRONG_STATE, absl::StrCat("serial ", p.first, " is not ISSUED"));
  }
  if (p.block.first_transferring_party() != a.party() || p.block.approach_id() != a.approach_id()) {
    return Reject(v1::REASON_AUTHORIZATION_WRONG_PARTY,
                  absl::StrCat("serial ", p.first, " is of ", p.block.first_transferring_party(),
                               "/", p.block.approach_id()));
  }
  LEDGER_RETURN_IF_REJECTED(
      CheckCovers(a, p.block.vintage(), p.block.sector(), p.block.activity_type()));
  if (first_now) {
    v1::UnitBlock attached = p.block;
    attached.set_authorization_id(a.id());
    LEDGER_RETURN_IF_REJECTED(
        AddFirstTransfer(attached, p.units(), v1::PURPOSE_UNSPECIFIED, "", first_transfers));
  }
  return std::nullopt;
}

Check BlockExecutor::Authorize(TxState& tx, const v1::Authorize& action) {
  v1::Authorization a = action.authorization();
  LEDGER_RETURN_IF_REJECTED(CheckId(a.id(), "authorization id"));
  if (kv_->Get(Table::kState, AuthorizationKey(a.id())) != nullptr) {
    return Reject(v1::REASON_AUTHORIZATION_EXISTS,
                  absl::StrCat("authorization ", a.id(), " exists"));
  }
  auto approach =
      ReadProto<v1::CooperativeApproach>(*kv_, Table::kState, ApproachKey(a.approach_id()));
  if (!approach) {
    return Reject(v1::REASON_UNKNOWN_APPROACH, absl::StrCat("unknown approach ", a.approach_id()));
  }
  if (!ListContains(approach->parties(), a.party())) {
    return Reject(v1::REASON_PARTY_NOT_IN_APPROACH,
                  absl::StrCat(a.party(), " does not take part in ", a.approach_id()));
  }
  LEDGER_RETURN_IF_REJECTED(CheckAuthorizationTerms(a));
  a.set_status(v1::AUTHORIZATION_ACTIVE);
  a.set_version(1);
  a.set_first_transferred(0);
  a.set_authorized_at_ms(ctx_.timestamp_ms);
  a.set_authorized_height(ctx_.height);
  // Units attached to an OIMP authorization whose first-transfer event is the authorization or
  // the issuance (both already happened for issued units) are first transferred by the attach.
  bool first_now = FirstTransferredOnAttach(a);
  std::vector<Piece> pieces;
  FirstTransfers first_transfers;
  first_transfers.authorizations[a.id()] = a;
  if (!action.attach().empty()) LEDGER_RETURN_IF_REJECTED(CollectPieces(action.attach(), &pieces));
  for (const Piece& p : pieces) {
    LEDGER_RETURN_IF_REJECTED(CheckAttach(p, a, first_now, &first_transfers));
  }
  LEDGER_RETURN_IF_REJECTED(CheckCaps(first_transfers));
  // Phase 2: mutate.
  kv_->Put(Table::kState, AuthorizationKey(a.id()), Serialize(a));
  PutAuthorizationVersion(tx, a, {v1::AUTHORIZATION_CHANGE_CREATED}, 0);
  ApplyCaps(first_transfers);
  for (const Piece& p : pieces) {
    MutatePiece(
        tx, p, "authorize", p.block.holder(), p.block.holder(),
        [&](v1::UnitBlock& b) {
          b.set_authorization_id(a.id());
          b.set_state(v1::UNIT_STATE_AUTHORIZED);
          if (first_now) MarkFirstTransfer(tx, first_transfers, &b, v1::PURPOSE_OIMP);
        },
        first_now);
  }
  tx.affected.assign(action.attach().begin(), action.attach().end());
  return std::nullopt;
}

Check BlockExecutor::ChangeAuthorization(TxState& tx, const v1::ChangeAuthorization& action) {
  auto a = ReadProto<v1::Authorization>(*kv_, Table::kState,
                                        AuthorizationKey(action.authorization_id()));
  if (!a) {
    return Reject(v1::REASON_UNKNOWN_AUTHORIZATION,
                  absl::StrCat("unknown authorization '", action.authorization_id(), "'"));
  }
  if (a->party() != tx.body->submitter()) {
    return Reject(v1::REASON_AUTHORIZATION_WRONG_PARTY,
                  absl::StrCat("authorization of ", a->party()));
  }
  if (action.expected_version() != a->version()) {
    return Reject(
        v1::REASON_AUTHORIZATION_VERSION_MISMATCH,
        absl::StrCat("version is ", a->version(), ", expected ", action.expected_version()));
  }
  if (a->status() == v1::AUTHORIZATION_REVOKED) {
    return Reject(v1::REASON_AUTHORIZATION_REVOKED,
                  absl::StrCat("authorization ", a->id(), " revoked"));
  }
  if (!action.revoke() && action.new_cap() == 0 && !action.change_purposes()) {
    return Reject(v1::REASON_INVALID_FIELD, "nothing to change");
  }
  if (action.new_cap() != 0 &&
      (action.new_cap() >= a->cap() || action.new_cap() < a->first_transferred())) {
    return Reject(v1::REASON_INVALID_CAP_CHANGE,
                  absl::StrCat("new cap ", action.new_cap(), " not in [", a->first_transferred(),
                               ", ", a->cap(), ")"));
  }
  if (action.change_purposes()) {
    LEDGER_RETURN_IF_REJECTED(
        CheckPurposes(action.ndc(), action.oimp_purposes(), action.first_transfer_definition()));
  }
  // R10: quarantine holds against revocation: it would change the state of quarantined units.
  if (action.revoke() && HasQuarantinedUnits(*kv_, a->id())) {
    return Reject(v1::REASON_UNITS_QUARANTINED,
                  absl::StrCat("authorization ", a->id(), " has quarantined units"));
  }
  // Phase 2 prepared: the new terms.
  v1::Authorization changed = *a;
  changed.set_version(a->version() + 1);
  if (action.new_cap() != 0) changed.set_cap(action.new_cap());
  if (action.change_purposes()) {
    changed.set_ndc(action.ndc());
    *changed.mutable_oimp_purposes() = action.oimp_purposes();
    changed.set_first_transfer_definition(action.first_transfer_definition());
  }
  // Revocation is O(1) whatever the fragmentation: the authorization's AUTHORIZED units read as
  // REVOKED from now on (BlockAtOrBefore) and are rewritten so when next touched.
  if (action.revoke()) changed.set_status(v1::AUTHORIZATION_REVOKED);
  std::vector<std::string> keys;
  FirstTransfers first_transfers;
  first_transfers.authorizations[changed.id()] = changed;
  const bool first_now = !action.revoke() && FirstTransferredOnAttach(changed);
  if (first_now)
    LEDGER_RETURN_IF_REJECTED(CheckChangeFirstTransfers(changed, &keys, &first_transfers));
  // Phase 2: mutate.
  kv_->Put(Table::kState, AuthorizationKey(changed.id()), Serialize(changed));
  std::vector<v1::AuthorizationChange> changes;
  if (action.revoke()) changes.push_back(v1::AUTHORIZATION_CHANGE_REVOKED);
  if (action.new_cap() != 0) changes.push_back(v1::AUTHORIZATION_CHANGE_CAP_LOWERED);
  if (action.change_purposes()) changes.push_back(v1::AUTHORIZATION_CHANGE_PURPOSES_CHANGED);
  PutAuthorizationVersion(tx, changed, changes, a->first_transferred());
  ApplyCaps(first_transfers);
  for (const std::string& key : keys) {
    auto old = ReadProto<v1::UnitBlock>(*kv_, Table::kState, key);
    ITMO_CHECK(old.has_value());
    ITMO_CHECK(old->state() == v1::UNIT_STATE_AUTHORIZED);
    v1::UnitBlock b = *old;
    MarkFirstTransfer(tx, first_transfers, &b, v1::PURPOSE_OIMP);
    PutBlock(kv_, b, &*old);
    AddHistory(tx, "change_authorization", b.holder(), b.holder(), b, true);
  }
  return std::nullopt;
}

void BlockExecutor::PutAuthorizationVersion(const TxState& tx, const v1::Authorization& terms,
                                            const std::vector<v1::AuthorizationChange>& changes,
                                            uint64_t first_transferred_before) {
  ITMO_CHECK(terms.version() >= 1);
  ITMO_CHECK(!changes.empty());
  const std::string key = AuthorizationVersionKey(terms.id(), terms.version());
  ITMO_CHECK(kv_->Get(Table::kState, key) == nullptr);  // Immutable: written once.
  v1::AuthorizationVersion record;
  record.set_authorization_id(terms.id());
  record.set_version(terms.version());
  *record.mutable_terms() = terms;
  record.mutable_terms()->set_first_transferred(0);  // The terms, not the running counter.
  for (v1::AuthorizationChange change : changes) record.add_changes(change);
  record.set_tx_id(std::string(crypto::AsStringView(tx.id)));
  record.set_height(ctx_.height);
  record.set_index(tx.index);
  record.set_timestamp_ms(ctx_.timestamp_ms);
  record.set_submitter(tx.body->submitter());
  record.set_client_tx_id(tx.body->client_tx_id());
  for (const crypto::PublicKey& key_bytes : tx.signers) {
    record.add_signer_keys(std::string(crypto::AsStringView(key_bytes)));
  }
  record.set_first_transferred_before(first_transferred_before);
  kv_->Put(Table::kState, key, Serialize(record));
}

Check BlockExecutor::CheckChangeFirstTransfers(const v1::Authorization& changed,
                                               std::vector<std::string>* keys,
                                               FirstTransfers* first_transfers) const {
  ITMO_CHECK(FirstTransferredOnAttach(changed));
  ITMO_CHECK(first_transfers->authorizations.contains(changed.id()));
  LEDGER_RETURN_IF_REJECTED(CollectAttached(changed, keys));
  for (const std::string& key : *keys) {
    auto b = ReadProto<v1::UnitBlock>(*kv_, Table::kState, key);
    ITMO_CHECK(b.has_value());
    const std::string where = absl::StrCat(b->originating_registry(), " ", b->first());
    if (b->quarantined()) {
      return Reject(v1::REASON_UNITS_QUARANTINED, absl::StrCat(where, " is quarantined"));
    }
    LEDGER_RETURN_IF_REJECTED(CheckCovers(changed, b->vintage(), b->sector(), b->activity_type()));
    LEDGER_RETURN_IF_REJECTED(AddFirstTransfer(*b, b->last() - b->first() + 1,
                                               v1::PURPOSE_UNSPECIFIED, "", first_transfers));
  }
  return CheckCaps(*first_transfers);
}

Check BlockExecutor::CollectAttached(const v1::Authorization& a,
                                     std::vector<std::string>* keys) const {
  ITMO_CHECK(keys->empty());
  ITMO_CHECK(a.status() == v1::AUTHORIZATION_ACTIVE);
  std::string prefix = AuthIndexPrefix(a.id());
  const KvState::Map& index = kv_->map(Table::kIndex);
  for (auto it = index.lower_bound(prefix);
       it != index.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (keys->size() >= kBlocksTouchedPerTxMax) {
      return Reject(
          v1::REASON_TOO_MANY_BLOCKS,
          absl::StrCat("the change first transfers more than ", kBlocksTouchedPerTxMax, " blocks"));
    }
    keys->push_back("u/" + it->first.substr(prefix.size()));
  }
  return std::nullopt;
}

}  // namespace itmo::ledger::internal
