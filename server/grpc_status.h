// The one place where core statuses become gRPC statuses and back.
#pragma once

#include <grpcpp/support/status.h>

#include "search/status.h"

namespace kdnas {

grpc::Status ToGrpcStatus(const Status& status);
Status FromGrpcStatus(const grpc::Status& status);

}  // namespace kdnas
