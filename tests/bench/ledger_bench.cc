// Micro-benchmarks of the ITMO ledger (STYLE.md 20): ExecuteBlock of transfers that move whole unit
// blocks and of transfers that split a block, on a state of 1,000,000 unit blocks (10,000 when
// ITMO_BENCH_SMOKE=1), with and without signature verification; holdings and point queries.
// Transactions are signed before the timed loop. Each ExecuteBlock is followed by the RocksDB write
// (sync=false) and CommitBlock, as the node does.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/check.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/verifier.h"
#include "ledger/limits.h"
#include "ledger/state_machine.h"
#include "storage/store.h"

namespace itmo::ledger {
namespace {

constexpr char kChain[] = "bench";
constexpr uint64_t kUnitsPerBlock = 10;
constexpr int kTxsPerExecute = 100;
constexpr int kHoldingsBlocks = 100;

bool Smoke() {
  const char* v = std::getenv("ITMO_BENCH_SMOKE");
  return v != nullptr && std::string(v) == "1";
}
uint64_t StateBlocks() { return Smoke() ? 10'000 : 1'000'000; }
int Iterations() { return Smoke() ? 3 : 40; }

crypto::KeyPair Key(const std::string& name) {
  crypto::Digest seed = crypto::Blake2b256(name);
  auto key = crypto::KeyPair::FromSeed(crypto::AsStringView(seed));
  ITMO_CHECK(key.ok());
  return *key;
}

v1::AccountRef Ref(const std::string& registry, const std::string& account) {
  v1::AccountRef r;
  r.set_registry_id(registry);
  r.set_account_id(account);
  return r;
}

// One ledger with StateBlocks() unit blocks of kUnitsPerBlock AUTHORIZED units in CHE-NR/che-1.
class World {
 public:
  static World& Get() {
    static World* world = new World();
    return *world;
  }

  v1::SignedTransaction Sign(v1::TransactionBody body, bool real_signature) {
    body.set_chain_id(kChain);
    body.set_submitter_kind(v1::SUBMITTER_REGISTRY);
    body.set_submitter("CHE-NR");
    body.set_client_tx_id("b-" + std::to_string(next_id_++));
    v1::SignedTransaction tx;
    tx.set_body(body.SerializeAsString());
    v1::Signature* s = tx.add_signatures();
    s->set_public_key(std::string(crypto::AsStringView(registry_key_.public_key())));
    if (real_signature) {
      s->set_signature(std::string(crypto::AsStringView(
          registry_key_.Sign(crypto::kContextTransaction, kChain, tx.body()))));
    } else {
      s->set_signature(std::string(crypto::kSignatureBytes, '\0'));
    }
    return tx;
  }

  void Execute(const std::vector<v1::SignedTransaction>& txs, bool verified) {
    storage::WriteBatch batch;
    auto outcomes = ledger_->ExecuteBlock({ledger_->height() + 1, time_ms_}, txs, verified, &batch);
    ITMO_CHECK(outcomes.ok());
    ITMO_CHECK(store_->Write(batch, {.sync = false}).ok());
    ledger_->CommitBlock();
    for (const auto& o : *outcomes) ITMO_CHECK(o.status() == v1::TX_ACCEPTED);
  }

  // Transfers moving whole blocks [first_block, first_block + n) to `to` (or the middle of each).
  std::vector<v1::SignedTransaction> Transfers(uint64_t first_block, int n, bool split,
                                               const v1::AccountRef& to, bool real_signature) {
    std::vector<v1::SignedTransaction> txs;
    for (int i = 0; i < n; ++i) {
      uint64_t first = (first_block + i) * kUnitsPerBlock + 1;
      uint64_t last = first + kUnitsPerBlock - 1;
      if (split) {
        first += 3;
        last -= 3;
      }
      v1::TransactionBody body;
      *body.mutable_transfer()->mutable_from() = Ref("CHE-NR", "che-1");
      *body.mutable_transfer()->mutable_to() = to;
      v1::UnitRange* r = body.mutable_transfer()->add_ranges();
      r->set_originating_registry("CHE-NR");
      r->set_first(first);
      r->set_last(last);
      txs.push_back(Sign(std::move(body), real_signature));
    }
    return txs;
  }

  StateMachine& ledger() { return *ledger_; }
  // Blocks not yet used by a benchmark.
  uint64_t TakeBlocks(uint64_t n) {
    ITMO_CHECK(next_block_ + n <= StateBlocks());
    uint64_t first = next_block_;
    next_block_ += n;
    return first;
  }

 private:
  World() : registry_key_(Key("CHE-NR")) {
    char pattern[] = "/tmp/itmo-bench-ledger-XXXXXX";
    ITMO_CHECK(::mkdtemp(pattern) != nullptr);
    dir_ = pattern;
    storage::StoreOptions options;
    options.column_families = StateMachine::ColumnFamilies();
    auto store = storage::Store::Open(dir_ + "/db", options);
    ITMO_CHECK(store.ok());
    store_ = std::move(*store);
    auto ledger = StateMachine::Open(store_.get(), MakeGenesis(), &verifier_);
    ITMO_CHECK(ledger.ok());
    ledger_ = std::move(*ledger);
    Populate();
    std::atexit([] { std::filesystem::remove_all(Get().dir_); });
  }

  v1::Genesis MakeGenesis() {
    v1::Genesis g;
    g.set_chain_id(kChain);
    g.set_secretariat_key(std::string(crypto::AsStringView(Key("SECRETARIAT").public_key())));
    for (const std::string code : {"CHE", "GHA"}) {
      v1::Party* p = g.add_parties();
      p->set_code(code);
      p->set_authority_key(std::string(crypto::AsStringView(Key(code).public_key())));
      v1::Registry* r = g.add_registries();
      r->set_id(code + "-NR");
      r->set_party(code);
      r->set_registry_key(std::string(crypto::AsStringView(Key(code + "-NR").public_key())));
      for (const std::string suffix : {"-1", "-2", "-3"}) {
        v1::Account* a = g.add_accounts();
        *a->mutable_ref() = Ref(code + "-NR", std::string(code == "CHE" ? "che" : "gha") + suffix);
        a->set_holder_party(code);
      }
    }
    v1::CooperativeApproach* c = g.add_approaches();
    c->set_id("CA0001");
    c->add_parties("CHE");
    c->add_parties("GHA");
    return g;
  }

  void Populate() {
    v1::TransactionBody auth;
    auth.set_chain_id(kChain);
    auth.set_submitter_kind(v1::SUBMITTER_PARTY);
    auth.set_submitter("CHE");
    auth.set_client_tx_id("auth");
    v1::Authorization* a = auth.mutable_authorize()->mutable_authorization();
    a->set_id("A1");
    a->set_approach_id("CA0001");
    a->set_party("CHE");
    a->set_ndc(true);
    a->set_cap(UINT64_MAX);
    a->set_vintage_first(2021);
    a->set_vintage_last(2030);
    v1::SignedTransaction tx;
    tx.set_body(auth.SerializeAsString());
    v1::Signature* s = tx.add_signatures();
    s->set_public_key(std::string(crypto::AsStringView(Key("CHE").public_key())));
    s->set_signature(std::string(crypto::kSignatureBytes, '\0'));
    Execute({tx}, true);
    const uint64_t total = StateBlocks();
    uint64_t block = 0;
    while (block < total) {
      std::vector<v1::SignedTransaction> txs;
      for (int t = 0; t < 16 && block < total; ++t) {
        v1::TransactionBody body;
        *body.mutable_issue()->mutable_to() = Ref("CHE-NR", "che-1");
        for (size_t k = 0; k < kIssueBlocksMax && block < total; ++k, ++block) {
          v1::IssuanceSpec* spec = body.mutable_issue()->add_blocks();
          spec->set_approach_id("CA0001");
          spec->set_vintage(2021 + static_cast<uint32_t>(block % 10));
          spec->set_first(block * kUnitsPerBlock + 1);
          spec->set_last(block * kUnitsPerBlock + kUnitsPerBlock);
          spec->set_metric("tCO2e");
          spec->set_conversion_numerator(1);
          spec->set_conversion_denominator(1);
          spec->set_sector("energy");
          spec->set_activity_type("cookstoves");
          spec->set_authorization_id("A1");
        }
        txs.push_back(Sign(std::move(body), false));
      }
      Execute(txs, true);
    }
    // An account holding kHoldingsBlocks blocks, for the query benchmarks.
    uint64_t first = TakeBlocks(kHoldingsBlocks);
    Execute(Transfers(first, kHoldingsBlocks, false, Ref("CHE-NR", "che-3"), false), true);
  }

  crypto::KeyPair registry_key_;
  crypto::Ed25519Verifier verifier_;
  std::string dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<StateMachine> ledger_;
  uint64_t next_id_ = 0;
  uint64_t next_block_ = 0;
  int64_t time_ms_ = 1907755200000;  // 2030.
};

void RunTransfers(benchmark::State& state, bool split, bool verify, const v1::AccountRef& to) {
  World& world = World::Get();
  std::vector<std::vector<v1::SignedTransaction>> blocks;
  for (int i = 0; i < Iterations(); ++i) {
    uint64_t first = world.TakeBlocks(kTxsPerExecute);
    blocks.push_back(world.Transfers(first, kTxsPerExecute, split, to, verify));
  }
  size_t next = 0;
  for (auto _ : state) {
    world.Execute(blocks[next++], !verify);
  }
  state.SetItemsProcessed(static_cast<int64_t>(next) * kTxsPerExecute);
  state.counters["state_blocks"] = static_cast<double>(StateBlocks());
}

void BM_ExecuteBlock_TransferWholeBlock(benchmark::State& state) {
  RunTransfers(state, false, false, Ref("CHE-NR", "che-2"));
}
void BM_ExecuteBlock_TransferSplitBlock(benchmark::State& state) {
  RunTransfers(state, true, false, Ref("CHE-NR", "che-2"));
}
void BM_ExecuteBlock_FirstTransferWholeBlock(benchmark::State& state) {
  RunTransfers(state, false, false, Ref("GHA-NR", "gha-1"));
}
void BM_ExecuteBlock_TransferWholeBlock_Verify(benchmark::State& state) {
  RunTransfers(state, false, true, Ref("CHE-NR", "che-2"));
}
void BM_ExecuteBlock_TransferSplitBlock_Verify(benchmark::State& state) {
  RunTransfers(state, true, true, Ref("CHE-NR", "che-2"));
}

void BM_Query_Holdings100Blocks(benchmark::State& state) {
  World& world = World::Get();
  v1::AccountRef ref = Ref("CHE-NR", "che-3");
  for (auto _ : state) {
    auto holdings = world.ledger().GetHoldings(ref);
    ITMO_CHECK(holdings.ok() && holdings->blocks_size() == kHoldingsBlocks);
    benchmark::DoNotOptimize(holdings->held_units());
  }
}

void BM_Query_BlockAt(benchmark::State& state) {
  World& world = World::Get();
  uint64_t serial = 1;
  const uint64_t max_serial = StateBlocks() * kUnitsPerBlock;
  for (auto _ : state) {
    auto block = world.ledger().GetBlockAt("CHE-NR", serial);
    ITMO_CHECK(block.ok() && block->has_value());
    serial = (serial * 7919 + 13) % max_serial + 1;
  }
}

BENCHMARK(BM_ExecuteBlock_TransferWholeBlock)
    ->Iterations(Iterations())
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ExecuteBlock_TransferSplitBlock)
    ->Iterations(Iterations())
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ExecuteBlock_FirstTransferWholeBlock)
    ->Iterations(Iterations())
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ExecuteBlock_TransferWholeBlock_Verify)
    ->Iterations(Iterations())
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ExecuteBlock_TransferSplitBlock_Verify)
    ->Iterations(Iterations())
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Query_Holdings100Blocks)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Query_BlockAt);

}  // namespace
}  // namespace itmo::ledger

BENCHMARK_MAIN();
