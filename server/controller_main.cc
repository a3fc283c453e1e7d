// kdnas-controller: flags only; the wiring lives in server/controller.h.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "log/grpc_log.h"
#include "log/log.h"
#include "log/log_flags.h"
#include "search/flags.h"
#include "server/controller.h"
#include "server/store/postgres_leader.h"
#include "server/store/store.h"

int main(int argc, char** argv) {
  kdnas::Controller::Options o;
  std::string max_blob = "2GiB";
  kdnas::FlagSet flags(
      "kdnas-controller [flags]\n\n"
      "Serves kdnas.v1.SearchService (users) and kdnas.v1.WorkerService (workers), with gRPC\n"
      "health checking and server reflection. SIGTERM or SIGINT shuts down gracefully.");
  flags.String("listen", &o.listen, "Address to serve gRPC on, host:port (port 0 picks a free port).");
  flags.String("data-dir", &o.data_dir, "Directory of the store (kdnas.db), blobs and artifacts.");
  flags.String("store", &o.store,
               "Store: sqlite:PATH, memory or postgresql://USER@HOST:PORT/DATABASE (default "
               "sqlite:<data-dir>/kdnas.db).");
  flags.String("token-file", &o.token_file,
               "Bearer tokens, one \"<token> <role> [name]\" per line; roles admin, submitter, worker, viewer. "
               "Without it anyone may call anything, allowed on loopback only.");
  flags.String("tls-cert", &o.tls_cert, "Server certificate chain (PEM); enables TLS with --tls-key.");
  flags.String("tls-key", &o.tls_key, "Server private key (PEM).");
  flags.String("tls-client-ca", &o.tls_client_ca, "CA (PEM) that client certificates must chain to (mutual TLS).");
  flags.Bool("allow-insecure-remote", &o.allow_insecure_remote,
             "Allow running without --token-file on a non-loopback address.");
  flags.Int("lease-ttl-ms", &o.manager.lease_ttl_ms, "A lease expires this long after its last heartbeat.");
  flags.Int("heartbeat-interval-ms", &o.manager.heartbeat_interval_ms, "How often workers are told to heartbeat.");
  flags.String("max-blob-bytes", &max_blob, "Largest blob or artifact accepted (units: KB, MB, GiB...).");
  flags.Int("max-message-bytes", &o.max_message_bytes, "Largest gRPC message accepted or sent.");
  flags.Double("rate-limit-rps", &o.rate_limit_rps,
               "Calls per second allowed to each client (token name and host); 0 = no limit.");
  flags.Double("rate-limit-burst", &o.rate_limit_burst, "Calls a client may make at once (0 = --rate-limit-rps).");
  o.metrics_listen = "127.0.0.1:9464";
  flags.String("metrics-listen", &o.metrics_listen,
               "Serve Prometheus metrics at http://HOST:PORT/metrics (docs/metrics.md); empty = off.");
  kdnas::LogFlags log_flags(flags);
  if (auto s = flags.Parse(argc, argv); !s.ok()) {
    std::fprintf(stderr, "kdnas-controller: %s\n", s.message().c_str());
    return 2;
  }
  if (flags.help_requested()) {
    std::printf("%s", flags.Help().c_str());
    return 0;
  }
  if (auto s = log_flags.Apply(); !s.ok()) {
    std::fprintf(stderr, "kdnas-controller: %s\n", s.message().c_str());
    return 2;
  }
  kdnas::RouteGrpcLogs();
  if (!flags.positional().empty()) {
    std::fprintf(stderr, "kdnas-controller: unexpected argument '%s' (see --help)\n", flags.positional()[0].c_str());
    return 2;
  }
  auto bytes = kdnas::ParseByteSize(max_blob);
  if (!bytes.ok()) {
    std::fprintf(stderr, "kdnas-controller: --max-blob-bytes: %s\n", bytes.status().message().c_str());
    return 2;
  }
  o.max_blob_bytes = *bytes;
  if (o.manager.lease_ttl_ms < 1000 || o.manager.heartbeat_interval_ms < 100) {
    std::fprintf(stderr, "kdnas-controller: --lease-ttl-ms must be >= 1000 and --heartbeat-interval-ms >= 100\n");
    return 2;
  }

  // Signals go to a waiting thread, not to whichever thread runs.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // With a PostgreSQL store several controllers may run: one leads and
  // serves, the others wait for the leader lock (standby).
  std::unique_ptr<kdnas::PostgresLeaderLock> leader;
  if (kdnas::IsPostgresStore(o.store)) {
    auto lock = kdnas::PostgresLeaderLock::Open(o.store);
    if (!lock.ok()) {
      kdnas::LogError("cannot start", {{"reason", lock.status().message()}});
      return 1;
    }
    if (!(*lock)->TryAcquire()) {  // logs "standby", then "leader elected"
      const timespec poll{0, 200'000'000};
      while (!(*lock)->TryAcquire()) {
        if (sigtimedwait(&signals, nullptr, &poll) > 0) return 0;
      }
    }
    leader = std::move(*lock);
  }

  auto controller = kdnas::Controller::Create(o);
  if (!controller.ok()) {
    kdnas::LogError("cannot start", {{"reason", controller.status().message()}});
    return 1;
  }
  kdnas::LogInfo("serving", {{"port", (*controller)->port()},
                             {"listen", o.listen},
                             {"metrics_port", (*controller)->metrics_port()},
                             {"data_dir", o.data_dir}});
  int received = 0;
  if (leader) {
    // Fail-stop: a controller that lost the lock must not serve next to the
    // new leader.
    const timespec poll{1, 0};
    while ((received = sigtimedwait(&signals, nullptr, &poll)) <= 0) {
      if (!leader->Held()) {
        kdnas::LogError("shutting down at once: no longer the leader (fail-stop)");
        std::_Exit(3);
      }
    }
  } else {
    sigwait(&signals, &received);
  }
  kdnas::LogInfo("shutting down", {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*controller)->Shutdown();
  return 0;
}
