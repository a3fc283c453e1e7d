#include "proto/grpc_status.h"

namespace kdnas {

grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message());
}

Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return Status::Ok();
  return Status(static_cast<StatusCode>(status.error_code()), status.error_message());
}

Status FromGrpcStatus(const grpc::Status& status, const std::string& context) {
  Status s = FromGrpcStatus(status);
  return s.ok() ? s : Status(s.code(), context + ": " + s.message());
}

}  // namespace kdnas
