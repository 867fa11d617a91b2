// File: tests/sim/isolated.h
// RunIsolated: runs one simulation in a forked child process, so that a CHECK failure inside the
// consensus core (an abort) fails that run only, and the caller (itmo-sim's seed loop, the gtest
// suites) goes on with the next one. The child sends the result back over a pipe.
// Thread-safety: call from a single-threaded process (fork).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "tests/sim/simulation.h"

namespace itmo::sim {

struct IsolatedResult {
  bool aborted = false;  // The child died (signal) or sent nothing: a crash inside the run.
  int signal = 0;
  bool ok = false;
  bool safety_violation = false;
  uint64_t rounds = 0;
  uint64_t height = 0;
  uint64_t steps = 0;
  uint64_t messages = 0;
  uint64_t virtual_ms = 0;
  uint32_t validators = 0;
  std::string reason;
  std::string plan;  // FaultPlan::Describe().
  std::string digest;
};

IsolatedResult FromSimResult(const SimResult& result);

// Falls back to running in-process if fork() is unavailable.
IsolatedResult RunIsolated(const std::function<SimResult()>& run);

}  // namespace itmo::sim
