#include "server/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

namespace kdnas {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr int64_t kEndedJobRetentionMs = 3600 * 1000;

std::string StateLabel(v1::TrialState s) {
  std::string name = v1::TrialState_Name(s).substr(std::string("TRIAL_STATE_").size());
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::string JobStateLabel(v1::JobState s) {
  std::string name = v1::JobState_Name(s).substr(std::string("JOB_STATE_").size());
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

MetricFamily Family(const std::string& name, const std::string& help, MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

void AddValue(MetricFamily* f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f->type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f->metric.push_back(std::move(m));
}

}  // namespace

// Job, trial, lease and worker figures, read from the core at scrape time.
class ControllerMetrics::CoreCollector : public prometheus::Collectable {
 public:
  explicit CoreCollector(JobManager* manager) : manager_(manager) {}

  std::vector<MetricFamily> Collect() const override {
    auto promise = std::make_shared<std::promise<StatusOr<JobManagerStats>>>();
    auto future = promise->get_future();
    manager_->Stats([promise](StatusOr<JobManagerStats> s) { promise->set_value(std::move(s)); });
    if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return {};
    auto stats = future.get();
    if (!stats.ok()) return {};
    const JobManagerStats& s = *stats;
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    auto trials = Family("kdnas_trials", "Trials of a job by state.", MetricType::Gauge);
    auto job_state = Family("kdnas_job_state", "1 for the job's current state.", MetricType::Gauge);
    auto used = Family("kdnas_job_worker_seconds_used",
                       "Worker-seconds reported by the job's trials and teacher shards.",
                       MetricType::Gauge);
    auto shards = Family(
        "kdnas_job_teacher_shards",
        "Shards of the job's teacher pass: all of them (state total), finished (done), and of "
        "those found from an earlier job (reused).",
        MetricType::Gauge);
    auto budget = Family("kdnas_job_worker_seconds_budget",
                         "The job's max_worker_seconds (0 = none).", MetricType::Gauge);
    auto hv =
        Family("kdnas_job_hypervolume", "Hypervolume of the job's frontier.", MetricType::Gauge);
    auto size =
        Family("kdnas_job_frontier_size", "Points on the job's frontier.", MetricType::Gauge);
    auto best = Family("kdnas_job_best_val_loss",
                       "Best validation loss of a trial within the size budget (bytes).",
                       MetricType::Gauge);
    auto compression =
        Family("kdnas_job_best_compression_ratio",
               "The teacher's F16 GGUF bytes over those of the best trial within the size budget "
               "(bytes), with llama.cpp latency.",
               MetricType::Gauge);
    auto speedup = Family("kdnas_job_best_speedup",
                          "The teacher's llama.cpp decode latency over that of the best trial "
                          "within the size budget (bytes).",
                          MetricType::Gauge);
    auto progress =
        Family("kdnas_job_last_progress_timestamp_seconds",
               "Unix time of the job's last finished trial or heartbeat.", MetricType::Gauge);
    auto tps = Family("kdnas_worker_tokens_per_second",
                      "Training throughput from the latest heartbeats of the job's running trials.",
                      MetricType::Gauge);
    for (const auto& j : s.jobs) {
      if (j.end_ms > 0 && now_ms - j.end_ms > kEndedJobRetentionMs) continue;
      for (const auto& [state, count] : j.trials_by_state) {
        AddValue(&trials, {{"kdnas_job", j.job}, {"state", StateLabel(state)}},
                 static_cast<double>(count));
      }
      for (auto st : {v1::JOB_STATE_PENDING, v1::JOB_STATE_RUNNING, v1::JOB_STATE_SUCCEEDED,
                      v1::JOB_STATE_FAILED, v1::JOB_STATE_CANCELLED}) {
        AddValue(&job_state, {{"kdnas_job", j.job}, {"state", JobStateLabel(st)}},
                 j.state == st ? 1 : 0);
      }
      AddValue(&used, {{"kdnas_job", j.job}}, j.progress.worker_seconds_used());
      if (j.progress.teacher_shards() > 0) {
        AddValue(&shards, {{"kdnas_job", j.job}, {"state", "total"}},
                 static_cast<double>(j.progress.teacher_shards()));
        AddValue(&shards, {{"kdnas_job", j.job}, {"state", "done"}},
                 static_cast<double>(j.progress.teacher_shards_done()));
        AddValue(&shards, {{"kdnas_job", j.job}, {"state", "reused"}},
                 static_cast<double>(j.progress.teacher_shards_reused()));
      }
      AddValue(&budget, {{"kdnas_job", j.job}}, j.worker_seconds_budget);
      AddValue(&hv, {{"kdnas_job", j.job}}, j.progress.hypervolume());
      AddValue(&size, {{"kdnas_job", j.job}}, static_cast<double>(j.progress.frontier_size()));
      for (const auto& b : j.best_by_budget) {
        const std::vector<ClientMetric::Label> labels = {
            {"kdnas_job", j.job}, {"size_budget", std::to_string(b.size_budget_bytes)}};
        if (!std::isnan(b.val_loss)) AddValue(&best, labels, b.val_loss);
        if (!std::isnan(b.compression_ratio)) AddValue(&compression, labels, b.compression_ratio);
        if (!std::isnan(b.speedup)) AddValue(&speedup, labels, b.speedup);
      }
      AddValue(&progress, {{"kdnas_job", j.job}}, static_cast<double>(j.last_progress_ms) / 1000.0);
      AddValue(&tps, {{"kdnas_job", j.job}}, j.tokens_per_second);
    }
    std::vector<MetricFamily> out = {trials, job_state, used,        shards,  budget,   hv,
                                     size,   best,      compression, speedup, progress, tps};
    auto scalar = [&](const char* name, const char* help, MetricType type, double value) {
      auto f = Family(name, help, type);
      AddValue(&f, {}, value);
      out.push_back(std::move(f));
    };
    scalar("kdnas_queue_depth", "Pending trials waiting for a worker, all jobs.", MetricType::Gauge,
           static_cast<double>(s.queue_depth));
    scalar("kdnas_leases_active", "Leases held by workers.", MetricType::Gauge,
           static_cast<double>(s.leases_active));
    scalar("kdnas_lease_expirations_total", "Leases that expired without a report.",
           MetricType::Counter, static_cast<double>(s.lease_expirations));
    scalar("kdnas_workers_connected", "Workers seen in the last 60 s.", MetricType::Gauge,
           static_cast<double>(s.workers_connected));
    scalar("kdnas_workers_busy", "Workers holding a lease.", MetricType::Gauge,
           static_cast<double>(s.workers_busy));
    return out;
  }

 private:
  JobManager* manager_;
};

// process_* metrics from /proc/self.
class ControllerMetrics::ProcessCollector : public prometheus::Collectable {
 public:
  ProcessCollector() {
    std::ifstream stat("/proc/self/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto fields = Fields(content);
    double boot = 0;
    std::ifstream s("/proc/stat");
    for (std::string line; std::getline(s, line);) {
      if (line.rfind("btime ", 0) == 0) boot = std::stod(line.substr(6));
    }
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    start_time_ = fields.size() > 21 ? boot + std::stod(fields[21]) / ticks : 0;
  }
  std::vector<MetricFamily> Collect() const override {
    std::ifstream stat("/proc/self/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto fields = Fields(content);
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    double cpu = fields.size() > 14 ? (std::stod(fields[13]) + std::stod(fields[14])) / ticks : 0;
    double rss = fields.size() > 23 ? std::stod(fields[23]) * page : 0;
    double fds = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::end(it); it.increment(ec)) {
      ++fds;
    }
    std::vector<MetricFamily> out;
    auto add = [&](const char* name, const char* help, MetricType type, double value) {
      auto f = Family(name, help, type);
      AddValue(&f, {}, value);
      out.push_back(std::move(f));
    };
    add("process_resident_memory_bytes", "Resident set size in bytes.", MetricType::Gauge, rss);
    add("process_cpu_seconds_total", "User and system CPU time in seconds.", MetricType::Counter,
        cpu);
    add("process_open_fds", "Open file descriptors.", MetricType::Gauge, fds);
    add("process_start_time_seconds", "Start time of the process, Unix seconds.", MetricType::Gauge,
        start_time_);
    return out;
  }

 private:
  // Fields of /proc/self/stat after the parenthesised command name.
  static std::vector<std::string> Fields(const std::string& content) {
    std::vector<std::string> fields;
    auto close = content.rfind(')');
    if (close == std::string::npos) return fields;
    fields = {"pid", "comm"};
    std::istringstream in(content.substr(close + 2));
    for (std::string f; in >> f;) fields.push_back(f);
    return fields;
  }
  double start_time_ = 0;
};

StatusOr<std::unique_ptr<ControllerMetrics>> ControllerMetrics::Create(const std::string& listen,
                                                                       JobManager* manager,
                                                                       Store* store) {
  std::unique_ptr<ControllerMetrics> m(new ControllerMetrics());
  try {
    m->exposer_ = std::make_unique<prometheus::Exposer>(listen);
  } catch (const std::exception& e) {
    return Unavailable("--metrics-listen: cannot serve metrics on " + listen + ": " + e.what());
  }
  m->registry_ = std::make_shared<prometheus::Registry>();
  m->rpc_requests_ = &prometheus::BuildCounter()
                          .Name("kdnas_rpc_requests_total")
                          .Help("RPCs handled, by gRPC method and status code.")
                          .Register(*m->registry_);
  m->rpc_duration_ = &prometheus::BuildHistogram()
                          .Name("kdnas_rpc_duration_seconds")
                          .Help("RPC latency (streams: until they end).")
                          .Register(*m->registry_);
  m->commit_duration_ =
      &prometheus::BuildHistogram()
           .Name("kdnas_store_commit_duration_seconds")
           .Help("Duration of one durable store commit.")
           .Register(*m->registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                            0.05, 0.1, 0.2, 0.5, 1});
  m->commit_batch_ =
      &prometheus::BuildHistogram()
           .Name("kdnas_store_commit_batch_size")
           .Help("Writes sharing one commit (group commit).")
           .Register(*m->registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256, 512});
  m->trials_completed_ = &prometheus::BuildCounter()
                              .Name("kdnas_trials_completed_total")
                              .Help("Trials that ended (succeeded, failed, stopped).")
                              .Register(*m->registry_);
  m->trial_duration_ = &prometheus::BuildHistogram()
                            .Name("kdnas_trial_duration_seconds")
                            .Help("Wall time from lease to report of finished trials.")
                            .Register(*m->registry_);
  m->step_seconds_ = &prometheus::BuildHistogram()
                          .Name("kdnas_worker_step_seconds")
                          .Help("Seconds per optimizer step reported in heartbeats.")
                          .Register(*m->registry_);
  m->core_ = std::make_shared<CoreCollector>(manager);
  m->process_ = std::make_shared<ProcessCollector>();
  m->exposer_->RegisterCollectable(m->registry_);
  m->exposer_->RegisterCollectable(m->core_);
  m->exposer_->RegisterCollectable(m->process_);
  m->store_ = store;
  ControllerMetrics* raw = m.get();
  store->SetCommitObserver([raw](double seconds, int batches) {
    raw->commit_duration_->Observe(seconds);
    raw->commit_batch_->Observe(batches);
  });
  return m;
}

ControllerMetrics::~ControllerMetrics() {
  if (store_ != nullptr) store_->SetCommitObserver(nullptr);
}

int ControllerMetrics::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void ControllerMetrics::OnRpc(const char* method, grpc::StatusCode code, double seconds) {
  static const char* kCodes[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int c = static_cast<int>(code);
  rpc_requests_->Add({{"method", method}, {"code", c >= 0 && c <= 16 ? kCodes[c] : "UNKNOWN"}})
      .Increment();
  rpc_duration_
      ->Add({{"method", method}},
            prometheus::Histogram::BucketBoundaries{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1,
                                                    0.5, 1, 5, 30})
      .Observe(seconds);
}

void ControllerMetrics::OnTrialFinished(const std::string& job, v1::TrialState state,
                                        double seconds) {
  trials_completed_->Add({{"kdnas_job", job}, {"state", StateLabel(state)}}).Increment();
  trial_duration_
      ->Add({{"kdnas_job", job}},
            prometheus::Histogram::BucketBoundaries{1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600})
      .Observe(seconds);
}

void ControllerMetrics::OnStepTime(const std::string& job, double seconds) {
  step_seconds_
      ->Add({{"kdnas_job", job}},
            prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
                                                    1, 5})
      .Observe(seconds);
}

}  // namespace kdnas
