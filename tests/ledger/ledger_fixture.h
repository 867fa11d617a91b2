// File: tests/ledger/ledger_fixture.h
// A small network for ledger tests: Parties CHE, GHA, SWE, PER (PER in no approach), national
// registries CHE-NR, GHA-NR, SWE-NR, PER-NR and the international registry UN-IR, accounts, and
// approaches CA0001 (CHE, GHA, SWE; vintage within NDC period) and CA0002 (CHE, GHA; flag outside
// period). Keys are derived from fixed seeds. Helpers build, sign and execute transactions and
// snapshot the state.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "crypto/verifier.h"
#include "itmo/v1/genesis.pb.h"
#include "itmo/v1/tx.pb.h"
#include "ledger/state_machine.h"
#include "storage/store.h"
#include "tests/testing/temp_dir.h"

namespace itmo::ledger::testing {

inline constexpr char kChainId[] = "itmo-test";
// 2030-06-15 12:00:00 UTC.
inline constexpr int64_t kTime2030Ms = 1907755200000;
inline constexpr int64_t kYearMs = 31'536'000'000;

crypto::KeyPair KeyFor(const std::string& name);
v1::Genesis MakeGenesis();
v1::AccountRef Ref(const std::string& registry, const std::string& account);
v1::UnitRange Range(const std::string& registry, uint64_t first, uint64_t last);

// Body builders. `submitter` is set by the helpers from the action.
v1::TransactionBody IssueBody(const std::string& registry, const std::string& account,
                              uint64_t first, uint64_t last, uint32_t vintage = 2025,
                              const std::string& authorization_id = "",
                              const std::string& approach = "CA0001");
// A conversion factor other than 1/1: `metric` with t CO2e per unit = numerator / denominator.
struct Factor {
  std::string metric;
  uint64_t numerator;
  uint64_t denominator;
};
inline const Factor kTonnes{"tCO2e", 1, 1};
inline const Factor kMwhGrid{"MWh", 9, 20};         // 0.45 t CO2e per MWh of grid electricity.
inline const Factor kMwhGrid2026{"MWh", 2, 5};      // The same metric with the next year's factor.
inline const Factor kMethaneTonnes{"tCH4", 28, 1};  // GWP-100 of methane.
inline const Factor kKgCo2{"kgCO2e", 1, 1000};
// IssueBody with another metric and factor (and optionally another first-transferring Party, e.g.
// for issuance by the international registry).
v1::TransactionBody IssueFactorBody(const std::string& registry, const std::string& account,
                                    uint64_t first, uint64_t last, const Factor& factor,
                                    uint32_t vintage = 2025,
                                    const std::string& authorization_id = "",
                                    const std::string& first_transferring_party = "");
v1::TransactionBody AuthorizeBody(
    const std::string& party, const std::string& id, uint64_t cap, bool ndc = true,
    const std::vector<std::string>& oimp = {},
    v1::FirstTransferDefinition definition = v1::FIRST_TRANSFER_DEFINITION_UNSPECIFIED,
    const std::string& approach = "CA0001");
v1::TransactionBody TransferBody(const v1::AccountRef& from, const v1::AccountRef& to,
                                 const std::vector<v1::UnitRange>& ranges);
v1::TransactionBody UseNdcBody(const std::string& party, const v1::AccountRef& from,
                               const std::vector<v1::UnitRange>& ranges,
                               uint32_t period_first = 2021, uint32_t period_last = 2030);
v1::TransactionBody UseOimpBody(const v1::AccountRef& from,
                                const std::vector<v1::UnitRange>& ranges,
                                const std::string& purpose = "CORSIA");
v1::TransactionBody CancelBody(const v1::AccountRef& from, const std::vector<v1::UnitRange>& ranges,
                               v1::CancellationReason reason = v1::CANCELLATION_VOLUNTARY);
v1::TransactionBody QuarantineBody(const std::vector<v1::UnitRange>& ranges, bool quarantined);

// Sums of the exact unit counts of an adjustment's entries, all metrics (tests use small numbers).
uint64_t AddedUnits(const v1::Adjustment& a);
uint64_t SubtractedUnits(const v1::Adjustment& a);

// A snapshot of everything observable, to prove that a rejected transaction changed nothing.
struct Observed {
  crypto::Digest root;
  std::map<std::string, std::string> holdings;  // account -> serialized Holdings
  bool operator==(const Observed& other) const = default;
};

class LedgerHarness {
 public:
  // A fresh store under a temp dir (on disk, or in memory with rocksdb's MemEnv).
  explicit LedgerHarness(bool in_memory = false);
  explicit LedgerHarness(const std::string& path);
  ~LedgerHarness();

  StateMachine& ledger() { return *ledger_; }
  storage::Store& store() { return *store_; }

  // Sets chain id, submitter and client_tx_id (unique unless given) and signs with the keys of
  // `signers` (default: the submitter's key).
  v1::SignedTransaction Sign(v1::TransactionBody body, std::vector<std::string> signers = {});
  // Executes one block and commits it. Outcomes in order.
  std::vector<v1::TransactionOutcome> Run(const std::vector<v1::SignedTransaction>& txs,
                                          bool signatures_verified = false);
  v1::TransactionOutcome RunOne(v1::TransactionBody body, std::vector<std::string> signers = {});
  v1::TransactionOutcome RunSigned(const v1::SignedTransaction& tx);

  Observed Observe();
  std::vector<v1::UnitBlock> Blocks(const v1::AccountRef& account);
  v1::UnitBlock BlockAt(const std::string& registry, uint64_t serial);
  void Reopen();

  int64_t time_ms = kTime2030Ms;

 private:
  void OpenAll();
  std::unique_ptr<itmo::testing::TempDir> dir_;
  std::string path_;
  std::unique_ptr<storage::Store> store_;
  crypto::Ed25519Verifier verifier_;
  std::unique_ptr<StateMachine> ledger_;
  uint64_t next_client_id_ = 1;
  bool in_memory_ = false;
};

// Who submits an action: (kind, submitter).
std::pair<v1::SubmitterKind, std::string> DefaultSubmitter(const v1::TransactionBody& body);

}  // namespace itmo::ledger::testing
