// File: tests/fuzz/fuzz_genesis.cc
// Fuzz target: a genesis file (protobuf JSON of itmo.v1.Genesis) through node::ParseGenesis (JSON
// parse + the node's structural checks) and, when that accepts it, ledger::StateMachine::Open on
// a fresh in-memory store (the ledger's checks of the ITMO content: parties, registries,
// accounts, approaches). Properties:
//  - neither crashes, CHECK-fails or trips a sanitizer; errors are kInvalidArgument (parse) or a
//    Status from Open;
//  - an accepted genesis has a chain id and 1..256 validators with unique names and 32-byte keys;
//    ValidatorIndex finds each validator at its position;
//  - a ledger opened from it starts at height 0, and opening a second store from the same genesis
//    gives the same state root (genesis is deterministic).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "base/check.h"
#include "crypto/verifier.h"
#include "google/protobuf/stubs/common.h"
#include "ledger/state_machine.h"
#include "node/genesis.h"
#include "storage/store.h"

namespace itmo::fuzz {
namespace {

constexpr size_t kInputBytesMax = 128 << 10;
constexpr char kPath[] = "genesis.json";

void CheckStructure(const v1::Genesis& genesis) {
  ITMO_CHECK(!genesis.chain_id().empty());
  ITMO_CHECK(genesis.validators_size() >= 1);
  ITMO_CHECK(genesis.validators_size() <= 256);
  std::set<std::string> names;
  for (int i = 0; i < genesis.validators_size(); ++i) {
    const v1::Validator& v = genesis.validators(i);
    ITMO_CHECK(names.insert(v.name()).second);
    ITMO_CHECK(v.consensus_key().size() == 32);
    ITMO_CHECK(node::ValidatorIndex(genesis, v.name()) == static_cast<uint32_t>(i));
  }
}

// The state root of a ledger opened from `genesis`, if it opens.
absl::StatusOr<crypto::Digest> OpenRoot(const v1::Genesis& genesis) {
  storage::StoreOptions options;
  options.column_families = ledger::StateMachine::ColumnFamilies();
  options.in_memory = true;
  options.block_cache_bytes = 1 << 20;
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      storage::Store::Open("fuzz-genesis", options);
  ITMO_CHECK(store.ok());
  static const crypto::Ed25519Verifier* const verifier = new crypto::Ed25519Verifier();
  absl::StatusOr<std::unique_ptr<ledger::StateMachine>> ledger =
      ledger::StateMachine::Open(store->get(), genesis, verifier);
  if (!ledger.ok()) return ledger.status();
  ITMO_CHECK((*ledger)->height() == 0);
  return (*ledger)->state_root();
}

}  // namespace
}  // namespace itmo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace itmo;        // NOLINT(google-build-using-namespace): a tiny entry point.
  using namespace itmo::fuzz;  // NOLINT(google-build-using-namespace)
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  if (size > kInputBytesMax) return 0;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<v1::Genesis> genesis = node::ParseGenesis(json, kPath);
  if (!genesis.ok()) {
    ITMO_CHECK(absl::IsInvalidArgument(genesis.status()));
    return 0;
  }
  CheckStructure(*genesis);
  absl::StatusOr<crypto::Digest> root = OpenRoot(*genesis);
  if (!root.ok()) return 0;
  absl::StatusOr<crypto::Digest> again = OpenRoot(*genesis);
  ITMO_CHECK(again.ok());
  ITMO_CHECK(*again == *root);
  return 0;
}
