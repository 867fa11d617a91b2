#include "tests/fuzz/consensus_world.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "consensus/limits.h"

namespace itmo::fuzz {
namespace {

crypto::Digest SecretOf(uint32_t index) {
  return crypto::Blake2b256(absl::StrCat("itmo-fuzz-validator-secret:", index));
}

crypto::Signature FakeSign(const crypto::Digest& secret, std::string_view context,
                           std::string_view chain_id, std::string_view message) {
  crypto::Hasher hasher;
  hasher.Update(crypto::AsStringView(secret));
  hasher.Update(crypto::SigningBytes(context, chain_id, message));
  const crypto::Digest first = hasher.Finish();
  const crypto::Digest second = crypto::Blake2b256(crypto::AsStringView(first));
  crypto::Signature signature{};
  std::copy(first.begin(), first.end(), signature.begin());
  std::copy(second.begin(), second.end(), signature.begin() + crypto::kDigestBytes);
  return signature;
}

constexpr size_t kQueueMessagesMax = 100'000;

struct Envelope {
  uint32_t from = 0;
  uint32_t to = 0;
  v1::ConsensusMessage message;
};

// kValidators replicas delivering messages directly in FIFO order; ticks everyone when idle.
class Cluster {
 public:
  Cluster() {
    for (uint32_t i = 0; i < kValidators; ++i) {
      nodes_.push_back(std::make_unique<ReplicaHarness>(i));
    }
  }

  void Start() {
    for (uint32_t i = 0; i < kValidators; ++i) Deliver(i, consensus::Start{now_ms_});
  }

  // Runs until `done` holds; aborts after kClusterStepsMax steps.
  void RunUntil(const std::function<bool()>& done) {
    for (uint64_t step = 0; !done(); ++step) {
      ITMO_CHECK(step < kClusterStepsMax);
      if (queue_.empty()) {
        now_ms_ += 10;
        for (uint32_t i = 0; i < kValidators; ++i) Deliver(i, consensus::Tick{now_ms_});
        continue;
      }
      Envelope envelope = std::move(queue_.front());
      queue_.pop_front();
      if (cut_off && (envelope.from == kUnderTest || envelope.to == kUnderTest)) {
        if (exchanged_while_cut_off.size() < kQueueMessagesMax) {
          exchanged_while_cut_off.push_back(envelope.message);
        }
        continue;
      }
      if (envelope.to == kUnderTest && record_received != nullptr) {
        record_received->push_back(envelope.message);
      }
      Deliver(envelope.to, consensus::MessageReceived{envelope.from, envelope.message});
    }
  }

  uint64_t committed(uint32_t i) const { return nodes_[i]->replica().committed_height(); }
  uint64_t OthersCommittedMin() const {
    uint64_t low = UINT64_MAX;
    for (uint32_t i = 0; i < kValidators; ++i) {
      if (i != kUnderTest) low = std::min(low, committed(i));
    }
    return low;
  }
  const consensus::Replica& replica(uint32_t i) const { return nodes_[i]->replica(); }
  FuzzApp& app(uint32_t i) { return nodes_[i]->app(); }

  bool cut_off = false;
  std::vector<consensus::Event>* record_events = nullptr;  // kUnderTest's events.
  std::vector<v1::ConsensusMessage>* record_received = nullptr;
  std::vector<v1::ConsensusMessage> exchanged_while_cut_off;

 private:
  void Deliver(uint32_t to, const consensus::Event& event) {
    absl::StatusOr<std::vector<consensus::Action>> actions = nodes_[to]->Handle(event);
    if (!actions.ok()) {
      // A rejected event changes nothing (Replica::Handle's contract), so the prefix leaves it out.
      return;
    }
    if (to == kUnderTest && record_events != nullptr) record_events->push_back(event);
    for (consensus::Action& action : *actions) {
      if (auto* send = std::get_if<consensus::SendTo>(&action)) {
        if (send->to < kValidators) Enqueue({to, send->to, std::move(send->message)});
      } else if (auto* broadcast = std::get_if<consensus::Broadcast>(&action)) {
        for (uint32_t peer = 0; peer < kValidators; ++peer) {
          if (peer != to) Enqueue({to, peer, broadcast->message});
        }
      }
    }
  }

  void Enqueue(Envelope envelope) {
    ITMO_CHECK(queue_.size() < kQueueMessagesMax);
    queue_.push_back(std::move(envelope));
  }

  std::vector<std::unique_ptr<ReplicaHarness>> nodes_;
  std::deque<Envelope> queue_;
  int64_t now_ms_ = 1'000;
};

void AddSeeds(const std::vector<v1::ConsensusMessage>& messages, size_t per_kind_max,
              std::set<std::string>* seen, std::vector<int>* per_kind,
              std::vector<v1::ConsensusMessage>* seeds) {
  for (const v1::ConsensusMessage& message : messages) {
    const int kind = static_cast<int>(message.kind_case());
    if (static_cast<size_t>((*per_kind)[kind]) >= per_kind_max) continue;
    if (!seen->insert(message.SerializeAsString()).second) continue;
    ++(*per_kind)[kind];
    seeds->push_back(message);
  }
}

}  // namespace

crypto::PublicKey ValidatorKey(uint32_t index) {
  return crypto::Blake2b256(absl::StrCat("itmo-fuzz-validator-public:", index));
}

FuzzSigner::FuzzSigner(uint32_t index)
    : secret_(SecretOf(index)), public_key_(ValidatorKey(index)) {
  ITMO_CHECK(index < kValidators);
}

crypto::Signature FuzzSigner::Sign(std::string_view context, std::string_view chain_id,
                                   std::string_view message) const {
  return FakeSign(secret_, context, chain_id, message);
}

bool FuzzVerifier::Verify(const crypto::PublicKey& public_key, std::string_view context,
                          std::string_view chain_id, std::string_view message,
                          const crypto::Signature& signature) const {
  for (uint32_t i = 0; i < kValidators; ++i) {
    if (ValidatorKey(i) != public_key) continue;
    if (i == kByzantine) return true;
    return FakeSign(SecretOf(i), context, chain_id, message) == signature;
  }
  return false;
}

std::vector<std::string> FuzzApp::Payload(uint64_t height, uint32_t txs_max, uint64_t bytes_max) {
  std::vector<std::string> txs;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < 2 && i < txs_max; ++i) {
    std::string tx = absl::StrCat("fuzz-tx-", height, "-", i);
    if (bytes + tx.size() > bytes_max) break;
    bytes += tx.size();
    txs.push_back(std::move(tx));
  }
  return txs;
}

absl::Status FuzzApp::ValidateProposal(const v1::Block& block) {
  (void)block;
  return absl::OkStatus();
}

std::optional<crypto::Digest> FuzzApp::ExecutedRootAt(uint64_t height) {
  if (height > committed_.size()) return std::nullopt;
  return crypto::Digest{};  // executed_head()'s root at every height.
}

consensus::ExecutedHead FuzzApp::executed_head() const {
  consensus::ExecutedHead head;
  head.height = committed_.size();
  return head;
}

std::vector<v1::CommittedBlock> FuzzApp::CommittedRange(uint64_t from_height, uint32_t count_max,
                                                        uint64_t bytes_max) {
  std::vector<v1::CommittedBlock> out;
  uint64_t bytes = 0;
  for (uint64_t h = std::max<uint64_t>(from_height, 1);
       h <= committed_.size() && out.size() < count_max; ++h) {
    bytes += committed_[h - 1].ByteSizeLong();
    if (!out.empty() && bytes > bytes_max) break;
    out.push_back(committed_[h - 1]);
  }
  return out;
}

void FuzzApp::OnCommit(const v1::CommittedBlock& committed) {
  ITMO_CHECK(committed.block().header().height() == committed_.size() + 1);
  ITMO_CHECK(committed_.size() < kCommittedBlocksMax);
  committed_.push_back(committed);
}

consensus::ReplicaOptions WorldOptions(uint32_t index) {
  consensus::ReplicaOptions options;
  options.chain_id = kConsensusChainId;
  options.epoch = 0;
  for (uint32_t i = 0; i < kValidators; ++i) options.validators.push_back(ValidatorKey(i));
  options.my_index = index;
  options.round_timeout_ticks_base = 4;
  options.round_timeout_ticks_max = 32;
  return options;
}

ReplicaHarness::ReplicaHarness(uint32_t index) : index_(index), signer_(index) {
  replica_ = std::make_unique<consensus::Replica>(WorldOptions(index), v1::SafetyState(), &signer_,
                                                  &verifier_, &app_, consensus::RecoveredChain{});
}

void ReplicaHarness::CheckSend(const v1::ConsensusMessage& message) const {
  if (message.has_vote()) {
    ITMO_CHECK(message.vote().voter() == index_);
    ITMO_CHECK(persisted_.last_vote().round() == message.vote().round());
    ITMO_CHECK(persisted_.last_vote().block_id() == message.vote().block_id());
  }
  if (message.has_timeout()) {
    ITMO_CHECK(message.timeout().signer() == index_);
    ITMO_CHECK(persisted_.last_timeout().round() == message.timeout().round());
  }
}

absl::StatusOr<std::vector<consensus::Action>> ReplicaHarness::Handle(
    const consensus::Event& event) {
  const uint64_t executed_before = app_.committed_height();
  absl::StatusOr<std::vector<consensus::Action>> actions = replica_->Handle(event);
  if (!actions.ok()) return actions;
  CheckAndExecute(*actions);
  // Like the node's driver: commits execute in their action, then the replica hears of them (an
  // Executed event yields no commits of its own).
  if (app_.committed_height() > executed_before) {
    absl::StatusOr<std::vector<consensus::Action>> more =
        replica_->Handle(consensus::Executed{app_.committed_height()});
    ITMO_CHECK(more.ok());
    CheckAndExecute(*more);
    for (consensus::Action& action : *more) actions->push_back(std::move(action));
  }
  return actions;
}

void ReplicaHarness::CheckAndExecute(const std::vector<consensus::Action>& actions) {
  ITMO_CHECK(actions.size() <= consensus::kActionsMax);
  for (const consensus::Action& action : actions) {
    if (const auto* persist = std::get_if<consensus::PersistSafetyState>(&action)) {
      ITMO_CHECK(persist->state.epoch() == persisted_.epoch());
      ITMO_CHECK(persist->state.last_voted_round() >= persisted_.last_voted_round());
      ITMO_CHECK(persist->state.highest_timeout_round() >= persisted_.highest_timeout_round());
      ITMO_CHECK(persist->state.one_chain_round() >= persisted_.one_chain_round());
      persisted_ = persist->state;
    } else if (const auto* send = std::get_if<consensus::SendTo>(&action)) {
      ITMO_CHECK(send->to != index_);
      CheckSend(send->message);
    } else if (const auto* broadcast = std::get_if<consensus::Broadcast>(&action)) {
      CheckSend(broadcast->message);
    } else if (std::holds_alternative<consensus::KeepBlock>(action)) {
      continue;  // The harness keeps no pending-block store.
    } else {
      const auto& commit = std::get<consensus::Commit>(action);
      app_.OnCommit(commit.committed);  // Checks that commits are gap-free.
    }
  }
  ITMO_CHECK(replica_->committed_height() == app_.committed_height());
}

ConsensusWorld BuildConsensusWorld() {
  ConsensusWorld world;
  Cluster cluster;
  std::vector<v1::ConsensusMessage> received_after_heal;
  cluster.record_events = &world.prefix;
  cluster.Start();
  // Everyone connected: a few committed blocks.
  cluster.RunUntil(
      [&] { return cluster.committed(kUnderTest) >= 3 && cluster.OthersCommittedMin() >= 3; });
  // kUnderTest cut off: the others commit far ahead (more than kSyncLagBlocksMin), timing out
  // kUnderTest's leader rounds into TCs.
  cluster.cut_off = true;
  const uint64_t lag = consensus::kSyncLagBlocksMin + 4;
  cluster.RunUntil(
      [&] { return cluster.OthersCommittedMin() >= cluster.committed(kUnderTest) + lag; });
  world.prefix_round = cluster.replica(kUnderTest).round();
  world.prefix_committed_height = cluster.committed(kUnderTest);
  world.others_committed_height = cluster.OthersCommittedMin();
  // Healed: kUnderTest catches up; what it receives now is the seed corpus.
  cluster.cut_off = false;
  cluster.record_events = nullptr;
  cluster.record_received = &received_after_heal;
  const uint64_t target = world.others_committed_height + 2;
  cluster.RunUntil([&] { return cluster.committed(kUnderTest) >= target; });

  std::set<std::string> seen;
  std::vector<int> per_kind(16, 0);
  AddSeeds(received_after_heal, 6, &seen, &per_kind, &world.seeds);
  AddSeeds(cluster.exchanged_while_cut_off, 8, &seen, &per_kind, &world.seeds);
  // Requests a peer could send kUnderTest.
  v1::ConsensusMessage request;
  request.mutable_sync_request()->set_from_height(1);
  request.mutable_sync_request()->set_count(consensus::kSyncBlocksMax);
  world.seeds.push_back(request);
  request.Clear();
  request.mutable_block_request()->set_block_id(
      std::string(crypto::AsStringView(cluster.replica(kUnderTest).committed_id())));
  request.mutable_block_request()->set_count(4);
  world.seeds.push_back(request);
  return world;
}

uint32_t SenderOf(const v1::ConsensusMessage& message, size_t salt) {
  uint32_t claimed = consensus::kFromNonValidator;
  if (message.has_vote()) claimed = message.vote().voter();
  if (message.has_timeout()) claimed = message.timeout().signer();
  if (message.has_proposal()) claimed = message.proposal().block().header().proposer();
  if (claimed < kValidators && salt % 8 != 0) return claimed;
  static constexpr uint32_t kOthers[] = {1, 2, kByzantine, consensus::kValidatorsMax + 1,
                                         consensus::kFromNonValidator};
  return kOthers[salt % (sizeof(kOthers) / sizeof(kOthers[0]))];
}

std::unique_ptr<ReplicaHarness> ReplayPrefix(const ConsensusWorld& world) {
  auto harness = std::make_unique<ReplicaHarness>(kUnderTest);
  for (const consensus::Event& event : world.prefix) {
    absl::StatusOr<std::vector<consensus::Action>> actions = harness->Handle(event);
    ITMO_CHECK(actions.ok());
  }
  // Determinism: the replay reaches exactly the recorded state.
  ITMO_CHECK(harness->replica().round() == world.prefix_round);
  ITMO_CHECK(harness->replica().committed_height() == world.prefix_committed_height);
  return harness;
}

}  // namespace itmo::fuzz
