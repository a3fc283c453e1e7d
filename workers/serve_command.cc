#include "workers/serve_command.h"

#include <torch/torch.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include "log/grpc_log.h"
#include "log/log.h"
#include "search/flags.h"
#include "workers/commands.h"
#include "workers/engine_executor.h"
#include "workers/lease_client.h"
#include "workers/synthetic_executor.h"

namespace kdnas {
namespace {

std::atomic<LeaseClient*> g_client{nullptr};

void OnSignal(int) {
  if (LeaseClient* c = g_client.load()) c->Stop();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

int ServeCommand(const std::vector<std::string>& args) {
  LeaseClientOptions o;
  std::string token_file;
  bool synthetic = false;
  int64_t synthetic_ms = 0;
  double synthetic_failure_rate = 0;
  bool latency = true;
  o.controller = "127.0.0.1:50051";
  if (const char* addr = std::getenv("KDNAS_ADDR"); addr != nullptr && *addr) o.controller = addr;
  if (const char* token = std::getenv("KDNAS_TOKEN"); token != nullptr) o.token = token;
  FlagSet flags(
      "kdnas-worker serve [flags]\n\n"
      "Leases trials from a kdnas controller and runs them until stopped (SIGTERM/SIGINT give\n"
      "the running trial back). Finished results are spooled in --cache-dir until reported.");
  flags.String("controller", &o.controller, "Controller address host:port (env KDNAS_ADDR).");
  flags.String("token", &o.token, "Bearer token with the worker role (env KDNAS_TOKEN).");
  flags.String("token-file", &token_file, "Read the token from this file instead.");
  flags.String("tls-ca", &o.tls_ca, "CA certificate (PEM) of the controller; enables TLS.");
  flags.String("tls-cert", &o.tls_cert, "Client certificate (PEM) for mutual TLS.");
  flags.String("tls-key", &o.tls_key, "Client private key (PEM) for mutual TLS.");
  flags.String("worker-id", &o.worker_id, "Stable worker id (default hostname-pid).");
  flags.Int("threads", &o.threads, "LibTorch threads for training (0 = LibTorch's default).");
  flags.Int("max-trials", &o.max_trials, "Exit after this many trials (0 = no limit).");
  flags.Int("max-idle-polls", &o.max_idle_polls, "Exit after this many empty lease polls in a row (0 = never).");
  flags.Int("wait-ms", &o.wait_ms, "Long-poll wait of each lease request, ms.");
  flags.String("cache-dir", &o.cache_dir, "Cache of downloaded blobs, spooled results and scratch space.");
  flags.Bool("measure-latency", &latency, "Measure generation latency of each student.");
  flags.Bool("synthetic", &synthetic, "Run trials with the analytic stand-in instead of training (tests).");
  flags.Int("synthetic-ms", &synthetic_ms, "With --synthetic: simulated training time per trial, ms.");
  flags.Double("synthetic-failure-rate", &synthetic_failure_rate,
               "With --synthetic: fraction of first attempts that fail (retryable).");
  if (int rc = ParseCommandFlags(flags, args, "serve"); rc >= 0) return rc;
  RouteGrpcLogs();
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) {
      std::fprintf(stderr, "kdnas-worker serve: --token-file: cannot read %s\n", token_file.c_str());
      return 2;
    }
    std::getline(in, o.token);
    o.token = Trim(o.token);
  }
  if (o.threads > 0) torch::set_num_threads(o.threads);
  auto client = LeaseClient::Create(o);
  if (!client.ok()) {
    LogError("cannot start", {{"reason", client.status().message()}});
    return 1;
  }
  g_client = client->get();
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::unique_ptr<TrialExecutor> executor;
  if (synthetic) {
    executor = std::make_unique<SyntheticExecutor>(SyntheticExecutor::Options{synthetic_ms, synthetic_failure_rate});
  } else {
    EngineExecutor::Options e;
    e.threads = o.threads;
    e.measure_latency = latency;
    executor = std::make_unique<EngineExecutor>(e);
  }
  LogInfo("serving", {{"worker", (*client)->worker_id()},
                      {"controller", o.controller},
                      {"executor", synthetic ? "synthetic" : "LibTorch"}});
  auto trials = (*client)->Run(*executor);
  g_client = nullptr;
  if (!trials.ok()) {
    LogError("stopped",
             {{"worker", (*client)->worker_id()}, {"reason", trials.status().message()}});
    return 1;
  }
  LogInfo("exiting", {{"worker", (*client)->worker_id()}, {"trials", *trials}});
  return 0;
}

}  // namespace kdnas
