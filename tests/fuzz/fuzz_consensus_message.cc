// File: tests/fuzz/fuzz_consensus_message.cc
// Fuzz target: bytes -> itmo.v1.ConsensusMessage -> Replica::Handle(MessageReceived{...}) on
// validator kUnderTest of the 4-validator world of tests/fuzz/consensus_world.h, in the state it
// reached by replaying the world's prefix (a replica that lags the others by more than
// kSyncLagBlocksMin blocks, with TCs in its history).
//
// Properties checked on every input:
//  - Handle never crashes and never CHECK-fails (its own CheckInvariants runs on every call);
//  - an error Status leaves round, committed height and id, high QC round and the safety state
//    unchanged;
//  - the actions keep the contract of consensus/actions.h (ReplicaHarness checks: persist before
//    send, monotonic persisted rounds, gap-free commits, nothing sent to itself);
//  - after an accepted message the replica still handles timer ticks without error.
// A proposal by the byzantine validator gets correct payload digest and tx root before delivery.
// The sender (`from`, authenticated by the transport) is chosen by SenderOf from the message and
// the input size: usually the validator the message claims, sometimes another peer relaying it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/check.h"
#include "consensus/canonical.h"
#include "consensus/events.h"
#include "consensus/limits.h"
#include "google/protobuf/stubs/common.h"
#include "itmo/v1/consensus.pb.h"
#include "tests/fuzz/consensus_world.h"

namespace itmo::fuzz {
namespace {

constexpr size_t kInputBytesMax = 1 << 20;
constexpr int kTicksAfterMessage = 3;

struct Observed {
  uint64_t round = 0;
  uint64_t committed_height = 0;
  crypto::Digest committed_id{};
  uint64_t high_qc_round = 0;
  std::string safety_state;
  bool operator==(const Observed& other) const = default;
};

Observed Observe(const consensus::Replica& replica) {
  Observed o;
  o.round = replica.round();
  o.committed_height = replica.committed_height();
  o.committed_id = replica.committed_id();
  o.high_qc_round = replica.high_qc_round();
  o.safety_state = replica.safety_state().SerializeAsString();
  return o;
}

// The byzantine validator computes its proposals' digests correctly (it can, and a fuzzer cannot
// invert a hash): so mutated transactions and header fields of its proposals reach the checks
// behind the digest comparison.
void FixUpByzantineProposal(v1::ConsensusMessage* message) {
  if (!message->has_proposal()) return;
  v1::Block* block = message->mutable_proposal()->mutable_block();
  if (block->header().proposer() != kByzantine) return;
  block->mutable_header()->set_payload_digest(
      std::string(crypto::AsStringView(consensus::PayloadDigest(block->txs()))));
  block->mutable_header()->set_tx_root(
      std::string(crypto::AsStringView(consensus::TxRoot(block->txs()))));
}

// Outcome counts, printed at exit when ITMO_FUZZ_STATS is set (how deep do inputs get?).
struct Stats {
  uint64_t parsed = 0;
  uint64_t accepted = 0;
  uint64_t advanced = 0;  // Accepted and moved the round or the committed height.
};
Stats& GetStats() {
  static Stats* stats = [] {
    auto* s = new Stats();
    if (std::getenv("ITMO_FUZZ_STATS") != nullptr) {
      std::atexit([] {
        const Stats& t = GetStats();
        std::fprintf(stderr, "fuzz_consensus_message: parsed %llu, accepted %llu, advanced %llu\n",
                     static_cast<unsigned long long>(t.parsed),
                     static_cast<unsigned long long>(t.accepted),
                     static_cast<unsigned long long>(t.advanced));
      });
    }
    return s;
  }();
  return *stats;
}

}  // namespace
}  // namespace itmo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace itmo;        // NOLINT(google-build-using-namespace): a tiny entry point.
  using namespace itmo::fuzz;  // NOLINT(google-build-using-namespace)
  // Parse errors of mutated inputs are expected; protobuf's log of each one is noise.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  static const ConsensusWorld* const world = new ConsensusWorld(BuildConsensusWorld());
  if (size > kInputBytesMax) return 0;
  consensus::MessageReceived received;
  if (!received.message.ParseFromArray(data, static_cast<int>(size))) return 0;
  received.from = SenderOf(received.message, size);
  FixUpByzantineProposal(&received.message);

  Stats& stats = GetStats();
  ++stats.parsed;
  std::unique_ptr<ReplicaHarness> harness = ReplayPrefix(*world);
  const Observed before = Observe(harness->replica());
  absl::StatusOr<std::vector<consensus::Action>> actions = harness->Handle(received);
  if (!actions.ok()) {
    ITMO_CHECK(Observe(harness->replica()) == before);
    return 0;
  }
  ITMO_CHECK(harness->replica().committed_height() >= before.committed_height);
  ITMO_CHECK(harness->replica().round() >= before.round);
  ++stats.accepted;
  if (harness->replica().committed_height() > before.committed_height ||
      harness->replica().round() > before.round) {
    ++stats.advanced;
  }
  int64_t now_ms = 1'000'000;
  for (int i = 0; i < kTicksAfterMessage; ++i) {
    ITMO_CHECK(harness->Handle(consensus::Tick{now_ms}).ok());
    now_ms += 10;
  }
  return 0;
}
