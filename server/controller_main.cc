// kdnas-controller: flags only; the wiring lives in server/controller.h.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "log/grpc_log.h"
#include "log/log.h"
#include "log/log_flags.h"
#include "search/flags.h"
#include "server/controller.h"
#include "server/store/postgres_leader.h"
#include "server/store/store.h"

namespace {

// Parses the flags into `o`; an exit status when the process should exit
// now (help, a bad flag), or nullopt to go on.
std::optional<int> ParseFlags(int argc, char** argv, kdnas::Controller::Options* o) {
  std::string max_blob = "2GiB";
  kdnas::FlagSet flags(
      "kdnas-controller [flags]\n\n"
      "Serves kdnas.v1.SearchService (users) and kdnas.v1.WorkerService (workers), with gRPC\n"
      "health checking and server reflection. SIGTERM or SIGINT shuts down gracefully.");
  flags.String("listen", &o->listen,
               "Address to serve gRPC on, host:port (port 0 picks a free port).");
  flags.String("data-dir", &o->data_dir, "Directory of the store (kdnas.db), blobs and artifacts.");
  flags.String("store", &o->store,
               "Store: sqlite:PATH, memory or postgresql://USER@HOST:PORT/DATABASE (default "
               "sqlite:<data-dir>/kdnas.db).");
  flags.String("token-file", &o->token_file,
               "Bearer tokens, one \"<token> <role> [name]\" per line; roles admin, submitter, "
               "worker, viewer. "
               "Without it anyone may call anything, allowed on loopback only.");
  flags.String("tls-cert", &o->tls_cert,
               "Server certificate chain (PEM); enables TLS with --tls-key.");
  flags.String("tls-key", &o->tls_key, "Server private key (PEM).");
  flags.String("tls-client-ca", &o->tls_client_ca,
               "CA (PEM) that client certificates must chain to (mutual TLS).");
  flags.Bool("allow-insecure-remote", &o->allow_insecure_remote,
             "Allow running without --token-file on a non-loopback address.");
  flags.Int("lease-ttl-ms", &o->manager.lease_ttl_ms,
            "A lease expires this long after its last heartbeat.");
  flags.Int("heartbeat-interval-ms", &o->manager.heartbeat_interval_ms,
            "How often workers are told to heartbeat.");
  flags.String("max-blob-bytes", &max_blob,
               "Largest blob or artifact accepted (units: KB, MB, GiB...).");
  flags.Int("max-message-bytes", &o->max_message_bytes, "Largest gRPC message accepted or sent.");
  flags.Double("rate-limit-rps", &o->rate_limit_rps,
               "Calls per second allowed to each client (token name and host); 0 = no limit.");
  flags.Double("rate-limit-burst", &o->rate_limit_burst,
               "Calls a client may make at once (0 = --rate-limit-rps).");
  o->metrics_listen = "127.0.0.1:9464";
  flags.String(
      "metrics-listen", &o->metrics_listen,
      "Serve Prometheus metrics at http://HOST:PORT/metrics (docs/metrics.md); empty = off.");
  kdnas::LogFlags log_flags(flags);
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "kdnas-controller: %s\n", message.c_str());
    return 2;
  };
  if (auto s = flags.Parse(argc, argv); !s.ok()) return fail(s.message());
  if (flags.help_requested()) {
    std::printf("%s", flags.Help().c_str());
    return 0;
  }
  if (auto s = log_flags.Apply(); !s.ok()) return fail(s.message());
  kdnas::RouteGrpcLogs();
  if (!flags.positional().empty())
    return fail("unexpected argument '" + flags.positional()[0] + "' (see --help)");
  auto bytes = kdnas::ParseByteSize(max_blob);
  if (!bytes.ok()) return fail("--max-blob-bytes: " + bytes.status().message());
  o->max_blob_bytes = *bytes;
  if (o->manager.lease_ttl_ms < 1000 || o->manager.heartbeat_interval_ms < 100)
    return fail("--lease-ttl-ms must be >= 1000 and --heartbeat-interval-ms >= 100");
  return std::nullopt;
}

// With a PostgreSQL store several controllers may run: one leads and
// serves, the others wait for the leader lock (standby). Null for other
// stores, and when a signal ends the wait (*stopped).
kdnas::StatusOr<std::unique_ptr<kdnas::PostgresLeaderLock>> AwaitLeadership(
    const std::string& store, const sigset_t& signals, bool* stopped) {
  *stopped = false;
  if (!kdnas::IsPostgresStore(store)) return std::unique_ptr<kdnas::PostgresLeaderLock>();
  KDNAS_ASSIGN_OR_RETURN(auto lock, kdnas::PostgresLeaderLock::Open(store));
  if (!lock->TryAcquire()) {  // logs "standby", then "leader elected"
    const timespec poll{0, 200'000'000};
    while (!lock->TryAcquire()) {
      if (sigtimedwait(&signals, nullptr, &poll) > 0) {
        *stopped = true;
        return std::unique_ptr<kdnas::PostgresLeaderLock>();
      }
    }
  }
  return lock;
}

// Serves until SIGTERM or SIGINT; a leader that loses its lock exits at
// once with status 3 (fail-stop: it must not serve next to the new leader).
int ServeUntilSignalled(kdnas::Controller& controller, kdnas::PostgresLeaderLock* leader,
                        const sigset_t& signals) {
  int received = 0;
  if (leader != nullptr) {
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
  controller.Shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  kdnas::Controller::Options o;
  if (auto exit_status = ParseFlags(argc, argv, &o)) return *exit_status;
  // Signals go to a waiting thread, not to whichever thread runs.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  bool stopped = false;
  auto leader = AwaitLeadership(o.store, signals, &stopped);
  if (!leader.ok()) {
    kdnas::LogError("cannot start", {{"reason", leader.status().message()}});
    return 1;
  }
  if (stopped) return 0;
  auto controller = kdnas::Controller::Create(o);
  if (!controller.ok()) {
    kdnas::LogError("cannot start", {{"reason", controller.status().message()}});
    return 1;
  }
  kdnas::LogInfo("serving", {{"port", (*controller)->port()},
                             {"listen", o.listen},
                             {"metrics_port", (*controller)->metrics_port()},
                             {"data_dir", o.data_dir}});
  return ServeUntilSignalled(**controller, leader->get(), signals);
}
