// kdnas-controller: flags only; the wiring lives in the server library.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include "search/flags.h"

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:50051";
  kdnas::FlagSet flags(
      "kdnas-controller [flags]\n\nServes kdnas.v1.SearchService and kdnas.v1.WorkerService.");
  flags.String("listen", &listen, "Address to serve gRPC on, host:port.");
  if (auto s = flags.Parse(argc, argv); !s.ok()) {
    std::fprintf(stderr, "kdnas-controller: %s\n", s.message().c_str());
    return 2;
  }
  if (flags.help_requested()) {
    std::printf("%s", flags.Help().c_str());
    return 0;
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "kdnas-controller: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  std::fprintf(stderr, "kdnas-controller: listening on %s\n", listen.c_str());
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server->Shutdown();
  return 0;
}
