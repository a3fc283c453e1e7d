// Routes gRPC core's and protobuf's own messages into the kdnas log (as
// component=grpc / component=protobuf with their source file:line). Call
// once in main, after logging is configured: gRPC's verbosity follows the
// level at that time (gRPC ERROR -> error, INFO -> debug, DEBUG -> trace).
#pragma once

namespace kdnas {

void RouteGrpcLogs();

}  // namespace kdnas
