// The controller process, wired: store, blob store, job manager on its
// io_context thread, the two gRPC services (plus health checking and
// reflection), authentication and TLS. controller_main.cc only parses flags.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>

#include "server/admission.h"
#include "server/auth.h"
#include "server/job_manager.h"
#include "server/metrics.h"
#include "server/search_service.h"
#include "server/worker_service.h"

namespace kdnas {

class Controller {
 public:
  struct Options {
    std::string listen = "127.0.0.1:50051";  // host:port; port 0 picks a free one
    std::string data_dir = "kdnas-data";     // store, blobs and artifacts
    std::string store;                       // "" = sqlite:<data_dir>/kdnas.db; or "memory"
    std::string token_file;                  // "" = no authentication (loopback only)
    std::string tls_cert;                    // PEM; with tls_key enables TLS
    std::string tls_key;
    std::string tls_client_ca;               // PEM; requires client certificates (mTLS)
    bool allow_insecure_remote = false;      // no tokens on a non-loopback address
    int64_t max_blob_bytes = 2LL << 30;
    int32_t max_message_bytes = 8 << 20;
    std::string metrics_listen;              // host:port of the Prometheus exposer; "" = none
    double rate_limit_rps = 0;               // calls per second per client; 0 = no limit
    double rate_limit_burst = 0;             // bucket size; 0 = rate_limit_rps
    JobManager::Options manager;
  };

  static StatusOr<std::unique_ptr<Controller>> Create(const Options& options);
  ~Controller();

  // The port actually bound.
  int port() const { return port_; }
  // The metrics port actually bound, 0 without metrics.
  int metrics_port() const;
  JobManager& manager() { return *manager_; }
  void SetRpcObserver(RpcObserver* observer);
  // Stops accepting, finishes in-flight calls and commits, closes streams.
  void Shutdown();
  void Wait();

 private:
  Controller() = default;
  Options options_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<BlobStore> blobs_;
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread io_thread_;
  std::unique_ptr<JobManager> manager_;
  Authenticator auth_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<Admission> admission_;
  struct ForwardingObserver : RpcObserver {
    std::atomic<RpcObserver*> target{nullptr};
    void OnRpc(const char* method, grpc::StatusCode code, double seconds) override {
      if (auto* t = target.load()) t->OnRpc(method, code, seconds);
    }
  } observer_;
  std::unique_ptr<SearchServiceImpl> search_;
  std::unique_ptr<WorkerServiceImpl> worker_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ControllerMetrics> metrics_;
  int port_ = 0;
  bool shut_down_ = false;
};

// True for 127.0.0.0/8, ::1, localhost and unix sockets.
bool IsLoopbackAddress(const std::string& listen);

}  // namespace kdnas
