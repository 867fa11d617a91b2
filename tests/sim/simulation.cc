#include "tests/sim/simulation.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/check.h"
#include "consensus/canonical.h"
#include "consensus/limits.h"
#include "consensus/quorum.h"
#include "consensus/replica.h"
#include "crypto/keys.h"
#include "tests/sim/adversary.h"
#include "tests/sim/byzantine.h"
#include "tests/sim/checkers.h"
#include "tests/sim/fake_crypto.h"
#include "tests/sim/oracle.h"
#include "tests/sim/pending_store.h"
#include "tests/sim/sim_app.h"

namespace itmo::sim {
namespace {

using consensus::kFromNonValidator;

constexpr char kChainId[] = "itmo-sim";
constexpr uint64_t kEpoch = 0;
constexpr uint64_t kStepsMax = 50'000'000;
// The replicas' timestamp bound: the production default (well above the drawn skew and drift).
constexpr uint64_t kTimestampAheadMs = consensus::kTimestampAheadMsDefault;
// Executed events handed to a replica after one event's commits (node/driver.cc does the same).
constexpr uint32_t kExecutedPassesMax = 4;
// Liveness: after stabilization every honest replica must commit this many more blocks...
constexpr uint64_t kLivenessBlocks = 3;
// ...within this many rounds (from the highest honest round at stabilization).
constexpr uint64_t kLivenessRoundsMax = 40;
// Rounds at the largest timeout the liveness deadline allows for (backoff left from the faults).
constexpr uint64_t kLivenessBackoffRounds = 6;
constexpr uint64_t kSpamPerMille = 100;  // Per tick.

enum class Role : uint8_t { kHonest, kTwin, kCorrupter, kSpammer };
enum class FaultKind : uint8_t {
  kSplit,
  kAsymmetric,
  kIsolateLeader,
  kHeal,
  kCrash,
  kRestart,
  kCrashAll,
  kRestartAll,
  kStabilize
};

struct FaultEvent {
  FaultKind kind = FaultKind::kHeal;
  uint32_t endpoint = 0;
};

uint64_t Derive(uint64_t seed, uint64_t stream) {
  uint64_t state = seed ^ (stream * 0xD1B54A32D192ED03ULL);
  return SplitMix64(state);
}

uint64_t MessageRound(const v1::ConsensusMessage& m) {
  if (m.has_proposal()) return m.proposal().block().header().round();
  if (m.has_vote()) return m.vote().round();
  if (m.has_timeout()) return m.timeout().round();
  if (m.has_tc()) return m.tc().round();
  if (m.has_sync_info()) return m.sync_info().high_qc().round();
  return 0;
}

const char* EventKind(const consensus::Event& event) {
  if (std::holds_alternative<consensus::Start>(event)) return "start";
  if (std::holds_alternative<consensus::Tick>(event)) return "tick";
  if (std::holds_alternative<consensus::Executed>(event)) return "executed";
  return "message";
}

const char* MessageKind(const v1::ConsensusMessage& m) {
  switch (m.kind_case()) {
    case v1::ConsensusMessage::kProposal:
      return "proposal";
    case v1::ConsensusMessage::kVote:
      return "vote";
    case v1::ConsensusMessage::kTimeout:
      return "timeout";
    case v1::ConsensusMessage::kTc:
      return "tc";
    case v1::ConsensusMessage::kSyncInfo:
      return "sync_info";
    case v1::ConsensusMessage::kBlockRequest:
      return "block_request";
    case v1::ConsensusMessage::kBlockResponse:
      return "block_response";
    case v1::ConsensusMessage::kSyncRequest:
      return "sync_request";
    case v1::ConsensusMessage::kSyncResponse:
      return "sync_response";
    default:
      return "empty";
  }
}

// Extra trace detail for the messages whose round says little.
std::string MessageDetail(const v1::ConsensusMessage& m) {
  if (m.has_block_request()) return absl::StrCat(" count=", m.block_request().count());
  if (m.has_block_response()) {
    const auto& blocks = m.block_response().blocks();
    if (blocks.empty()) return absl::StrCat(" status=", m.block_response().status(), " blocks=0");
    return absl::StrCat(" blocks=", blocks.size(), " heights=", blocks[0].header().height(), "..",
                        blocks[blocks.size() - 1].header().height());
  }
  if (m.has_sync_request()) {
    return absl::StrCat(" from=", m.sync_request().from_height(),
                        " count=", m.sync_request().count());
  }
  if (m.has_sync_response()) return absl::StrCat(" blocks=", m.sync_response().blocks_size());
  if (m.has_proposal()) return absl::StrCat(" h=", m.proposal().block().header().height());
  return "";
}

// Messages in flight are shared: a broadcast to n peers holds one copy, not n.
using SharedMessage = std::shared_ptr<const v1::ConsensusMessage>;

struct Endpoint {
  uint32_t validator = kFromNonValidator;
  Role role = Role::kHonest;
  std::unique_ptr<SimApplication> app;
  v1::SafetyState durable;
  PendingBlockStore pending;                    // Survives a crash, like `durable` and `app`.
  std::unique_ptr<consensus::Replica> replica;  // Null while crashed.
  std::unique_ptr<Corrupter> corrupter;
  uint64_t silent_round = 0;               // A Corrupter's round in which nothing leaves it.
  absl::btree_set<std::string> requested;  // Block ids its replica ever asked for (the oracle).
};

class Simulation final {
 public:
  Simulation(const SimOptions& options, const FaultPlan& plan);
  SimResult Run();

 private:
  void SetupKeys();
  void SetupEndpoints();
  void ScheduleFaults();
  consensus::ReplicaOptions OptionsFor(uint32_t endpoint) const;
  void StartReplica(uint32_t endpoint);
  // Returns whether the replica accepted the event (Handle returned OK).
  bool Step(uint32_t endpoint, const consensus::Event& event);
  // Like the node's driver (node/driver.cc ExecuteAll): after actions whose commits executed
  // blocks beyond `executed_before`, hands the replica an Executed event and executes what it
  // returns. Returns false when the replica rejected it (the seed fails).
  bool ReportExecuted(uint32_t endpoint, uint64_t executed_before);
  void Judge(uint32_t endpoint, const v1::ConsensusMessage& message, uint32_t from);
  void CheckNewBlocks(uint32_t endpoint, const std::vector<crypto::Digest>& ids,
                      const std::vector<bool>& before);
  void InjectJunk();
  int64_t ClockOf(uint32_t endpoint) const;
  uint64_t TimestampBoundMs() const;
  uint32_t EndpointOf(uint32_t validator) const;
  uint32_t OutsiderEndpoint() const;
  void Execute(uint32_t endpoint, const std::vector<consensus::Action>& actions);
  void Route(uint32_t endpoint, uint32_t to_validator, const SharedMessage& message);
  void NoteSent(const v1::ConsensusMessage& message);
  void Deliver(SimNetwork<SharedMessage>::Envelope envelope);
  void TickAll();
  void Crash(uint32_t endpoint);
  void ApplyFault(const FaultEvent& event);
  void Stabilize();
  bool LivenessReached();
  // The longest run of consecutive rounds whose round-robin leader is byzantine.
  uint64_t ByzantineLeaderRunMax() const;
  uint64_t HonestRoundMax() const;
  void Fail(const std::string& reason);
  void Mix(uint64_t value);
  void Trace(const std::string& line);
  std::string ActionSummary(const std::vector<consensus::Action>& actions) const;
  uint64_t NextEventMs() const;

  const SimOptions options_;
  const FaultPlan plan_;
  Prng net_prng_;
  Prng fault_prng_;
  Prng byzantine_prng_;
  std::vector<std::unique_ptr<crypto::Signer>> signers_;  // Per validator.
  std::unique_ptr<crypto::Verifier> verifier_;
  std::vector<crypto::PublicKey> keys_;
  std::vector<Endpoint> endpoints_;
  std::unique_ptr<SafetyChecker> checker_;
  std::unique_ptr<SimNetwork<SharedMessage>> network_;
  std::unique_ptr<Spammer> spammer_;
  Prng junk_prng_;
  std::unique_ptr<IndependentVerifier> oracle_verifier_;
  std::unique_ptr<AcceptanceOracle> oracle_;
  std::unique_ptr<Adversary> adversary_;
  absl::btree_multimap<uint64_t, FaultEvent> schedule_;
  v1::QuorumCert last_qc_seen_;

  uint64_t now_ms_ = 0;
  uint64_t next_tick_ms_ = 0;
  bool faults_active_ = true;
  bool stabilized_ = false;
  uint64_t stabilize_round_ = 0;
  uint64_t bad_leader_run_ = 0;  // Longest run of byzantine leaders (round-robin), at Stabilize.
  uint64_t target_height_ = 0;
  uint64_t liveness_deadline_ms_ = 0;
  uint64_t digest_ = 0;
  uint64_t max_round_ = 0;
  std::optional<std::string> failure_;
  SimResult result_;
};

Simulation::Simulation(const SimOptions& options, const FaultPlan& plan)
    : options_(options),
      plan_(plan),
      net_prng_(Derive(options.seed, 2)),
      fault_prng_(Derive(options.seed, 3)),
      byzantine_prng_(Derive(options.seed, 4)),
      junk_prng_(Derive(options.seed, 6)),
      digest_(Derive(options.seed, 5)) {
  ITMO_CHECK(plan_.validators >= 1 && plan_.validators <= consensus::kValidatorsMax);
  ITMO_CHECK(plan_.tick_ms >= 1);
  SetupKeys();
  SetupEndpoints();
  ScheduleFaults();
}

void Simulation::SetupKeys() {
  auto fake = std::make_unique<FakeVerifier>();
  for (uint32_t i = 0; i < plan_.validators; ++i) {
    const crypto::Digest secret = FakeSecret(i);
    if (options_.real_crypto) {
      auto key = crypto::KeyPair::FromSeed(crypto::AsStringView(secret));
      ITMO_CHECK(key.ok());
      signers_.push_back(std::make_unique<crypto::Ed25519Signer>(*std::move(key)));
    } else {
      fake->AddKey(secret);
      signers_.push_back(std::make_unique<FakeSigner>(secret));
    }
    keys_.push_back(signers_.back()->public_key());
  }
  if (options_.real_crypto) {
    verifier_ = std::make_unique<crypto::Ed25519Verifier>();
  } else {
    verifier_ = std::move(fake);
  }
  ITMO_CHECK(keys_.size() == plan_.validators);
}

void Simulation::SetupEndpoints() {
  std::vector<bool> honest(plan_.validators, true);
  for (uint32_t i = 0; i < plan_.validators; ++i) {
    Endpoint endpoint;
    endpoint.validator = i;
    endpoints_.push_back(std::move(endpoint));
  }
  if (plan_.twins) {
    Endpoint twin;
    twin.validator = plan_.twin_validator;
    twin.role = Role::kTwin;
    endpoints_[plan_.twin_validator].role = Role::kTwin;
    honest[plan_.twin_validator] = false;
    endpoints_.push_back(std::move(twin));
  }
  for (uint32_t v : plan_.corrupters) {
    endpoints_[v].role = Role::kCorrupter;
    honest[v] = false;
    CorrupterOptions corrupt;
    corrupt.chain_id = kChainId;
    corrupt.epoch = kEpoch;
    corrupt.validators = plan_.validators;
    corrupt.signer = signers_[v].get();
    corrupt.forge_executed = plan_.forge_executed;
    corrupt.future_timestamps = plan_.future_timestamps;
    endpoints_[v].corrupter = std::make_unique<Corrupter>(corrupt, &byzantine_prng_);
  }
  if (plan_.spammer || plan_.junk) {  // One non-validator peer for both.
    Endpoint spammer;
    spammer.role = Role::kSpammer;
    endpoints_.push_back(std::move(spammer));
  }
  if (plan_.spammer) {
    spammer_ = std::make_unique<Spammer>(kChainId, kEpoch, plan_.validators, &byzantine_prng_);
  }
  if (plan_.junk) {
    AdversaryOptions adversary;
    adversary.chain_id = kChainId;
    adversary.epoch = kEpoch;
    adversary.validators = plan_.validators;
    adversary.forge_executed = plan_.forge_executed;
    adversary.future_timestamps = plan_.future_timestamps;
    for (uint32_t v : plan_.corrupters) adversary.keys.emplace_back(v, signers_[v].get());
    if (plan_.twins) {
      adversary.keys.emplace_back(plan_.twin_validator, signers_[plan_.twin_validator].get());
    }
    adversary_ = std::make_unique<Adversary>(std::move(adversary), &junk_prng_);
  }
  if (options_.acceptance_oracle) {
    oracle_verifier_ =
        std::make_unique<IndependentVerifier>(kChainId, kEpoch, keys_, verifier_.get());
    oracle_ = std::make_unique<AcceptanceOracle>(oracle_verifier_.get());
  }
  std::vector<uint32_t> endpoint_validator;
  for (uint32_t e = 0; e < endpoints_.size(); ++e) {
    endpoints_[e].app = std::make_unique<SimApplication>(Derive(options_.seed, 100 + e));
    endpoint_validator.push_back(endpoints_[e].validator);
  }
  checker_ = std::make_unique<SafetyChecker>(kChainId, kEpoch, keys_, verifier_.get(),
                                             std::move(endpoint_validator), std::move(honest));
  checker_->set_check_voting_rules(options_.check_voting_rules);
  checker_->set_check_double_proposals(options_.check_double_proposals);
  network_ = std::make_unique<SimNetwork<SharedMessage>>(static_cast<uint32_t>(endpoints_.size()),
                                                         &net_prng_);
  network_->set_faults(plan_.network);
}

void Simulation::ScheduleFaults() {
  const uint64_t end = plan_.fault_ms;
  if (plan_.partitions) {
    const uint64_t every = plan_.partition_every_ms;
    for (uint64_t t = every; t < end; t += fault_prng_.Range(every / 2, every * 3 / 2)) {
      const uint64_t kind = fault_prng_.Below(3);
      schedule_.emplace(t, FaultEvent{kind == 0   ? FaultKind::kSplit
                                      : kind == 1 ? FaultKind::kAsymmetric
                                                  : FaultKind::kIsolateLeader,
                                      0});
      schedule_.emplace(std::min(end, t + fault_prng_.Range(every / 4, every)),
                        FaultEvent{FaultKind::kHeal, 0});
    }
  }
  if (plan_.crashes) {
    const uint64_t every = plan_.crash_every_ms;
    for (uint64_t t = every; t < end; t += fault_prng_.Range(every / 2, every * 3 / 2)) {
      const uint32_t victim = static_cast<uint32_t>(fault_prng_.Below(plan_.validators));
      schedule_.emplace(t, FaultEvent{FaultKind::kCrash, victim});
      schedule_.emplace(t + fault_prng_.Range(50, 3 * every),
                        FaultEvent{FaultKind::kRestart, victim});
    }
  }
  if (plan_.network_restart) {
    schedule_.emplace(plan_.network_restart_ms, FaultEvent{FaultKind::kCrashAll, 0});
    schedule_.emplace(plan_.network_restart_ms + plan_.restart_gap_ms,
                      FaultEvent{FaultKind::kRestartAll, 0});
  }
  schedule_.emplace(end, FaultEvent{FaultKind::kStabilize, 0});
}

// How far ahead of the virtual clock a committed block's timestamp may be: an honest voter's
// bound (ReplicaOptions::timestamp_ahead_ms_max) beyond its own clock, which is at most the
// largest clock skew and drift ahead.
uint64_t Simulation::TimestampBoundMs() const {
  int64_t ahead = 0;
  for (uint32_t v = 0; v < plan_.clock_skew_ms.size(); ++v) {
    const int64_t drift =
        v < plan_.clock_drift_per_mille.size()
            ? static_cast<int64_t>(now_ms_) * plan_.clock_drift_per_mille[v] / 1000
            : 0;
    ahead = std::max(ahead, plan_.clock_skew_ms[v] + drift);
  }
  return kTimestampAheadMs + static_cast<uint64_t>(ahead);
}

int64_t Simulation::ClockOf(uint32_t e) const {
  const uint32_t v = endpoints_[e].validator;
  int64_t now = static_cast<int64_t>(now_ms_);
  if (v < plan_.clock_skew_ms.size()) now += plan_.clock_skew_ms[v];
  if (v < plan_.clock_drift_per_mille.size()) {
    now += static_cast<int64_t>(now_ms_) * plan_.clock_drift_per_mille[v] / 1000;
  }
  return std::max<int64_t>(0, now);
}

uint32_t Simulation::EndpointOf(uint32_t validator) const {
  ITMO_CHECK(validator < plan_.validators);
  return validator;  // Endpoint v is validator v; a twin's second instance comes after them.
}

uint32_t Simulation::OutsiderEndpoint() const {
  ITMO_CHECK(endpoints_.back().role == Role::kSpammer);
  return static_cast<uint32_t>(endpoints_.size() - 1);
}

consensus::ReplicaOptions Simulation::OptionsFor(uint32_t endpoint) const {
  consensus::ReplicaOptions options;
  options.chain_id = kChainId;
  options.epoch = kEpoch;
  options.validators = keys_;
  options.my_index = endpoints_[endpoint].validator;
  options.round_timeout_ticks_base = plan_.timeout_ticks_base;
  options.round_timeout_ticks_max = plan_.timeout_ticks_max;
  options.timestamp_ahead_ms_max = kTimestampAheadMs;
  options.mutation = options_.mutation;
  return options;
}

void Simulation::StartReplica(uint32_t e) {
  Endpoint& endpoint = endpoints_[e];
  ITMO_CHECK(endpoint.replica == nullptr);
  ITMO_CHECK(endpoint.role != Role::kSpammer);
  const consensus::ReplicaOptions options = OptionsFor(e);
  const absl::Status valid = consensus::Replica::ValidateOptions(options);
  ITMO_CHECK(valid.ok());
  consensus::RecoveredChain chain;
  if (endpoint.app->head() != nullptr) chain.head = *endpoint.app->head();
  if (options_.pending_block_store) {
    chain.pending_blocks = endpoint.pending.Load(endpoint.app->height());
  }
  Mix(chain.pending_blocks.size());
  std::vector<crypto::Digest> ids;
  std::vector<bool> before;
  if (oracle_ != nullptr) {
    for (const v1::Block& block : chain.pending_blocks) {
      ids.push_back(oracle_verifier_->BlockIdOf(block));
      before.push_back(false);
    }
  }
  endpoint.replica = std::make_unique<consensus::Replica>(
      options, endpoint.durable, signers_[endpoint.validator].get(), verifier_.get(),
      endpoint.app.get(), std::move(chain));
  Step(e, consensus::Start{ClockOf(e)});
  if (endpoint.replica != nullptr) CheckNewBlocks(e, ids, before);
}

void Simulation::CheckNewBlocks(uint32_t e, const std::vector<crypto::Digest>& ids,
                                const std::vector<bool>& before) {
  ITMO_CHECK(ids.size() == before.size());
  const consensus::Replica* replica = endpoints_[e].replica.get();
  if (oracle_ == nullptr || replica == nullptr) return;
  for (size_t i = 0; i < ids.size() && !checker_->failed(); ++i) {
    if (before[i] || !replica->block_tree().Contains(ids[i])) continue;
    if (absl::Status s = oracle_->CheckInserted(ids[i], *replica); !s.ok()) {
      checker_->Report(e, absl::StrCat("acceptance: ", s.message()));
    }
  }
}

void Simulation::Fail(const std::string& reason) {
  if (!failure_.has_value()) failure_ = absl::StrCat("t=", now_ms_, "ms: ", reason);
}

void Simulation::Mix(uint64_t value) {
  uint64_t state = digest_ ^ value;
  digest_ = SplitMix64(state);
}

void Simulation::Trace(const std::string& line) {
  if (options_.trace != nullptr) *options_.trace << "t=" << now_ms_ << " " << line << "\n";
}

std::string Simulation::ActionSummary(const std::vector<consensus::Action>& actions) const {
  std::vector<std::string> parts;
  for (const consensus::Action& action : actions) {
    if (const auto* persist = std::get_if<consensus::PersistSafetyState>(&action)) {
      parts.push_back(absl::StrCat("persist(lvr=", persist->state.last_voted_round(),
                                   ",htr=", persist->state.highest_timeout_round(), ")"));
    } else if (const auto* send = std::get_if<consensus::SendTo>(&action)) {
      parts.push_back(absl::StrCat("send(", MessageKind(send->message),
                                   " r=", MessageRound(send->message), " ->", send->to, ")"));
    } else if (const auto* broadcast = std::get_if<consensus::Broadcast>(&action)) {
      parts.push_back(absl::StrCat("bcast(", MessageKind(broadcast->message),
                                   " r=", MessageRound(broadcast->message), ")"));
    } else if (const auto* commit = std::get_if<consensus::Commit>(&action)) {
      const crypto::Digest id = consensus::BlockId(commit->block());
      parts.push_back(absl::StrCat("commit(h=", commit->height(), " id=",
                                   crypto::ToHex(std::span<const uint8_t>(id.data(), 4)), ")"));
    }
  }
  return absl::StrJoin(parts, " ");
}

bool Simulation::Step(uint32_t e, const consensus::Event& event) {
  Endpoint& endpoint = endpoints_[e];
  ITMO_CHECK(endpoint.replica != nullptr);
  ITMO_CHECK(result_.steps < kStepsMax);
  ++result_.steps;
  checker_->set_now_ms(now_ms_);
  checker_->set_timestamp_bound_ms(TimestampBoundMs());
  const auto* received = std::get_if<consensus::MessageReceived>(&event);
  if (options_.trace != nullptr) {
    // Written before Handle() so that a CHECK failure inside it still shows the event.
    *options_.trace << "t=" << now_ms_ << " e=" << e << " "
                    << (received != nullptr ? absl::StrCat(MessageKind(received->message),
                                                           " r=", MessageRound(received->message),
                                                           MessageDetail(received->message),
                                                           " from ", received->from)
                                            : std::string(EventKind(event)))
                    << " -> " << std::flush;
  }
  absl::StatusOr<std::vector<consensus::Action>> actions = endpoint.replica->Handle(event);
  Mix(now_ms_);
  Mix(e);
  Mix(event.index());
  if (received != nullptr) {
    Mix(static_cast<uint64_t>(received->message.kind_case()));
    Mix(MessageRound(received->message));
  }
  if (options_.trace != nullptr) {
    *options_.trace << (actions.ok() ? ActionSummary(*actions)
                                     : absl::StrCat("rejected: ", actions.status().message()))
                    << "\n";
  }
  if (!actions.ok()) {
    if (received == nullptr) {
      Fail(absl::StrCat("endpoint ", e, ": Handle(", EventKind(event),
                        ") failed: ", actions.status().ToString()));
      return false;
    }
    ++result_.rejected;
    Mix(static_cast<uint64_t>(actions.status().code()));
    return false;
  }
  Mix(actions->size());
  const uint64_t executed_before = endpoint.app->height();
  Execute(e, *actions);
  if (!ReportExecuted(e, executed_before)) return false;
  if (endpoint.replica != nullptr && !checker_->failed()) {
    checker_->AfterStep(e, endpoint.replica->committed_height());
    if (checker_->HonestEndpoint(e)) max_round_ = std::max(max_round_, endpoint.replica->round());
  }
  return true;
}

bool Simulation::ReportExecuted(uint32_t e, uint64_t executed_before) {
  Endpoint& endpoint = endpoints_[e];
  // An Executed event yields no commits (nothing new is certified by it): one pass is the norm.
  for (uint32_t pass = 0; pass < kExecutedPassesMax; ++pass) {
    if (endpoint.replica == nullptr || checker_->failed() || failure_.has_value()) return true;
    const uint64_t executed = endpoint.app->height();
    ITMO_CHECK(executed >= executed_before);
    if (executed == executed_before) return true;
    executed_before = executed;
    if (options_.trace != nullptr) {
      *options_.trace << "t=" << now_ms_ << " e=" << e << " executed h=" << executed << " -> ";
    }
    absl::StatusOr<std::vector<consensus::Action>> actions =
        endpoint.replica->Handle(consensus::Executed{executed});
    if (options_.trace != nullptr) {
      *options_.trace << (actions.ok() ? ActionSummary(*actions)
                                       : absl::StrCat("rejected: ", actions.status().message()))
                      << "\n";
    }
    if (!actions.ok()) {
      Fail(
          absl::StrCat("endpoint ", e, ": Handle(executed) failed: ", actions.status().ToString()));
      return false;
    }
    Mix(executed);
    Mix(actions->size());
    Execute(e, *actions);
  }
  return true;
}

void Simulation::Execute(uint32_t e, const std::vector<consensus::Action>& actions) {
  Endpoint& endpoint = endpoints_[e];
  for (const consensus::Action& action : actions) {
    if (checker_->failed() || failure_.has_value()) return;
    Mix(action.index());
    if (const auto* persist = std::get_if<consensus::PersistSafetyState>(&action)) {
      // The simulator may crash the node during the fsync (the write is lost) or right after it
      // (the write is durable, the sends that follow never happen).
      const bool crash = faults_active_ && endpoint.role == Role::kHonest &&
                         plan_.crash_at_persist_per_mille > 0 &&
                         fault_prng_.PerMille(plan_.crash_at_persist_per_mille);
      const bool lose_write = crash && fault_prng_.Percent(50);
      if (!lose_write) {
        endpoint.pending.Sync();  // The WAL fsync covers the earlier pending-block writes.
        endpoint.durable = persist->state;
        checker_->OnPersisted(e, endpoint.durable);
      }
      if (crash) {
        Trace(absl::StrCat("e=", e, lose_write ? " crashes during" : " crashes after",
                           " persist(lvr=", persist->state.last_voted_round(), ")"));
        Crash(e);
        schedule_.emplace(now_ms_ + fault_prng_.Range(20, 2'000),
                          FaultEvent{FaultKind::kRestart, e});
        return;
      }
    } else if (const auto* send = std::get_if<consensus::SendTo>(&action)) {
      Judge(e, send->message, endpoint.validator);
      if (send->message.has_block_request() &&
          endpoint.requested.size() < SafetyChecker::kBlocksSeenMax) {
        endpoint.requested.insert(send->message.block_request().block_id());
      }
      checker_->OnSend(e, send->message, endpoint.durable);
      NoteSent(send->message);
      Route(e, send->to, std::make_shared<const v1::ConsensusMessage>(send->message));
    } else if (const auto* broadcast = std::get_if<consensus::Broadcast>(&action)) {
      Judge(e, broadcast->message, endpoint.validator);
      checker_->OnSend(e, broadcast->message, endpoint.durable);
      NoteSent(broadcast->message);
      const auto shared = std::make_shared<const v1::ConsensusMessage>(broadcast->message);
      // To every other endpoint: a twin's broadcast also reaches its other instance, which then
      // sees a message "from itself" (two machines loaded with one key file).
      for (uint32_t v = 0; v < plan_.validators; ++v) Route(e, v, shared);
    } else if (const auto* keep = std::get_if<consensus::KeepBlock>(&action)) {
      // The node stores only blocks its replica verified (issue 7, defect 4).
      endpoint.pending.Record(keep->block, endpoint.app->height());
    } else if (const auto* commit = std::get_if<consensus::Commit>(&action)) {
      checker_->OnCommit(e, commit->committed);
      if (checker_->failed()) return;
      if (adversary_ != nullptr && checker_->HonestEndpoint(e)) {
        adversary_->ObserveCommit(commit->committed);
      }
      endpoint.app->Apply(commit->committed);
      endpoint.pending.Prune(endpoint.app->height());
      Mix(commit->height());
      Mix(endpoint.app->state_root()[0]);
    }
  }
}

// What a replica emits: re-verified by the oracle, and seen by the adversary.
void Simulation::Judge(uint32_t e, const v1::ConsensusMessage& message, uint32_t from) {
  if (adversary_ != nullptr) adversary_->Observe(from, message);
  if (oracle_ == nullptr || endpoints_[e].replica == nullptr) return;
  if (absl::Status s = oracle_->CheckEmitted(from, message, *endpoints_[e].replica); !s.ok()) {
    checker_->Report(e,
                     absl::StrCat("emitted an invalid ", MessageKind(message), ": ", s.message()));
  }
}

void Simulation::NoteSent(const v1::ConsensusMessage& message) {
  if (message.has_proposal()) {
    checker_->OnBlockSeen(message.proposal().block());
    last_qc_seen_ = message.proposal().block().qc();
  }
  if (message.has_block_response()) {
    for (const v1::Block& block : message.block_response().blocks()) checker_->OnBlockSeen(block);
  }
}

void Simulation::Route(uint32_t e, uint32_t to_validator, const SharedMessage& message) {
  Endpoint& endpoint = endpoints_[e];
  if (to_validator >= plan_.validators) return;  // E.g. a reply to a non-validator peer.
  const uint64_t round = MessageRound(*message);
  const std::vector<uint8_t>* sides =
      faults_active_ && round >= 1 && round <= plan_.round_partitions.size()
          ? &plan_.round_partitions[round - 1]
          : nullptr;
  for (uint32_t d = 0; d < endpoints_.size(); ++d) {
    if (d == e || endpoints_[d].validator != to_validator) continue;
    if (sides != nullptr && (*sides)[e] != (*sides)[d]) continue;  // Twins: cut in this round.
    if (endpoint.corrupter != nullptr && (faults_active_ || plan_.byzantine_after_stabilization)) {
      const uint64_t rewrites = endpoint.corrupter->rewrites();
      auto rewritten = std::make_shared<const v1::ConsensusMessage>(
          endpoint.corrupter->Rewrite(*message, to_validator));
      if (stabilized_ && endpoint.corrupter->rewrites() > rewrites) {
        ++result_.rewrites_after_stabilization;
      }
      NoteSent(*rewritten);
      network_->Send(e, d, rewritten, now_ms_);
    } else {
      network_->Send(e, d, message, now_ms_);
    }
  }
}

void Simulation::Deliver(SimNetwork<SharedMessage>::Envelope envelope) {
  Endpoint& endpoint = endpoints_[envelope.to];
  ++result_.messages;
  if (endpoint.replica == nullptr) return;  // Crashed, or the spammer.
  consensus::MessageReceived received;
  received.from = endpoints_[envelope.from].validator;
  received.message = *envelope.message;
  envelope.message.reset();
  if (oracle_ == nullptr || endpoint.validator >= plan_.validators) {
    Step(envelope.to, received);
    return;
  }
  // The acceptance oracle: judged before Handle (on the replica's state then), the verdict must
  // agree with Handle's; blocks the message brings into the tree must be valid there.
  const v1::ConsensusMessage& message = received.message;
  const absl::Status verdict = oracle_->Evaluate(endpoint.validator, received.from, message,
                                                 *endpoint.replica, endpoint.requested);
  std::vector<crypto::Digest> ids;
  std::vector<bool> before;
  auto note = [&](const v1::Block& block) {
    ids.push_back(oracle_verifier_->BlockIdOf(block));
    before.push_back(endpoint.replica->block_tree().Contains(ids.back()));
  };
  if (message.has_proposal()) note(message.proposal().block());
  for (const v1::Block& block : message.block_response().blocks()) note(block);
  const uint32_t e = envelope.to;
  const bool accepted = Step(e, received);
  if (!verdict.ok()) ++result_.judged;
  if (!verdict.ok() && accepted && !checker_->failed()) {
    checker_->Report(e, absl::StrCat("acceptance: accepted an invalid ", MessageKind(message),
                                     " from ", received.from, ": ", verdict.message()));
    return;
  }
  CheckNewBlocks(e, ids, before);
}

void Simulation::InjectJunk() {
  const uint32_t to = static_cast<uint32_t>(junk_prng_.Below(plan_.validators));
  std::vector<uint64_t> heights;
  for (uint32_t v = 0; v < plan_.validators; ++v) {
    heights.push_back(checker_->committed_height(EndpointOf(v)));
  }
  std::optional<Adversary::Junk> junk = adversary_->Make(now_ms_, to, heights);
  if (!junk.has_value()) return;
  ++result_.junk;
  if (stabilized_) ++result_.junk_after_stabilization;
  Trace(absl::StrCat("adversary: ", junk->kind, " from ", junk->from, " to ", junk->to));
  const auto shared = std::make_shared<const v1::ConsensusMessage>(std::move(junk->message));
  for (uint32_t d = 0; d < endpoints_.size(); ++d) {
    if (endpoints_[d].validator != junk->to || endpoints_[d].replica == nullptr) continue;
    const uint32_t from = junk->from == kFromNonValidator ? OutsiderEndpoint()
                          : junk->from == junk->to        ? d
                                                          : EndpointOf(junk->from);
    network_->Inject(
        from, d, shared,
        now_ms_ + junk_prng_.Range(plan_.network.delay_ticks_min, plan_.network.delay_ticks_max));
  }
}

void Simulation::TickAll() {
  for (uint32_t e = 0; e < endpoints_.size(); ++e) {
    if (failure_.has_value() || checker_->failed()) return;
    if (endpoints_[e].replica != nullptr) Step(e, consensus::Tick{ClockOf(e)});
  }
  const bool byzantine_active = faults_active_ || plan_.byzantine_after_stabilization;
  if (adversary_ != nullptr && byzantine_active && junk_prng_.PerMille(plan_.junk_per_mille)) {
    InjectJunk();
  }
  if (adversary_ != nullptr && byzantine_active && plan_.timeout_flood_per_mille > 0 &&
      junk_prng_.PerMille(plan_.timeout_flood_per_mille)) {
    for (Adversary::Junk& junk : adversary_->TimeoutFlood()) {
      ++result_.junk;
      const auto shared = std::make_shared<const v1::ConsensusMessage>(std::move(junk.message));
      for (uint32_t d = 0; d < endpoints_.size(); ++d) {
        if (endpoints_[d].validator != junk.to || endpoints_[d].replica == nullptr) continue;
        network_->Inject(EndpointOf(junk.from), d, shared,
                         now_ms_ + junk_prng_.Range(plan_.network.delay_ticks_min,
                                                    plan_.network.delay_ticks_max));
      }
    }
  }
  if (spammer_ != nullptr && byzantine_active && byzantine_prng_.PerMille(kSpamPerMille)) {
    const uint32_t spam_endpoint = OutsiderEndpoint();
    const uint32_t to = static_cast<uint32_t>(byzantine_prng_.Below(plan_.validators));
    network_->Inject(
        spam_endpoint, to,
        std::make_shared<const v1::ConsensusMessage>(spammer_->Make(max_round_ + 1, last_qc_seen_)),
        now_ms_ + plan_.network.delay_ticks_min);
  }
}

void Simulation::Crash(uint32_t e) {
  Endpoint& endpoint = endpoints_[e];
  if (endpoint.replica == nullptr) return;
  endpoint.replica.reset();
  endpoint.pending.Crash();
  network_->DropTo(e);
  ++result_.crashes;
  Mix(0xC7A5ULL + e);
}

uint64_t Simulation::HonestRoundMax() const {
  uint64_t round = 0;
  for (uint32_t e = 0; e < endpoints_.size(); ++e) {
    if (endpoints_[e].replica != nullptr && checker_->HonestEndpoint(e)) {
      round = std::max(round, endpoints_[e].replica->round());
    }
  }
  return round;
}

void Simulation::ApplyFault(const FaultEvent& event) {
  const uint32_t n = plan_.validators;
  switch (event.kind) {
    case FaultKind::kSplit: {
      std::vector<uint8_t> side(endpoints_.size());
      for (uint8_t& s : side) s = static_cast<uint8_t>(fault_prng_.Below(2));
      network_->Split(side);
      Trace("partition: symmetric split");
      break;
    }
    case FaultKind::kAsymmetric: {
      const uint64_t cut = fault_prng_.Range(1, std::max<uint64_t>(1, n / 2));
      for (uint64_t i = 0; i < cut; ++i) {
        const uint32_t a = static_cast<uint32_t>(fault_prng_.Below(endpoints_.size()));
        for (uint32_t b = 0; b < endpoints_.size(); ++b) {
          if (b != a) network_->Block(a, b);
        }
      }
      Trace(absl::StrCat("partition: asymmetric, ", cut, " node(s) cannot send"));
      break;
    }
    case FaultKind::kIsolateLeader: {
      const uint32_t leader = static_cast<uint32_t>((HonestRoundMax() + kEpoch) % n);
      for (uint32_t e = 0; e < endpoints_.size(); ++e) {
        if (endpoints_[e].validator == leader) network_->Isolate(e);
      }
      Trace(absl::StrCat("partition: isolate leader ", leader));
      break;
    }
    case FaultKind::kHeal:
      network_->HealAll();
      Trace("partition: heal");
      break;
    case FaultKind::kCrash: {
      uint32_t down = 0;
      for (uint32_t v = 0; v < n; ++v) down += endpoints_[v].replica == nullptr ? 1 : 0;
      if (!faults_active_ || down >= consensus::FaultsMax(n) ||
          endpoints_[event.endpoint].role != Role::kHonest) {
        break;
      }
      Trace(absl::StrCat("e=", event.endpoint, " crashes"));
      Crash(event.endpoint);
      break;
    }
    case FaultKind::kRestart:
      if (endpoints_[event.endpoint].replica == nullptr) {
        Trace(absl::StrCat("e=", event.endpoint, " restarts"));
        StartReplica(event.endpoint);
      }
      break;
    case FaultKind::kCrashAll:
      if (!faults_active_) break;
      Trace("network: every replica crashes");
      for (uint32_t e = 0; e < endpoints_.size(); ++e) Crash(e);
      break;
    case FaultKind::kRestartAll:
      if (!faults_active_) break;
      Trace("network: every replica restarts");
      for (uint32_t e = 0; e < endpoints_.size(); ++e) {
        if (endpoints_[e].replica == nullptr && endpoints_[e].role != Role::kSpammer) {
          StartReplica(e);
        }
      }
      break;
    case FaultKind::kStabilize:
      Stabilize();
      break;
  }
}

void Simulation::Stabilize() {
  if (stabilized_) return;
  faults_active_ = false;
  network_->HealAll();
  NetworkFaults calm = plan_.network;
  calm.drop_per_mille = 0;
  calm.duplicate_per_mille = 0;
  calm.replay_per_mille = 0;
  network_->set_faults(calm);
  const bool twin_leaves = plan_.twins && !plan_.byzantine_after_stabilization;
  if (twin_leaves) {  // The old model: the byzantine twin leaves; its original stays.
    Crash(static_cast<uint32_t>(plan_.validators));
  }
  for (uint32_t e = 0; e < endpoints_.size(); ++e) {
    if (endpoints_[e].replica == nullptr && endpoints_[e].role != Role::kSpammer &&
        !(twin_leaves && e == plan_.validators)) {
      Trace(absl::StrCat("e=", e, " restarts (stabilization)"));
      StartReplica(e);
    }
  }
  stabilized_ = true;
  stabilize_round_ = HonestRoundMax();
  target_height_ = checker_->max_height() + kLivenessBlocks;
  // Room for a few rounds at the largest backoff plus kLivenessRoundsMax rounds at the base
  // timeout.
  const uint64_t timeout_max_ms = uint64_t{plan_.timeout_ticks_max} * plan_.tick_ms;
  const uint64_t timeout_base_ms = uint64_t{plan_.timeout_ticks_base} * plan_.tick_ms;
  // Round-robin leaders: up to f byzantine leaders in a row may each cost a round at the largest
  // timeout (n = 100 with validators 0..32 byzantine: 33 such rounds), and liveness is owed only
  // after them.
  bad_leader_run_ = ByzantineLeaderRunMax();
  liveness_deadline_ms_ = now_ms_ + (kLivenessBackoffRounds + bad_leader_run_) * timeout_max_ms +
                          kLivenessRoundsMax * timeout_base_ms;
  Trace(absl::StrCat("stabilized at round ", stabilize_round_, ", target height ", target_height_));
}

uint64_t Simulation::ByzantineLeaderRunMax() const {
  std::vector<bool> byzantine(plan_.validators, false);
  for (uint32_t v : plan_.corrupters) byzantine[v] = true;
  if (plan_.twins) byzantine[plan_.twin_validator] = true;
  uint64_t run = 0;
  uint64_t best = 0;
  for (uint32_t i = 0; i < 2 * plan_.validators; ++i) {  // Twice round: runs wrap around.
    run = byzantine[i % plan_.validators] ? run + 1 : 0;
    best = std::max(best, std::min<uint64_t>(run, plan_.validators));
  }
  return best;
}

bool Simulation::LivenessReached() {
  for (uint32_t e = 0; e < endpoints_.size(); ++e) {
    if (!checker_->HonestEndpoint(e)) continue;
    if (endpoints_[e].replica == nullptr) return false;
    if (checker_->committed_height(e) < target_height_) return false;
  }
  return true;
}

uint64_t Simulation::NextEventMs() const {
  uint64_t next = std::min(next_tick_ms_, network_->NextDeliveryTick());
  if (!schedule_.empty()) next = std::min(next, schedule_.begin()->first);
  return next;
}

SimResult Simulation::Run() {
  result_.plan = plan_;
  for (uint32_t e = 0; e < endpoints_.size(); ++e) {
    if (endpoints_[e].role != Role::kSpammer) StartReplica(e);
  }
  while (!failure_.has_value() && !checker_->failed()) {
    now_ms_ = NextEventMs();
    if (!stabilized_ && !plan_.round_partitions.empty() &&
        HonestRoundMax() > plan_.round_partitions.size()) {
      Stabilize();  // The Twins scenario is over.
    }
    if (stabilized_ && LivenessReached()) break;
    if (stabilized_ && now_ms_ > liveness_deadline_ms_) {
      std::vector<std::string> heights;
      for (uint32_t e = 0; e < endpoints_.size(); ++e) {
        if (checker_->HonestEndpoint(e))
          heights.push_back(absl::StrCat(checker_->committed_height(e)));
      }
      Fail(absl::StrCat("liveness: after stabilization at round ", stabilize_round_,
                        " honest heights [", absl::StrJoin(heights, ","), "] did not reach ",
                        target_height_, " by round ", HonestRoundMax()));
      break;
    }
    while (!schedule_.empty() && schedule_.begin()->first <= now_ms_) {
      const FaultEvent event = schedule_.begin()->second;
      schedule_.erase(schedule_.begin());
      ApplyFault(event);
    }
    SimNetwork<SharedMessage>::Envelope envelope;
    while (!failure_.has_value() && !checker_->failed() && network_->PopDue(now_ms_, &envelope)) {
      Deliver(std::move(envelope));
    }
    if (now_ms_ >= next_tick_ms_) {
      TickAll();
      next_tick_ms_ += plan_.tick_ms;
    }
    if (network_->stats().overflowed > 0) {  // A queue limit hit is a failure, never silent.
      Fail(absl::StrCat("network overflow: ", network_->stats().overflowed,
                        " message(s) refused at the in-flight limit ",
                        SimNetwork<SharedMessage>::kInFlightMax));
    }
  }
  if (!failure_.has_value() && !checker_->failed()) checker_->Finish();
  if (stabilized_ && !failure_.has_value() && !checker_->failed()) {
    const uint64_t rounds = HonestRoundMax() - std::min(HonestRoundMax(), stabilize_round_);
    if (rounds > kLivenessRoundsMax + bad_leader_run_) {
      Fail(absl::StrCat("liveness: took ", rounds, " rounds after stabilization (max ",
                        kLivenessRoundsMax + bad_leader_run_, ")"));
    }
  }
  result_.ok = !failure_.has_value() && !checker_->failed();
  result_.safety_violation = checker_->failed();
  if (checker_->failed()) result_.reason = checker_->violation();
  if (failure_.has_value()) result_.reason = *failure_;
  result_.rounds = max_round_;
  result_.height = checker_->max_height();
  result_.virtual_ms = now_ms_;
  result_.overflowed = network_->stats().overflowed;
  result_.checks = checker_->checks();
  result_.digest = absl::StrCat(absl::Hex(digest_, absl::kZeroPad16));
  return result_;
}

}  // namespace

std::string FaultPlan::Describe() const {
  std::string out = absl::StrCat(
      "n=", validators, " delay=", network.delay_ticks_min, "-", network.delay_ticks_max,
      "ms drop=", network.drop_per_mille / 10, "% dup=", network.duplicate_per_mille / 10,
      "% replay=", network.replay_per_mille, "pm timeout=", timeout_ticks_base, "-",
      timeout_ticks_max, "ticks faults=", fault_ms, "ms");
  if (partitions) absl::StrAppend(&out, " partitions/", partition_every_ms, "ms");
  if (crashes) absl::StrAppend(&out, " crashes/", crash_every_ms, "ms");
  if (crash_at_persist_per_mille > 0) {
    absl::StrAppend(&out, " crash-at-persist=", crash_at_persist_per_mille, "pm");
  }
  if (twins) absl::StrAppend(&out, " twins(v", twin_validator, ")");
  if (!corrupters.empty())
    absl::StrAppend(&out, " corrupters(", absl::StrJoin(corrupters, ","), ")");
  if (spammer) absl::StrAppend(&out, " spammer");
  if (junk) absl::StrAppend(&out, " adversary/", junk_per_mille, "pm");
  if (withhold_votes_per_mille > 0 && !corrupters.empty()) {
    absl::StrAppend(&out, " withhold-votes=", withhold_votes_per_mille, "pm");
  }
  if (silent_leader_per_mille > 0 && !corrupters.empty()) {
    absl::StrAppend(&out, " silent-leader=", silent_leader_per_mille, "pm");
  }
  if (junk && timeout_flood_per_mille > 0) {
    absl::StrAppend(&out, " timeout-flood/", timeout_flood_per_mille, "pm");
  }
  if (forge_executed) absl::StrAppend(&out, " forge-executed");
  if (future_timestamps) absl::StrAppend(&out, " future-timestamps");
  if (network_restart) {
    absl::StrAppend(&out, " network-restart@", network_restart_ms, "ms+", restart_gap_ms, "ms");
  }
  if (!clock_skew_ms.empty()) absl::StrAppend(&out, " clock-skew");
  if (!byzantine_after_stabilization) absl::StrAppend(&out, " byzantine-quiet-after-faults");
  return out;
}

FaultPlan DrawFaultPlan(const SimOptions& options) {
  Prng prng(Derive(options.seed, 1));
  std::vector<uint32_t> choices = options.validator_choices;
  if (choices.empty()) {
    choices.assign(std::begin(kValidatorChoicesDefault), std::end(kValidatorChoicesDefault));
  }
  FaultPlan plan;
  // Large n is slow: it gets one share, each small n three.
  std::vector<uint32_t> weighted;
  for (uint32_t n : choices) {
    for (int i = 0; i < (n > 16 ? 1 : 3); ++i) weighted.push_back(n);
  }
  plan.validators = weighted[prng.Below(weighted.size())];
  ITMO_CHECK(plan.validators >= 1 && plan.validators <= consensus::kValidatorsMax);
  const uint64_t delay_max = options.faults ? prng.Range(1, 300) : 5;
  plan.network.delay_ticks_max = delay_max;
  plan.network.delay_ticks_min = prng.Range(1, delay_max);
  plan.tick_ms = 10;
  plan.timeout_ticks_base = static_cast<uint32_t>((3 * delay_max) / plan.tick_ms + 5);
  plan.timeout_ticks_max = plan.timeout_ticks_base * 8;
  if (!options.faults) {
    plan.fault_ms = 1'000;
    return plan;
  }
  plan.fault_ms = prng.Range(options.fault_ms_max / 3, options.fault_ms_max);
  if (plan.validators > 16) plan.fault_ms /= 3;  // Large n: fewer, costlier rounds.
  if (prng.Percent(60)) plan.network.drop_per_mille = prng.Range(1, 300);
  if (prng.Percent(40)) plan.network.duplicate_per_mille = prng.Range(1, 200);
  if (prng.Percent(40)) plan.network.replay_per_mille = prng.Range(1, 100);
  plan.partitions = prng.Percent(50);
  plan.partition_every_ms = prng.Range(500, 3'000);
  plan.crashes = prng.Percent(50);
  plan.crash_every_ms = prng.Range(500, 4'000);
  if (prng.Percent(40)) plan.crash_at_persist_per_mille = prng.Range(1, 40);
  uint32_t byzantine_budget = consensus::FaultsMax(plan.validators);
  if (byzantine_budget > 0 && prng.Percent(35)) {
    plan.twins = true;
    plan.twin_validator = static_cast<uint32_t>(prng.Below(plan.validators));
    --byzantine_budget;
  }
  if (byzantine_budget > 0 && prng.Percent(45)) {
    const uint64_t count = prng.Range(1, byzantine_budget);
    for (uint32_t v = 0; v < plan.validators && plan.corrupters.size() < count; ++v) {
      const bool pick = prng.Percent(50) || plan.validators - v <= count - plan.corrupters.size();
      if (pick && !(plan.twins && v == plan.twin_validator)) plan.corrupters.push_back(v);
    }
  }
  plan.spammer = prng.Percent(40);
  // Drawn after everything above, so that the older fields of a seed's plan stay what they were.
  const uint32_t f = consensus::FaultsMax(plan.validators);
  if (options.byzantine > 0) {  // Exactly this many Corrupters (the twin counts as one).
    const uint32_t want = std::min(options.byzantine, f);
    plan.corrupters.clear();
    for (uint32_t v = 0;
         v < plan.validators && plan.corrupters.size() + (plan.twins ? 1 : 0) < want; ++v) {
      if (!(plan.twins && v == plan.twin_validator)) plan.corrupters.push_back(v);
    }
  }
  plan.junk = prng.Percent(80);
  plan.junk_per_mille = prng.Range(50, 500);
  if (prng.Percent(50)) plan.withhold_votes_per_mille = prng.Range(100, 1'000);
  if (prng.Percent(30)) plan.timeout_flood_per_mille = prng.Range(5, 50);
  if (prng.Percent(40)) plan.silent_leader_per_mille = prng.Range(200, 1'000);
  plan.forge_executed = options.forge_executed;
  plan.future_timestamps = options.future_timestamps;
  const bool draw_restart = prng.Percent(15);
  plan.network_restart = options.network_restart || (options.draw_network_restarts && draw_restart);
  plan.network_restart_ms = prng.Range(plan.fault_ms / 3, plan.fault_ms * 3 / 4);
  plan.restart_gap_ms = prng.Range(50, 3'000);
  if (prng.Percent(50)) {
    for (uint32_t v = 0; v < plan.validators; ++v) {
      plan.clock_skew_ms.push_back(static_cast<int64_t>(prng.Range(0, 1'000)) - 500);
      plan.clock_drift_per_mille.push_back(static_cast<int64_t>(prng.Range(0, 20)) - 10);
    }
  }
  return plan;
}

SimResult RunSimulation(const SimOptions& options) {
  return RunSimulationWithPlan(options, DrawFaultPlan(options));
}

namespace {
// Written before each run, read only by abort handlers. The one mutable global of the simulator.
char current_run[96] = "none";
}  // namespace

const char* CurrentRunDescription() { return current_run; }

SimResult RunSimulationWithPlan(const SimOptions& options, const FaultPlan& plan) {
  const std::string description =
      absl::StrCat(plan.round_partitions.empty() ? "seed " : "twins scenario ", options.seed);
  const size_t length = std::min(description.size(), sizeof(current_run) - 1);
  std::copy(description.begin(), description.begin() + length, current_run);
  current_run[length] = '\0';
  for (const std::vector<uint8_t>& sides : plan.round_partitions) {
    ITMO_CHECK(sides.size() == plan.validators + (plan.twins ? 1u : 0u));
  }
  ITMO_CHECK(!plan.spammer || plan.round_partitions.empty());
  Simulation simulation(options, plan);
  return simulation.Run();
}

bool ParseMutation(const std::string& name, consensus::Mutation* mutation) {
  ITMO_CHECK(mutation != nullptr);
  if (name == "none") {
    *mutation = consensus::Mutation::kNone;
  } else if (name == "skip-last-voted-round") {
    *mutation = consensus::Mutation::kSkipLastVotedRound;
  } else if (name == "persist-after-send") {
    *mutation = consensus::Mutation::kPersistAfterSend;
  } else if (name == "ignore-lock") {
    *mutation = consensus::Mutation::kIgnoreLock;
  } else {
    return false;
  }
  return true;
}

}  // namespace itmo::sim
