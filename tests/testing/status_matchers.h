// File: tests/testing/status_matchers.h
// gtest matchers for absl::Status and absl::StatusOr (Abseil 20220623 ships none).
//
// Example:
//   EXPECT_THAT(store->Get(cf, "k"), IsOk());
//   EXPECT_THAT(LoadKeyPair(path), StatusIs(absl::StatusCode::kPermissionDenied));
//   ASSERT_OK_AND_ASSIGN(auto value, store->Get(cf, "k"));
#pragma once

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace itmo::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = ::itmo::testing::GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

MATCHER_P(StatusIs, code, "has status code " + ::testing::PrintToString(code)) {
  const absl::Status& status = ::itmo::testing::GetStatus(arg);
  if (status.code() != code) *result_listener << "status is " << status;
  return status.code() == code;
}

}  // namespace itmo::testing

#define ITMO_TESTING_CONCAT_INNER(x, y) x##y
#define ITMO_TESTING_CONCAT(x, y) ITMO_TESTING_CONCAT_INNER(x, y)

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::itmo::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::itmo::testing::IsOk())

// ASSERT_OK_AND_ASSIGN(auto value, StatusOrExpr): fails the test unless OK, then assigns.
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL(ITMO_TESTING_CONCAT(itmo_testing_statusor_, __LINE__), lhs, rexpr)
#define ASSERT_OK_AND_ASSIGN_IMPL(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                              \
  ASSERT_THAT(statusor.status(), ::itmo::testing::IsOk()); \
  lhs = std::move(statusor).value()
