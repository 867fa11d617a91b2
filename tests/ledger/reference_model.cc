// File: tests/ledger/reference_model.cc
// The rules of /work/shared/DOMAIN.md and docs/ledger-rules.md, serial by serial. Each action
// first collects every reason code that applies (nothing changes), then, if none, applies itself.
#include "tests/ledger/reference_model.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace itmo::ledger::testing {
namespace {

constexpr uint64_t kMicro = 1'000'000;
constexpr uint32_t kVintageFirst = 2021;

bool Terminal(v1::UnitState s) {
  return s == v1::UNIT_STATE_USED_NDC || s == v1::UNIT_STATE_USED_OIMP ||
         s == v1::UNIT_STATE_CANCELLED || s == v1::UNIT_STATE_REVOKED;
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool HasOimp(const v1::Authorization& a, const std::string& purpose) {
  return std::find(a.oimp_purposes().begin(), a.oimp_purposes().end(), purpose) !=
         a.oimp_purposes().end();
}

bool OnUseOrCancellation(const v1::Authorization& a) {
  return a.oimp_purposes_size() > 0 &&
         a.first_transfer_definition() == v1::FIRST_TRANSFER_USE_OR_CANCELLATION;
}

// An authorization's purposes are well formed: some purpose, and a definition for OIMP.
bool PurposesValid(bool ndc, int oimp_count, v1::FirstTransferDefinition definition) {
  if (!ndc && oimp_count == 0) return false;
  return oimp_count == 0 || definition != v1::FIRST_TRANSFER_DEFINITION_UNSPECIFIED;
}

}  // namespace

uint64_t MicroTonnes(uint64_t units, uint64_t numerator, uint64_t denominator) {
  ITMO_CHECK(denominator != 0);
  ITMO_CHECK(kMicro % denominator == 0);
  return units * numerator * (kMicro / denominator);
}

std::string RoundMicroTonnes(int64_t micro) {
  const bool negative = micro < 0;
  uint64_t m = negative ? static_cast<uint64_t>(-micro) : static_cast<uint64_t>(micro);
  uint64_t milli = m / 1000;
  const uint64_t rest = m % 1000;
  if (rest > 500 || (rest == 500 && milli % 2 == 1)) milli++;
  return absl::StrCat(negative && milli != 0 ? "-" : "", milli / 1000, ".",
                      absl::Dec(milli % 1000, absl::kZeroPad3));
}

ReferenceModel::ReferenceModel(const v1::Genesis& genesis) {
  for (const v1::Party& p : genesis.parties()) {
    party_periods_[p.code()] = {p.ndc_periods().begin(), p.ndc_periods().end()};
  }
  for (const v1::Registry& r : genesis.registries()) registry_party_[r.id()] = r.party();
  for (const v1::Account& a : genesis.accounts()) {
    accounts_[{a.ref().registry_id(), a.ref().account_id()}] = {a.holder_party(), a.closed()};
  }
  for (const v1::CooperativeApproach& c : genesis.approaches()) approaches_[c.id()] = c;
  ITMO_CHECK(!party_periods_.empty());
  ITMO_CHECK(!accounts_.empty());
}

std::string ReferenceModel::PartyOf(const std::string& registry, const std::string& account) const {
  auto it = accounts_.find({registry, account});
  return it == accounts_.end() ? "" : it->second.party;
}

ModelOutcome ReferenceModel::Apply(const v1::TransactionBody& body,
                                   const std::vector<std::string>& signers, uint32_t year) {
  switch (body.action_case()) {
    case v1::TransactionBody::kIssue:
      return Issue(body, signers, year);
    case v1::TransactionBody::kAuthorize:
      return Authorize(body, signers, year);
    case v1::TransactionBody::kChangeAuthorization:
      return Change(body, signers, year);
    case v1::TransactionBody::kTransfer:
      return Transfer(body, signers, year);
    case v1::TransactionBody::kUse:
      if (body.use().purpose() == v1::PURPOSE_NDC) return UseNdc(body, signers, year);
      return Retire(body, signers, year);
    case v1::TransactionBody::kCancel:
      return Retire(body, signers, year);
    case v1::TransactionBody::kSetQuarantine:
      return Quarantine(body, signers);
    default:
      ITMO_CHECK(false && "the model test generates no other action");
  }
  return {};
}

std::vector<SerialKey> ReferenceModel::Expand(
    const google::protobuf::RepeatedPtrField<v1::UnitRange>& ranges, Codes* codes) const {
  std::vector<SerialKey> keys;
  std::set<SerialKey> seen;
  for (const v1::UnitRange& r : ranges) {
    if (!registry_party_.contains(r.originating_registry())) {
      codes->insert(v1::REASON_INVALID_RANGE);
      codes->insert(v1::REASON_UNKNOWN_REGISTRY);
      continue;
    }
    if (r.first() == 0 || r.first() > r.last()) {
      codes->insert(v1::REASON_INVALID_RANGE);
      continue;
    }
    for (uint64_t s = r.first(); s <= r.last(); ++s) {
      if (!seen.insert({r.originating_registry(), s}).second) {
        codes->insert(v1::REASON_OVERLAPPING_RANGES);
        continue;
      }
      keys.push_back({r.originating_registry(), s});
    }
  }
  return keys;
}

void ReferenceModel::CheckAccount(const v1::AccountRef& ref, Codes* codes) const {
  auto it = accounts_.find({ref.registry_id(), ref.account_id()});
  if (it == accounts_.end()) {
    codes->insert(registry_party_.contains(ref.registry_id()) ? v1::REASON_UNKNOWN_ACCOUNT
                                                              : v1::REASON_UNKNOWN_REGISTRY);
    return;
  }
  if (it->second.closed) codes->insert(v1::REASON_ACCOUNT_CLOSED);
}

void ReferenceModel::CheckSigners(const std::vector<std::string>& required,
                                  const std::vector<std::string>& signers, Codes* codes) const {
  for (const std::string& r : required) {
    if (!Contains(signers, r)) codes->insert(v1::REASON_MISSING_SIGNATURE);
  }
  for (const std::string& s : signers) {
    if (!Contains(required, s)) codes->insert(v1::REASON_UNAUTHORIZED_SIGNER);
  }
}

void ReferenceModel::CheckHeld(const std::vector<SerialKey>& keys, const std::string& registry,
                               const std::string& account, Codes* codes) const {
  for (const SerialKey& k : keys) {
    auto it = units_.find(k);
    if (it == units_.end()) {
      codes->insert(v1::REASON_UNITS_NOT_FOUND);
      continue;
    }
    const ModelUnit& u = it->second;
    if (u.holder_registry != registry || u.holder_account != account) {
      codes->insert(v1::REASON_UNITS_NOT_HELD);
    }
    if (Terminal(u.state)) codes->insert(v1::REASON_UNITS_TERMINAL);
    if (u.quarantined) codes->insert(v1::REASON_UNITS_QUARANTINED);
  }
}

bool ReferenceModel::CoversUnit(const v1::Authorization& a, const ModelUnit& u,
                                Codes* codes) const {
  const size_t before = codes->size();
  if (u.vintage < a.vintage_first() || u.vintage > a.vintage_last()) {
    codes->insert(v1::REASON_VINTAGE_NOT_AUTHORIZED);
  }
  if (a.sectors_size() > 0 &&
      std::find(a.sectors().begin(), a.sectors().end(), u.sector) == a.sectors().end()) {
    codes->insert(v1::REASON_SECTOR_NOT_AUTHORIZED);
  }
  if (a.activity_types_size() > 0 && std::find(a.activity_types().begin(), a.activity_types().end(),
                                               u.activity) == a.activity_types().end()) {
    codes->insert(v1::REASON_ACTIVITY_NOT_AUTHORIZED);
  }
  if (a.party() != u.party || a.approach_id() != u.approach) {
    codes->insert(v1::REASON_AUTHORIZATION_WRONG_PARTY);
  }
  return codes->size() == before;
}

bool ReferenceModel::FirstTransferredOnAttach(const v1::Authorization& a) {
  return a.oimp_purposes_size() > 0 &&
         (a.first_transfer_definition() == v1::FIRST_TRANSFER_AUTHORIZATION ||
          a.first_transfer_definition() == v1::FIRST_TRANSFER_ISSUANCE);
}

void ReferenceModel::CheckCaps(const std::map<std::string, uint64_t>& demand, Codes* codes) const {
  for (const auto& [id, n] : demand) {
    const ModelAuthorization& a = authorizations_.at(id);
    ITMO_CHECK(a.first_transferred <= a.terms.cap());
    if (n > a.terms.cap() - a.first_transferred) codes->insert(v1::REASON_CAP_EXCEEDED);
  }
}

void ReferenceModel::FirstTransfer(ModelUnit& u, uint32_t year, v1::Purpose purpose,
                                   const std::string& oimp_purpose) {
  ITMO_CHECK(!u.first_transferred);  // R6: once per unit, ever.
  ITMO_CHECK(u.state == v1::UNIT_STATE_AUTHORIZED);
  ModelAuthorization& a = authorizations_.at(u.authorization_id);
  a.first_transferred++;
  ITMO_CHECK(a.first_transferred <= a.terms.cap());  // R8.
  u.first_transferred = true;
  u.first_transfer_year = year;
  u.snapshot_version = a.version;
  u.snapshot_ndc = a.terms.ndc();
  u.snapshot_oimp = {a.terms.oimp_purposes().begin(), a.terms.oimp_purposes().end()};
  u.state = v1::UNIT_STATE_ACTIVE;
  AdjustmentKey key{u.party,     year,        v1::ADJUSTMENT_ADDITION,
                    u.metric,    u.numerator, u.denominator,
                    purpose,     0,           0,
                    oimp_purpose};
  adjustments_[key]++;
}

void ReferenceModel::AddHistory(ModelUnit& u, const std::string& action, bool first_transfer) {
  ModelHistoryStep step;
  step.action = action;
  step.state_after = u.state;
  step.first_transfer = first_transfer;
  step.quarantined_after = u.quarantined;
  if (action == "issue" || action == "transfer") {
    step.to_account = absl::StrCat(u.holder_registry, "/", u.holder_account);
  }
  if (first_transfer) step.authorization_version = u.snapshot_version;
  u.history.push_back(std::move(step));
}

ModelUnit ReferenceModel::IssuedUnit(const v1::IssuanceSpec& spec, const v1::AccountRef& to,
                                     uint32_t year, Codes* codes,
                                     std::map<std::string, uint64_t>* demand) const {
  const std::string& registry = to.registry_id();
  ITMO_CHECK(registry_party_.contains(registry));
  ModelUnit u;
  u.approach = spec.approach_id();
  u.party = spec.first_transferring_party().empty() ? registry_party_.at(registry)
                                                    : spec.first_transferring_party();
  if (!registry_party_.at(registry).empty() && u.party != registry_party_.at(registry)) {
    codes->insert(v1::REASON_WRONG_REGISTRY);
  }
  if (u.party.empty()) {  // The international registry must name the Party of origin.
    codes->insert(v1::REASON_INVALID_FIELD);
    codes->insert(v1::REASON_UNKNOWN_PARTY);
  }
  u.vintage = spec.vintage();
  if (u.vintage < kVintageFirst || u.vintage > year) codes->insert(v1::REASON_INVALID_VINTAGE);
  u.metric = spec.metric();
  u.numerator = spec.conversion_numerator();
  u.denominator = spec.conversion_denominator();
  if (u.numerator < 1 || u.numerator > kMicro || u.denominator < 1 || u.denominator > kMicro ||
      kMicro % u.denominator != 0) {
    codes->insert(v1::REASON_INVALID_CONVERSION_FACTOR);
    u.denominator = 1;
  }
  u.sector = spec.sector();
  u.activity = spec.activity_type();
  u.holder_registry = registry;
  u.holder_account = to.account_id();
  auto approach = approaches_.find(u.approach);
  if (approach == approaches_.end()) {
    codes->insert(v1::REASON_UNKNOWN_APPROACH);
  } else if (!Contains({approach->second.parties().begin(), approach->second.parties().end()},
                       u.party)) {
    codes->insert(v1::REASON_PARTY_NOT_IN_APPROACH);
  }
  u.authorization_id = spec.authorization_id();
  u.state = u.authorization_id.empty() ? v1::UNIT_STATE_ISSUED : v1::UNIT_STATE_AUTHORIZED;
  if (!u.authorization_id.empty()) {
    auto a = authorizations_.find(u.authorization_id);
    if (a == authorizations_.end()) {
      codes->insert(v1::REASON_UNKNOWN_AUTHORIZATION);
    } else {
      if (a->second.revoked) codes->insert(v1::REASON_AUTHORIZATION_REVOKED);
      CoversUnit(a->second.terms, u, codes);
      if (FirstTransferredOnAttach(a->second.terms)) {
        (*demand)[u.authorization_id] += spec.last() - spec.first() + 1;
      }
    }
  }
  return u;
}

ModelOutcome ReferenceModel::Issue(const v1::TransactionBody& body,
                                   const std::vector<std::string>& signers, uint32_t year) {
  const v1::Issue& issue = body.issue();
  Codes codes;
  CheckSigners({body.submitter()}, signers, &codes);
  CheckAccount(issue.to(), &codes);
  const std::string& registry = issue.to().registry_id();
  if (registry != body.submitter()) codes.insert(v1::REASON_SUBMITTER_MISMATCH);
  if (!registry_party_.contains(registry)) return {codes};  // 3001 from CheckAccount.
  std::map<std::string, uint64_t> demand;
  std::vector<std::pair<SerialKey, ModelUnit>> created;
  std::set<SerialKey> seen;
  for (const v1::IssuanceSpec& spec : issue.blocks()) {
    ModelUnit u = IssuedUnit(spec, issue.to(), year, &codes, &demand);
    if (spec.first() == 0 || spec.first() > spec.last()) {
      codes.insert(v1::REASON_INVALID_RANGE);
      continue;
    }
    for (uint64_t s = spec.first(); s <= spec.last(); ++s) {
      SerialKey key{registry, s};
      if (units_.contains(key)) codes.insert(v1::REASON_SERIAL_OVERLAP);  // R1, any state.
      if (!seen.insert(key).second) {  // Two blocks of one Issue overlap.
        codes.insert(v1::REASON_OVERLAPPING_RANGES);
        codes.insert(v1::REASON_SERIAL_OVERLAP);
      }
      created.push_back({key, u});
    }
  }
  if (codes.empty()) CheckCaps(demand, &codes);
  if (!codes.empty()) return {codes};
  for (auto& [key, unit] : created) {
    auto [it, inserted] = units_.emplace(key, std::move(unit));
    ITMO_CHECK(inserted);
    ModelUnit& u = it->second;
    const bool first = !u.authorization_id.empty() &&
                       FirstTransferredOnAttach(authorizations_.at(u.authorization_id).terms);
    if (first) FirstTransfer(u, year, v1::PURPOSE_OIMP, "");
    AddHistory(u, "issue", first);
  }
  return {};
}

ModelOutcome ReferenceModel::Authorize(const v1::TransactionBody& body,
                                       const std::vector<std::string>& signers, uint32_t year) {
  const v1::Authorization& a = body.authorize().authorization();
  Codes codes;
  CheckSigners({a.party()}, signers, &codes);
  if (a.party() != body.submitter()) codes.insert(v1::REASON_SUBMITTER_MISMATCH);
  if (authorizations_.contains(a.id())) codes.insert(v1::REASON_AUTHORIZATION_EXISTS);
  auto approach = approaches_.find(a.approach_id());
  if (approach == approaches_.end()) {
    codes.insert(v1::REASON_UNKNOWN_APPROACH);
  } else if (!Contains({approach->second.parties().begin(), approach->second.parties().end()},
                       a.party())) {
    codes.insert(v1::REASON_PARTY_NOT_IN_APPROACH);
  }
  if (!PurposesValid(a.ndc(), a.oimp_purposes_size(), a.first_transfer_definition()) ||
      a.cap() == 0 || a.vintage_first() > a.vintage_last()) {
    codes.insert(v1::REASON_INVALID_FIELD);
  }
  std::vector<SerialKey> keys = Expand(body.authorize().attach(), &codes);
  for (const SerialKey& k : keys) {
    auto it = units_.find(k);
    if (it == units_.end()) {
      codes.insert(v1::REASON_UNITS_NOT_FOUND);
      continue;
    }
    const ModelUnit& u = it->second;
    if (Terminal(u.state)) codes.insert(v1::REASON_UNITS_TERMINAL);
    if (u.quarantined) codes.insert(v1::REASON_UNITS_QUARANTINED);  // R10.
    if (u.state != v1::UNIT_STATE_ISSUED && !Terminal(u.state)) {
      codes.insert(v1::REASON_UNITS_WRONG_STATE);
    }
    CoversUnit(a, u, &codes);
  }
  const bool first = FirstTransferredOnAttach(a);
  if (first && keys.size() > a.cap()) codes.insert(v1::REASON_CAP_EXCEEDED);
  if (!codes.empty()) return {codes};
  ModelAuthorization& stored = authorizations_[a.id()];
  stored.terms = a;
  stored.version = 1;
  for (const SerialKey& k : keys) {
    ModelUnit& u = units_.at(k);
    u.authorization_id = a.id();
    u.state = v1::UNIT_STATE_AUTHORIZED;
    if (first) FirstTransfer(u, year, v1::PURPOSE_OIMP, "");
    AddHistory(u, "authorize", first);
  }
  return {};
}

ModelOutcome ReferenceModel::Change(const v1::TransactionBody& body,
                                    const std::vector<std::string>& signers, uint32_t year) {
  const v1::ChangeAuthorization& c = body.change_authorization();
  Codes codes;
  auto it = authorizations_.find(c.authorization_id());
  if (it == authorizations_.end()) return {{v1::REASON_UNKNOWN_AUTHORIZATION}};
  ModelAuthorization& a = it->second;
  CheckSigners({a.terms.party()}, signers, &codes);
  if (body.submitter() != a.terms.party()) {
    codes.insert(v1::REASON_SUBMITTER_MISMATCH);
    codes.insert(v1::REASON_AUTHORIZATION_WRONG_PARTY);
  }
  if (c.expected_version() != a.version) codes.insert(v1::REASON_AUTHORIZATION_VERSION_MISMATCH);
  if (a.revoked) codes.insert(v1::REASON_AUTHORIZATION_REVOKED);
  if (!c.revoke() && c.new_cap() == 0 && !c.change_purposes()) {
    codes.insert(v1::REASON_INVALID_FIELD);  // A change that changes nothing.
  }
  const uint64_t cap = c.new_cap() != 0 ? c.new_cap() : a.terms.cap();
  if (c.new_cap() != 0 && (c.new_cap() >= a.terms.cap() || c.new_cap() < a.first_transferred)) {
    codes.insert(v1::REASON_INVALID_CAP_CHANGE);
  }
  v1::Authorization terms = a.terms;
  terms.set_cap(cap);
  if (c.change_purposes()) {
    if (!PurposesValid(c.ndc(), c.oimp_purposes_size(), c.first_transfer_definition())) {
      codes.insert(v1::REASON_INVALID_FIELD);
    }
    terms.set_ndc(c.ndc());
    *terms.mutable_oimp_purposes() = c.oimp_purposes();
    terms.set_first_transfer_definition(c.first_transfer_definition());
  }
  // The units this change affects: attached, not yet first transferred.
  std::vector<SerialKey> affected;
  for (const auto& [k, u] : units_) {
    if (u.authorization_id == a.terms.id() && u.state == v1::UNIT_STATE_AUTHORIZED) {
      affected.push_back(k);
    }
  }
  const bool first = c.change_purposes() && !c.revoke() && FirstTransferredOnAttach(terms);
  for (const SerialKey& k : affected) {
    // R10: a revocation or a first transfer would change a quarantined unit.
    if ((c.revoke() || first) && units_.at(k).quarantined) {
      codes.insert(v1::REASON_UNITS_QUARANTINED);
    }
  }
  if (first && affected.size() > cap - a.first_transferred) {
    codes.insert(v1::REASON_CAP_EXCEEDED);
  }
  if (!codes.empty()) return {codes};
  a.terms = terms;
  a.version++;
  a.revoked = c.revoke();
  for (const SerialKey& k : affected) {
    ModelUnit& u = units_.at(k);
    if (c.revoke()) u.state = v1::UNIT_STATE_REVOKED;  // No history entry (docs: O(1) revoke).
    if (first) {
      FirstTransfer(u, year, v1::PURPOSE_OIMP, "");
      AddHistory(u, "", true);  // Action name not fixed by the docs.
    }
  }
  return {};
}

ModelOutcome ReferenceModel::Transfer(const v1::TransactionBody& body,
                                      const std::vector<std::string>& signers, uint32_t year) {
  const v1::Transfer& t = body.transfer();
  Codes codes;
  CheckSigners({t.from().registry_id()}, signers, &codes);
  CheckAccount(t.from(), &codes);
  CheckAccount(t.to(), &codes);
  if (t.from().registry_id() == t.to().registry_id() &&
      t.from().account_id() == t.to().account_id()) {
    codes.insert(v1::REASON_SAME_ACCOUNT);
  }
  std::vector<SerialKey> keys = Expand(t.ranges(), &codes);
  CheckHeld(keys, t.from().registry_id(), t.from().account_id(), &codes);
  const std::string from_party = PartyOf(t.from().registry_id(), t.from().account_id());
  const std::string to_party = PartyOf(t.to().registry_id(), t.to().account_id());
  // International: between two Parties, whatever registry hosts the accounts.
  const bool international = from_party != to_party;
  std::map<std::string, uint64_t> demand;
  std::set<SerialKey> first;
  for (const SerialKey& k : keys) {
    auto it = units_.find(k);
    if (it == units_.end()) continue;
    const ModelUnit& u = it->second;
    const bool would_first = international && to_party != u.party;
    if (u.state == v1::UNIT_STATE_ISSUED) {
      codes.insert(would_first ? v1::REASON_NO_AUTHORIZATION : v1::REASON_UNITS_WRONG_STATE);
      continue;
    }
    if (u.state != v1::UNIT_STATE_AUTHORIZED) continue;
    if (would_first && authorizations_.at(u.authorization_id).terms.ndc()) {
      demand[u.authorization_id]++;
      first.insert(k);
    }
  }
  CheckCaps(demand, &codes);
  if (!codes.empty()) return {codes};
  for (const SerialKey& k : keys) {
    ModelUnit& u = units_.at(k);
    u.holder_registry = t.to().registry_id();
    u.holder_account = t.to().account_id();
    if (first.contains(k)) FirstTransfer(u, year, v1::PURPOSE_NDC, "");
    AddHistory(u, "transfer", first.contains(k));
  }
  return {};
}

ModelOutcome ReferenceModel::UseNdc(const v1::TransactionBody& body,
                                    const std::vector<std::string>& signers, uint32_t year) {
  const v1::Use& use = body.use();
  Codes codes;
  CheckSigners({use.using_party()}, signers, &codes);
  CheckAccount(use.from(), &codes);
  if (PartyOf(use.from().registry_id(), use.from().account_id()) != use.using_party()) {
    codes.insert(v1::REASON_ACCOUNT_NOT_OF_PARTY);  // R7.
  }
  const v1::NdcPeriod& period = use.ndc_period();
  bool known_period = false;
  for (const v1::NdcPeriod& p : party_periods_[use.using_party()]) {
    known_period |= p.first_year() == period.first_year() && p.last_year() == period.last_year();
  }
  if (!known_period) codes.insert(v1::REASON_UNKNOWN_NDC_PERIOD);
  if (year < period.first_year() || year > period.last_year()) {
    codes.insert(v1::REASON_USE_YEAR_OUTSIDE_NDC_PERIOD);
  }
  std::vector<SerialKey> keys = Expand(use.ranges(), &codes);
  CheckHeld(keys, use.from().registry_id(), use.from().account_id(), &codes);
  for (const SerialKey& k : keys) {
    auto it = units_.find(k);
    if (it == units_.end()) continue;
    const ModelUnit& u = it->second;
    if (u.state == v1::UNIT_STATE_ISSUED || u.state == v1::UNIT_STATE_AUTHORIZED) {
      codes.insert(v1::REASON_UNITS_WRONG_STATE);  // No addition booked for them (R7).
      // The docs fix 4006 for AUTHORIZED units; unauthorized ones may also say so (R5).
      if (u.state == v1::UNIT_STATE_ISSUED) codes.insert(v1::REASON_NO_AUTHORIZATION);
      if (u.state == v1::UNIT_STATE_AUTHORIZED &&
          !authorizations_.at(u.authorization_id).terms.ndc()) {
        codes.insert(v1::REASON_PURPOSE_NOT_AUTHORIZED);
      }
      continue;
    }
    if (u.state != v1::UNIT_STATE_ACTIVE) continue;
    if (!u.snapshot_ndc) codes.insert(v1::REASON_PURPOSE_NOT_AUTHORIZED);
    const bool outside = u.vintage < period.first_year() || u.vintage > period.last_year();
    if (outside &&
        approaches_.at(u.approach).ndc_vintage_rule() == v1::VINTAGE_RULE_WITHIN_NDC_PERIOD) {
      codes.insert(v1::REASON_VINTAGE_OUTSIDE_NDC_PERIOD);
    }
  }
  if (!codes.empty()) return {codes};
  for (const SerialKey& k : keys) {
    ModelUnit& u = units_.at(k);
    u.state = v1::UNIT_STATE_USED_NDC;
    u.vintage_flagged = u.vintage < period.first_year() || u.vintage > period.last_year();
    AdjustmentKey key{use.using_party(),
                      year,
                      v1::ADJUSTMENT_SUBTRACTION,
                      u.metric,
                      u.numerator,
                      u.denominator,
                      v1::PURPOSE_NDC,
                      period.first_year(),
                      period.last_year(),
                      ""};
    adjustments_[key]++;
    AddHistory(u, "use", false);
  }
  return {};
}

std::map<std::string, uint64_t> ReferenceModel::RetireDemand(
    const std::vector<SerialKey>& keys) const {
  std::map<std::string, uint64_t> demand;
  for (const SerialKey& k : keys) {
    auto it = units_.find(k);
    if (it == units_.end() || it->second.state != v1::UNIT_STATE_AUTHORIZED) continue;
    if (OnUseOrCancellation(authorizations_.at(it->second.authorization_id).terms)) {
      demand[it->second.authorization_id]++;
    }
  }
  return demand;
}

std::vector<std::string> ReferenceModel::HostCosigners(const v1::TransactionBody& body) const {
  Codes ignored;
  std::vector<SerialKey> keys;
  if (body.has_use() && body.use().purpose() == v1::PURPOSE_OIMP) {
    keys = Expand(body.use().ranges(), &ignored);
  } else if (body.has_cancel()) {
    keys = Expand(body.cancel().ranges(), &ignored);
  }
  std::vector<std::string> hosts;
  for (const auto& [id, n] : RetireDemand(keys)) {
    const std::string& party = authorizations_.at(id).terms.party();
    if (!Contains(hosts, party)) hosts.push_back(party);
  }
  return hosts;
}

ModelOutcome ReferenceModel::Retire(const v1::TransactionBody& body,
                                    const std::vector<std::string>& signers, uint32_t year) {
  const bool use = body.has_use();
  const v1::AccountRef& from = use ? body.use().from() : body.cancel().from();
  const auto& ranges = use ? body.use().ranges() : body.cancel().ranges();
  const std::string oimp = use ? body.use().oimp_purpose() : "";
  const bool omge = !use && body.cancel().reason() == v1::CANCELLATION_OMGE;
  Codes codes;
  std::vector<std::string> required = HostCosigners(body);
  required.insert(required.begin(), from.registry_id());
  CheckSigners(required, signers, &codes);
  CheckAccount(from, &codes);
  std::vector<SerialKey> keys = Expand(ranges, &codes);
  CheckHeld(keys, from.registry_id(), from.account_id(), &codes);
  const std::map<std::string, uint64_t> demand = RetireDemand(keys);
  for (const SerialKey& k : keys) {
    auto it = units_.find(k);
    if (it == units_.end()) continue;
    const ModelUnit& u = it->second;
    if (u.state == v1::UNIT_STATE_ACTIVE) {
      if (use && !u.snapshot_oimp.contains(oimp)) codes.insert(v1::REASON_PURPOSE_NOT_AUTHORIZED);
      continue;
    }
    const bool on_use = u.state == v1::UNIT_STATE_AUTHORIZED &&
                        OnUseOrCancellation(authorizations_.at(u.authorization_id).terms);
    if (u.state == v1::UNIT_STATE_ISSUED && use) {
      codes.insert(v1::REASON_UNITS_WRONG_STATE);
      codes.insert(v1::REASON_PURPOSE_NOT_AUTHORIZED);
      codes.insert(v1::REASON_NO_AUTHORIZATION);
    }
    if (u.state == v1::UNIT_STATE_AUTHORIZED && use &&
        (!on_use || !HasOimp(authorizations_.at(u.authorization_id).terms, oimp))) {
      codes.insert(v1::REASON_PURPOSE_NOT_AUTHORIZED);
      codes.insert(v1::REASON_UNITS_WRONG_STATE);
    }
    const bool unadjusted =
        u.state == v1::UNIT_STATE_ISSUED || (u.state == v1::UNIT_STATE_AUTHORIZED && !on_use);
    if (omge && unadjusted) codes.insert(v1::REASON_OMGE_NOT_ADJUSTED);
  }
  CheckCaps(demand, &codes);
  if (!codes.empty()) return {codes};
  for (const SerialKey& k : keys) {
    ModelUnit& u = units_.at(k);
    const bool first = u.state == v1::UNIT_STATE_AUTHORIZED &&
                       OnUseOrCancellation(authorizations_.at(u.authorization_id).terms);
    if (first) FirstTransfer(u, year, v1::PURPOSE_OIMP, oimp);
    u.state = use ? v1::UNIT_STATE_USED_OIMP : v1::UNIT_STATE_CANCELLED;
    AddHistory(u, use ? "use" : "cancel", first);
  }
  return {};
}

ModelOutcome ReferenceModel::Quarantine(const v1::TransactionBody& body,
                                        const std::vector<std::string>& signers) {
  const v1::SetQuarantine& q = body.set_quarantine();
  Codes codes;
  CheckSigners({"SECRETARIAT"}, signers, &codes);
  std::vector<SerialKey> keys = Expand(q.ranges(), &codes);
  for (const SerialKey& k : keys) {
    auto it = units_.find(k);
    if (it == units_.end()) {
      codes.insert(v1::REASON_UNITS_NOT_FOUND);
      continue;
    }
    const ModelUnit& u = it->second;
    if (q.quarantined() && Terminal(u.state)) codes.insert(v1::REASON_UNITS_TERMINAL);
    if (q.quarantined() && u.quarantined) codes.insert(v1::REASON_UNITS_QUARANTINED);
    // R10: the correction that clears a quarantine is possible in any state.
    if (!q.quarantined() && !u.quarantined) codes.insert(v1::REASON_UNITS_NOT_QUARANTINED);
  }
  if (!codes.empty()) return {codes};
  for (const SerialKey& k : keys) {
    ModelUnit& u = units_.at(k);
    u.quarantined = q.quarantined();
    AddHistory(u, "quarantine", false);
  }
  return {};
}

}  // namespace itmo::ledger::testing
