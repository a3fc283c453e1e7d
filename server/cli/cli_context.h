// What every kdnas subcommand shares: how to reach the controller (address,
// token, TLS; from flags or KDNAS_ADDR / KDNAS_TOKEN), how to print (--json),
// and how to report an error (one line on stderr, non-zero exit).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "search/flags.h"
#include "search/status.h"

namespace google::protobuf {
class Message;
}

namespace kdnas::cli {

struct CliContext {
  std::string address;      // host:port of the controller
  std::string token;        // bearer token
  std::string tls_ca;       // CA certificate file; enables TLS
  std::string tls_cert;     // client certificate file (mTLS)
  std::string tls_key;      // client key file (mTLS)
  bool json = false;        // machine-readable output
  int timeout_ms = 30000;   // deadline of unary calls; 0 = none

  // Defaults from the environment (KDNAS_ADDR, KDNAS_TOKEN, KDNAS_TLS_CA).
  CliContext();

  // Adds --addr, --token, --tls-ca, --tls-cert, --tls-key, --json, --timeout-ms.
  void AddFlags(FlagSet* flags);

  // A channel to the controller; UNAVAILABLE with a one-line reason if it
  // cannot be reached within the connect timeout.
  StatusOr<std::shared_ptr<grpc::Channel>> Connect() const;
  // A client context with the token and a deadline `timeout_ms` from now
  // (no deadline when streaming is true).
  std::unique_ptr<grpc::ClientContext> NewCall(bool streaming = false) const;
  // The status of a failed call, phrased for a person.
  Status CallError(const grpc::Status& status) const;

  // Prints a message as JSON (one object, snake_case names).
  void PrintJson(const google::protobuf::Message& message) const;
};

// Prints "kdnas <command>: <message>" on stderr and returns the exit code for
// the status (2 for invalid arguments, 1 otherwise).
int Fail(const std::string& command, const Status& status);

// Parses flags for a subcommand; returns -1 to go on, or an exit code (0 after
// --help, 2 after bad flags).
int ParseCommandFlags(FlagSet* flags, const std::string& command,
                      const std::vector<std::string>& args, size_t positional_min,
                      size_t positional_max);

}  // namespace kdnas::cli
