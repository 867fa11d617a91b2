// File: base/status_macros.h
// ITMO_RETURN_IF_ERROR and ITMO_ASSIGN_OR_RETURN: the semantics of Abseil's later ABSL_ versions, which
// Abseil 20220623 lacks, so that one sed can switch to those later.
//
// Example:
//   absl::StatusOr<Block> LoadBlock(uint64_t height) {
//     ITMO_ASSIGN_OR_RETURN(std::string bytes, store_->Get(kBlocks, HeightKey(height)));
//     ITMO_RETURN_IF_ERROR(CheckSize(bytes));
//     return ParseBlock(bytes);
//   }
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ITMO_STATUS_MACROS_CONCAT_INNER(x, y) x##y
#define ITMO_STATUS_MACROS_CONCAT(x, y) ITMO_STATUS_MACROS_CONCAT_INNER(x, y)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function when it is not OK.
#define ITMO_RETURN_IF_ERROR(expr)                                               \
  do {                                                                           \
    ::absl::Status itmo_status_macros_status = (expr);                           \
    if (!itmo_status_macros_status.ok()) [[unlikely]] {                          \
      return itmo_status_macros_status;                                          \
    }                                                                            \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status when not OK, else moves the value into
// `lhs`, which may be a declaration (`Foo foo`) or an existing variable.
#define ITMO_ASSIGN_OR_RETURN(lhs, rexpr) \
  ITMO_ASSIGN_OR_RETURN_IMPL(ITMO_STATUS_MACROS_CONCAT(itmo_statusor_, __LINE__), lhs, rexpr)

#define ITMO_ASSIGN_OR_RETURN_IMPL(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  if (!statusor.ok()) [[unlikely]] {                     \
    return std::move(statusor).status();                 \
  }                                                      \
  lhs = std::move(statusor).value()
