// A gRPC channel to a kdnas controller, shared by every client (the CLI and
// the worker): plaintext, TLS with a CA file, or mutual TLS with a client
// certificate and key.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "search/status.h"

namespace kdnas {

StatusOr<std::shared_ptr<grpc::Channel>> MakeControllerChannel(const std::string& address, const std::string& tls_ca,
                                                               const std::string& tls_cert,
                                                               const std::string& tls_key);

}  // namespace kdnas
