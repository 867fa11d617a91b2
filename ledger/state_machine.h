// File: ledger/state_machine.h
// StateMachine: the deterministic ITMO ledger (DOMAIN.md rules R1-R14). It executes committed
// blocks of signed transactions in order, records an outcome (accepted, or rejected with a stable
// ReasonCode) for each, keeps the state (unit blocks, accounts, authorizations, corresponding
// adjustments, R12 records) in RocksDB column families with a full in-memory mirror, and computes
// an order-independent state root (LtHash over every state entry) after every block.
//
// Thread-safety: StateMachine is NOT thread-safe, except View(), which any thread may call at any
// time (queries go through it and never wait for the commit path). The node serializes the other
// calls. VerifyTransaction and TransactionId are free, stateless and thread-safe.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(auto ledger, StateMachine::Open(store, genesis, &verifier));
//   storage::WriteBatch batch;
//   ITMO_ASSIGN_OR_RETURN(auto outcomes, ledger->ExecuteBlock({height, time_ms}, txs, true,
//   &batch));
//   // ... node adds its block records to `batch` ...
//   if (store->Write(batch, {.sync = true}).ok()) ledger->CommitBlock(); else ledger->AbortBlock();
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/verifier.h"
#include "itmo/v1/genesis.pb.h"
#include "itmo/v1/ledger.pb.h"
#include "itmo/v1/tx.pb.h"
#include "itmo/v1/types.pb.h"
#include "ledger/ledger_view.h"
#include "storage/store.h"

namespace itmo::ledger {

// Consensus time of a block (R14), UTC milliseconds since the epoch.
struct BlockContext {
  uint64_t height;
  int64_t timestamp_ms;
};

// Checks every signature cryptographically over SigningBytes(crypto::kContextTransaction, chain_id,
// tx.body()), the limits of the envelope, and parses the body; does NOT check roles or state.
// Errors: kInvalidArgument with a message starting with the ReasonCode name (e.g.
// "REASON_BAD_SIGNATURE: ...").
absl::StatusOr<v1::TransactionBody> VerifyTransaction(const v1::SignedTransaction& tx,
                                                      std::string_view chain_id,
                                                      const crypto::Verifier& verifier);

// BLAKE2b-256 of tx.body().
crypto::Digest TransactionId(const v1::SignedTransaction& tx);

// The calendar year (UTC) of a consensus timestamp.
uint32_t YearOfTimestamp(int64_t timestamp_ms);

class StateMachine final {
 public:
  // The store's column families the ledger uses (the node opens the store with these among its
  // own).
  static std::vector<std::string> ColumnFamilies();

  // Loads state from the store, or initializes it from genesis when the store holds none (genesis
  // parties, registries, accounts and approaches are state from height 0; written with sync=true).
  // `verifier` must outlive the StateMachine, `store` too.
  // Errors: kInvalidArgument for an invalid genesis, kFailedPrecondition if the store belongs to
  // another chain, kDataLoss if the stored state does not match its stored root, store errors
  // otherwise.
  static absl::StatusOr<std::unique_ptr<StateMachine>> Open(storage::Store* store,
                                                            const v1::Genesis& genesis,
                                                            const crypto::Verifier* verifier);
  ~StateMachine();

  // Executes one block's transactions in order and adds every state change of the block (state
  // entries, the R12 records, outcomes, unit history, height and root) to `batch`. A rejected
  // transaction changes nothing but its outcome record. With signatures_verified the Ed25519 checks
  // are skipped (done by VerifyTransaction) but the signer keys are still matched against the
  // roles. REQUIRES: no block pending (the previous ExecuteBlock was followed by CommitBlock or
  // AbortBlock). Errors: kFailedPrecondition unless ctx.height == height() + 1; kResourceExhausted
  // for more than kBlockTxsMax transactions. On error nothing changed and no block is pending.
  absl::StatusOr<std::vector<v1::TransactionOutcome>> ExecuteBlock(
      const BlockContext& ctx, const std::vector<v1::SignedTransaction>& txs,
      bool signatures_verified, storage::WriteBatch* batch);
  // The batch is durable: the block's state becomes current. REQUIRES: a block is pending.
  void CommitBlock();
  // The write failed: drops the block's changes (state as before ExecuteBlock). REQUIRES: pending.
  void AbortBlock();
  bool block_pending() const;
  // The state root the pending block produces (what state_root() will be after CommitBlock), so
  // the caller can put it in the block's own batch. REQUIRES: block_pending().
  crypto::Digest pending_state_root() const;

  uint64_t height() const;            // Last committed block height (0 = genesis).
  crypto::Digest state_root() const;  // Root after height().
  const std::string& chain_id() const;

  // A consistent read-only view of the committed state (a store snapshot): thread-safe, may be
  // called from any thread while another thread executes and commits blocks; needs no lock shared
  // with them. Errors: store errors, kDataLoss for a store without ledger meta.
  absl::StatusOr<std::unique_ptr<LedgerView>> View() const;

  // Queries read committed state only (each through a fresh View()). While a block is pending
  // (between ExecuteBlock and CommitBlock/AbortBlock) they return kUnavailable (retry). Blocks held
  // by `account` in (originating_registry, first) order, totals by (vintage, state). Errors:
  // kNotFound for an unknown account.
  absl::StatusOr<v1::Holdings> GetHoldings(const v1::AccountRef& account) const;
  // Every block-level action on a range covering `serial`, oldest first. kNotFound for no such
  // unit.
  absl::StatusOr<std::vector<v1::UnitHistoryEntry>> GetUnitHistory(
      const std::string& originating_registry, uint64_t serial) const;
  // One entry per year with activity in [year_first, year_last], ascending.
  absl::StatusOr<std::vector<v1::Adjustment>> GetAdjustments(const std::string& party,
                                                             uint32_t year_first,
                                                             uint32_t year_last) const;
  // The stored outcome of the first transaction with that (submitter, client_tx_id) (R12).
  absl::StatusOr<std::optional<v1::TransactionOutcome>> GetOutcome(
      const std::string& submitter, const std::string& client_tx_id) const;
  // The unit block containing `serial`.
  absl::StatusOr<std::optional<v1::UnitBlock>> GetBlockAt(const std::string& originating_registry,
                                                          uint64_t serial) const;
  absl::StatusOr<std::optional<v1::Authorization>> GetAuthorization(const std::string& id) const;
  // Every version of an authorization, oldest first (empty for an unknown id).
  absl::StatusOr<std::vector<v1::AuthorizationVersion>> GetAuthorizationVersions(
      const std::string& id) const;
  absl::StatusOr<std::optional<v1::Account>> GetAccount(const v1::AccountRef& ref) const;

  // For the node's mempool: the key that must sign for this submitter (the registry key, the
  // Party's authority key, or the secretariat key). Errors: kNotFound for an unknown submitter.
  absl::StatusOr<crypto::PublicKey> SubmitterKey(v1::SubmitterKind kind,
                                                 const std::string& submitter) const;
  // Whether (submitter, client_tx_id) was already used by a committed transaction (R12).
  bool IsClientTxIdUsed(const std::string& submitter, const std::string& client_tx_id) const;

 private:
  struct Rep;
  explicit StateMachine(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace itmo::ledger
