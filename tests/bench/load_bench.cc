// Load: K concurrent synthetic workers (lease -> heartbeat -> report, again
// and again) against a kdnas-controller process with its SQLite store, for a
// fixed time. Prints, per tenth of the run, the cycles, p99 latency of each
// RPC and the controller's RSS; counts leases lost (a heartbeat or report
// refused as stale). Exits non-zero if a lease was lost or, with
// --max-rss-growth-mb, if RSS grew more than that after the first tenth.
//
//   load_bench --controller-bin PATH [--workers 256] [--seconds 600]
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "bench_util.h"
#include "kdnas/v1/worker_service.grpc.pb.h"
#include "search/flags.h"

namespace {

using kdnas::bench::Clock;
using kdnas::bench::Latencies;
using kdnas::bench::Seconds;

struct Counters {
  std::atomic<int64_t> cycles{0};
  std::atomic<int64_t> lost{0};
  std::atomic<int64_t> errors{0};
  Latencies lease_us, heartbeat_us, report_us;
};

// One worker: an asynchronous chain on the callback client API.
class LoadWorker {
 public:
  LoadWorker(kdnas::v1::WorkerService::Stub* stub, int id, Counters* counters, const std::atomic<bool>* stop,
             std::function<void()> done)
      : stub_(stub), counters_(counters), stop_(stop), done_(std::move(done)) {
    lease_.set_worker_id("load-" + std::to_string(id));
    lease_.set_wait_ms(500);
  }
  void Lease() {
    if (stop_->load()) return done_();
    ctx_ = std::make_unique<grpc::ClientContext>();
    lease_response_.Clear();
    auto start = Clock::now();
    stub_->async()->LeaseTrial(ctx_.get(), &lease_, &lease_response_, [this, start](grpc::Status s) {
      counters_->lease_us.Add(Seconds(start, Clock::now()) * 1e6);
      if (!s.ok()) counters_->errors++;
      if (!s.ok() || !lease_response_.has_lease()) return Lease();
      Heartbeat();
    });
  }

 private:
  void Heartbeat() {
    heartbeat_.set_lease_token(lease_response_.lease().token());
    heartbeat_.mutable_progress()->set_step(10);
    ctx_ = std::make_unique<grpc::ClientContext>();
    auto start = Clock::now();
    stub_->async()->Heartbeat(ctx_.get(), &heartbeat_, &heartbeat_response_, [this, start](grpc::Status s) {
      counters_->heartbeat_us.Add(Seconds(start, Clock::now()) * 1e6);
      if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
        counters_->lost++;
        return Lease();
      }
      if (!s.ok()) counters_->errors++;
      Report();
    });
  }
  void Report() {
    const auto& lease = lease_response_.lease();
    report_.Clear();
    report_.set_lease_token(lease.token());
    auto* m = report_.mutable_success()->mutable_metrics();
    m->set_val_loss(1.3 + 60.0 / std::sqrt(std::max<double>(1, lease.trial().predicted().nonzero_params())));
    m->set_size_bytes(lease.trial().predicted().size_bytes());
    m->set_worker_seconds(0.001);
    ctx_ = std::make_unique<grpc::ClientContext>();
    auto start = Clock::now();
    stub_->async()->ReportResult(ctx_.get(), &report_, &report_response_, [this, start](grpc::Status s) {
      counters_->report_us.Add(Seconds(start, Clock::now()) * 1e6);
      if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) counters_->lost++;
      else if (!s.ok()) counters_->errors++;
      else counters_->cycles++;
      Lease();
    });
  }

  kdnas::v1::WorkerService::Stub* stub_;
  Counters* counters_;
  const std::atomic<bool>* stop_;
  std::function<void()> done_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  kdnas::v1::LeaseTrialRequest lease_;
  kdnas::v1::LeaseTrialResponse lease_response_;
  kdnas::v1::HeartbeatRequest heartbeat_;
  kdnas::v1::HeartbeatResponse heartbeat_response_;
  kdnas::v1::ReportResultRequest report_;
  kdnas::v1::ReportResultResponse report_response_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string controller_bin;
  int workers = 256, channels = 8;
  int64_t seconds = 600;
  double max_growth_mb = 0;
  kdnas::FlagSet flags("load_bench --controller-bin PATH [flags]");
  flags.String("controller-bin", &controller_bin, "kdnas-controller binary.");
  flags.Int("workers", &workers, "Concurrent synthetic workers.");
  flags.Int("channels", &channels, "gRPC connections they share.");
  flags.Int("seconds", &seconds, "Duration of the run.");
  flags.Double("max-rss-growth-mb", &max_growth_mb, "Fail if RSS grows more after the first tenth (0 = no check).");
  if (auto s = flags.Parse(argc, argv); !s.ok() || controller_bin.empty() || flags.help_requested()) {
    std::fprintf(stderr, "%s\n%s", s.message().c_str(), flags.Help().c_str());
    return 2;
  }
  // Leases long enough that only a real loss (not a slow worker) counts.
  kdnas::bench::ControllerProcess controller(controller_bin, 60'000);
  if (!controller.ready() || !controller.SubmitSyntheticJob(10'000'000).ok()) {
    std::fprintf(stderr, "the controller did not start or refused the job\n");
    return 1;
  }
  std::vector<std::unique_ptr<kdnas::v1::WorkerService::Stub>> stubs;
  for (int c = 0; c < channels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    stubs.push_back(kdnas::v1::WorkerService::NewStub(
        grpc::CreateCustomChannel(controller.address(), grpc::InsecureChannelCredentials(), args)));
  }
  Counters counters;
  std::atomic<bool> stop{false};
  std::atomic<int> finished{0};
  std::vector<std::unique_ptr<LoadWorker>> pool;
  for (int w = 0; w < workers; ++w) {
    pool.push_back(std::make_unique<LoadWorker>(stubs[w % channels].get(), w, &counters, &stop, [&] { finished++; }));
  }
  for (auto& w : pool) w->Lease();
  std::printf("%8s %10s %10s %14s %14s %14s %10s\n", "seconds", "cycles/s", "lost", "lease p99 us", "beat p99 us",
              "report p99 us", "rss MB");
  const double tenth = static_cast<double>(seconds) / 10;
  double rss_first = 0, rss_last = 0, worst_p99 = 0;
  int64_t last_cycles = 0;
  for (int i = 1; i <= 10; ++i) {
    std::this_thread::sleep_for(std::chrono::duration<double>(tenth));
    int64_t c = counters.cycles.load();
    double rss = kdnas::bench::RssKb(controller.pid()) / 1024.0;
    if (i == 1) rss_first = rss;
    rss_last = rss;
    double lp = counters.lease_us.Percentile(0.99), hp = counters.heartbeat_us.Percentile(0.99),
           rp = counters.report_us.Percentile(0.99);
    worst_p99 = std::max({worst_p99, lp, hp, rp});
    std::printf("%8.0f %10.0f %10lld %14.0f %14.0f %14.0f %10.1f\n", tenth * i,
                static_cast<double>(c - last_cycles) / tenth, static_cast<long long>(counters.lost.load()), lp, hp,
                rp, rss);
    std::fflush(stdout);
    last_cycles = c;
    counters.lease_us.Clear();
    counters.heartbeat_us.Clear();
    counters.report_us.Clear();
  }
  stop = true;
  while (finished.load() < workers) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const int64_t lost = counters.lost.load();
  const double growth = rss_last - rss_first;
  std::printf("%d workers for %lld s: %lld cycles, %lld leases lost, %lld errors, RSS %.1f -> %.1f MB\n", workers,
              static_cast<long long>(seconds), static_cast<long long>(counters.cycles.load()),
              static_cast<long long>(lost), static_cast<long long>(counters.errors.load()), rss_first, rss_last);
  std::printf("{\"bench\":\"load\",\"workers\":%d,\"seconds\":%lld,\"cycles\":%lld,\"cycles_per_s\":%.1f,"
              "\"leases_lost\":%lld,\"worst_p99_us\":%.0f,\"rss_first_mb\":%.1f,\"rss_last_mb\":%.1f}\n",
              workers, static_cast<long long>(seconds), static_cast<long long>(counters.cycles.load()),
              static_cast<double>(counters.cycles.load()) / static_cast<double>(seconds), static_cast<long long>(lost),
              worst_p99, rss_first, rss_last);
  if (lost > 0) return 1;
  if (max_growth_mb > 0 && growth > max_growth_mb) {
    std::fprintf(stderr, "RSS grew %.1f MB after warm-up (limit %.1f)\n", growth, max_growth_mb);
    return 1;
  }
  return 0;
}
