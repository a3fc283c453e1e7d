// Small helpers shared by the thin gRPC services: finishing a unary reactor
// from a core callback, and reporting every RPC to an observer (metrics).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>

#include "proto/grpc_status.h"

namespace kdnas {

// Sees every finished RPC: its method, status code and latency.
class RpcObserver {
 public:
  virtual ~RpcObserver() = default;
  virtual void OnRpc(const char* method, grpc::StatusCode code, double seconds) = 0;
};

// Measures one RPC from construction to Done().
class RpcTimer {
 public:
  RpcTimer(RpcObserver* observer, const char* method)
      : observer_(observer), method_(method), start_(std::chrono::steady_clock::now()) {}
  void Done(grpc::StatusCode code) const {
    if (observer_ != nullptr) {
      observer_->OnRpc(method_, code,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    }
  }

 private:
  RpcObserver* observer_;
  const char* method_;
  std::chrono::steady_clock::time_point start_;
};

// A core callback that fills `response` and finishes `reactor`.
template <typename T>
std::function<void(StatusOr<T>)> FinishUnary(grpc::ServerUnaryReactor* reactor, T* response, RpcTimer timer) {
  return [reactor, response, timer](StatusOr<T> result) {
    grpc::Status status = ToGrpcStatus(result.status());
    if (result.ok()) *response = std::move(*result);
    timer.Done(status.error_code());
    reactor->Finish(status);
  };
}

// Finishes a unary reactor at once with an error.
inline grpc::ServerUnaryReactor* FailUnary(grpc::CallbackServerContext* context, const Status& status,
                                           const RpcTimer& timer) {
  auto* reactor = context->DefaultReactor();
  grpc::Status g = ToGrpcStatus(status);
  timer.Done(g.error_code());
  reactor->Finish(g);
  return reactor;
}

}  // namespace kdnas
