// File: base/check.h
// Always-on and debug-only assertions for programmer errors (Abseil 20220623 has no absl/log).
// Untrusted input gets an absl::Status, never a CHECK; once validated, CHECK the validated form.
// Thread-safe: the macros only print to stderr and abort.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace itmo::base::internal {

[[noreturn]] inline void CheckFailed(const char* file, int line, const char* condition) {
  std::fprintf(stderr, "ITMO_CHECK failed at %s:%d: %s\n", file, line, condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace itmo::base::internal

// Aborts with file:line and the condition when `cond` is false. On in every build type.
#define ITMO_CHECK(cond)                                                   \
  do {                                                                     \
    if (!(cond)) [[unlikely]] {                                            \
      ::itmo::base::internal::CheckFailed(__FILE__, __LINE__, #cond);      \
    }                                                                      \
  } while (false)

// For O(n) checks: on in debug builds only; the condition is still compiled (never evaluated) in release.
#ifdef NDEBUG
#define ITMO_DCHECK(cond) \
  do {                    \
    if (false) {          \
      (void)(cond);       \
    }                     \
  } while (false)
#else
#define ITMO_DCHECK(cond) ITMO_CHECK(cond)
#endif
