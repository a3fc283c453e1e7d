#include "search/status.h"

#include <gtest/gtest.h>

namespace kdnas {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("x: must be even");
  return x / 2;
}

StatusOr<int> Quarter(int x) {
  KDNAS_ASSIGN_OR_RETURN(int half, Half(x));
  KDNAS_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(Status, CarriesCodeAndMessage) {
  Status s = InvalidArgument("spec.seed: bad");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "INVALID_ARGUMENT: spec.seed: bad");
  EXPECT_EQ(Status::Ok().ToString(), "OK");
}

TEST(StatusOr, PropagatesTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  auto bad = Quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "x: must be even");
}

TEST(StatusOr, OkStatusWithoutValueIsAnError) {
  StatusOr<int> s(Status::Ok());
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace kdnas
