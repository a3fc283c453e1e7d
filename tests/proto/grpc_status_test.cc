#include "proto/grpc_status.h"

#include <gtest/gtest.h>

namespace kdnas {
namespace {

TEST(GrpcStatus, EveryCodeRoundTrips) {
  for (int code = 0; code <= 16; ++code) {
    Status s(static_cast<StatusCode>(code), code == 0 ? "" : "field.path: why");
    grpc::Status g = ToGrpcStatus(s);
    EXPECT_EQ(static_cast<int>(g.error_code()), code);
    EXPECT_EQ(FromGrpcStatus(g), s);
  }
  EXPECT_EQ(ToGrpcStatus(InvalidArgument("spec.seed: bad")).error_message(), "spec.seed: bad");
}

TEST(GrpcStatus, ContextPrefixesFailuresOnly) {
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "lease expired"),
                           "LeaseTrial"),
            FailedPrecondition("LeaseTrial: lease expired"));
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK, "LeaseTrial").ok());
}

}  // namespace
}  // namespace kdnas
