#include "proto/client_channel.h"

#include <chrono>
#include <fstream>
#include <sstream>

namespace kdnas {
namespace {

StatusOr<std::string> ReadPem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

StatusOr<std::shared_ptr<grpc::Channel>> MakeControllerChannel(const std::string& address, const std::string& tls_ca,
                                                               const std::string& tls_cert,
                                                               const std::string& tls_key) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (!tls_ca.empty() || !tls_cert.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!tls_ca.empty()) {
      KDNAS_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(tls_ca));
    }
    if (!tls_cert.empty()) {
      KDNAS_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadPem(tls_cert));
      KDNAS_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadPem(tls_key));
    }
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  return grpc::CreateCustomChannel(address, creds, args);
}

std::unique_ptr<grpc::ClientContext> NewControllerCall(const std::string& token,
                                                       int64_t deadline_ms) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  if (deadline_ms > 0) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(deadline_ms));
  }
  return context;
}

}  // namespace kdnas
