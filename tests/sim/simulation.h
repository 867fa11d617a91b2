// File: tests/sim/simulation.h
// One deterministic simulation run: n real consensus::Replica instances in one thread under one
// seed, over a SimNetwork and a virtual millisecond clock (Tick events every tick_ms), with
// simulated safety storage, a swarm-drawn fault mix (delays, drops, duplicates, replays,
// partitions, crashes and restarts, byzantine validators and a non-validator spammer), and the
// SafetyChecker after every step. After the faulty phase the network heals and crashed replicas
// restart; the run then requires every honest replica to reach the same, higher committed height
// within a bounded number of rounds. The same options always produce the same trace digest. Not
// thread-safe: each run is independent.
//
// Example:
//   SimOptions options;
//   options.seed = 42;
//   SimResult result = RunSimulation(options);
//   if (!result.ok) std::cerr << "seed 42: " << result.reason << "\n";
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "consensus/safety_rules.h"
#include "tests/sim/sim_network.h"

namespace itmo::sim {

inline constexpr uint32_t kValidatorChoicesDefault[] = {4, 5, 7, 10, 31};

struct SimOptions {
  uint64_t seed = 1;
  // n is drawn from these (with the seed); empty means kValidatorChoicesDefault.
  std::vector<uint32_t> validator_choices;
  consensus::Mutation mutation = consensus::Mutation::kNone;
  bool real_crypto = false;        // Ed25519 instead of the fake keyed-hash signatures.
  std::ostream* trace = nullptr;   // One line per step when set.
  uint64_t fault_ms_max = 12'000;  // The faulty phase lasts up to this long (drawn per seed).
  bool faults = true;              // false: a clean run (no faults at all).
  bool check_voting_rules = true;  // false: catch rule breaks only by their consequences.
  // false: a restarted replica gets no RecoveredChain::pending_blocks (only its committed head),
  // unlike the node; for showing what the node's pending-block store prevents.
  bool pending_block_store = true;
  // false: no acceptance oracle (tests/sim/oracle.h) on delivered and emitted messages.
  bool acceptance_oracle = true;
  // Adversary proposals with forged executed_height / executed_state_root, and with timestamps
  // far in the future (issue 7 defects 1 and 5: they halt or corrupt consensus without the
  // executed-height bound and the timestamp bound in the core).
  bool forge_executed = false;
  bool future_timestamps = false;
  // n = this many byzantine validators (Corrupters) in every plan, at most f (0: drawn).
  uint32_t byzantine = 0;
  // Every plan has the whole network crash at once and restart (in its faulty phase).
  bool network_restart = false;
  // Some plans (15%) do (they found issue 7 defect 3: a high TC that was not persisted).
  bool draw_network_restarts = true;
  // The checker flags an honest leader's two different proposals for one round (it found issue 7
  // defect 6: a leader that crashed between its proposal and its persist).
  bool check_double_proposals = true;
};

// The fault mix of one seed (swarm testing: each seed enables a different subset).
struct FaultPlan {
  uint32_t validators = 4;
  NetworkFaults network;
  uint64_t tick_ms = 10;
  uint32_t timeout_ticks_base = 10;
  uint32_t timeout_ticks_max = 80;
  uint64_t fault_ms = 0;  // The faulty phase: [0, fault_ms).
  bool partitions = false;
  uint64_t partition_every_ms = 0;
  bool crashes = false;
  uint64_t crash_every_ms = 0;
  uint64_t crash_at_persist_per_mille = 0;
  bool twins = false;
  uint32_t twin_validator = 0;
  std::vector<uint32_t> corrupters;  // Byzantine validators behind a Corrupter.
  bool spammer = false;
  // The Adversary (adversary.h): crafted invalid messages from the byzantine keys and a
  // non-validator, junk_per_mille per tick, to the end of the run.
  bool junk = false;
  uint64_t junk_per_mille = 0;
  bool forge_executed = false;
  bool future_timestamps = false;
  // Corrupters withhold their votes (per mille of them), and the Adversary floods valid timeouts
  // (per mille per tick).
  uint64_t withhold_votes_per_mille = 0;
  // A Corrupter that leads a round goes silent in it (per mille of its rounds): no proposal and no
  // timeout leaves, so the QC it formed for the previous round stays with it and the next leader
  // extends an older QC (a certified block is abandoned; the Adversary keeps its QC).
  uint64_t silent_leader_per_mille = 0;
  uint64_t timeout_flood_per_mille = 0;
  // Byzantine validators (twins, Corrupters, Spammer, Adversary) keep misbehaving after
  // stabilization, while liveness is checked (false: the old model, they go quiet).
  bool byzantine_after_stabilization = true;
  // Whole-network crash: at network_restart_ms every replica crashes at once; all restart
  // restart_gap_ms later (still in the faulty phase).
  bool network_restart = false;
  uint64_t network_restart_ms = 0;
  uint64_t restart_gap_ms = 0;
  // Per-validator clock skew (ms, added to the virtual clock in Tick/Start now_ms) and drift
  // (per mille of the elapsed time).
  std::vector<int64_t> clock_skew_ms;
  std::vector<int64_t> clock_drift_per_mille;
  // Twins-style scenarios: round_partitions[r - 1][e] is endpoint e's side in round r; a message of
  // round r (1 <= r <= size) only reaches endpoints on the sender's side. After the last scenario
  // round (or fault_ms) the network heals. Empty for swarm runs.
  std::vector<std::vector<uint8_t>> round_partitions;

  std::string Describe() const;
};

struct SimResult {
  bool ok = false;
  std::string reason;             // The first violation, when !ok.
  bool safety_violation = false;  // !ok because a SafetyChecker invariant broke (not liveness).
  std::string digest;             // Trace digest (hex).
  FaultPlan plan;
  uint64_t rounds = 0;    // Highest round reached by an honest replica.
  uint64_t height = 0;    // Highest committed height.
  uint64_t steps = 0;     // Handle() calls.
  uint64_t messages = 0;  // Messages delivered.
  uint64_t virtual_ms = 0;
  uint64_t checks = 0;
  uint64_t crashes = 0;
  uint64_t rejected = 0;    // Messages the replicas refused (byzantine junk, stale, ...).
  uint64_t overflowed = 0;  // Messages the network refused at its in-flight limit (fails the run).
  uint64_t junk = 0;        // Adversary messages sent...
  uint64_t junk_after_stabilization = 0;      // ...of them while liveness was checked.
  uint64_t rewrites_after_stabilization = 0;  // Corrupter rewrites while liveness was checked.
  uint64_t judged = 0;  // Messages the acceptance oracle judged invalid (all refused).
};

FaultPlan DrawFaultPlan(const SimOptions& options);
// Draws the plan from options.seed and runs it.
SimResult RunSimulation(const SimOptions& options);
// Runs a given plan (Twins scenarios, pinned regressions); options.seed still seeds the network.
SimResult RunSimulationWithPlan(const SimOptions& options, const FaultPlan& plan);

// The run in progress ("seed 42" or "twins scenario 7"), for abort handlers: a CHECK failure inside
// the core kills the process, and this names what to replay. Async-signal-safe to read.
const char* CurrentRunDescription();

// "skip-last-voted-round" | "persist-after-send" | "ignore-lock" | "none". False if unknown.
bool ParseMutation(const std::string& name, consensus::Mutation* mutation);

}  // namespace itmo::sim
