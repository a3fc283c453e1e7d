// The controller core logs what an operator needs, with the job, trial and
// worker on every line about them: job submitted and ended, trials leased,
// expired, retried, failed and succeeded, workers joined and lost, and the
// store's recovery; --log-level warn leaves only the warnings.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "log/log.h"
#include "server/store/sqlite_store.h"
#include "tests/server/job_manager_harness.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::vector<Json> Lines(const std::string& text) {
  std::vector<Json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(Json::parse(line));
  return out;
}

// The lines with this message.
std::vector<Json> With(const std::vector<Json>& lines, const std::string& message) {
  std::vector<Json> out;
  for (const Json& j : lines)
    if (j["message"] == message) out.push_back(j);
  return out;
}

// The line is about this trial of jobs/1, on this worker.
void ExpectAbout(const Json& line, const std::string& trial, const std::string& worker) {
  EXPECT_EQ(line["job"], "jobs/1") << line.dump();
  EXPECT_EQ(line["trial"], trial) << line.dump();
  EXPECT_EQ(line["worker"], worker) << line.dump();
}

v1::ReportResultRequest Failure(const v1::Lease& lease, const std::string& error, bool retryable) {
  v1::ReportResultRequest r;
  r.set_lease_token(lease.token());
  r.mutable_failure()->set_error(error);
  r.mutable_failure()->set_retryable(retryable);
  r.mutable_failure()->set_worker_seconds(1);
  return r;
}

class JobManagerLog : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kdnas-jm-log-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    ConfigureLogging(LogLevel::kInfo, LogFormat::kText);
    fs::remove_all(dir_);
  }
  std::unique_ptr<Store> OpenStore() {
    return std::move(*SqliteStore::Open((dir_ / "store.db").string(), SqliteStore::Options()));
  }
  // A job of two trials of at most three attempts: the first trial's lease
  // expires (w1), it fails retryably then for good (w2); the second succeeds.
  // Then both workers go unseen for longer than the window.
  void RunTheStory() {
    Harness h(OpenStore(), dir_.string());
    ASSERT_TRUE(h.Recover().ok());
    v1::SubmitJobRequest request = DemoJob(2);
    request.mutable_spec()->set_display_name("log story");
    request.mutable_spec()->mutable_budget()->set_max_attempts(3);
    ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(request, cb); }).ok());
    auto first = *Lease(h, "w1");
    h.clock().AdvanceMs(10'001);
    h.Tick();  // expires: retrying
    auto second = *Lease(h, "w2");
    ASSERT_EQ(second.trial().name(), first.trial().name());
    ASSERT_TRUE(Call<v1::ReportResultResponse>([&](auto cb) {
                  h.m().ReportResult(Failure(second, "worker ran out of memory", true), cb);
                }).ok());
    auto third = *Lease(h, "w2");
    ASSERT_TRUE(Call<v1::ReportResultResponse>([&](auto cb) {
                  h.m().ReportResult(Failure(third, kReason, false), cb);
                }).ok());
    auto other = *Lease(h, "w2");
    ASSERT_TRUE(Call<v1::ReportResultResponse>([&](auto cb) {
                  h.m().ReportResult(Success(other, 2.5), cb);
                }).ok());
    h.clock().AdvanceMs(61'000);
    h.Tick();
    (void)h.store()->Sync();
  }

  static constexpr const char* kReason =
      "the student diverged: \"loss\" = nan\n\\ at step 7 \xc3\xa9";
  fs::path dir_;
  std::ostringstream out_;
};

TEST_F(JobManagerLog, LogsTheOperatorEventsWithJobTrialAndWorker) {
  ConfigureLogging(LogLevel::kInfo, LogFormat::kJson, &out_);
  RunTheStory();
  const auto lines = Lines(out_.str());
  const std::string trial = "jobs/1/trials/1";

  auto submitted = With(lines, "job submitted");
  ASSERT_EQ(submitted.size(), 1u) << out_.str();
  EXPECT_EQ(submitted[0]["job"], "jobs/1");
  EXPECT_EQ(submitted[0]["display_name"], "log story");
  EXPECT_EQ(submitted[0]["max_trials"], 2);

  auto joined = With(lines, "worker joined");
  ASSERT_EQ(joined.size(), 2u) << out_.str();
  EXPECT_EQ(joined[0]["worker"], "w1");
  EXPECT_EQ(joined[1]["worker"], "w2");

  auto leased = With(lines, "trial leased");
  ASSERT_EQ(leased.size(), 4u) << out_.str();
  ExpectAbout(leased[0], trial, "w1");
  EXPECT_EQ(leased[0]["attempt"], 1);
  EXPECT_EQ(leased[2]["attempt"], 3);

  auto expired = With(lines, "lease expired");
  ASSERT_EQ(expired.size(), 1u) << out_.str();
  EXPECT_EQ(expired[0]["level"], "warn");
  ExpectAbout(expired[0], trial, "w1");
  EXPECT_EQ(expired[0]["attempt"], 1);
  EXPECT_EQ(expired[0]["outcome"], "retrying");

  auto retried = With(lines, "trial retried");
  ASSERT_EQ(retried.size(), 1u) << out_.str();
  ExpectAbout(retried[0], trial, "w2");
  EXPECT_EQ(retried[0]["reason"], "worker ran out of memory");

  auto failed = With(lines, "trial failed");
  ASSERT_EQ(failed.size(), 1u) << out_.str();
  ExpectAbout(failed[0], trial, "w2");
  EXPECT_EQ(failed[0]["attempt"], 3);
  EXPECT_EQ(failed[0]["reason"], kReason);

  auto succeeded = With(lines, "trial succeeded");
  ASSERT_EQ(succeeded.size(), 1u) << out_.str();
  ExpectAbout(succeeded[0], "jobs/1/trials/2", "w2");
  EXPECT_EQ(succeeded[0]["val_loss"], 2.5);
  EXPECT_GT(succeeded[0]["size_bytes"].get<int64_t>(), 0);

  auto ended = With(lines, "job ended");
  ASSERT_EQ(ended.size(), 1u) << out_.str();
  EXPECT_EQ(ended[0]["job"], "jobs/1");
  EXPECT_EQ(ended[0]["state"], "JOB_STATE_SUCCEEDED");
  EXPECT_EQ(ended[0]["reason"], "trial budget reached (2 trials)");

  auto lost = With(lines, "worker lost");
  ASSERT_EQ(lost.size(), 2u) << out_.str();
  EXPECT_EQ(lost[0]["worker"], "w1");
  EXPECT_GT(lost[0]["unseen_ms"].get<int64_t>(), 60'000);

  // No heartbeat or other per-call line at info.
  for (const Json& j : lines) EXPECT_NE(j["level"], "debug") << j.dump();

  // A restart recovers the job from the store and says what it replayed.
  out_.str("");
  {
    Harness h(OpenStore(), dir_.string());
    ASSERT_TRUE(h.Recover().ok());
  }
  auto recovered = With(Lines(out_.str()), "store recovered");
  ASSERT_EQ(recovered.size(), 1u) << out_.str();
  EXPECT_EQ(recovered[0]["jobs"], 1);
  EXPECT_EQ(recovered[0]["trials"], 2);
  EXPECT_GT(recovered[0]["log_records"].get<int64_t>(), 0);
  EXPECT_GE(recovered[0]["duration_ms"].get<double>(), 0);
}

TEST_F(JobManagerLog, WarnLevelLeavesOnlyWarnings) {
  ConfigureLogging(LogLevel::kWarn, LogFormat::kText, &out_);
  RunTheStory();
  const std::string text = out_.str();
  EXPECT_EQ(text.find("INFO"), std::string::npos) << text;
  EXPECT_EQ(text.find("job submitted"), std::string::npos) << text;
  EXPECT_NE(text.find("WARN  lease expired job=jobs/1 trial=jobs/1/trials/1 worker=w1 attempt=1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("WARN  trial failed job=jobs/1 trial=jobs/1/trials/1 worker=w2"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace kdnas
