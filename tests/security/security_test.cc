// Who may call what, over a real socket: every RPC of both services against
// every role, a missing and a wrong token; TLS and mutual TLS with
// certificates made by openssl; per-client rate limiting; hostile input.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <condition_variable>
#include <map>
#include <mutex>

#include "kdnas/v1/search_service.grpc.pb.h"
#include "kdnas/v1/worker_service.grpc.pb.h"
#include "proto/client_channel.h"
#include "server/controller.h"
#include "server/rate_limiter.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

const std::map<std::string, std::string> kTokens = {
    {"admin", "admin-token-123"}, {"submitter", "submit-token-1"}, {"worker", "worker-token-12"},
    {"viewer", "viewer-token-12"}, {"wrong", "not-a-real-token"}, {"none", ""}};

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kdnas-sec-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream tokens(dir_ / "tokens");
    for (const char* role : {"admin", "submitter", "worker", "viewer"}) tokens << kTokens.at(role) << " " << role << "\n";
  }
  void TearDown() override {
    controller_.reset();
    fs::remove_all(dir_);
  }
  void Start(Controller::Options o = {}) {
    o.listen = "127.0.0.1:0";
    o.data_dir = (dir_ / "data").string();
    o.token_file = (dir_ / "tokens").string();
    auto c = Controller::Create(o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    controller_ = std::move(*c);
    address_ = "127.0.0.1:" + std::to_string(controller_->port());
  }
  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& who) {
    auto c = std::make_unique<grpc::ClientContext>();
    if (!kTokens.at(who).empty()) c->AddMetadata("authorization", "Bearer " + kTokens.at(who));
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return c;
  }
  // Makes a CA, a server certificate for 127.0.0.1 and a client certificate
  // (and, with `rogue`, a client certificate from another CA).
  void MakeCertificates() {
    const std::string d = dir_.string();
    auto run = [](const std::string& cmd) { ASSERT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << cmd; };
    for (const char* ca : {"ca", "rogue-ca"}) {
      run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + std::string(ca) + " -keyout " + d + "/" +
          ca + ".key -out " + d + "/" + ca + ".pem");
    }
    std::ofstream(dir_ / "san.cnf") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    auto leaf = [&](const std::string& name, const std::string& ca, bool server) {
      run("openssl req -newkey rsa:2048 -nodes -subj /CN=" + name + " -keyout " + d + "/" + name + ".key -out " + d +
          "/" + name + ".csr");
      run("openssl x509 -req -days 2 -in " + d + "/" + name + ".csr -CA " + d + "/" + ca + ".pem -CAkey " + d + "/" +
          ca + ".key -CAcreateserial -out " + d + "/" + name + ".pem" + (server ? " -extfile " + d + "/san.cnf" : ""));
    };
    leaf("server", "ca", true);
    leaf("client", "ca", false);
    leaf("rogue", "rogue-ca", false);
  }

  fs::path dir_;
  std::unique_ptr<Controller> controller_;
  std::string address_;
};

// Every RPC, as a callable returning its status code, for one caller.
using Rpc = std::function<grpc::StatusCode(SecurityTest*, const std::string& who, v1::SearchService::Stub*,
                                           v1::WorkerService::Stub*)>;

template <typename Request, typename Response, typename Stub>
grpc::StatusCode Unary(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*), Stub* stub,
                       std::unique_ptr<grpc::ClientContext> ctx, const Request& request) {
  Response response;
  return (stub->*method)(ctx.get(), request, &response).error_code();
}

TEST_F(SecurityTest, EveryRpcAgainstEveryRole) {
  Start();
  auto channel = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
  auto search = v1::SearchService::NewStub(channel);
  auto worker = v1::WorkerService::NewStub(channel);
  v1::GetJobRequest get;
  get.set_name("jobs/1");
  v1::SubmitJobRequest submit;  // invalid on purpose: passes auth, then INVALID_ARGUMENT
  v1::CancelJobRequest cancel;
  cancel.set_name("jobs/1");
  v1::ListTrialsRequest trials;
  trials.set_parent("jobs/1");
  v1::GetFrontierRequest frontier;
  frontier.set_name("jobs/1");
  v1::GetBestRequest best;
  best.set_job("jobs/1");
  v1::GetBlobRequest blob;
  blob.set_name("blobs/" + std::string(64, 'a'));
  v1::ExplainJobRequest explain;
  explain.set_name("jobs/1");
  v1::LeaseTrialRequest lease;
  lease.set_worker_id("w");
  lease.set_wait_ms(1);
  v1::HeartbeatRequest heartbeat;
  v1::ReportResultRequest report;
  struct Case {
    const char* rpc;
    const char* permission;  // read, submit, work
    std::function<grpc::StatusCode(const std::string&)> call;
  };
  const std::vector<Case> cases = {
      {"SubmitJob", "submit", [&](auto& w) { return Unary(&v1::SearchService::Stub::SubmitJob, search.get(), Ctx(w), submit); }},
      {"GetJob", "read", [&](auto& w) { return Unary(&v1::SearchService::Stub::GetJob, search.get(), Ctx(w), get); }},
      {"ListJobs", "read", [&](auto& w) { return Unary(&v1::SearchService::Stub::ListJobs, search.get(), Ctx(w), v1::ListJobsRequest()); }},
      {"CancelJob", "submit", [&](auto& w) { return Unary(&v1::SearchService::Stub::CancelJob, search.get(), Ctx(w), cancel); }},
      {"ListTrials", "read", [&](auto& w) { return Unary(&v1::SearchService::Stub::ListTrials, search.get(), Ctx(w), trials); }},
      {"GetFrontier", "read", [&](auto& w) { return Unary(&v1::SearchService::Stub::GetFrontier, search.get(), Ctx(w), frontier); }},
      {"GetBest", "read", [&](auto& w) { return Unary(&v1::SearchService::Stub::GetBest, search.get(), Ctx(w), best); }},
      {"GetBlob", "read", [&](auto& w) { return Unary(&v1::SearchService::Stub::GetBlob, search.get(), Ctx(w), blob); }},
      {"ListWorkers", "read", [&](auto& w) { return Unary(&v1::SearchService::Stub::ListWorkers, search.get(), Ctx(w), v1::ListWorkersRequest()); }},
      {"ExplainJob", "read", [&](auto& w) { return Unary(&v1::SearchService::Stub::ExplainJob, search.get(), Ctx(w), explain); }},
      {"WatchJob", "read", [&](auto& w) {
         v1::WatchJobRequest r;
         r.set_name("jobs/1");
         auto ctx = Ctx(w);
         auto reader = search->WatchJob(ctx.get(), r);
         v1::JobEvent e;
         while (reader->Read(&e)) {
         }
         return reader->Finish().error_code();
       }},
      {"DownloadArtifact", "read", [&](auto& w) {
         v1::DownloadArtifactRequest r;
         r.set_name("artifacts/" + std::string(64, 'b'));
         auto ctx = Ctx(w);
         auto reader = search->DownloadArtifact(ctx.get(), r);
         v1::DataChunk c;
         while (reader->Read(&c)) {
         }
         return reader->Finish().error_code();
       }},
      {"UploadBlob", "submit", [&](auto& w) {
         v1::Blob b;
         auto ctx = Ctx(w);
         auto writer = search->UploadBlob(ctx.get(), &b);
         v1::UploadBlobRequest r;
         r.mutable_metadata()->set_sha256(std::string(64, 'c'));
         r.mutable_metadata()->set_size_bytes(1);
         writer->Write(r);
         writer->WritesDone();
         return writer->Finish().error_code();
       }},
      {"LeaseTrial", "work", [&](auto& w) { return Unary(&v1::WorkerService::Stub::LeaseTrial, worker.get(), Ctx(w), lease); }},
      {"Heartbeat", "work", [&](auto& w) { return Unary(&v1::WorkerService::Stub::Heartbeat, worker.get(), Ctx(w), heartbeat); }},
      {"ReportResult", "work", [&](auto& w) { return Unary(&v1::WorkerService::Stub::ReportResult, worker.get(), Ctx(w), report); }},
      {"UploadArtifact", "work", [&](auto& w) {
         v1::Artifact a;
         auto ctx = Ctx(w);
         auto writer = worker->UploadArtifact(ctx.get(), &a);
         v1::UploadArtifactRequest r;
         r.mutable_metadata()->set_lease_token("x");
         r.mutable_metadata()->set_kind(v1::ARTIFACT_KIND_PACKED);
         writer->Write(r);
         writer->WritesDone();
         return writer->Finish().error_code();
       }},
      {"DownloadBlob", "work", [&](auto& w) {
         v1::DownloadBlobRequest r;
         r.set_name("blobs/" + std::string(64, 'd'));
         auto ctx = Ctx(w);
         auto reader = worker->DownloadBlob(ctx.get(), r);
         v1::DataChunk c;
         while (reader->Read(&c)) {
         }
         return reader->Finish().error_code();
       }},
  };
  const std::map<std::string, std::set<std::string>> allowed = {
      {"admin", {"read", "submit", "work"}}, {"submitter", {"read", "submit"}}, {"worker", {"work"}},
      {"viewer", {"read"}}, {"wrong", {}}, {"none", {}}};
  for (const Case& c : cases) {
    for (const auto& [who, permissions] : allowed) {
      grpc::StatusCode code = c.call(who);
      if (who == "wrong" || who == "none") {
        EXPECT_EQ(code, grpc::StatusCode::UNAUTHENTICATED) << c.rpc << " as " << who;
      } else if (permissions.count(c.permission) == 0) {
        EXPECT_EQ(code, grpc::StatusCode::PERMISSION_DENIED) << c.rpc << " as " << who;
      } else {
        EXPECT_NE(code, grpc::StatusCode::PERMISSION_DENIED) << c.rpc << " as " << who;
        EXPECT_NE(code, grpc::StatusCode::UNAUTHENTICATED) << c.rpc << " as " << who;
      }
    }
  }
}

TEST_F(SecurityTest, HealthCheckingNeedsNoToken) {
  Start();
  auto channel = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty("", 0);  // grpc.health.v1.HealthCheckRequest{service: ""}: no bytes
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) {
                      std::lock_guard<std::mutex> lock(mu);
                      status = s;
                      done = true;
                      cv.notify_all();
                    });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& slice : slices) bytes += std::string(reinterpret_cast<const char*>(slice.begin()), slice.size());
  EXPECT_EQ(bytes, std::string("\x08\x01"));  // status: SERVING
}

TEST_F(SecurityTest, TlsAndMutualTls) {
  MakeCertificates();
  const std::string d = dir_.string();
  Controller::Options o;
  o.tls_cert = d + "/server.pem";
  o.tls_key = d + "/server.key";
  o.tls_client_ca = d + "/ca.pem";
  Start(o);
  auto list = [&](std::shared_ptr<grpc::Channel> channel) {
    v1::ListJobsResponse r;
    return v1::SearchService::NewStub(channel)->ListJobs(Ctx("viewer").get(), v1::ListJobsRequest(), &r).error_code();
  };
  // mTLS with the right client certificate works.
  auto good = MakeControllerChannel(address_, d + "/ca.pem", d + "/client.pem", d + "/client.key");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(list(*good), grpc::StatusCode::OK);
  // No client certificate, or one from another CA: refused.
  EXPECT_NE(list(*MakeControllerChannel(address_, d + "/ca.pem", "", "")), grpc::StatusCode::OK);
  EXPECT_NE(list(*MakeControllerChannel(address_, d + "/ca.pem", d + "/rogue.pem", d + "/rogue.key")),
            grpc::StatusCode::OK);
  // A plaintext client cannot talk to a TLS server.
  EXPECT_NE(list(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials())), grpc::StatusCode::OK);
  // A client that does not trust the server's CA refuses it.
  EXPECT_NE(list(*MakeControllerChannel(address_, d + "/rogue-ca.pem", d + "/client.pem", d + "/client.key")),
            grpc::StatusCode::OK);
}

TEST_F(SecurityTest, ServerTlsWithoutClientCertificates) {
  MakeCertificates();
  const std::string d = dir_.string();
  Controller::Options o;
  o.tls_cert = d + "/server.pem";
  o.tls_key = d + "/server.key";
  Start(o);
  v1::ListJobsResponse r;
  auto channel = *MakeControllerChannel(address_, d + "/ca.pem", "", "");
  EXPECT_TRUE(v1::SearchService::NewStub(channel)->ListJobs(Ctx("viewer").get(), v1::ListJobsRequest(), &r).ok());
}

TEST(RateLimiter, TokenBucketPerClient) {
  FakeClock clock;
  RateLimiter limiter(10, 3, &clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("a|h").ok());  // the burst
  Status over = limiter.Allow("a|h");
  EXPECT_EQ(over.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(over.message().find("rate limit of 10 requests/s (burst 3) exceeded for a|h"), std::string::npos);
  EXPECT_TRUE(limiter.Allow("b|h").ok());  // another client has its own bucket
  clock.AdvanceMs(100);                     // one token back
  EXPECT_TRUE(limiter.Allow("a|h").ok());
  EXPECT_FALSE(limiter.Allow("a|h").ok());
  EXPECT_EQ(ClientKey("fleet", "ipv4:10.0.0.7:51234"), "fleet|10.0.0.7");
  EXPECT_EQ(ClientKey("ops", "ipv6:[::1]:4000"), "ops|[::1]");
}

TEST_F(SecurityTest, RateLimitedThroughTheSocket) {
  Controller::Options o;
  o.rate_limit_rps = 5;
  o.rate_limit_burst = 5;
  Start(o);
  auto search = v1::SearchService::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  int ok = 0, limited = 0;
  for (int i = 0; i < 20; ++i) {
    v1::ListJobsResponse r;
    auto code = search->ListJobs(Ctx("viewer").get(), v1::ListJobsRequest(), &r).error_code();
    ok += code == grpc::StatusCode::OK;
    limited += code == grpc::StatusCode::RESOURCE_EXHAUSTED;
  }
  EXPECT_GE(ok, 5);
  EXPECT_LE(ok, 8);  // the burst, plus what refilled during the loop
  EXPECT_EQ(ok + limited, 20);
  // Another client is not held back by the first.
  v1::ListJobsResponse r;
  EXPECT_TRUE(search->ListJobs(Ctx("admin").get(), v1::ListJobsRequest(), &r).ok());
}

TEST_F(SecurityTest, HostileInputIsRefused) {
  Controller::Options o;
  o.max_message_bytes = 1 << 20;
  o.max_blob_bytes = 1000;
  Start(o);
  auto channel = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
  auto search = v1::SearchService::NewStub(channel);
  v1::Job job;
  // A message over the size limit.
  v1::SubmitJobRequest huge;
  huge.mutable_spec()->set_display_name(std::string(2 << 20, 'x'));
  EXPECT_EQ(search->SubmitJob(Ctx("admin").get(), huge, &job).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // A million-element list within the limit is still named and refused.
  v1::SubmitJobRequest many;
  many.mutable_spec()->mutable_data()->mutable_text()->set_path("data/tinyshakespeare.txt");
  many.mutable_spec()->mutable_teacher()->mutable_model()->set_path("t.pt");
  for (int i = 0; i < 100000; ++i) many.mutable_spec()->add_report_size_budgets_bytes(i + 1);
  grpc::Status s = search->SubmitJob(Ctx("admin").get(), many, &job);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("spec.report_size_budgets_bytes"), std::string::npos);
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(search->ListJobs(Ctx("admin").get(), v1::ListJobsRequest(), &jobs).ok());
  EXPECT_EQ(jobs.jobs_size(), 0) << "a refused job was stored";
  // A blob over --max-blob-bytes.
  v1::Blob blob;
  auto ctx = Ctx("admin");
  auto writer = search->UploadBlob(ctx.get(), &blob);
  v1::UploadBlobRequest first;
  first.mutable_metadata()->set_sha256(std::string(64, 'a'));
  first.mutable_metadata()->set_size_bytes(5000);
  writer->Write(first);
  writer->WritesDone();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Names with path traversal.
  auto worker = v1::WorkerService::NewStub(channel);
  for (const std::string& name : std::vector<std::string>{"blobs/../kdnas.db", "blobs/" + std::string(63, 'a') + "/", "artifacts/x"}) {
    v1::DownloadBlobRequest r;
    r.set_name(name);
    auto c = Ctx("admin");
    auto reader = worker->DownloadBlob(c.get(), r);
    v1::DataChunk chunk;
    while (reader->Read(&chunk)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
  }
}

}  // namespace
}  // namespace kdnas
