// Micro-benchmarks of storage::Store: a synced commit of a block-sized WriteBatch, and a point Get.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "benchmark/benchmark.h"
#include "storage/store.h"
#include "tests/testing/temp_dir.h"

namespace itmo::storage {
namespace {

constexpr int kPutsPerBatch = 200;
constexpr int kValueBytes = 256;
constexpr int kGetKeys = 10000;

std::string Key(int i) { return "key" + std::to_string(10000000 + i); }

std::unique_ptr<Store> OpenOrDie(const std::string& path) {
  StoreOptions options;
  options.column_families = {"state"};
  auto store = Store::Open(path, options);
  if (!store.ok()) {
    std::fprintf(stderr, "open failed: %s\n", store.status().ToString().c_str());
    std::abort();
  }
  return std::move(store).value();
}

void BM_WriteBatch_Synced200Puts(benchmark::State& state) {
  testing::TempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.File("db"));
  const ColumnFamily family = store->Family("state").value();
  const std::string value(kValueBytes, 'v');
  int next = 0;
  for (auto _ : state) {
    WriteBatch batch;
    for (int i = 0; i < kPutsPerBatch; ++i) batch.Put(family, Key(next++), value);
    if (!store->Write(batch, {.sync = true}).ok()) {
      state.SkipWithError("write failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kPutsPerBatch);
}
BENCHMARK(BM_WriteBatch_Synced200Puts)->Unit(benchmark::kMicrosecond);

void BM_Get_Hit(benchmark::State& state) {
  testing::TempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.File("db"));
  const ColumnFamily family = store->Family("state").value();
  WriteBatch batch;
  for (int i = 0; i < kGetKeys; ++i) batch.Put(family, Key(i), std::string(kValueBytes, 'v'));
  if (!store->Write(batch, {.sync = true}).ok() || !store->Flush().ok()) std::abort();
  int i = 0;
  for (auto _ : state) {
    auto value = store->Get(family, Key(i));
    benchmark::DoNotOptimize(value);
    i = (i + 7919) % kGetKeys;
  }
}
BENCHMARK(BM_Get_Hit);

}  // namespace
}  // namespace itmo::storage

BENCHMARK_MAIN();
