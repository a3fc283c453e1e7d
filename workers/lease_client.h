// The worker's side of the WorkerService: lease a trial, fetch its files,
// run it with a TrialExecutor while heartbeating, upload its artifacts and
// report, again and again. A finished result is written to a spool directory
// before it is reported, and reported again after a crash or while the
// controller is away, so no finished result is lost. Torch-free.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "kdnas/v1/worker_service.grpc.pb.h"
#include "workers/trial_executor.h"

namespace kdnas {

struct LeaseClientOptions {
  std::string controller = "127.0.0.1:50051";
  std::string token;           // bearer token with the worker role
  std::string tls_ca;          // PEM file; enables TLS
  std::string tls_cert;        // client certificate (mutual TLS)
  std::string tls_key;
  std::string worker_id;       // default: hostname-pid
  int threads = 0;             // reported to the controller
  std::string cache_dir = "kdnas-worker-cache";  // blobs, spool, scratch
  int64_t max_trials = 0;      // stop after this many trials (0 = no limit)
  int32_t wait_ms = 10'000;    // LeaseTrial long-poll
  int32_t initial_backoff_ms = 200;
  int32_t max_backoff_ms = 10'000;
  // Stop after this many consecutive empty polls (0 = never), for tests.
  int64_t max_idle_polls = 0;
};

class LeaseClient {
 public:
  static StatusOr<std::unique_ptr<LeaseClient>> Create(const LeaseClientOptions& options);

  // Reports what the spool holds, then leases and runs trials until
  // max_trials, max_idle_polls or Stop(). Returns the trials run.
  StatusOr<int64_t> Run(TrialExecutor& executor);
  // Asks Run to return: the running trial is stopped and given back
  // (reported as a retryable failure) unless it finishes first.
  void Stop() { stopping_ = true; }
  // Delivers spooled reports; returns how many were delivered.
  StatusOr<int> FlushSpool();
  // options.worker_id, or the default it got (hostname-pid).
  const std::string& worker_id() const { return options_.worker_id; }

 private:
  class Context;
  LeaseClient() = default;
  std::unique_ptr<grpc::ClientContext> NewCall(int64_t deadline_ms) const;
  void Backoff(int attempt) const;
  StatusOr<std::string> Fetch(const v1::FileRef& ref);
  // Turns an execution result into a spooled report and delivers it.
  Status Report(const v1::Lease& lease, const ExecutionResult& result);
  // Uploads the spooled files of one report and sends it. OK when delivered
  // or refused for good (a stale lease); UNAVAILABLE to try again later.
  Status Deliver(const std::string& spool_entry);
  StatusOr<std::string> UploadArtifact(const std::string& token, const std::string& path, v1::ArtifactKind kind);

  LeaseClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkerService::Stub> stub_;
  std::string hostname_;
  std::atomic<bool> stopping_{false};
  std::mutex fetch_mu_;
};

}  // namespace kdnas
