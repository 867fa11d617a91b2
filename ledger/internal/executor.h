// File: ledger/internal/executor.h
// BlockExecutor: executes the transactions of one block against KvState (ledger/state_machine.h
// holds the contract). Every action is checked completely before anything changes (two phases); a
// savepoint around each transaction additionally guarantees that a rejection leaves the state
// untouched. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/status/statusor.h"
#include "base/check.h"
#include "crypto/keys.h"
#include "crypto/verifier.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "itmo/v1/ledger.pb.h"
#include "itmo/v1/tx.pb.h"
#include "itmo/v1/types.pb.h"
#include "ledger/internal/kv_state.h"
#include "ledger/state_machine.h"
#include "storage/store.h"

namespace itmo::ledger::internal {

struct LedgerConfig {
  std::string chain_id;
  crypto::PublicKey secretariat_key{};
  const crypto::Verifier* verifier = nullptr;
  const storage::Store* store = nullptr;  // Committed outcomes: the R12 records.
  storage::ColumnFamily outcomes_family;
  storage::ColumnFamily history_family;
};

struct Rejection {
  v1::ReasonCode code;
  std::string message;
};
using Check = std::optional<Rejection>;  // std::nullopt: the check passed.

// Returns the rejection of `expr` (a Check) when there is one.
#define LEDGER_RETURN_IF_REJECTED(expr)          \
  do {                                           \
    ::itmo::ledger::internal::Check c_ = (expr); \
    if (c_.has_value()) return c_;               \
  } while (false)

inline Check Reject(v1::ReasonCode code, std::string message) {
  return Rejection{code, std::move(message)};
}

// The envelope of a signed transaction: limits, signatures (when `verifier` is not null), body,
// chain.
struct Envelope {
  v1::ReasonCode code = v1::REASON_OK;
  std::string message;
  v1::TransactionBody body;
  std::vector<crypto::PublicKey> signers;
};
Envelope OpenEnvelope(const v1::SignedTransaction& tx, std::string_view chain_id,
                      const crypto::Verifier* verifier);

// Syntactic checks shared by actions and genesis.
bool ValidId(std::string_view id);
Check CheckId(std::string_view id, std::string_view what);
Check CheckText(std::string_view text, std::string_view what);
bool IsTerminal(v1::UnitState state);

// Read access to the state table.
template <typename T>
std::optional<T> ReadProto(const KvState& kv, Table table, std::string_view key) {
  const std::string* value = kv.Get(table, key);
  if (value == nullptr) return std::nullopt;
  T message;
  bool parsed = message.ParseFromString(*value);
  ITMO_CHECK(parsed);
  return message;
}
// R5: does authorization `a` cover the units' vintage, sector and activity, and is it in force?
Check CheckCovers(const v1::Authorization& a, uint32_t vintage, const std::string& sector,
                  const std::string& activity);
// A revoked authorization's units that are stored AUTHORIZED read as REVOKED (revocation is lazy,
// so that it works at any fragmentation). Every read of unit blocks goes through this.
void ApplyRevocation(const KvState& kv, v1::UnitBlock* block);
// The index-table keys of a unit block stored under the unit key suffix `suffix`.
std::vector<std::string> IndexEntries(const v1::UnitBlock& block, std::string_view suffix);
// The block of `registry` with the greatest first <= `serial`, with its key (revocation applied).
std::optional<std::pair<std::string, v1::UnitBlock>> BlockAtOrBefore(const KvState& kv,
                                                                     std::string_view registry,
                                                                     uint64_t serial);
// The block of `registry` containing `serial`, with its key.
std::optional<std::pair<std::string, v1::UnitBlock>> BlockContaining(const KvState& kv,
                                                                     std::string_view registry,
                                                                     uint64_t serial);
// Writes `block` under its key and maintains the holder and authorization indexes; `previous` is
// the block that was stored under the same key, if any.
void PutBlock(KvState* kv, const v1::UnitBlock& block, const v1::UnitBlock* previous);

// A sub-range [first, last] of one existing unit block, and that block as it was before the tx.
struct Piece {
  uint64_t first = 0;
  uint64_t last = 0;
  v1::UnitBlock block;
  uint64_t units() const { return last - first + 1; }
  // The block's attributes restricted to [first, last].
  v1::UnitBlock AsBlock() const {
    v1::UnitBlock piece = block;
    piece.set_first(first);
    piece.set_last(last);
    return piece;
  }
};

class BlockExecutor final {
 public:
  // REQUIRES: kv->open(); all pointers outlive the executor.
  BlockExecutor(KvState* kv, const LedgerConfig* config, const BlockContext& ctx,
                storage::WriteBatch* batch);

  // Errors: only store read errors (the block must then be aborted).
  absl::StatusOr<v1::TransactionOutcome> Execute(const v1::SignedTransaction& tx, uint32_t index,
                                                 bool signatures_verified);

 private:
  struct TxState {
    const v1::TransactionBody* body = nullptr;
    crypto::Digest id{};
    std::string id_hex;
    uint32_t index = 0;
    std::vector<crypto::PublicKey> signers;
    std::vector<v1::UnitHistoryEntry> history;
    std::vector<v1::UnitRange> affected;
    bool first_transfer = false;
  };
  // Units to first transfer, per authorization (R5, R8).
  struct FirstTransfers {
    absl::btree_map<std::string, v1::Authorization> authorizations;
    absl::btree_map<std::string, unsigned __int128> demand;
  };

  std::optional<crypto::PublicKey> SubmitterKeyOf(const v1::TransactionBody& body) const;
  Check CheckRoles(const TxState& tx) const;
  // RegisterApproach: every participating Party's authority must sign; the submitter is one of
  // them.
  Check ApproachSigners(const v1::TransactionBody& body,
                        std::vector<crypto::PublicKey>* required) const;
  Check Dispatch(TxState& tx);
  void Record(const TxState& tx, v1::TransactionOutcome* outcome);

  Check RegisterApproach(TxState& tx, const v1::RegisterApproach& action);
  Check OpenAccount(TxState& tx, const v1::OpenAccount& action);
  Check Issue(TxState& tx, const v1::Issue& action);
  // Builds the block `spec` issues into `to` and checks it, adding a first transfer at issuance.
  Check CheckIssuanceSpec(const v1::IssuanceSpec& spec, const v1::Registry& registry,
                          const v1::AccountRef& to, v1::UnitBlock* block,
                          FirstTransfers* first_transfers, bool* first_transfer) const;
  Check Authorize(TxState& tx, const v1::Authorize& action);
  // Attaching authorization `a` to piece `p` (ISSUED units of a's Party and approach, R5).
  Check CheckAttach(const Piece& p, const v1::Authorization& a, bool first_now,
                    FirstTransfers* first_transfers) const;
  Check ChangeAuthorization(TxState& tx, const v1::ChangeAuthorization& action);
  // Writes the immutable record of version `terms.version()` (who signed, when, what changed).
  // REQUIRES: no record of that version exists.
  void PutAuthorizationVersion(const TxState& tx, const v1::Authorization& terms,
                               const std::vector<v1::AuthorizationChange>& changes,
                               uint64_t first_transferred_before);
  Check Transfer(TxState& tx, const v1::Transfer& action);
  Check Use(TxState& tx, const v1::Use& action);
  // NDC: the using Party owns `from` and names one of its NDC periods (R7, R9); OIMP: a purpose.
  Check CheckUser(const v1::Use& action, const v1::Account& from) const;
  // One piece of a Use (R4, R10, R3, R7, R9; first transfer on use for OIMP units, R5).
  Check CheckUsePiece(const v1::Use& action, const Piece& p, FirstTransfers* first_transfers,
                      bool* first, bool* flagged) const;
  Check Cancel(TxState& tx, const v1::Cancel& action);
  Check SetQuarantine(TxState& tx, const v1::SetQuarantine& action);

  // Resolves ranges to pieces of existing blocks (R3: per block). Checks range syntax, overlaps
  // within the transaction and the limits.
  Check CollectPieces(const google::protobuf::RepeatedPtrField<v1::UnitRange>& ranges,
                      std::vector<Piece>* pieces) const;
  // R4, R10, R3 for a piece moved out of `from`.
  Check CheckHeld(const Piece& piece, const v1::AccountRef& from) const;
  Check CheckAccount(const v1::AccountRef& ref, v1::Account* account) const;
  // Checks that `block` may be first transferred under its authorization for `purpose` (R5), adding
  // its units to the demand (cap checked by CheckCaps, R8). `purpose` is "" for any purpose.
  Check AddFirstTransfer(const v1::UnitBlock& block, uint64_t units, v1::Purpose purpose,
                         std::string_view oimp, FirstTransfers* first_transfers) const;
  Check CheckCaps(const FirstTransfers& first_transfers) const;
  // Mutations (phase 2).
  void ApplyCaps(const FirstTransfers& first_transfers);
  // R6: the unit's one first transfer, with the host's addition for `purpose` (NDC: international
  // transfer; OIMP: the event the authorization's first-transfer definition names).
  void MarkFirstTransfer(TxState& tx, const FirstTransfers& first_transfers, v1::UnitBlock* block,
                         v1::Purpose purpose, std::string_view oimp = "");
  void MutatePiece(TxState& tx, const Piece& piece, std::string_view action,
                   const v1::AccountRef& from, const v1::AccountRef& to,
                   const std::function<void(v1::UnitBlock&)>& mutate, bool first_transfer);
  void AddHistory(TxState& tx, std::string_view action, const v1::AccountRef& from,
                  const v1::AccountRef& to, const v1::UnitBlock& after, bool first_transfer);
  // Adds `units` of `block`'s metric and factor to the exact entry of `party` in the consensus
  // year.
  void Adjust(const std::string& party, uint64_t units, const v1::UnitBlock& block,
              v1::AdjustmentDirection direction, v1::Purpose purpose, const v1::NdcPeriod* period,
              std::string_view oimp);
  // A Use or Cancel that first transfers units books their host's addition, so the host Party's
  // authority must have signed it too (besides the holding registry). MISSING_SIGNATURE otherwise;
  // UNAUTHORIZED_SIGNER for an authority whose Party books nothing here.
  Check CheckHostSignatures(const TxState& tx, const FirstTransfers& first_transfers) const;
  // change_purposes to an OIMP definition whose event already happened (AUTHORIZATION, ISSUANCE):
  // the attached AUTHORIZED units are first transferred by the change itself.
  Check CollectAttached(const v1::Authorization& a, std::vector<std::string>* keys) const;
  // Checks the first transfers of those units (R10 quarantine, R5 cover, R8 cap).
  Check CheckChangeFirstTransfers(const v1::Authorization& changed, std::vector<std::string>* keys,
                                  FirstTransfers* first_transfers) const;

  KvState* const kv_;
  const LedgerConfig* const config_;
  const BlockContext ctx_;
  const uint32_t year_;
  storage::WriteBatch* const batch_;
  absl::btree_set<std::string> block_records_;  // OutcomeKeys recorded by this block (R12).
};

}  // namespace itmo::ledger::internal
