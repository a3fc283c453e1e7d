#include "server/cli/cli_context.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "proto/client_channel.h"
#include "proto/grpc_status.h"

namespace kdnas::cli {
namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

}  // namespace

CliContext::CliContext()
    : address(EnvOr("KDNAS_ADDR", "127.0.0.1:50051")),
      token(EnvOr("KDNAS_TOKEN", "")),
      tls_ca(EnvOr("KDNAS_TLS_CA", "")) {}

void CliContext::AddFlags(FlagSet* flags) {
  flags->String("addr", &address, "Controller address host:port (env KDNAS_ADDR).");
  flags->String("token", &token, "Bearer token (env KDNAS_TOKEN).");
  flags->String("tls-ca", &tls_ca, "CA certificate (PEM) of the controller; enables TLS (env KDNAS_TLS_CA).");
  flags->String("tls-cert", &tls_cert, "Client certificate (PEM) for mutual TLS.");
  flags->String("tls-key", &tls_key, "Client private key (PEM) for mutual TLS.");
  flags->Bool("json", &json, "Print machine-readable JSON.");
  flags->Int("timeout-ms", &timeout_ms, "Deadline of each call, in milliseconds (0: none).");
}

StatusOr<std::shared_ptr<grpc::Channel>> CliContext::Connect() const {
  KDNAS_ASSIGN_OR_RETURN(auto channel, MakeControllerChannel(address, tls_ca, tls_cert, tls_key));
  auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(std::min(timeout_ms, 5000));
  if (!channel->WaitForConnected(deadline)) {
    return Unavailable("cannot reach the controller at " + address +
                       " (is kdnas-controller running? set --addr or KDNAS_ADDR)");
  }
  return channel;
}

std::unique_ptr<grpc::ClientContext> CliContext::NewCall(bool streaming) const {
  return NewControllerCall(token, streaming ? 0 : timeout_ms);
}

Status CliContext::CallError(const grpc::Status& status) const {
  Status s = FromGrpcStatus(status);
  switch (s.code()) {
    case StatusCode::kUnavailable:
      return Unavailable("cannot reach the controller at " + address + ": " + s.message());
    case StatusCode::kUnauthenticated:
      return Unauthenticated(s.message() + " (set --token or KDNAS_TOKEN)");
    case StatusCode::kDeadlineExceeded:
      return Status(s.code(), "the controller did not answer within " +
                                  std::to_string(timeout_ms) + " ms (--timeout-ms)");
    default:
      return s;
  }
}

void CliContext::PrintJson(const google::protobuf::Message& message) const {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  std::printf("%s\n", out.c_str());
}

int Fail(const std::string& command, const Status& status) {
  std::fprintf(stderr, "kdnas %s: %s\n", command.c_str(), status.message().c_str());
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

int ParseCommandFlags(FlagSet* flags, const std::string& command,
                      const std::vector<std::string>& args, size_t positional_min,
                      size_t positional_max) {
  Status s = flags->Parse(args);
  if (!s.ok()) return Fail(command, s);
  if (flags->help_requested()) {
    std::printf("%s", flags->Help().c_str());
    return 0;
  }
  size_t n = flags->positional().size();
  if (n < positional_min || n > positional_max) {
    std::string expected = positional_min == positional_max
                               ? std::to_string(positional_min)
                               : std::to_string(positional_min) + " to " + std::to_string(positional_max);
    std::fprintf(stderr, "kdnas %s: expected %s argument(s), got %zu (see --help)\n",
                 command.c_str(), expected.c_str(), n);
    return 2;
  }
  return -1;
}

}  // namespace kdnas::cli
