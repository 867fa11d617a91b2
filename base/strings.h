// File: base/strings.h
// Debian 12's Abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW 0: absl::string_view is its own type
// and does not convert from std::string_view. Project APIs take std::string_view; wrap one with
// ToAbsl() where it meets absl::StrCat, absl::StrSplit and friends.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace itmo {

inline absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace itmo
