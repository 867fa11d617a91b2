#include "base/status_macros.h"

#include "base/check.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace itmo::base {
namespace {

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ITMO_ASSIGN_OR_RETURN(int half, Half(x));
  ITMO_ASSIGN_OR_RETURN(half, Half(half));
  return half;
}

absl::Status FailIfOdd(int x) {
  ITMO_RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, AssignOrReturnPropagatesErrorAndValue) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_THAT(Quarter(6), testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StatusMacrosTest, ReturnIfErrorStopsAtFirstError) {
  EXPECT_OK(FailIfOdd(2));
  EXPECT_THAT(FailIfOdd(3), testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CheckDeathTest, CheckAbortsWithCondition) {
  EXPECT_DEATH(ITMO_CHECK(1 + 1 == 3), "1 \\+ 1 == 3");
}

}  // namespace
}  // namespace itmo::base
