// File: node/ctl_flags.h
// A small command-line parser for itmoctl and itmo-bench subcommands:
// "--name=value", "--name value", boolean "--name", repeated flags and
// positional arguments. Not thread-safe; one per command line.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(Flags flags, Flags::Parse(args, {.values = {"node",
//   "key"},
//                                                          .booleans =
//                                                          {"json"}}));
//   std::string node = flags.Get("node", "127.0.0.1:7100");
//   ITMO_ASSIGN_OR_RETURN(uint64_t n, flags.GetUint("txs", 1000));
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace itmo::node::ctl {

inline constexpr size_t kFlagArgsMax = 4096;

struct FlagSpec {
  std::set<std::string> values;    // Flags that take a value (may repeat).
  std::set<std::string> booleans;  // Flags without a value. "help" is always accepted.
};

class Flags final {
 public:
  // Errors: kInvalidArgument naming an unknown flag, a value flag without a
  // value, a boolean flag given a value, or more than kFlagArgsMax arguments.
  static absl::StatusOr<Flags> Parse(const std::vector<std::string>& args, const FlagSpec& spec);

  bool Has(const std::string& name) const;
  // The last value given for `name`, or `fallback`.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  // Every value given for `name`, in order.
  std::vector<std::string> GetAll(const std::string& name) const;
  // Errors: kInvalidArgument naming the flag when the value is not a decimal
  // unsigned integer.
  absl::StatusOr<uint64_t> GetUint(const std::string& name, uint64_t fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

}  // namespace itmo::node::ctl
