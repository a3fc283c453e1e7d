// The client side of a controller connection, shared by every client (the CLI
// and the worker): the channel (plaintext, TLS with a CA file, or mutual TLS
// with a client certificate and key) and the per-call context that carries
// the bearer token. Status conversion is in proto/grpc_status.h.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>

#include "search/status.h"

namespace kdnas {

StatusOr<std::shared_ptr<grpc::Channel>> MakeControllerChannel(const std::string& address, const std::string& tls_ca,
                                                               const std::string& tls_cert,
                                                               const std::string& tls_key);

// A context for one call: "authorization: Bearer <token>" when `token` is not
// empty, and a deadline `deadline_ms` from now (none when deadline_ms <= 0).
std::unique_ptr<grpc::ClientContext> NewControllerCall(const std::string& token,
                                                       int64_t deadline_ms);

}  // namespace kdnas
