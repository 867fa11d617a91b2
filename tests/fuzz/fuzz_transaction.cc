// File: tests/fuzz/fuzz_transaction.cc
// Fuzz target: bytes -> itmo.v1.SignedTransaction -> ledger::VerifyTransaction and
// StateMachine::ExecuteBlock on an in-memory ledger at a fixed state (tests/fuzz/ledger_world.h).
//
// Properties checked on every input (each violation aborts, which the fuzzer reports):
//  - nothing crashes or CHECK-fails, and ExecuteBlock returns exactly one outcome with this tx's
//  id;
//  - an outcome is ACCEPTED with REASON_OK or REJECTED with another code and a message;
//  - when VerifyTransaction rejects, ExecuteBlock rejects with the same reason code;
//  - a rejected transaction leaves the state root unchanged;
//  - an accepted one, executed again from the same state, yields the same outcome and batch size
//    (determinism), and AbortBlock restores the root;
//  - for a transaction whose signatures verify, ExecuteBlock gives the same status and code with
//    and without signatures_verified.
// Structure-aware step: the fuzzer mutates body bytes, which breaks the signatures; so the target
// also re-signs the mutated body with every key of this world that signed it (as a registry
// holding its key would) and runs it again through VerifyTransaction and
// ExecuteBlock(signatures_verified = true), which is how the node executes verified transactions.
//
// State stays fixed across inputs: accepted blocks are aborted, and rejected blocks are committed
// without writing their batch, so no R12 record of one input changes the outcome of the next.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "base/check.h"
#include "crypto/digest.h"
#include "google/protobuf/stubs/common.h"
#include "itmo/v1/tx.pb.h"
#include "ledger/state_machine.h"
#include "tests/fuzz/ledger_world.h"

namespace itmo::fuzz {
namespace {

constexpr size_t kInputBytesMax = 2 << 20;
constexpr int kResignedSignaturesMax = 4;  // Signing is costly; mutated inputs rarely need more.

v1::TransactionOutcome ExecuteChecked(LedgerUnderTest* world, const v1::SignedTransaction& tx,
                                      bool signatures_verified) {
  ledger::StateMachine& ledger = *world->ledger;
  const crypto::Digest root = ledger.state_root();
  const uint64_t height = ledger.height();
  const ledger::BlockContext context{height + 1, kLedgerTimeMs};
  storage::WriteBatch batch;
  absl::StatusOr<std::vector<v1::TransactionOutcome>> outcomes =
      ledger.ExecuteBlock(context, {tx}, signatures_verified, &batch);
  ITMO_CHECK(outcomes.ok());  // Only store read errors may fail a block; the store is in memory.
  ITMO_CHECK(outcomes->size() == 1);
  const v1::TransactionOutcome outcome = (*outcomes)[0];
  ITMO_CHECK(outcome.tx_id() == crypto::AsStringView(ledger::TransactionId(tx)));
  ITMO_CHECK(outcome.height() == height + 1 && outcome.index() == 0);
  ITMO_CHECK(outcome.status() == v1::TX_ACCEPTED || outcome.status() == v1::TX_REJECTED);
  ITMO_CHECK((outcome.status() == v1::TX_ACCEPTED) == (outcome.code() == v1::REASON_OK));
  if (outcome.status() == v1::TX_REJECTED) {
    ITMO_CHECK(!outcome.message().empty());  // A rejection always says why.
    ledger.CommitBlock();  // The batch is deliberately not written (see the file comment).
    ITMO_CHECK(ledger.state_root() == root);  // A rejected transaction changes nothing.
    return outcome;
  }
  ledger.AbortBlock();
  ITMO_CHECK(ledger.state_root() == root);
  storage::WriteBatch again;
  absl::StatusOr<std::vector<v1::TransactionOutcome>> replayed =
      ledger.ExecuteBlock(context, {tx}, signatures_verified, &again);
  ITMO_CHECK(replayed.ok() && replayed->size() == 1);
  ITMO_CHECK((*replayed)[0].SerializeAsString() == outcome.SerializeAsString());
  ITMO_CHECK(again.count() == batch.count() && again.bytes() == batch.bytes());
  ledger.AbortBlock();
  ITMO_CHECK(ledger.state_root() == root && !ledger.block_pending());
  return outcome;
}

// Replaces the signature of every key of this world by a valid one over the (mutated) body.
// Returns false when nothing changed.
bool Resign(v1::SignedTransaction* tx) {
  bool changed = false;
  for (int i = 0; i < tx->signatures_size() && i < kResignedSignaturesMax; ++i) {
    v1::Signature* s = tx->mutable_signatures(i);
    absl::StatusOr<crypto::PublicKey> key = crypto::PublicKeyFromBytes(s->public_key());
    if (!key.ok()) continue;
    std::optional<std::string> signer = SignerOf(*key);
    if (!signer.has_value()) continue;
    const crypto::Signature sig =
        KeyOf(*signer).Sign(crypto::kContextTransaction, kLedgerChainId, tx->body());
    std::string bytes(crypto::AsStringView(sig));
    if (bytes != s->signature()) {
      s->set_signature(std::move(bytes));
      changed = true;
    }
  }
  return changed;
}

// Outcome counts, printed at exit when ITMO_FUZZ_STATS is set (how deep do inputs get?).
struct Stats {
  uint64_t parsed = 0;
  uint64_t verified = 0;
  uint64_t accepted = 0;
  uint64_t resigned = 0;
  uint64_t resigned_accepted = 0;
};
Stats& GetStats() {
  static Stats* stats = [] {
    auto* s = new Stats();
    if (std::getenv("ITMO_FUZZ_STATS") != nullptr) {
      std::atexit([] {
        const Stats& t = GetStats();
        std::fprintf(stderr,
                     "fuzz_transaction: parsed %llu, verified %llu, accepted %llu, re-signed %llu, "
                     "re-signed accepted %llu\n",
                     static_cast<unsigned long long>(t.parsed),
                     static_cast<unsigned long long>(t.verified),
                     static_cast<unsigned long long>(t.accepted),
                     static_cast<unsigned long long>(t.resigned),
                     static_cast<unsigned long long>(t.resigned_accepted));
      });
    }
    return s;
  }();
  return *stats;
}

void CheckSameRejection(const absl::Status& verified, const v1::TransactionOutcome& outcome) {
  ITMO_CHECK(outcome.status() == v1::TX_REJECTED);
  const std::string code = v1::ReasonCode_Name(outcome.code()) + ":";
  if (!absl::StartsWith(verified.message(), code)) {
    std::fprintf(stderr, "VerifyTransaction: %s\nExecuteBlock: %s %s\n",
                 verified.ToString().c_str(), code.c_str(), outcome.message().c_str());
  }
  ITMO_CHECK(absl::StartsWith(verified.message(), code));
}

}  // namespace
}  // namespace itmo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace itmo;        // NOLINT(google-build-using-namespace): a tiny entry point.
  using namespace itmo::fuzz;  // NOLINT(google-build-using-namespace)
  // Parse errors of mutated inputs are expected; protobuf's log of each one is noise.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  static LedgerUnderTest* const world = OpenLedgerUnderTest().release();
  if (size > kInputBytesMax) return 0;
  v1::SignedTransaction tx;
  if (!tx.ParseFromArray(data, static_cast<int>(size))) return 0;

  Stats& stats = GetStats();
  ++stats.parsed;
  absl::StatusOr<v1::TransactionBody> verified =
      ledger::VerifyTransaction(tx, kLedgerChainId, world->verifier);
  const v1::TransactionOutcome outcome = ExecuteChecked(world, tx, /*signatures_verified=*/false);
  if (!verified.ok()) CheckSameRejection(verified.status(), outcome);
  stats.verified += verified.ok() ? 1 : 0;
  stats.accepted += outcome.status() == v1::TX_ACCEPTED ? 1 : 0;

  if (!Resign(&tx)) return 0;
  ++stats.resigned;
  verified = ledger::VerifyTransaction(tx, kLedgerChainId, world->verifier);
  if (verified.ok()) {
    const v1::TransactionOutcome resigned = ExecuteChecked(world, tx, /*signatures_verified=*/true);
    stats.resigned_accepted += resigned.status() == v1::TX_ACCEPTED ? 1 : 0;
    // Skipping the verified signature checks must not change the outcome.
    const v1::TransactionOutcome checked = ExecuteChecked(world, tx, /*signatures_verified=*/false);
    ITMO_CHECK(checked.status() == resigned.status() && checked.code() == resigned.code());
  } else {
    CheckSameRejection(verified.status(), ExecuteChecked(world, tx, false));
  }
  return 0;
}
