// File: tests/fuzz/node_world.h
// The small in-memory node the request fuzzer (fuzz_ledger_request) runs against: the ledger world
// of tests/fuzz/ledger_world.h (same genesis, keys and prelude) behind the node's real parts: an
// in-memory store with the block store's and the ledger's column families, a BlockStore holding
// the prelude as committed blocks (one transaction each, so GetTransaction finds them with
// proofs), a Mempool with the node's verify and admission checks, an Executor and the
// LedgerService whose handlers the fuzzer calls directly (no gRPC server, no threads).
//
// The committed state never changes between inputs: ResetPool() replaces the mempool, executor and
// service (the only parts a request can change) before every input. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crypto/verifier.h"
#include "ledger/state_machine.h"
#include "node/block_store.h"
#include "node/commit_feed.h"
#include "node/executor.h"
#include "node/ledger_service.h"
#include "node/mempool.h"
#include "storage/store.h"

namespace itmo::fuzz {

// The request kinds of fuzz_ledger_request: its first input byte (mod kRequestKinds), then the
// serialized request. kProposal is a peer's v1::Block given to Executor::ValidateProposal and
// NoteBlock (the node's check of every proposal it votes on).
enum class RequestKind : uint8_t {
  kSubmitTransaction = 0,
  kGetTransaction,
  kGetHoldings,
  kGetUnitHistory,
  kGetAdjustments,
  kGetStatus,
  kGetAuthorization,
  kListAccounts,
  kListApproaches,
  kListParties,
  kProposal,
};
inline constexpr uint8_t kRequestKinds = 11;

struct NodeUnderTest {
  std::unique_ptr<storage::Store> store;
  crypto::Ed25519Verifier verifier;
  std::unique_ptr<ledger::StateMachine> ledger;
  std::unique_ptr<node::BlockStore> blocks;
  std::unique_ptr<node::CommitFeed> feed;
  std::unique_ptr<node::Mempool> mempool;
  std::unique_ptr<node::Executor> executor;
  std::unique_ptr<node::LedgerService> service;
};

// Aborts if a part cannot be opened or a prelude block is not committed.
std::unique_ptr<NodeUnderTest> OpenNodeUnderTest();
// A fresh mempool, executor and service over the same committed state.
void ResetPool(NodeUnderTest* node);

// Seed inputs of fuzz_ledger_request: (name, bytes) with the kind byte first.
std::vector<std::pair<std::string, std::string>> RequestSeeds();

}  // namespace itmo::fuzz
