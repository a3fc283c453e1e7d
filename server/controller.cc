#include "server/controller.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "log/log.h"

namespace kdnas {
namespace {

StatusOr<std::string> ReadPem(const std::string& path, const std::string& flag) {
  std::ifstream in(path);
  if (!in) return InvalidArgument(flag + ": cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

bool IsLoopbackAddress(const std::string& listen) {
  if (listen.rfind("unix:", 0) == 0) return true;
  std::string host = listen.substr(0, listen.rfind(':'));
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]" || host == "::1";
}

StatusOr<std::unique_ptr<Controller>> Controller::Create(const Options& options) {
  std::unique_ptr<Controller> c(new Controller());
  c->options_ = options;
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return InvalidArgument("--data-dir: cannot create " + options.data_dir + ": " + ec.message());
  std::string store = options.store.empty() ? "sqlite:" + (std::filesystem::path(options.data_dir) / "kdnas.db").string()
                                            : options.store;
  KDNAS_ASSIGN_OR_RETURN(c->store_, OpenStore(store));
  KDNAS_ASSIGN_OR_RETURN(c->blobs_, BlobStore::Open(options.data_dir, options.max_blob_bytes));
  if (options.token_file.empty()) {
    if (!IsLoopbackAddress(options.listen) && !options.allow_insecure_remote) {
      return InvalidArgument("--token-file: required when listening on a non-loopback address (" + options.listen +
                             "); pass --allow-insecure-remote to override");
    }
    c->auth_ = Authenticator::AllowAll();
  } else {
    KDNAS_ASSIGN_OR_RETURN(c->auth_, Authenticator::FromFile(options.token_file));
  }
  c->manager_ = std::make_unique<JobManager>(options.manager, c->store_.get(), c->blobs_.get(), RealClock::Get(), &c->io_);
  KDNAS_RETURN_IF_ERROR(c->manager_->Recover());
  if (!options.metrics_listen.empty()) {
    KDNAS_ASSIGN_OR_RETURN(c->metrics_, ControllerMetrics::Create(options.metrics_listen, c->manager_.get(),
                                                                  c->store_.get()));
    c->manager_->SetObserver(c->metrics_.get());
    c->observer_.target = c->metrics_.get();
  }
  c->work_ = std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
      c->io_.get_executor());
  c->io_thread_ = std::thread([io = &c->io_] { io->run(); });
  c->manager_->Start();

  std::shared_ptr<grpc::ServerCredentials> creds;
  if (!options.tls_cert.empty() || !options.tls_key.empty()) {
    grpc::SslServerCredentialsOptions ssl(options.tls_client_ca.empty()
                                              ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    KDNAS_ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(options.tls_cert, "--tls-cert"));
    KDNAS_ASSIGN_OR_RETURN(pair.private_key, ReadPem(options.tls_key, "--tls-key"));
    ssl.pem_key_cert_pairs.push_back(pair);
    if (!options.tls_client_ca.empty()) {
      KDNAS_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(options.tls_client_ca, "--tls-client-ca"));
    }
    creds = grpc::SslServerCredentials(ssl);
  } else {
    creds = grpc::InsecureServerCredentials();
  }
  c->limiter_ = std::make_unique<RateLimiter>(options.rate_limit_rps, options.rate_limit_burst);
  c->admission_ = std::make_unique<Admission>(&c->auth_, c->limiter_.get());
  c->search_ = std::make_unique<SearchServiceImpl>(c->manager_.get(), c->blobs_.get(), c->admission_.get(),
                                                   &c->observer_);
  c->worker_ = std::make_unique<WorkerServiceImpl>(c->manager_.get(), c->blobs_.get(), c->admission_.get(),
                                                   &c->observer_);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, creds, &c->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.RegisterService(c->search_.get());
  builder.RegisterService(c->worker_.get());
  c->server_ = builder.BuildAndStart();
  if (!c->server_ || c->port_ == 0) {
    c->Shutdown();
    return Unavailable("--listen: cannot listen on " + options.listen);
  }
  if (c->auth_.open()) {
    LogWarn("no --token-file: anyone who can reach --listen may submit jobs and run trials",
            {{"listen", options.listen}});
  }
  return c;
}

void Controller::SetRpcObserver(RpcObserver* observer) { observer_.target = observer; }

int Controller::metrics_port() const { return metrics_ ? metrics_->port() : 0; }

void Controller::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (server_) {
    server_->GetHealthCheckService()->SetServingStatus(false);
    manager_->Stop();  // long-polls answer at once, watchers are dropped
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }
  if (store_) (void)store_->Sync();
  observer_.target = nullptr;
  metrics_.reset();
  work_.reset();
  io_.stop();
  if (io_thread_.joinable()) io_thread_.join();
}

void Controller::Wait() {
  if (server_) server_->Wait();
}

Controller::~Controller() { Shutdown(); }

}  // namespace kdnas
