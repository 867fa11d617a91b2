// Micro-benchmarks of the consensus core: QC verification (cold and cached), Replica::Handle of one
// vote at the next leader, and a 4-replica direct-delivery loop (time per committed block).
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "consensus/canonical.h"
#include "consensus/quorum.h"
#include "consensus/replica.h"
#include "crypto/keys.h"
#include "crypto/verifier.h"

namespace itmo::consensus {
namespace {

constexpr char kChainId[] = "bench-chain";

std::vector<std::unique_ptr<crypto::Ed25519Signer>> MakeSigners(uint32_t n) {
  std::vector<std::unique_ptr<crypto::Ed25519Signer>> signers;
  for (uint32_t i = 0; i < n; ++i) {
    signers.push_back(std::make_unique<crypto::Ed25519Signer>(
        *crypto::KeyPair::FromSeed(std::string(32, static_cast<char>(i + 1)))));
  }
  return signers;
}

std::vector<crypto::PublicKey> Keys(const std::vector<std::unique_ptr<crypto::Ed25519Signer>>& s) {
  std::vector<crypto::PublicKey> keys;
  for (const auto& signer : s) keys.push_back(signer->public_key());
  return keys;
}

v1::QuorumCert MakeQc(const std::vector<std::unique_ptr<crypto::Ed25519Signer>>& signers,
                      uint64_t round) {
  const uint32_t n = static_cast<uint32_t>(signers.size());
  v1::QuorumCert qc;
  qc.set_round(round);
  qc.set_height(round);
  qc.set_block_id(std::string(32, 'b'));
  std::vector<uint32_t> who;
  for (uint32_t i = 0; i < QuorumSize(n); ++i) who.push_back(i);
  qc.set_signers(MakeBitmap(who, n));
  for (uint32_t i : who) {
    qc.add_signatures(std::string(crypto::AsStringView(signers[i]->Sign(
        crypto::kContextVote, kChainId, VoteMessage(0, round, qc.block_id(), round)))));
  }
  return qc;
}

void BM_QcVerify_Cold(benchmark::State& state) {
  const auto signers = MakeSigners(static_cast<uint32_t>(state.range(0)));
  crypto::Ed25519Verifier verifier;
  const v1::QuorumCert qc = MakeQc(signers, 5);
  for (auto _ : state) {
    ValidatorSet set(kChainId, 0, Keys(signers), &verifier);  // Empty cache each time.
    benchmark::DoNotOptimize(set.VerifyQc(qc).ok());
  }
  state.counters["signatures"] = static_cast<double>(qc.signatures_size());
}
BENCHMARK(BM_QcVerify_Cold)->Arg(4)->Arg(16)->Arg(100);

void BM_QcVerify_Cached(benchmark::State& state) {
  const auto signers = MakeSigners(static_cast<uint32_t>(state.range(0)));
  crypto::Ed25519Verifier verifier;
  const v1::QuorumCert qc = MakeQc(signers, 5);
  ValidatorSet set(kChainId, 0, Keys(signers), &verifier);
  if (!set.VerifyQc(qc).ok()) state.SkipWithError("qc does not verify");
  for (auto _ : state) benchmark::DoNotOptimize(set.VerifyQc(qc).ok());
}
BENCHMARK(BM_QcVerify_Cached)->Arg(4)->Arg(100);

class NullApp final : public Application {
 public:
  std::vector<std::string> Payload(uint64_t, uint32_t, uint64_t) override { return {}; }
  absl::Status ValidateProposal(const v1::Block&) override { return absl::OkStatus(); }
  std::optional<crypto::Digest> ExecutedRootAt(uint64_t) override { return crypto::Digest{}; }
  ExecutedHead executed_head() const override { return {}; }
  std::vector<v1::CommittedBlock> CommittedRange(uint64_t, uint32_t, uint64_t) override {
    return {};
  }
};

ReplicaOptions Options(const std::vector<crypto::PublicKey>& keys, uint32_t me) {
  ReplicaOptions options;
  options.chain_id = kChainId;
  options.validators = keys;
  options.my_index = me;
  return options;
}

// Validator 2 (leader of round 2) handles the first vote for round 1: verify + collect.
void BM_Replica_HandleVote(benchmark::State& state) {
  const auto signers = MakeSigners(4);
  const auto keys = Keys(signers);
  crypto::Ed25519Verifier verifier;
  NullApp app;
  v1::Block b1;
  {
    Replica leader1(Options(keys, 1), {}, signers[1].get(), &verifier, &app, RecoveredChain{});
    auto actions = leader1.Handle(Start{});
    for (const Action& a : *actions) {
      if (const auto* b = std::get_if<Broadcast>(&a)) b1 = b->message.proposal().block();
    }
  }
  v1::Vote vote;
  vote.set_round(1);
  vote.set_height(1);
  vote.set_block_id(std::string(crypto::AsStringView(BlockId(b1))));
  vote.set_voter(0);
  vote.set_signature(std::string(crypto::AsStringView(
      signers[0]->Sign(crypto::kContextVote, kChainId, VoteMessage(0, 1, vote.block_id(), 1)))));
  MessageReceived received{0, {}};
  *received.message.mutable_vote() = vote;
  for (auto _ : state) {
    state.PauseTiming();
    auto replica = std::make_unique<Replica>(Options(keys, 2), v1::SafetyState(), signers[2].get(),
                                             &verifier, &app, RecoveredChain{});
    state.ResumeTiming();
    auto actions = replica->Handle(received);
    if (!actions.ok()) state.SkipWithError("vote rejected");
    state.PauseTiming();
    replica.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_Replica_HandleVote);

// Four validators, messages delivered directly in FIFO order: CPU time per committed block, all
// replicas together (Ed25519 signing and verification dominate).
void BM_Cluster4_CommitBlock(benchmark::State& state) {
  const auto signers = MakeSigners(4);
  const auto keys = Keys(signers);
  crypto::Ed25519Verifier verifier;
  NullApp app;
  std::vector<std::unique_ptr<Replica>> replicas;
  for (uint32_t i = 0; i < 4; ++i) {
    replicas.push_back(std::make_unique<Replica>(
        Options(keys, i), v1::SafetyState(), signers[i].get(), &verifier, &app, RecoveredChain{}));
  }
  struct Envelope {
    uint32_t from, to;
    v1::ConsensusMessage message;
  };
  std::deque<Envelope> queue;
  auto execute = [&](uint32_t from, std::vector<Action> actions) {
    for (Action& a : actions) {
      if (auto* s = std::get_if<SendTo>(&a)) queue.push_back({from, s->to, std::move(s->message)});
      if (auto* b = std::get_if<Broadcast>(&a)) {
        for (uint32_t to = 0; to < 4; ++to) {
          if (to != from) queue.push_back({from, to, b->message});
        }
      }
    }
  };
  for (uint32_t i = 0; i < 4; ++i) execute(i, *replicas[i]->Handle(Start{}));
  for (auto _ : state) {
    const uint64_t target = replicas[0]->committed_height() + 1;
    while (replicas[0]->committed_height() < target && !queue.empty()) {
      Envelope e = std::move(queue.front());
      queue.pop_front();
      auto actions = replicas[e.to]->Handle(MessageReceived{e.from, std::move(e.message)});
      if (actions.ok()) execute(e.to, *std::move(actions));
    }
    if (queue.empty()) state.SkipWithError("stalled");
  }
  state.counters["blocks/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Cluster4_CommitBlock);

}  // namespace
}  // namespace itmo::consensus

BENCHMARK_MAIN();
