// itmo-sim: the deterministic consensus simulator's driver.
//   itmo-sim --seed N [--trace]                 replay one seed (trace: one line per step)
//   itmo-sim --seeds K --first-seed N           run K seeds; non-zero exit if any fails
//   --validators 4,7       restrict n (100 is allowed only when named here)
//   --mutate RULE          skip-last-voted-round | persist-after-send | ignore-lock
//   --real-crypto          Ed25519 instead of the fake keyed-hash signatures
//   --no-rule-checks       skip the voting-rule/lock checkers (find mutations by their forks)
//   --no-pending-store     restart replicas without their stored pending blocks (the old model)
//   --fail-fast            stop at the first seed that breaks a safety invariant
//   --stop-on-failure      stop at the first failing seed, whatever failed (mutation testing)
//   --byzantine N          N byzantine validators in every seed (at most f; 0: drawn)
//   --network-restart      every seed crashes and restarts the whole network once
//   --no-forge-executed    the adversary does not forge executed_height / executed_state_root
//                          (on by default since issue 7 defect 1; --forge-executed is accepted)
//   --no-future-timestamps the adversary does not propose timestamps far in the future
//                          (on by default since issue 7 defect 5; --future-timestamps is accepted)
//   --no-double-proposal-check  do not flag an honest leader's two proposals in one round
//   --no-network-restarts       no seed draws a whole-network crash and restart (15% do)
//   --no-oracle            no acceptance oracle on delivered / emitted messages
//   --fault-ms MS          longest faulty phase per seed (default 12000 virtual ms)
//   --twins K              run K sampled Twins scenarios (sample seed --first-seed) instead
//   --twins-index I        replay one Twins scenario by its index in the space
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/sim/isolated.h"
#include "tests/sim/simulation.h"
#include "tests/sim/twins.h"

#ifndef ITMO_GIT_COMMIT
#define ITMO_GIT_COMMIT "unknown"
#endif

namespace {

struct Flags {
  bool single = false;
  uint64_t seed = 0;
  uint64_t seeds = 1;
  uint64_t first_seed = 1;
  std::vector<uint32_t> validators;
  std::string mutate = "none";
  bool trace = false;
  bool real_crypto = false;
  bool fail_fast = false;
  bool no_rule_checks = false;
  bool no_pending_store = false;
  bool stop_on_failure = false;
  uint32_t byzantine = 0;
  bool network_restart = false;
  bool forge_executed = true;     // Issue 7 defect 1 is fixed: part of the default adversary.
  bool future_timestamps = true;  // Issue 7 defect 5 is fixed: part of the default adversary.
  bool no_oracle = false;
  bool check_double_proposals = true;
  bool draw_network_restarts = true;
  uint64_t fault_ms = 12'000;
  uint64_t twins = 0;
  bool twins_single = false;
  uint64_t twins_index = 0;
};

// A CHECK failure inside the core aborts the process running the run (a forked child in
// multi-run mode, whose parent then reports it as a failure): name the run on stderr.
void OnAbort(int /*signal*/) {
  const char* run = itmo::sim::CurrentRunDescription();
  char line[200];
  const int length = std::snprintf(line, sizeof(line), "itmo-sim: aborted during %s (commit %s)\n",
                                   run, ITMO_GIT_COMMIT);
  if (length > 0) (void)!write(STDERR_FILENO, line, static_cast<size_t>(length));
  std::signal(SIGABRT, SIG_DFL);
}

int Usage(const std::string& error) {
  std::cerr << "itmo-sim: " << error << "\n"
            << "usage: itmo-sim --seed N [--trace] | --seeds K --first-seed N\n"
            << "       [--validators 4,7] [--mutate skip-last-voted-round|persist-after-send|"
               "ignore-lock]\n"
            << "       [--real-crypto] [--fail-fast] [--fault-ms MS]\n";
  return 2;
}

bool ParseFlags(int argc, char** argv, Flags* flags, std::string* error) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::string value;
    const size_t eq = name.find('=');
    const bool boolean = name == "--trace" || name == "--real-crypto" || name == "--fail-fast" ||
                         name == "--no-rule-checks" || name == "--no-pending-store" ||
                         name == "--stop-on-failure" || name == "--network-restart" ||
                         name == "--forge-executed" || name == "--no-forge-executed" ||
                         name == "--future-timestamps" || name == "--no-future-timestamps" ||
                         name == "--no-oracle" || name == "--no-double-proposal-check" ||
                         name == "--no-network-restarts";
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (!boolean) {
      if (i + 1 >= args.size()) {
        *error = absl::StrCat(name, " needs a value");
        return false;
      }
      value = args[++i];
    }
    bool ok = true;
    if (name == "--seed") {
      flags->single = true;
      ok = absl::SimpleAtoi(value, &flags->seed);
    } else if (name == "--seeds") {
      ok = absl::SimpleAtoi(value, &flags->seeds) && flags->seeds > 0;
    } else if (name == "--first-seed") {
      ok = absl::SimpleAtoi(value, &flags->first_seed);
    } else if (name == "--fault-ms") {
      ok = absl::SimpleAtoi(value, &flags->fault_ms) && flags->fault_ms >= 3;
    } else if (name == "--twins") {
      ok = absl::SimpleAtoi(value, &flags->twins) && flags->twins > 0;
    } else if (name == "--twins-index") {
      flags->twins_single = true;
      ok = absl::SimpleAtoi(value, &flags->twins_index) &&
           flags->twins_index < itmo::sim::TwinsSpaceSize();
    } else if (name == "--validators") {
      for (absl::string_view part : absl::StrSplit(value, ',')) {
        uint32_t n = 0;
        ok = ok && absl::SimpleAtoi(part, &n) && n >= 1 && n <= 256;
        flags->validators.push_back(n);
      }
    } else if (name == "--mutate") {
      flags->mutate = value;
    } else if (name == "--trace") {
      flags->trace = true;
    } else if (name == "--real-crypto") {
      flags->real_crypto = true;
    } else if (name == "--no-rule-checks") {
      flags->no_rule_checks = true;
    } else if (name == "--no-pending-store") {
      flags->no_pending_store = true;
    } else if (name == "--fail-fast") {
      flags->fail_fast = true;
    } else if (name == "--stop-on-failure") {
      flags->stop_on_failure = true;
    } else if (name == "--byzantine") {
      ok = absl::SimpleAtoi(value, &flags->byzantine);
    } else if (name == "--network-restart") {
      flags->network_restart = true;
    } else if (name == "--forge-executed") {
      flags->forge_executed = true;
    } else if (name == "--no-forge-executed") {
      flags->forge_executed = false;
    } else if (name == "--future-timestamps") {
      flags->future_timestamps = true;
    } else if (name == "--no-future-timestamps") {
      flags->future_timestamps = false;
    } else if (name == "--no-double-proposal-check") {
      flags->check_double_proposals = false;
    } else if (name == "--no-network-restarts") {
      flags->draw_network_restarts = false;
    } else if (name == "--no-oracle") {
      flags->no_oracle = true;
    } else {
      *error = absl::StrCat("unknown flag ", name);
      return false;
    }
    if (!ok) {
      *error = absl::StrCat("bad value for ", name, ": '", value, "'");
      return false;
    }
  }
  return true;
}

std::string ReplayCommand(const Flags& flags, uint64_t seed) {
  std::string command = absl::StrCat("itmo-sim --seed ", seed);
  if (!flags.validators.empty()) {
    absl::StrAppend(&command, " --validators ", absl::StrJoin(flags.validators, ","));
  }
  if (flags.mutate != "none") absl::StrAppend(&command, " --mutate ", flags.mutate);
  if (flags.real_crypto) absl::StrAppend(&command, " --real-crypto");
  if (flags.no_rule_checks) absl::StrAppend(&command, " --no-rule-checks");
  if (flags.no_pending_store) absl::StrAppend(&command, " --no-pending-store");
  if (flags.fault_ms != 12'000) absl::StrAppend(&command, " --fault-ms ", flags.fault_ms);
  if (flags.byzantine > 0) absl::StrAppend(&command, " --byzantine ", flags.byzantine);
  if (flags.network_restart) absl::StrAppend(&command, " --network-restart");
  if (!flags.forge_executed) absl::StrAppend(&command, " --no-forge-executed");
  if (!flags.future_timestamps) absl::StrAppend(&command, " --no-future-timestamps");
  if (flags.no_oracle) absl::StrAppend(&command, " --no-oracle");
  if (!flags.check_double_proposals) absl::StrAppend(&command, " --no-double-proposal-check");
  if (!flags.draw_network_restarts) absl::StrAppend(&command, " --no-network-restarts");
  return command;
}

// Prints a failing run's line; counts it.
void ReportFailure(const std::string& what, const itmo::sim::IsolatedResult& result,
                   const std::string& replay) {
  std::cout << "FAIL " << what << " (commit " << ITMO_GIT_COMMIT;
  if (!result.plan.empty()) std::cout << ", " << result.plan;
  std::cout << "): " << result.reason << "\n  replay: " << replay << " --trace\n";
}

int RunTwins(const Flags& flags, const itmo::sim::SimOptions& base) {
  std::vector<uint64_t> indices = {flags.twins_index};
  if (!flags.twins_single) indices = itmo::sim::SampleTwinsIndices(flags.first_seed, flags.twins);
  uint64_t passed = 0, failed = 0, rounds = 0, steps = 0;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t index : indices) {
    const itmo::sim::TwinsScenario scenario = itmo::sim::TwinsScenarioAt(index);
    auto run = [&]() { return itmo::sim::RunTwinsScenario(scenario, base); };
    const itmo::sim::IsolatedResult result =
        flags.twins_single ? itmo::sim::FromSimResult(run()) : itmo::sim::RunIsolated(run);
    rounds += result.rounds;
    steps += result.steps;
    if (flags.twins_single) {
      std::cout << scenario.Describe() << ": " << (result.ok ? "ok" : "FAIL")
                << " rounds=" << result.rounds << " height=" << result.height
                << " steps=" << result.steps << " digest " << result.digest << "\n";
    }
    if (result.ok) {
      ++passed;
      continue;
    }
    ++failed;
    ReportFailure(scenario.Describe(), result,
                  absl::StrCat("itmo-sim --twins-index ", index,
                               flags.mutate != "none" ? " --mutate " + flags.mutate : ""));
    if (flags.fail_fast && result.safety_violation) break;
  }
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "sim: " << passed << " passed, " << failed << " failed (twins scenarios, mutation "
            << flags.mutate << ", commit " << ITMO_GIT_COMMIT << ")\n"
            << "sim: totals rounds=" << rounds << " steps=" << steps << " wall_s=" << wall_s
            << "\n";
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  std::string error;
  if (!ParseFlags(argc, argv, &flags, &error)) return Usage(error);
  itmo::sim::SimOptions options;
  if (!itmo::sim::ParseMutation(flags.mutate, &options.mutation)) {
    return Usage(absl::StrCat("unknown --mutate rule '", flags.mutate, "'"));
  }
  options.validator_choices = flags.validators;
  options.real_crypto = flags.real_crypto;
  options.fault_ms_max = flags.fault_ms;
  options.check_voting_rules = !flags.no_rule_checks;
  options.pending_block_store = !flags.no_pending_store;
  options.byzantine = flags.byzantine;
  options.network_restart = flags.network_restart;
  options.forge_executed = flags.forge_executed;
  options.future_timestamps = flags.future_timestamps;
  options.acceptance_oracle = !flags.no_oracle;
  options.check_double_proposals = flags.check_double_proposals;
  options.draw_network_restarts = flags.draw_network_restarts;
  if (flags.trace) options.trace = &std::cout;
  std::signal(SIGABRT, OnAbort);
  if (flags.twins > 0 || flags.twins_single) return RunTwins(flags, options);
  const uint64_t first = flags.single ? flags.seed : flags.first_seed;
  const uint64_t count = flags.single ? 1 : flags.seeds;

  uint64_t passed = 0, failed = 0, rounds = 0, steps = 0, messages = 0, virtual_ms = 0;
  uint64_t max_n = 0;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t seed = first; seed < first + count; ++seed) {
    options.seed = seed;
    auto run = [&]() { return itmo::sim::RunSimulation(options); };
    const itmo::sim::IsolatedResult result =
        flags.single ? itmo::sim::FromSimResult(run()) : itmo::sim::RunIsolated(run);
    rounds += result.rounds;
    steps += result.steps;
    messages += result.messages;
    virtual_ms += result.virtual_ms;
    max_n = std::max<uint64_t>(max_n, result.validators);
    if (flags.single) {
      std::cout << "seed " << seed << ": " << result.plan << "\n"
                << "seed " << seed << ": " << (result.ok ? "ok" : "FAIL")
                << " rounds=" << result.rounds << " height=" << result.height
                << " steps=" << result.steps << " messages=" << result.messages
                << " virtual_ms=" << result.virtual_ms << " digest " << result.digest << "\n";
    }
    if (result.ok) {
      ++passed;
      continue;
    }
    ++failed;
    ReportFailure(absl::StrCat("seed ", seed), result, ReplayCommand(flags, seed));
    if (flags.fail_fast && result.safety_violation) break;
    if (flags.stop_on_failure) break;
  }
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "sim: " << passed << " passed, " << failed << " failed (mutation " << flags.mutate
            << ", largest n " << max_n << ", commit " << ITMO_GIT_COMMIT << ")\n"
            << "sim: totals rounds=" << rounds << " steps=" << steps << " messages=" << messages
            << " virtual_s=" << virtual_ms / 1000 << " wall_s=" << wall_s
            << " rounds_per_s=" << static_cast<uint64_t>(wall_s > 0 ? rounds / wall_s : 0) << "\n";
  return failed == 0 ? 0 : 1;
}
