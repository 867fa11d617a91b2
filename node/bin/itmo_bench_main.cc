// itmo-bench: the cluster load generator. Against a running local network
// (itmoctl localnet + itmo-node per node, e.g. scripts/localnet.sh), submits N
// pre-signed transfers over SubmitTransactions client streams and prints
// committed throughput and commit latency as JSON.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "node/ctl_bench.h"
#include "node/ctl_flags.h"

namespace {

constexpr const char* kHelp =
    "itmo-bench: committed throughput (tx/s) and commit latency (p50/p99) of a "
    "local network\n\n"
    "usage: itmo-bench [--localnet localnet] [--txs 1000] [--streams 4] "
    "[--timeout 300]\n"
    "                  [--nodes HOST:PORT,...] [--subscribe HOST:PORT]\n"
    "                  [--lifetime-ms 120000] [--ids-out FILE]\n\n"
    "Sets up an approach, an authorization and --txs units in Ghana's "
    "registry, pre-signs --txs\n"
    "one-serial transfers GHA -> CHE, submits them over --streams "
    "SubmitTransactions streams\n"
    "(round-robin over --nodes, default every validator of the localnet), "
    "follows\n"
    "SubscribeCommits on --subscribe (default the first node) and prints one "
    "JSON object.\n"
    "Latency: stream write to the block arriving at the subscriber. Exit 1 on "
    "errors or when not\n"
    "every submitted transaction committed within --timeout seconds.\n";

int Main(int argc, char** argv) {
  using itmo::node::ctl::Flags;
  absl::StatusOr<Flags> flags =
      Flags::Parse(std::vector<std::string>(argv + 1, argv + argc),
                   {.values = {"localnet", "txs", "streams", "timeout", "nodes", "subscribe",
                               "lifetime-ms", "ids-out"},
                    .booleans = {}});
  if (!flags.ok()) {
    std::cerr << "itmo-bench: " << flags.status().message() << "\n\n" << kHelp;
    return 1;
  }
  if (flags->Has("help")) {
    std::cout << kHelp;
    return 0;
  }
  itmo::node::ctl::BenchOptions options;
  options.localnet_dir = flags->Get("localnet", "localnet");
  absl::StatusOr<uint64_t> txs = flags->GetUint("txs", 1000);
  absl::StatusOr<uint64_t> streams = flags->GetUint("streams", 4);
  absl::StatusOr<uint64_t> timeout = flags->GetUint("timeout", 300);
  absl::StatusOr<uint64_t> lifetime_ms =
      flags->GetUint("lifetime-ms", itmo::node::ctl::kTxLifetimeMsDefault);
  for (const absl::StatusOr<uint64_t>* value : {&txs, &streams, &timeout, &lifetime_ms}) {
    if (!value->ok()) {
      std::cerr << "itmo-bench: " << value->status().message() << "\n";
      return 1;
    }
  }
  options.txs = *txs;
  options.streams = static_cast<uint32_t>(std::min<uint64_t>(*streams, 1'000'000));
  options.timeout = absl::Seconds(*timeout);
  options.lifetime_ms = static_cast<int64_t>(std::min<uint64_t>(*lifetime_ms, 3'600'000));
  options.ids_out = flags->Get("ids-out");
  if (flags->Has("nodes")) {
    options.nodes = absl::StrSplit(flags->Get("nodes"), ',', absl::SkipEmpty());
  }
  options.subscribe_node = flags->Get("subscribe");
  absl::StatusOr<itmo::node::ctl::BenchResult> result = itmo::node::ctl::RunClusterBench(options);
  if (!result.ok()) {
    std::cerr << "itmo-bench: " << absl::StatusCodeToString(result.status().code()) << ": "
              << result.status().message() << "\n";
    return 1;
  }
  std::cout << itmo::node::ctl::BenchResultJson(*result, options) << "\n";
  if (result->committed < result->submit_accepted || result->submit_accepted == 0) {
    std::cerr << "itmo-bench: only " << result->committed << " of " << result->submit_accepted
              << " accepted submissions committed within the timeout\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
