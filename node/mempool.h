// File: node/mempool.h
// Mempool: signed transactions accepted by this node and not yet committed, in arrival order.
// Each transaction is verified once on entry (through an injected verify function, in the node
// ledger::VerifyTransaction); the verified bytes are remembered so that ValidateProposal and the
// executor need not verify again. Duplicates by tx id and by (submitter, client_tx_id) are
// rejected, also against committed outcomes (an injected lookup). Limits: count, bytes, per
// submitter.
//
// A leader takes a batch (Batch); the batch's transactions stay in the pool, marked in flight at
// the proposal's height, until a commit removes them (RemoveCommitted). A transaction still in
// flight once a block at or above its proposal height committed without it is eligible again.
//
// Deadlines: every transaction carries a signed TransactionBody.valid_until_ms. Add refuses one in
// the past or more than lifetime_ms_max ahead (by the injected clock). Batch skips transactions
// whose deadline is below the block's timestamp; RemoveCommitted drops those whose deadline the
// committed block's timestamp passed and remembers them (bounded) as expired: final, since voters
// refuse such a transaction in any later block (block timestamps never decrease along a chain).
//
// Thread-safe: every public method may be called from any thread.
//
// Example:
//   Mempool pool(options, verify_fn, admit_fn);
//   absl::StatusOr<std::string> id = pool.Add(tx_bytes);    // ALREADY_EXISTS, RESOURCE_EXHAUSTED,
//   ... std::vector<std::string> txs = pool.Batch(height, 1000, 1 << 20);
//   pool.RemoveCommitted(height, committed_tx_ids);
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "itmo/v1/tx.pb.h"

namespace itmo::node {

// Remembered verified transactions (by digest of their full bytes, signatures included).
inline constexpr uint64_t kVerifiedCacheMax = 1'000'000;
// The furthest ahead a deadline may be at admission, and the default for clients (ctl_util.h).
inline constexpr uint64_t kTxLifetimeMsMax = 10 * 60 * 1000;
// Expired transactions remembered for GetTransaction (oldest forgotten first).
inline constexpr uint64_t kExpiredRememberedMax = 200'000;
// Ids of recently committed transactions: closes the race between the admission check against the
// ledger and the commit that removes the transaction from the pool.
inline constexpr uint64_t kRecentCommittedMax = 200'000;

struct MempoolOptions {
  uint64_t txs_max = 0;
  uint64_t bytes_max = 0;
  uint64_t txs_per_submitter_max = 0;
  uint64_t tx_bytes_max = 0;
  uint64_t lifetime_ms_max = kTxLifetimeMsMax;  // 1..kTxLifetimeMsMax.
  // Wall clock for admission (Unix ms); null: the system clock. Tests inject a fixed one.
  std::function<int64_t()> now_ms;
};

// What verification learned about a transaction.
struct VerifiedTx {
  std::string tx_id;  // 32 raw bytes: ledger::TransactionId (BLAKE2b-256 of the body bytes).
  std::string submitter;
  std::string client_tx_id;
  int32_t submitter_kind = 0;   // v1::SubmitterKind.
  uint64_t valid_until_ms = 0;  // TransactionBody.valid_until_ms.
};

// Stateless checks: structure and every signature. Errors: kInvalidArgument (malformed, bad
// signature, wrong chain). Deterministic and thread-safe (also used to validate proposals).
using TxVerifyFn = std::function<absl::StatusOr<VerifiedTx>(const v1::SignedTransaction& tx)>;
// Stateful admission checks on entry only: a known submitter that signed, and no committed
// transaction with the same (submitter, client_tx_id). Errors: kPermissionDenied, kAlreadyExists.
// Thread-safe; may be null (tests).
using TxAdmitFn =
    std::function<absl::Status(const v1::SignedTransaction& tx, const VerifiedTx& verified)>;

class Mempool final {
 public:
  // REQUIRES: every limit in `options` > 0, verify != nullptr.
  Mempool(const MempoolOptions& options, TxVerifyFn verify, TxAdmitFn admit);

  // Parses, verifies and adds `tx_bytes` (a serialized SignedTransaction). Returns the tx id (raw).
  // Errors: kInvalidArgument (malformed, too large, bad signature, ...), kPermissionDenied,
  // kAlreadyExists (same tx id or (submitter, client_tx_id) pending or committed),
  // kResourceExhausted (pool full by count or bytes, or the submitter's share is full).
  // A rejected transaction changes nothing. kInvalidArgument also for a valid_until_ms that is
  // missing, in the past, or more than lifetime_ms_max ahead.
  // `gossip`: queue it for TakeGossip (false for transactions that arrived by gossip).
  absl::StatusOr<std::string> Add(std::string tx_bytes, bool gossip = true)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Stateless check (cached) of a transaction of a proposal, without adding it to the pool.
  // Errors as Add for malformed and unverifiable transactions.
  absl::StatusOr<VerifiedTx> VerifyForProposal(std::string_view tx_bytes) ABSL_LOCKS_EXCLUDED(mu_);

  // True when these exact bytes (signatures included) verified before.
  bool IsVerified(std::string_view tx_bytes) const ABSL_LOCKS_EXCLUDED(mu_);

  // Up to txs_max oldest eligible transactions of at most bytes_max bytes in total, with a deadline
  // at or above timestamp_ms, marked in flight at `height`. `exclude(tx_id)` true: skipped (e.g.
  // in an uncommitted block).
  std::vector<std::string> Batch(uint64_t height, uint32_t txs_max, uint64_t bytes_max,
                                 uint64_t timestamp_ms = 0,
                                 const std::function<bool(const std::string&)>& exclude = nullptr)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Marks the given tx ids (if present) in flight at `height`: they are in a proposal we saw.
  void MarkInFlight(uint64_t height, const std::vector<std::string>& tx_ids)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Removes committed transactions; releases in-flight ones proposed at or below `height`; drops
  // (and remembers as expired) those whose deadline is below the block's `timestamp_ms`.
  void RemoveCommitted(uint64_t height, const std::vector<std::string>& tx_ids,
                       uint64_t timestamp_ms = 0) ABSL_LOCKS_EXCLUDED(mu_);

  // New transactions added since the last call (for gossip), at most `txs_max`.
  std::vector<std::string> TakeGossip(uint64_t txs_max) ABSL_LOCKS_EXCLUDED(mu_);

  bool Contains(std::string_view tx_id) const ABSL_LOCKS_EXCLUDED(mu_);
  // The pending tx id of (submitter, client_tx_id), if any.
  std::string FindByClientId(std::string_view submitter, std::string_view client_tx_id) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // The deadline of a pending transaction, if pending.
  std::optional<uint64_t> PendingDeadline(std::string_view tx_id) const ABSL_LOCKS_EXCLUDED(mu_);
  // Expired here (see above): final.
  bool IsExpired(std::string_view tx_id) const ABSL_LOCKS_EXCLUDED(mu_);
  // The expired tx id of (submitter, client_tx_id), if remembered; empty otherwise.
  std::string FindExpiredByClientId(std::string_view submitter, std::string_view client_tx_id) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // The injected clock (Unix ms).
  int64_t NowMs() const;
  uint64_t expired_total() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t size() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t bytes() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    std::string bytes;
    std::string tx_id;
    std::string submitter;
    std::string client_key;
    uint64_t in_flight_height = 0;  // 0: eligible for a batch.
    uint64_t valid_until_ms = 0;
  };

  absl::StatusOr<std::pair<v1::SignedTransaction, VerifiedTx>> ParseAndVerify(
      std::string_view tx_bytes) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status CheckAdmissibleLocked(const VerifiedTx& verified, uint64_t tx_bytes) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void RememberVerifiedLocked(std::string digest) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseLocked(uint64_t seq) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetInFlightLocked(uint64_t seq, Entry& entry, uint64_t height)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RememberProposedLocked(uint64_t height, const std::string& tx_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckDeadline(uint64_t valid_until_ms) const;
  void ExpireLocked(uint64_t timestamp_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RememberCommittedLocked(const std::string& tx_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const MempoolOptions options_;
  const TxVerifyFn verify_;
  const TxAdmitFn admit_;

  mutable absl::Mutex mu_;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::btree_map<uint64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);  // By arrival.
  // (in_flight_height, seq) of every in-flight entry: RemoveCommitted releases a prefix.
  absl::btree_set<std::pair<uint64_t, uint64_t>> in_flight_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> by_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> by_client_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> per_submitter_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> gossip_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> verified_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> verified_order_ ABSL_GUARDED_BY(mu_);
  // Tx ids seen in proposals (MarkInFlight) before they reached this pool, e.g. when gossip is
  // slower than the proposal: such a tx arrives already in flight, so this node, as the next
  // leader, does not propose it a second time while the first block is still uncommitted. Released
  // like in_flight_.
  absl::btree_set<std::pair<uint64_t, std::string>> proposed_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> proposed_height_ ABSL_GUARDED_BY(mu_);
  // (valid_until_ms, seq) of every entry: RemoveCommitted expires a prefix.
  absl::btree_set<std::pair<uint64_t, uint64_t>> by_deadline_ ABSL_GUARDED_BY(mu_);
  // Expired tx ids (-> client key) and client keys (-> tx id), oldest first in expired_order_.
  absl::flat_hash_map<std::string, std::string> expired_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> expired_by_client_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> expired_order_ ABSL_GUARDED_BY(mu_);
  uint64_t expired_total_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_set<std::string> recent_committed_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> recent_committed_order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace itmo::node
