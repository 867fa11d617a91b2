#include "node/ctl_flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace itmo::node::ctl {

absl::StatusOr<Flags> Flags::Parse(const std::vector<std::string>& args, const FlagSpec& spec) {
  if (args.size() > kFlagArgsMax) {
    return absl::InvalidArgumentError(absl::StrCat("too many arguments: ", args.size()));
  }
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      flags.positional_.insert(flags.positional_.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg == "-h") {
      flags.values_["help"].push_back("true");
      continue;
    }
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      flags.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "help" || spec.booleans.count(name) > 0) {
      if (has_value && value != "true" && value != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " takes no value (or true/false), got '", value, "'"));
      }
      flags.values_[name].push_back(has_value ? value : "true");
      continue;
    }
    if (spec.values.count(name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
      value = args[++i];
    }
    flags.values_[name].push_back(value);
  }
  return flags;
}

bool Flags::Has(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && !it->second.empty() && it->second.back() != "false";
}

std::string Flags::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return fallback;
  return it->second.back();
}

std::vector<std::string> Flags::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return {};
  return it->second;
}

absl::StatusOr<uint64_t> Flags::GetUint(const std::string& name, uint64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return fallback;
  uint64_t value = 0;
  if (!absl::SimpleAtoi(it->second.back(), &value) || it->second.back().empty() ||
      it->second.back()[0] == '-' || it->second.back()[0] == '+') {
    return absl::InvalidArgumentError(
        absl::StrCat("flag --", name, " needs an unsigned integer, got '", it->second.back(), "'"));
  }
  return value;
}

}  // namespace itmo::node::ctl
