// The one place where core statuses become gRPC statuses and back: the
// controller's services, the CLI and the worker's lease client all convert
// through it (kdnas_client).
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "search/status.h"

namespace kdnas {

grpc::Status ToGrpcStatus(const Status& status);
Status FromGrpcStatus(const grpc::Status& status);
// The same code, the message prefixed with `context` ("LeaseTrial: ...").
Status FromGrpcStatus(const grpc::Status& status, const std::string& context);

}  // namespace kdnas
