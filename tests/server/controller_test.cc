// The controller through a real socket: two synthetic workers run a whole
// search while a client submits, watches, reads the frontier, pages trials,
// moves blobs and artifacts, and is refused without the right token.
#include "server/controller.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "kdnas/v1/search_service.grpc.pb.h"
#include "search/sha256.h"
#include "tests/server/demo_job.h"
#include "workers/lease_client.h"
#include "workers/synthetic_executor.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kdnas-ctl-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tokens") << "admin-token-123 admin ops\n"
                                      "viewer-token-12 viewer guest\n"
                                      "worker-token-12 worker fleet\n";
    Controller::Options o;
    o.listen = "127.0.0.1:0";
    o.data_dir = (dir_ / "data").string();
    o.token_file = (dir_ / "tokens").string();
    o.manager.lease_ttl_ms = 5000;
    o.manager.heartbeat_interval_ms = 200;
    auto c = Controller::Create(o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    controller_ = std::move(*c);
    address_ = "127.0.0.1:" + std::to_string(controller_->port());
    channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    stub_ = v1::SearchService::NewStub(channel_);
  }
  void TearDown() override {
    controller_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<grpc::ClientContext> Call(const std::string& token = "admin-token-123") {
    auto c = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return c;
  }
  v1::SubmitJobRequest Job(int trials) {
    v1::SubmitJobRequest r = DemoJob(trials);
    r.set_request_id("it-1");
    auto* spec = r.mutable_spec();
    spec->set_display_name("integration");
    spec->mutable_data()->mutable_text()->set_path(
        fs::absolute("data/tinyshakespeare.txt").string());
    spec->mutable_budget()->clear_max_attempts();
    spec->clear_seed();
    auto* width = spec->mutable_space()->add_parameters();
    width->set_name("d_model");
    for (double d : {64, 96, 128}) width->mutable_discrete()->add_values(d);
    spec->add_report_size_budgets_bytes(300000);
    return r;
  }
  std::thread StartWorker(const std::string& id) {
    return std::thread([this, id] {
      LeaseClientOptions o;
      o.controller = address_;
      o.token = "worker-token-12";
      o.worker_id = id;
      o.cache_dir = (dir_ / id).string();
      o.wait_ms = 200;
      o.max_idle_polls = 10;
      auto client = LeaseClient::Create(o);
      ASSERT_TRUE(client.ok());
      SyntheticExecutor executor({20, 0.2});
      auto ran = (*client)->Run(executor);
      EXPECT_TRUE(ran.ok()) << ran.status().ToString();
    });
  }

  fs::path dir_;
  std::unique_ptr<Controller> controller_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::SearchService::Stub> stub_;
};

TEST_F(ControllerTest, RunsASearchEndToEnd) {
  v1::Job job;
  ASSERT_TRUE(stub_->SubmitJob(Call().get(), Job(12), &job).ok());
  EXPECT_EQ(job.name(), "jobs/1");
  std::thread w1 = StartWorker("w1"), w2 = StartWorker("w2");

  // Watch until the job ends: sequences have no gaps and the last event ends the job.
  v1::WatchJobRequest watch;
  watch.set_name(job.name());
  auto watch_call = Call();
  auto reader = stub_->WatchJob(watch_call.get(), watch);
  v1::JobEvent event;
  int64_t last = 0;
  int finished = 0;
  bool ended = false;
  while (reader->Read(&event)) {
    EXPECT_EQ(event.sequence(), last + 1);
    last = event.sequence();
    // Multi-fidelity (on by default) stops some trials early.
    if (event.has_trial_state_changed() &&
        (event.trial_state_changed().trial().state() == v1::TRIAL_STATE_SUCCEEDED ||
         event.trial_state_changed().trial().state() == v1::TRIAL_STATE_STOPPED)) {
      ++finished;
    }
    if (event.has_job_state_changed() &&
        event.job_state_changed().state() == v1::JOB_STATE_SUCCEEDED)
      ended = true;
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(ended);
  EXPECT_EQ(finished, 12);
  w1.join();
  w2.join();

  // A watcher resuming after the job ended gets the rest and finishes.
  watch.set_after_sequence(last - 2);
  auto resume_call = Call();
  auto resumed = stub_->WatchJob(resume_call.get(), watch);
  int count = 0;
  while (resumed->Read(&event)) ++count;
  EXPECT_TRUE(resumed->Finish().ok());
  EXPECT_EQ(count, 2);

  v1::GetJobRequest get;
  get.set_name(job.name());
  ASSERT_TRUE(stub_->GetJob(Call("viewer-token-12").get(), get, &job).ok());
  EXPECT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(job.progress().trials_succeeded() + job.progress().trials_stopped(), 12);
  EXPECT_GE(job.progress().trials_succeeded(), 4);

  // Pages of 5 cover every trial exactly once.
  std::set<std::string> names;
  v1::ListTrialsRequest list;
  list.set_parent(job.name());
  list.set_page_size(5);
  do {
    v1::ListTrialsResponse page;
    ASSERT_TRUE(stub_->ListTrials(Call().get(), list, &page).ok());
    for (const auto& t : page.trials()) EXPECT_TRUE(names.insert(t.name()).second);
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  EXPECT_GE(names.size(), 12u);

  v1::GetFrontierRequest fr;
  fr.set_name(job.name());
  v1::Frontier frontier;
  ASSERT_TRUE(stub_->GetFrontier(Call().get(), fr, &frontier).ok());
  EXPECT_GE(frontier.points_size(), 2);
  EXPECT_GT(frontier.hypervolume(), 0);
  for (int i = 1; i < frontier.points_size(); ++i) {
    EXPECT_LE(frontier.points(i - 1).objective_values(0), frontier.points(i).objective_values(0));
  }
  v1::GetBestRequest best;
  best.set_job(job.name());
  best.set_max_size_bytes(300000);
  v1::Trial trial;
  ASSERT_TRUE(stub_->GetBest(Call().get(), best, &trial).ok());
  EXPECT_LE(trial.metrics().size_bytes(), 300000);
  best.set_max_size_bytes(10);
  EXPECT_EQ(stub_->GetBest(Call().get(), best, &trial).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::ExplainJobRequest explain;
  explain.set_name(job.name());
  v1::Explanation explanation;
  ASSERT_TRUE(stub_->ExplainJob(Call("viewer-token-12").get(), explain, &explanation).ok());
  EXPECT_EQ(explanation.importances_size(), 6);  // 3 knobs x 2 objectives
  EXPECT_EQ(explanation.trade_offs_size(), frontier.points_size() - 1);
  EXPECT_EQ(explanation.predictor_kendall_tau().count("surrogate"), 1u);
}

TEST_F(ControllerTest, ASlowWatcherGetsAResyncNotUnboundedMemory) {
  v1::Job job;
  auto request = Job(600);
  request.mutable_spec()->mutable_space()->mutable_parameters(0)->mutable_integer_range()->set_max(
      8);
  auto* alpha = request.mutable_spec()
                    ->mutable_space()
                    ->add_parameters();  // room for 600 distinct candidates
  alpha->set_name("alpha");
  alpha->mutable_double_range()->set_max(1);
  ASSERT_TRUE(stub_->SubmitJob(Call().get(), request, &job).ok());
  v1::WatchJobRequest watch;
  watch.set_name(job.name());
  auto watch_call = Call();
  watch_call->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  // A small receive window, so a client that does not read holds up the
  // server's writes instead of buffering everything in its transport.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 4096);
  auto slow = v1::SearchService::NewStub(
      grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args));
  auto reader = slow->WatchJob(watch_call.get(), watch);
  v1::JobEvent first;
  ASSERT_TRUE(reader->Read(&first));  // subscribed; now stop reading while the search runs
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i) {
    workers.push_back(std::thread([this, i] {
      LeaseClientOptions o;
      o.controller = address_;
      o.token = "worker-token-12";
      o.worker_id = "fast" + std::to_string(i);
      o.cache_dir = (dir_ / ("fast" + std::to_string(i))).string();
      o.wait_ms = 200;
      o.max_idle_polls = 5;
      auto client = LeaseClient::Create(o);
      SyntheticExecutor executor({0, 0});
      (void)(*client)->Run(executor);
    }));
  }
  for (auto& w : workers) w.join();
  v1::JobEvent event;
  int64_t resyncs = 0, events = 1;
  bool ended = false;
  while (reader->Read(&event)) {
    ++events;
    resyncs += event.has_resync();
    ended |= event.has_job_state_changed() &&
             event.job_state_changed().state() == v1::JOB_STATE_SUCCEEDED;
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(ended);
  EXPECT_GE(resyncs, 1) << "the watcher fell " << events << " events behind without a resync";
}

TEST_F(ControllerTest, AuthenticatesAndAuthorizes) {
  v1::Job job;
  EXPECT_EQ(stub_->SubmitJob(Call("").get(), Job(2), &job).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub_->SubmitJob(Call("wrong-token-99").get(), Job(2), &job).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub_->SubmitJob(Call("viewer-token-12").get(), Job(2), &job).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->SubmitJob(Call("worker-token-12").get(), Job(2), &job).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  auto worker = v1::WorkerService::NewStub(channel_);
  v1::LeaseTrialRequest lease;
  lease.set_worker_id("x");
  lease.set_wait_ms(1);
  v1::LeaseTrialResponse response;
  EXPECT_EQ(worker->LeaseTrial(Call("viewer-token-12").get(), lease, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(worker->LeaseTrial(Call("worker-token-12").get(), lease, &response).ok());
}

TEST_F(ControllerTest, BadRequestsNameTheField) {
  v1::Job job;
  auto bad = Job(2);
  bad.mutable_spec()->mutable_budget()->set_max_worker_seconds(-5);
  grpc::Status s = stub_->SubmitJob(Call().get(), bad, &job);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("spec.budget.max_worker_seconds"), std::string::npos);
  v1::GetJobRequest get;
  get.set_name("jobs/../../etc");
  EXPECT_EQ(stub_->GetJob(Call().get(), get, &job).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  get.set_name("jobs/99");
  EXPECT_EQ(stub_->GetJob(Call().get(), get, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::DownloadArtifactRequest download;
  download.set_name("artifacts/../kdnas.db");
  auto call = Call();
  auto reader = stub_->DownloadArtifact(call.get(), download);
  v1::DataChunk chunk;
  while (reader->Read(&chunk)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ControllerTest, BlobsRoundTripAndAreVerified) {
  std::string data(3 << 20, 'x');
  for (size_t i = 0; i < data.size(); i += 7) data[i] = static_cast<char>('a' + i % 26);
  auto upload = [&](const std::string& sha, int64_t size) {
    v1::Blob blob;
    auto call = Call();
    auto writer = stub_->UploadBlob(call.get(), &blob);
    v1::UploadBlobRequest first;
    first.mutable_metadata()->set_kind(v1::BLOB_KIND_DATASET);
    first.mutable_metadata()->set_filename("corpus.txt");
    first.mutable_metadata()->set_size_bytes(size);
    first.mutable_metadata()->set_sha256(sha);
    writer->Write(first);
    for (size_t off = 0; off < data.size(); off += 1 << 20) {
      v1::UploadBlobRequest chunk;
      chunk.set_chunk(data.substr(off, 1 << 20));
      writer->Write(chunk);
    }
    writer->WritesDone();
    return std::make_pair(writer->Finish(), blob);
  };
  auto [bad_sum, unused] = upload(std::string(64, 'a'), static_cast<int64_t>(data.size()));
  EXPECT_EQ(bad_sum.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto [ok, blob] = upload(Sha256Hex(data), static_cast<int64_t>(data.size()));
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(blob.name(), "blobs/" + Sha256Hex(data));
  // Workers download it in chunks and get the same bytes.
  auto worker = v1::WorkerService::NewStub(channel_);
  v1::DownloadBlobRequest request;
  request.set_name(blob.name());
  auto call = Call("worker-token-12");
  auto reader = worker->DownloadBlob(call.get(), request);
  std::string got;
  v1::DataChunk chunk;
  while (reader->Read(&chunk)) got += chunk.data();
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(got, data);
}

}  // namespace
}  // namespace kdnas
