// File: ledger/internal/quantity.h
// Exact 128-bit quantities as decimal strings (the wire and state form of unit counts and t CO2e
// figures that may pass 2^64), and the one rounding rule of reported t CO2e (docs/ledger-rules.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/check.h"

namespace itmo::ledger::internal {

using U128 = unsigned __int128;
using I128 = __int128;

// t CO2e figures are kept exactly in micro-tonnes: every conversion denominator divides this.
inline constexpr uint64_t kMicroPerTonne = 1'000'000;

inline std::string U128ToDecimal(U128 v) {
  if (v == 0) return "0";
  std::string out;
  while (v != 0) {
    out.insert(out.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return out;
}

inline std::string I128ToDecimal(I128 v) {
  if (v >= 0) return U128ToDecimal(static_cast<U128>(v));
  return "-" + U128ToDecimal(static_cast<U128>(-(v + 1)) + 1);
}

// Parses what U128ToDecimal wrote (state we produced; "" is 0). nullopt on anything else.
inline std::optional<U128> ParseU128(std::string_view s) {
  U128 v = 0;
  const U128 max = ~static_cast<U128>(0);
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    if (v > (max - static_cast<U128>(c - '0')) / 10) return std::nullopt;
    v = v * 10 + static_cast<U128>(c - '0');
  }
  return v;
}

// The one rounding rule: micro-tonnes to tonnes with 3 decimal places, half to even
// (1500 micro -> "0.002", 2500 -> "0.002", 2501 -> "0.003"; -2500 -> "-0.002").
inline std::string RoundMicroToMilli(I128 micro) {
  const bool negative = micro < 0;
  U128 m = negative ? static_cast<U128>(-(micro + 1)) + 1 : static_cast<U128>(micro);
  U128 milli = m / 1000;
  const U128 rest = m % 1000;
  if (rest > 500 || (rest == 500 && milli % 2 == 1)) ++milli;
  ITMO_CHECK(milli >= m / 1000);
  std::string frac = U128ToDecimal(milli % 1000);
  frac.insert(frac.begin(), 3 - frac.size(), '0');
  ITMO_CHECK(frac.size() == 3);
  std::string out = (negative && milli != 0) ? "-" : "";
  return out + U128ToDecimal(milli / 1000) + "." + frac;
}

}  // namespace itmo::ledger::internal
