// StateMachine queries over committed state.
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "ledger/internal/executor.h"
#include "ledger/internal/keys.h"
#include "ledger/internal/rep.h"
#include "ledger/limits.h"
#include "ledger/state_machine.h"

namespace itmo::ledger {

using internal::ReadProto;
using internal::Table;

absl::StatusOr<std::unique_ptr<LedgerView>> StateMachine::View() const {
  // Reads only members that are constant after Open(): safe concurrently with ExecuteBlock.
  const LedgerView::Families families{rep_->state_family, rep_->index_family,
                                      rep_->config.outcomes_family, rep_->config.history_family,
                                      rep_->meta_family};
  std::unique_ptr<LedgerView> view(
      new LedgerView(rep_->store, families, rep_->store->GetSnapshot()));
  ITMO_RETURN_IF_ERROR(view->Init());
  return view;
}

// The queries below answer from a view of the committed store; the in-memory state of a pending
// block is never read. They keep refusing while a block is pending (callers on the commit thread
// must not read a state that is about to change under them).

absl::StatusOr<v1::Holdings> StateMachine::GetHoldings(const v1::AccountRef& account) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  ITMO_ASSIGN_OR_RETURN(std::unique_ptr<LedgerView> view, View());
  return view->GetHoldings(account);
}

absl::StatusOr<std::vector<v1::UnitHistoryEntry>> StateMachine::GetUnitHistory(
    const std::string& originating_registry, uint64_t serial) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  ITMO_ASSIGN_OR_RETURN(std::unique_ptr<LedgerView> view, View());
  return view->GetUnitHistory(originating_registry, serial);
}

absl::StatusOr<std::vector<v1::Adjustment>> StateMachine::GetAdjustments(const std::string& party,
                                                                         uint32_t year_first,
                                                                         uint32_t year_last) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  ITMO_ASSIGN_OR_RETURN(std::unique_ptr<LedgerView> view, View());
  return view->GetAdjustments(party, year_first, year_last);
}

absl::StatusOr<std::optional<v1::TransactionOutcome>> StateMachine::GetOutcome(
    const std::string& submitter, const std::string& client_tx_id) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  ITMO_ASSIGN_OR_RETURN(std::unique_ptr<LedgerView> view, View());
  return view->GetOutcome(submitter, client_tx_id);
}

absl::StatusOr<std::optional<v1::UnitBlock>> StateMachine::GetBlockAt(
    const std::string& originating_registry, uint64_t serial) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  ITMO_ASSIGN_OR_RETURN(std::unique_ptr<LedgerView> view, View());
  return view->GetBlockAt(originating_registry, serial);
}

absl::StatusOr<std::optional<v1::Authorization>> StateMachine::GetAuthorization(
    const std::string& id) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  ITMO_ASSIGN_OR_RETURN(std::unique_ptr<LedgerView> view, View());
  return view->GetAuthorization(id);
}

absl::StatusOr<std::vector<v1::AuthorizationVersion>> StateMachine::GetAuthorizationVersions(
    const std::string& id) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  ITMO_ASSIGN_OR_RETURN(std::unique_ptr<LedgerView> view, View());
  return view->GetAuthorizationVersions(id);
}

absl::StatusOr<std::optional<v1::Account>> StateMachine::GetAccount(
    const v1::AccountRef& ref) const {
  ITMO_RETURN_IF_ERROR(rep_->CheckReadable());
  ITMO_ASSIGN_OR_RETURN(std::unique_ptr<LedgerView> view, View());
  return view->GetAccount(ref);
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
