// File: ledger/ledger_view.h
// LedgerView: a read-only view of the committed ledger at one height, over a RocksDB snapshot of
// the ledger's column families (state, persisted index, outcomes, unit history, meta). Every answer
// of one view comes from the same height (height()), whatever commits meanwhile. It never touches
// the StateMachine's in-memory state, so it needs no lock shared with the commit path: a slow or
// looping reader can neither see a half-applied block nor hold up a commit (issue 7 defect 9).
//
// Thread-safety: StateMachine::View() may be called from any thread, concurrently with
// ExecuteBlock/CommitBlock. One view is used by one thread at a time. A view must not outlive the
// Store (storage::Snapshot's rule); it holds the snapshot until destroyed, so keep it short-lived.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(std::unique_ptr<LedgerView> view, ledger.View());
//   ITMO_ASSIGN_OR_RETURN(v1::Holdings holdings, view->GetHoldings(account));  // At
//   view->height().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "itmo/v1/ledger.pb.h"
#include "itmo/v1/tx.pb.h"
#include "itmo/v1/types.pb.h"
#include "storage/store.h"

namespace itmo::ledger {

// Page sizes of the listings: 0 asks for kPageSizeDefault; more than kPageSizeMax is
// kInvalidArgument. One call also scans at most kListScanEntriesMax entries (a filtered listing may
// return a short page with a next_page_token; continue with it).
inline constexpr uint32_t kPageSizeDefault = 100;
inline constexpr uint32_t kPageSizeMax = 1000;
inline constexpr uint32_t kListScanEntriesMax = 1 << 16;
static_assert(kPageSizeDefault <= kPageSizeMax);
static_assert(kPageSizeMax <= kListScanEntriesMax);

struct PageRequest {
  uint32_t page_size = 0;
  std::string page_token;  // "" for the first page; else a next_page_token of the same listing.
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;  // "" when the listing is complete.
};

// Filter of ListAccounts: "" matches any.
struct AccountFilter {
  std::string registry_id;
  std::string holder_party;
};

class LedgerView final {
 public:
  ~LedgerView();
  LedgerView(const LedgerView&) = delete;
  LedgerView& operator=(const LedgerView&) = delete;

  uint64_t height() const { return height_; }          // Committed height of the snapshot.
  crypto::Digest state_root() const { return root_; }  // Root after height().

  // As the StateMachine queries of the same name (state_machine.h), at height().
  absl::StatusOr<v1::Holdings> GetHoldings(const v1::AccountRef& account) const;
  absl::StatusOr<std::vector<v1::UnitHistoryEntry>> GetUnitHistory(
      const std::string& originating_registry, uint64_t serial) const;
  absl::StatusOr<std::vector<v1::Adjustment>> GetAdjustments(const std::string& party,
                                                             uint32_t year_first,
                                                             uint32_t year_last) const;
  absl::StatusOr<std::optional<v1::TransactionOutcome>> GetOutcome(
      const std::string& submitter, const std::string& client_tx_id) const;
  absl::StatusOr<std::optional<v1::UnitBlock>> GetBlockAt(const std::string& originating_registry,
                                                          uint64_t serial) const;
  absl::StatusOr<std::optional<v1::Authorization>> GetAuthorization(const std::string& id) const;
  // Every version of an authorization, oldest first (empty for an unknown id). Errors:
  // kResourceExhausted beyond kHistoryEntriesMax versions.
  absl::StatusOr<std::vector<v1::AuthorizationVersion>> GetAuthorizationVersions(
      const std::string& id) const;
  absl::StatusOr<std::optional<v1::Account>> GetAccount(const v1::AccountRef& ref) const;

  // As StateMachine::SubmitterKey and IsClientTxIdUsed, at height(). For the mempool's admission
  // checks, which then need no lock shared with the commit path either.
  absl::StatusOr<crypto::PublicKey> SubmitterKey(v1::SubmitterKind kind,
                                                 const std::string& submitter) const;
  bool IsClientTxIdUsed(const std::string& submitter, const std::string& client_tx_id) const;

  // Listings in key order (accounts by (registry, account), approaches by id, Parties by code).
  // Errors: kInvalidArgument for page_size > kPageSizeMax or a page token not made by the same
  // listing (and filter).
  absl::StatusOr<Page<v1::Account>> ListAccounts(const AccountFilter& filter,
                                                 const PageRequest& page) const;
  absl::StatusOr<Page<v1::CooperativeApproach>> ListApproaches(const PageRequest& page) const;
  absl::StatusOr<Page<v1::Party>> ListParties(const PageRequest& page) const;

 private:
  friend class StateMachine;
  struct Families {
    storage::ColumnFamily state;
    storage::ColumnFamily index;
    storage::ColumnFamily outcomes;
    storage::ColumnFamily history;
    storage::ColumnFamily meta;
  };
  LedgerView(const storage::Store* store, const Families& families,
             std::unique_ptr<storage::Snapshot> snapshot);
  absl::Status Init();
  // The unit block of `registry` containing `serial`, with its key (revocation applied).
  absl::StatusOr<std::optional<std::pair<std::string, v1::UnitBlock>>> BlockContaining(
      const std::string& registry, uint64_t serial) const;
  // A revoked authorization's AUTHORIZED units read as REVOKED (internal::ApplyRevocation).
  absl::Status ApplyRevocation(v1::UnitBlock* block) const;
  // Up to page.page_size values under `prefix` (after the token's key) accepted by `keep`.
  absl::StatusOr<Page<std::string>> Scan(const std::string& prefix, const PageRequest& page,
                                         const std::function<bool(std::string_view)>& keep) const;

  // Constant after construction.
  const storage::Store* const store_;
  const Families families_;
  const std::unique_ptr<storage::Snapshot> snapshot_;
  uint64_t height_ = 0;
  crypto::Digest root_{};
};

}  // namespace itmo::ledger
