// File: tests/fuzz/ledger_world.h
// The fixed ledger the transaction fuzzer runs against: a genesis (Parties CHE, GHA, SWE; their
// national registries and the international registry UN-IR; accounts; approaches CA0001 and
// CA0002) with Ed25519 keys derived from fixed seeds, a prelude of committed transactions that
// puts units in every interesting state (issued, authorized, active, cancelled, used, quarantined),
// and valid signed transactions of every action for the seed corpus. Deterministic: the same calls
// always produce the same bytes. Not thread-safe (fuzz targets are single-threaded).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "crypto/verifier.h"
#include "itmo/v1/genesis.pb.h"
#include "itmo/v1/tx.pb.h"
#include "ledger/state_machine.h"
#include "storage/store.h"

namespace itmo::fuzz {

inline constexpr char kLedgerChainId[] = "itmo-fuzz";
// 2030-06-15 12:00:00 UTC: the consensus time of every fuzzed block.
inline constexpr int64_t kLedgerTimeMs = 1907755200000;

// The key of a named signer: a Party code (its authority), a registry id, or "SECRETARIAT".
const crypto::KeyPair& KeyOf(const std::string& signer);
// The signer name of a public key of this world, if any.
std::optional<std::string> SignerOf(const crypto::PublicKey& key);

v1::Genesis LedgerGenesis();

// Fills chain id, submitter kind and submitter (from the action) and client_tx_id when empty, and
// signs the body bytes with each named signer (default: the submitter).
v1::SignedTransaction SignBody(v1::TransactionBody body,
                               const std::vector<std::string>& signers = {});

// Transactions committed on top of genesis before fuzzing; each is accepted.
std::vector<v1::SignedTransaction> PreludeTransactions();
// Valid transactions of every action against the post-prelude state (for the seed corpus), then a
// few deliberately broken ones (wrong chain, bad signature, duplicate signer, no action).
std::vector<v1::SignedTransaction> SeedTransactions();

// An in-memory store and ledger at the post-prelude state.
struct LedgerUnderTest {
  std::unique_ptr<storage::Store> store;
  crypto::Ed25519Verifier verifier;
  std::unique_ptr<ledger::StateMachine> ledger;
};
// Aborts if the store cannot be opened or a prelude transaction is not accepted.
std::unique_ptr<LedgerUnderTest> OpenLedgerUnderTest();

}  // namespace itmo::fuzz
