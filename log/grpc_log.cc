#include "log/grpc_log.h"

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>

#include <string>

#include "log/log.h"

namespace kdnas {
namespace {

std::string Source(const char* file, int line) {
  return std::string(file != nullptr ? file : "?") + ":" + std::to_string(line);
}

// gRPC's INFO and DEBUG are its verbose modes (off by default): they land
// one level lower here, so the default info level shows what gRPC shows by
// default.
LogLevel FromGrpc(gpr_log_severity severity) {
  switch (severity) {
    case GPR_LOG_SEVERITY_ERROR:
      return LogLevel::kError;
    case GPR_LOG_SEVERITY_INFO:
      return LogLevel::kDebug;
    default:
      return LogLevel::kTrace;
  }
}

void FromGrpcCore(gpr_log_func_args* args) {
  Log(FromGrpc(args->severity), args->message != nullptr ? args->message : "",
      {{"component", "grpc"}, {"source", Source(args->file, args->line)}});
}

void FromProtobuf(google::protobuf::LogLevel level, const char* file, int line,
                  const std::string& message) {
  const LogLevel ours = level == google::protobuf::LOGLEVEL_INFO      ? LogLevel::kInfo
                        : level == google::protobuf::LOGLEVEL_WARNING ? LogLevel::kWarn
                                                                      : LogLevel::kError;
  Log(ours, message, {{"component", "protobuf"}, {"source", Source(file, line)}});
}

}  // namespace

void RouteGrpcLogs() {
  const LogLevel level = CurrentLogLevel();
  gpr_set_log_verbosity(level <= LogLevel::kTrace   ? GPR_LOG_SEVERITY_DEBUG
                        : level <= LogLevel::kDebug ? GPR_LOG_SEVERITY_INFO
                                                    : GPR_LOG_SEVERITY_ERROR);
  gpr_set_log_function(FromGrpcCore);
  google::protobuf::SetLogHandler(FromProtobuf);
}

}  // namespace kdnas
