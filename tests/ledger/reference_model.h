// File: tests/ledger/reference_model.h
// ReferenceModel: an independent executable statement of the ITMO rules (/work/shared/DOMAIN.md,
// docs/ledger-rules.md), used by the randomized model test to check the real StateMachine. It
// keeps ONE ENTRY PER SERIAL (no blocks, no splits) with its holder, state, quarantine flag and
// attributes (Party of origin, vintage, metric, conversion factor, authorization and the version
// of its snapshot), plus the authorizations and the corresponding adjustments as exact unit
// counts per (Party, year, direction, metric, factor, purpose, NDC period, OIMP purpose).
//
// It is written from the documents only, never from ledger/internal: it reads a transaction body
// and decides, serial by serial, what the rules allow. It is deliberately slow and simple (every
// action loops over serials), so tests keep issuances small (a few thousand serials).
//
// A rejected transaction may violate several rules at once and the documents do not fix the
// order of checks, so Apply() returns the SET of reason codes that apply; the ledger's code must
// be one of them, and it must accept exactly when the set is empty.
//
// Thread-safety: not thread-safe; a test owns one.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "itmo/v1/genesis.pb.h"
#include "itmo/v1/tx.pb.h"
#include "itmo/v1/types.pb.h"

namespace itmo::ledger::testing {

// (originating registry, serial).
using SerialKey = std::pair<std::string, uint64_t>;

// One step of a serial's history (DOMAIN.md "the history of any serial").
struct ModelHistoryStep {
  std::string action;  // "issue", "authorize", "transfer", "use", "cancel", "quarantine", ...
  v1::UnitState state_after = v1::UNIT_STATE_UNSPECIFIED;
  bool first_transfer = false;
  bool quarantined_after = false;
  std::string to_account;              // Holder after a move ("registry/account"), else empty.
  uint32_t authorization_version = 0;  // first_transfer only.
};

struct ModelUnit {
  // Identity and attributes (never change after issuance, R2).
  std::string approach;
  std::string party;  // First-transferring Party (the Party of origin).
  uint32_t vintage = 0;
  std::string metric;
  uint64_t numerator = 1;
  uint64_t denominator = 1;
  std::string sector;
  std::string activity;
  // Holder, state, authorization.
  std::string holder_registry;
  std::string holder_account;
  v1::UnitState state = v1::UNIT_STATE_ISSUED;
  bool quarantined = false;
  std::string authorization_id;
  bool first_transferred = false;
  uint32_t first_transfer_year = 0;
  uint32_t snapshot_version = 0;  // Version of the authorization at first transfer.
  bool snapshot_ndc = false;
  std::set<std::string> snapshot_oimp;
  bool vintage_flagged = false;  // USED_NDC with a vintage outside the period (flagging rule).
  std::vector<ModelHistoryStep> history;
};

struct ModelAuthorization {
  v1::Authorization terms;  // As submitted, with the current purposes and cap.
  uint64_t first_transferred = 0;
  uint32_t version = 1;
  bool revoked = false;
};

// An adjustment entry's identity (docs/ledger-rules.md "Exact quantities").
struct AdjustmentKey {
  std::string party;
  uint32_t year = 0;
  v1::AdjustmentDirection direction = v1::ADJUSTMENT_DIRECTION_UNSPECIFIED;
  std::string metric;
  uint64_t numerator = 0;
  uint64_t denominator = 0;
  v1::Purpose purpose = v1::PURPOSE_UNSPECIFIED;
  uint32_t period_first = 0;  // Subtractions: the NDC period used for.
  uint32_t period_last = 0;
  std::string oimp_purpose;  // Additions by an OIMP use.
  // (A defaulted operator<=> trips clang-tidy 14's modernize-use-nullptr.)
  auto Tie() const {
    return std::tie(party, year, direction, metric, numerator, denominator, purpose, period_first,
                    period_last, oimp_purpose);
  }
  bool operator<(const AdjustmentKey& other) const { return Tie() < other.Tie(); }
  bool operator==(const AdjustmentKey& other) const { return Tie() == other.Tie(); }
};

// The outcome the rules give a transaction: accepted iff `codes` is empty.
struct ModelOutcome {
  std::set<v1::ReasonCode> codes;
  bool accepted() const { return codes.empty(); }
};

// t CO2e x 10^6 of `units` units at numerator/denominator (exact: denominators divide 10^6).
uint64_t MicroTonnes(uint64_t units, uint64_t numerator, uint64_t denominator);
// The documented display rule: micro-tonnes rounded once to 3 decimals, half to even.
std::string RoundMicroTonnes(int64_t micro);

class ReferenceModel final {
 public:
  explicit ReferenceModel(const v1::Genesis& genesis);

  // Decides and, when accepted, applies one transaction. `body` is exactly what was signed
  // (submitter set); `signers` are the names whose keys signed; `year` is the consensus year.
  ModelOutcome Apply(const v1::TransactionBody& body, const std::vector<std::string>& signers,
                     uint32_t year);

  // The host Parties whose authority must co-sign this Use or Cancel because it first transfers
  // USE_OR_CANCELLATION units (docs/ledger-rules.md "Host signature"); empty otherwise.
  std::vector<std::string> HostCosigners(const v1::TransactionBody& body) const;

  const std::map<SerialKey, ModelUnit>& units() const { return units_; }
  const std::map<std::string, ModelAuthorization>& authorizations() const {
    return authorizations_;
  }
  const std::map<AdjustmentKey, uint64_t>& adjustments() const { return adjustments_; }
  // Holder Party of an account ("" when unknown).
  std::string PartyOf(const std::string& registry, const std::string& account) const;

 private:
  struct Account {
    std::string party;
    bool closed = false;
  };
  using Codes = std::set<v1::ReasonCode>;
  // Expands ranges into serials; adds 2001/2002 codes for invalid or overlapping ranges.
  std::vector<SerialKey> Expand(const google::protobuf::RepeatedPtrField<v1::UnitRange>& ranges,
                                Codes* codes) const;
  // The common unit checks of a move/retirement from `registry/account` (R3, R4, R10).
  void CheckHeld(const std::vector<SerialKey>& keys, const std::string& registry,
                 const std::string& account, Codes* codes) const;
  void CheckAccount(const v1::AccountRef& ref, Codes* codes) const;
  void CheckSigners(const std::vector<std::string>& required,
                    const std::vector<std::string>& signers, Codes* codes) const;
  bool CoversUnit(const v1::Authorization& a, const ModelUnit& u, Codes* codes) const;
  // Whether units attached to / issued under `a` are first transferred at that moment.
  static bool FirstTransferredOnAttach(const v1::Authorization& a);
  void CheckCaps(const std::map<std::string, uint64_t>& demand, Codes* codes) const;
  void FirstTransfer(ModelUnit& u, uint32_t year, v1::Purpose purpose,
                     const std::string& oimp_purpose);
  void AddHistory(ModelUnit& u, const std::string& action, bool first_transfer);

  // The unit one issuance spec creates, with the codes its attributes earn; adds to `demand` the
  // units first transferred at issuance.
  ModelUnit IssuedUnit(const v1::IssuanceSpec& spec, const v1::AccountRef& to, uint32_t year,
                       Codes* codes, std::map<std::string, uint64_t>* demand) const;
  ModelOutcome Issue(const v1::TransactionBody& body, const std::vector<std::string>& signers,
                     uint32_t year);
  ModelOutcome Authorize(const v1::TransactionBody& body, const std::vector<std::string>& signers,
                         uint32_t year);
  ModelOutcome Change(const v1::TransactionBody& body, const std::vector<std::string>& signers,
                      uint32_t year);
  ModelOutcome Transfer(const v1::TransactionBody& body, const std::vector<std::string>& signers,
                        uint32_t year);
  ModelOutcome UseNdc(const v1::TransactionBody& body, const std::vector<std::string>& signers,
                      uint32_t year);
  ModelOutcome Retire(const v1::TransactionBody& body, const std::vector<std::string>& signers,
                      uint32_t year);
  ModelOutcome Quarantine(const v1::TransactionBody& body, const std::vector<std::string>& signers);
  // The USE_OR_CANCELLATION units a Use for OIMP or a Cancel would first transfer.
  std::map<std::string, uint64_t> RetireDemand(const std::vector<SerialKey>& keys) const;

  std::map<std::string, std::vector<v1::NdcPeriod>> party_periods_;
  std::map<std::string, std::string> registry_party_;  // "" for the international registry.
  std::map<std::pair<std::string, std::string>, Account> accounts_;
  std::map<std::string, v1::CooperativeApproach> approaches_;
  std::map<SerialKey, ModelUnit> units_;
  std::map<std::string, ModelAuthorization> authorizations_;
  std::map<AdjustmentKey, uint64_t> adjustments_;
};

}  // namespace itmo::ledger::testing
