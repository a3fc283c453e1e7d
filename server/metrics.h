// Prometheus metrics of the controller (docs/metrics.md): RPCs, store
// commits, trials and workers, served by a prometheus-cpp pull exposer. The
// job figures are read from the JobManager at scrape time, so they are never
// stale and ended jobs drop out an hour after they end.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <mutex>
#include <string>

#include "server/job_manager.h"
#include "server/rpc_util.h"
#include "server/store/store.h"

namespace kdnas {

class ControllerMetrics : public RpcObserver, public CoreObserver {
 public:
  // Serves /metrics on `listen` (host:port).
  static StatusOr<std::unique_ptr<ControllerMetrics>> Create(const std::string& listen, JobManager* manager,
                                                             Store* store);
  ~ControllerMetrics() override;

  void OnRpc(const char* method, grpc::StatusCode code, double seconds) override;
  void OnTrialFinished(const std::string& job, v1::TrialState state, double seconds) override;
  void OnStepTime(const std::string& job, double seconds) override;

  // The port actually bound.
  int port() const;

 private:
  class CoreCollector;
  class ProcessCollector;
  ControllerMetrics() = default;

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<CoreCollector> core_;
  std::shared_ptr<ProcessCollector> process_;
  prometheus::Family<prometheus::Counter>* rpc_requests_ = nullptr;
  prometheus::Family<prometheus::Histogram>* rpc_duration_ = nullptr;
  prometheus::Histogram* commit_duration_ = nullptr;
  prometheus::Histogram* commit_batch_ = nullptr;
  prometheus::Family<prometheus::Counter>* trials_completed_ = nullptr;
  prometheus::Family<prometheus::Histogram>* trial_duration_ = nullptr;
  prometheus::Family<prometheus::Histogram>* step_seconds_ = nullptr;
  Store* store_ = nullptr;
};

}  // namespace kdnas
