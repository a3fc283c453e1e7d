// Controller throughput: K synthetic workers over real loopback gRPC doing
// lease-then-report cycles against a kdnas-controller process (SQLite store,
// durable acknowledgements, nsga2, cost model and Pareto tracker in the loop),
// then heartbeats; and the same load against a minimal callback-API server
// whose report handler only appends to SQLite with group commit (the
// machine's ceiling).
//
//   controller_throughput_bench kdnas --controller-bin PATH [--trials N] [--workers K]
//   controller_throughput_bench ceiling [--trials N] [--workers K]
// Each prints one JSON line of figures.
#include <grpcpp/grpcpp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "kdnas/v1/search_service.grpc.pb.h"
#include "kdnas/v1/worker_service.grpc.pb.h"
#include "search/flags.h"
#include "server/store/sqlite_store.h"

namespace {

namespace fs = std::filesystem;
using kdnas::bench::Clock;
using kdnas::bench::ControllerProcess;
using kdnas::bench::Latencies;
using kdnas::bench::RssKb;
using kdnas::bench::Seconds;

// One virtual worker: an asynchronous chain of lease -> report -> lease ...
// on the callback client API, so K workers need no K threads.
class VirtualWorker {
 public:
  VirtualWorker(kdnas::v1::WorkerService::Stub* stub, int id, std::atomic<int64_t>* remaining,
                std::atomic<int64_t>* cycles, Latencies* lease_us, Latencies* report_us,
                std::function<void()> done)
      : stub_(stub),
        remaining_(remaining),
        cycles_(cycles),
        lease_us_(lease_us),
        report_us_(report_us),
        done_(std::move(done)) {
    lease_request_.set_worker_id("bench-" + std::to_string(id));
    lease_request_.set_wait_ms(200);
  }
  void Start() { Lease(); }

 private:
  void Lease() {
    if (remaining_->fetch_sub(1) <= 0) return done_();
    ctx_ = std::make_unique<grpc::ClientContext>();
    lease_response_.Clear();
    auto start = Clock::now();
    stub_->async()->LeaseTrial(ctx_.get(), &lease_request_, &lease_response_,
                               [this, start](grpc::Status s) {
                                 lease_us_->Add(Seconds(start, Clock::now()) * 1e6);
                                 if (!s.ok() || !lease_response_.has_lease()) {
                                   remaining_->fetch_add(1);
                                   return Lease();
                                 }
                                 Report();
                               });
  }
  void Report() {
    const auto& lease = lease_response_.lease();
    report_request_.Clear();
    report_request_.set_lease_token(lease.token());
    auto* m = report_request_.mutable_success()->mutable_metrics();
    const auto& p = lease.trial().predicted();
    m->set_val_loss(1.3 +
                    60.0 / std::sqrt(std::max<double>(1, static_cast<double>(p.nonzero_params()))));
    m->set_size_bytes(p.size_bytes());
    m->set_params(p.params());
    m->set_worker_seconds(0.001);
    ctx_ = std::make_unique<grpc::ClientContext>();
    auto start = Clock::now();
    stub_->async()->ReportResult(ctx_.get(), &report_request_, &report_response_,
                                 [this, start](grpc::Status s) {
                                   report_us_->Add(Seconds(start, Clock::now()) * 1e6);
                                   if (s.ok()) cycles_->fetch_add(1);
                                   Lease();
                                 });
  }

  kdnas::v1::WorkerService::Stub* stub_;
  std::atomic<int64_t>* remaining_;
  std::atomic<int64_t>* cycles_;
  Latencies* lease_us_;
  Latencies* report_us_;
  std::function<void()> done_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  kdnas::v1::LeaseTrialRequest lease_request_;
  kdnas::v1::LeaseTrialResponse lease_response_;
  kdnas::v1::ReportResultRequest report_request_;
  kdnas::v1::ReportResultResponse report_response_;
};

struct CycleFigures {
  double cycles_per_s = 0;
  double lease_p50 = 0, lease_p99 = 0, report_p50 = 0, report_p99 = 0;
  int64_t cycles = 0;
};

CycleFigures RunCycles(const std::string& address, int64_t trials, int workers, int channels) {
  std::vector<std::unique_ptr<kdnas::v1::WorkerService::Stub>> stubs;
  for (int c = 0; c < channels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection per channel
    stubs.push_back(kdnas::v1::WorkerService::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
  }
  std::atomic<int64_t> remaining{trials}, cycles{0};
  Latencies lease_us, report_us;
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  std::vector<std::unique_ptr<VirtualWorker>> pool;
  for (int w = 0; w < workers; ++w) {
    pool.push_back(std::make_unique<VirtualWorker>(stubs[w % channels].get(), w, &remaining,
                                                   &cycles, &lease_us, &report_us, [&] {
                                                     std::lock_guard<std::mutex> lock(mu);
                                                     ++finished;
                                                     cv.notify_all();
                                                   }));
  }
  auto start = Clock::now();
  for (auto& w : pool) w->Start();
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return finished == workers; });
  }
  auto end = Clock::now();
  CycleFigures f;
  f.cycles = cycles.load();
  f.cycles_per_s = static_cast<double>(f.cycles) / Seconds(start, end);
  f.lease_p50 = lease_us.Percentile(0.5);
  f.lease_p99 = lease_us.Percentile(0.99);
  f.report_p50 = report_us.Percentile(0.5);
  f.report_p99 = report_us.Percentile(0.99);
  return f;
}

// ------------------------------------------------------------------ kdnas

int RunKdnas(const std::vector<std::string>& args) {
  std::string controller_bin, log_level = "info";
  int64_t trials = 100'000, heartbeats = 100'000;
  int workers = 128, channels = 4;
  kdnas::FlagSet flags("controller_throughput_bench kdnas --controller-bin PATH [flags]");
  flags.String("controller-bin", &controller_bin, "kdnas-controller binary.");
  flags.Int("trials", &trials, "Lease+report cycles.");
  flags.Int("heartbeats", &heartbeats, "Heartbeats in the second phase.");
  flags.Int("workers", &workers, "Concurrent virtual workers.");
  flags.Int("channels", &channels, "gRPC channels (connections) they share.");
  flags.String("log-level", &log_level, "The controller's --log-level (its default: info).");
  if (auto s = flags.Parse(args); !s.ok() || controller_bin.empty()) {
    std::fprintf(stderr, "%s\n%s", s.message().c_str(), flags.Help().c_str());
    return 2;
  }
  ControllerProcess controller(controller_bin, 600'000, log_level);
  if (!controller.ready()) {
    std::fprintf(stderr, "the controller did not start\n");
    return 1;
  }
  const std::string& address = controller.address();
  const pid_t pid = controller.pid();
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  if (grpc::Status s = controller.SubmitSyntheticJob(trials + heartbeats + 100000); !s.ok()) {
    std::fprintf(stderr, "SubmitJob: %s\n", s.error_message().c_str());
    return 1;
  }
  // Warm-up, then the measured run in four parts, RSS after each.
  RunCycles(address, std::min<int64_t>(10000, trials / 10), workers, channels);
  int64_t rss_warm = RssKb(pid);
  CycleFigures f;
  std::vector<int64_t> rss_steps;
  double seconds = 0;
  for (int part = 0; part < 4; ++part) {
    auto start = Clock::now();
    CycleFigures p = RunCycles(address, trials / 4, workers, channels);
    seconds += Seconds(start, Clock::now());
    f.cycles += p.cycles;
    f.lease_p50 = std::max(f.lease_p50, p.lease_p50);
    f.lease_p99 = std::max(f.lease_p99, p.lease_p99);
    f.report_p50 = std::max(f.report_p50, p.report_p50);
    f.report_p99 = std::max(f.report_p99, p.report_p99);
    rss_steps.push_back(RssKb(pid));
  }
  f.cycles_per_s = static_cast<double>(f.cycles) / seconds;
  int64_t rss_after = rss_steps.back();

  // Heartbeats: hold `workers` leases and beat them as fast as possible.
  auto worker_stub = kdnas::v1::WorkerService::NewStub(channel);
  std::vector<std::string> tokens;
  for (int w = 0; w < workers; ++w) {
    kdnas::v1::LeaseTrialRequest r;
    r.set_worker_id("hb-" + std::to_string(w));
    r.set_wait_ms(1000);
    kdnas::v1::LeaseTrialResponse resp;
    grpc::ClientContext ctx;
    if (worker_stub->LeaseTrial(&ctx, r, &resp).ok() && resp.has_lease())
      tokens.push_back(resp.lease().token());
  }
  std::atomic<int64_t> beats_left{heartbeats}, beats{0};
  Latencies beat_us;
  auto hb_start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto stub = kdnas::v1::WorkerService::NewStub(
          grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
      // 32 calls in flight per thread, on the callback API.
      std::mutex mu;
      std::condition_variable cv;
      int in_flight = 0;
      size_t i = static_cast<size_t>(t);
      while (beats_left.fetch_sub(1) > 0) {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return in_flight < 32; });
        ++in_flight;
        lock.unlock();
        auto* ctx = new grpc::ClientContext();
        auto* req = new kdnas::v1::HeartbeatRequest();
        auto* resp = new kdnas::v1::HeartbeatResponse();
        req->set_lease_token(tokens[i++ % tokens.size()]);
        req->mutable_progress()->set_step(static_cast<int64_t>(i));
        auto start = Clock::now();
        stub->async()->Heartbeat(ctx, req, resp, [&, ctx, req, resp, start](grpc::Status s) {
          beat_us.Add(Seconds(start, Clock::now()) * 1e6);
          if (s.ok()) beats.fetch_add(1);
          delete ctx;
          delete req;
          delete resp;
          std::lock_guard<std::mutex> l(mu);
          --in_flight;
          cv.notify_all();
        });
      }
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight == 0; });
    });
  }
  for (auto& th : threads) th.join();
  double hb_per_s = static_cast<double>(beats.load()) / Seconds(hb_start, Clock::now());
  std::printf(
      "{\"system\":\"kdnas\",\"log_level\":\"%s\",\"trials\":%lld,\"workers\":%d,\"channels\":%d,"
      "\"cycles_per_s\":%.1f,"
      "\"lease_p50_us\":%.0f,\"lease_p99_us\":%.0f,\"report_p50_us\":%.0f,\"report_p99_us\":%.0f,"
      "\"heartbeats_per_s\":%.1f,\"heartbeat_p50_us\":%.0f,\"heartbeat_p99_us\":%.0f,"
      "\"rss_warm_mb\":%.1f,\"rss_after_mb\":%.1f,\"rss_quarters_mb\":[%.1f,%.1f,%.1f,%.1f]}\n",
      log_level.c_str(), static_cast<long long>(f.cycles), workers, channels, f.cycles_per_s,
      f.lease_p50, f.lease_p99, f.report_p50, f.report_p99, hb_per_s, beat_us.Percentile(0.5),
      beat_us.Percentile(0.99), rss_warm / 1024.0, rss_after / 1024.0, rss_steps[0] / 1024.0,
      rss_steps[1] / 1024.0, rss_steps[2] / 1024.0, rss_steps[3] / 1024.0);
  return 0;
}

// ------------------------------------------------------------------ ceiling

// The least a durable lease+report server can do: hand out a constant lease,
// append each report to SQLite with group commit, answer after the commit.
class CeilingService final : public kdnas::v1::WorkerService::CallbackService {
 public:
  explicit CeilingService(kdnas::Store* store) : store_(store) {}
  grpc::ServerUnaryReactor* LeaseTrial(grpc::CallbackServerContext* c,
                                       const kdnas::v1::LeaseTrialRequest*,
                                       kdnas::v1::LeaseTrialResponse* response) override {
    response->mutable_lease()->set_token(std::to_string(next_.fetch_add(1)));
    auto* r = c->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
  grpc::ServerUnaryReactor* ReportResult(grpc::CallbackServerContext* c,
                                         const kdnas::v1::ReportResultRequest* request,
                                         kdnas::v1::ReportResultResponse*) override {
    auto* r = c->DefaultReactor();
    kdnas::WriteBatch batch;
    batch.events.push_back({1, next_event_.fetch_add(1), request->SerializeAsString()});
    store_->Commit(std::move(batch), [r](const kdnas::Status& s) {
      r->Finish(s.ok() ? grpc::Status::OK : grpc::Status(grpc::StatusCode::INTERNAL, s.message()));
    });
    return r;
  }

 private:
  kdnas::Store* store_;
  std::atomic<int64_t> next_{1}, next_event_{1};
};

int RunCeiling(const std::vector<std::string>& args) {
  int64_t trials = 100'000;
  int workers = 128, channels = 4;
  kdnas::FlagSet flags("controller_throughput_bench ceiling [flags]");
  flags.Int("trials", &trials, "Lease+report cycles.");
  flags.Int("workers", &workers, "Concurrent virtual workers.");
  flags.Int("channels", &channels, "gRPC channels.");
  if (auto s = flags.Parse(args); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 2;
  }
  fs::path db = fs::temp_directory_path() / ("kdnas-ceiling-" + std::to_string(getpid()) + ".db");
  auto store = kdnas::SqliteStore::Open(db.string(), kdnas::SqliteStore::Options());
  if (!store.ok()) return 1;
  CeilingService service(store->get());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  CycleFigures f = RunCycles("127.0.0.1:" + std::to_string(port), trials, workers, channels);
  server->Shutdown();
  store->reset();
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db.string() + suffix);
  std::printf(
      "{\"system\":\"ceiling\",\"trials\":%lld,\"workers\":%d,\"channels\":%d,\"cycles_per_s\":%."
      "1f,"
      "\"lease_p50_us\":%.0f,\"lease_p99_us\":%.0f,\"report_p50_us\":%.0f,\"report_p99_us\":%.0f}"
      "\n",
      static_cast<long long>(f.cycles), workers, channels, f.cycles_per_s, f.lease_p50, f.lease_p99,
      f.report_p50, f.report_p99);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + std::min(argc, 2), argv + argc);
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "kdnas") return RunKdnas(args);
  if (mode == "ceiling") return RunCeiling(args);
  std::fprintf(stderr, "usage: controller_throughput_bench kdnas|ceiling [flags]\n");
  return 2;
}
