// The controller core on a fake clock: leases, expiry, retries, idempotency,
// budgets, cancellation and recovery by replay.
#include "server/job_manager.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "server/store/memory_store.h"
#include "server/store/sqlite_store.h"
#include "tests/server/job_manager_harness.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

TEST(JobManager, SubmitIsValidatedAndIdempotent) {
  Harness h(std::make_unique<MemoryStore>());
  auto job = Call<v1::Job>([&](auto cb) { h.m().SubmitJob(DemoJob(), cb); });
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->name(), "jobs/1");
  EXPECT_EQ(job->state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(job->data_info().vocab_size(), 65);
  auto again = Call<v1::Job>([&](auto cb) { h.m().SubmitJob(DemoJob(), cb); });
  EXPECT_EQ(again->name(), "jobs/1");
  auto changed = DemoJob();
  changed.mutable_spec()->set_seed(4);
  auto conflict = Call<v1::Job>([&](auto cb) { h.m().SubmitJob(changed, cb); });
  EXPECT_EQ(conflict.status().code(), StatusCode::kAlreadyExists);
  auto bad = DemoJob();
  bad.mutable_spec()->mutable_budget()->set_max_trials(-1);
  auto invalid = Call<v1::Job>([&](auto cb) { h.m().SubmitJob(bad, cb); });
  EXPECT_EQ(invalid.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(invalid.status().message().find("spec.budget.max_trials"), std::string::npos);
  auto missing = DemoJob();
  missing.mutable_spec()->mutable_data()->mutable_text()->set_path("no/such/file.txt");
  EXPECT_EQ(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(missing, cb); }).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(JobManager, LeaseHeartbeatReportAreIdempotent) {
  Harness h(std::make_unique<MemoryStore>());
  ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(DemoJob(), cb); }).ok());
  auto lease = Lease(h, "w1");
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_EQ(lease->trial().state(), v1::TRIAL_STATE_RUNNING);
  EXPECT_EQ(lease->trial().attempts(), 1);
  EXPECT_GT(lease->trial().predicted().size_bytes(), 0);
  EXPECT_EQ(lease->work().train_steps(), 300);
  // Asking again returns the same lease.
  auto again = Lease(h, "w1");
  EXPECT_EQ(again->token(), lease->token());

  v1::HeartbeatRequest hb;
  hb.set_lease_token(lease->token());
  hb.mutable_progress()->set_step(10);
  auto beat = Call<v1::HeartbeatResponse>([&](auto cb) { h.m().Heartbeat(hb, cb); });
  ASSERT_TRUE(beat.ok());
  EXPECT_EQ(beat->action(), v1::HEARTBEAT_ACTION_CONTINUE);

  auto first = Call<v1::ReportResultResponse>(
      [&](auto cb) { h.m().ReportResult(Success(*lease, 2.0), cb); });
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->trial_state(), v1::TRIAL_STATE_SUCCEEDED);
  EXPECT_FALSE(first->duplicate());
  auto second = Call<v1::ReportResultResponse>(
      [&](auto cb) { h.m().ReportResult(Success(*lease, 2.0), cb); });
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->duplicate());
  auto job = Call<v1::Job>([&](auto cb) { h.m().GetJob("jobs/1", cb); });
  EXPECT_EQ(job->progress().trials_succeeded(), 1);
  EXPECT_DOUBLE_EQ(job->progress().worker_seconds_used(), 10);

  v1::ReportResultRequest stale = Success(*lease, 2.0);
  stale.set_lease_token("not-a-token");
  EXPECT_EQ(Call<v1::ReportResultResponse>([&](auto cb) { h.m().ReportResult(stale, cb); })
                .status()
                .code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Call<v1::HeartbeatResponse>([&](auto cb) { h.m().Heartbeat(hb, cb); }).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(JobManager, ExpiredLeasesRetryThenFail) {
  Harness h(std::make_unique<MemoryStore>());
  ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(DemoJob(), cb); }).ok());
  auto lease = *Lease(h, "w1");
  h.clock().AdvanceMs(9'000);
  h.Tick();
  v1::HeartbeatRequest hb;
  hb.set_lease_token(lease.token());
  ASSERT_TRUE(Call<v1::HeartbeatResponse>([&](auto cb) {
                h.m().Heartbeat(hb, cb);
              }).ok());  // extends to +10 s
  h.clock().AdvanceMs(9'000);
  h.Tick();
  ASSERT_TRUE(Call<v1::HeartbeatResponse>([&](auto cb) { h.m().Heartbeat(hb, cb); }).ok());
  h.clock().AdvanceMs(10'001);  // no heartbeat: expires
  h.Tick();
  auto trials = Call<v1::ListTrialsResponse>([&](auto cb) {
    v1::ListTrialsRequest r;
    r.set_parent("jobs/1");
    h.m().ListTrials(r, cb);
  });
  ASSERT_EQ(trials->trials_size(), 1);
  EXPECT_EQ(trials->trials(0).state(), v1::TRIAL_STATE_PENDING);
  // The same trial comes back with attempt 2; the old token is stale.
  auto retry = *Lease(h, "w2");
  EXPECT_EQ(retry.trial().name(), lease.trial().name());
  EXPECT_EQ(retry.trial().attempts(), 2);
  EXPECT_EQ(
      Call<v1::ReportResultResponse>([&](auto cb) { h.m().ReportResult(Success(lease, 1.0), cb); })
          .status()
          .code(),
      StatusCode::kFailedPrecondition);
  h.clock().AdvanceMs(10'001);
  h.Tick();  // max_attempts = 2: FAILED
  trials = Call<v1::ListTrialsResponse>([&](auto cb) {
    v1::ListTrialsRequest r;
    r.set_parent("jobs/1");
    r.add_states(v1::TRIAL_STATE_FAILED);
    h.m().ListTrials(r, cb);
  });
  ASSERT_EQ(trials->trials_size(), 1);
  EXPECT_NE(trials->trials(0).state_message().find("lease expired after 2"), std::string::npos);
}

TEST(JobManager, BudgetEndsTheJob) {
  Harness h(std::make_unique<MemoryStore>());
  ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(DemoJob(3), cb); }).ok());
  std::vector<v1::Lease> leases;
  for (int i = 0; i < 3; ++i) leases.push_back(*Lease(h, "w" + std::to_string(i)));
  EXPECT_FALSE(Lease(h, "w9").ok()) << "the budget is taken by running trials";
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Call<v1::ReportResultResponse>([&](auto cb) {
                  h.m().ReportResult(Success(leases[i], 3.0 - i), cb);
                }).ok());
  }
  auto job = *Call<v1::Job>([&](auto cb) { h.m().GetJob("jobs/1", cb); });
  EXPECT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_NE(job.state_message().find("trial budget reached"), std::string::npos);
  auto best = Call<v1::Trial>([&](auto cb) {
    v1::GetBestRequest r;
    r.set_job("jobs/1");
    h.m().GetBest(r, cb);
  });
  ASSERT_TRUE(best.ok());
  EXPECT_DOUBLE_EQ(best->metrics().val_loss(), 1.0);
  auto frontier = *Call<v1::Frontier>([&](auto cb) { h.m().GetFrontier("jobs/1", cb); });
  EXPECT_GE(frontier.points_size(), 1);
  EXPECT_GT(frontier.hypervolume(), 0);
}

// A measured limit is enforced once the trial reports: over it, the trial
// stays SUCCEEDED with its metrics but is kept off the frontier, the
// hypervolume and GetBest, also after a restart; a trial that did not
// measure what the limit needs fails with that reason.
TEST(JobManager, MeasuredLimitsKeepTrialsOffTheFrontier) {
  auto dir = fs::temp_directory_path() / ("kdnas-jm-latency-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string db = (dir / "store.db").string();
  auto with_latency = [](const v1::Lease& lease, double loss, double latency_ms) {
    v1::ReportResultRequest r = Success(lease, loss);
    r.mutable_success()->mutable_metrics()->set_latency_ms(latency_ms);
    r.mutable_success()->mutable_metrics()->set_tokens_per_second(1000 / latency_ms);
    return r;
  };
  auto list = [](Harness& h) {
    return *Call<v1::ListTrialsResponse>([&](auto cb) {
      v1::ListTrialsRequest r;
      r.set_parent("jobs/1");
      h.m().ListTrials(r, cb);
    });
  };
  auto best = [](Harness& h) {
    return Call<v1::Trial>([&](auto cb) {
      v1::GetBestRequest r;
      r.set_job("jobs/1");
      h.m().GetBest(r, cb);
    });
  };
  {
    Harness h(std::move(*SqliteStore::Open(db, SqliteStore::Options())), dir.string());
    ASSERT_TRUE(h.Recover().ok());
    v1::SubmitJobRequest r = DemoJob(6);
    r.mutable_spec()->mutable_constraints()->set_max_latency_ms(5);
    ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(r, cb); }).ok());
    // Over the limit, with the best loss of all.
    auto slow = *Lease(h, "w");
    auto report = Call<v1::ReportResultResponse>(
        [&](auto cb) { h.m().ReportResult(with_latency(slow, 1.0, 10), cb); });
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->trial_state(), v1::TRIAL_STATE_SUCCEEDED);
    auto job = *Call<v1::Job>([&](auto cb) { h.m().GetJob("jobs/1", cb); });
    EXPECT_EQ(job.progress().trials_succeeded(), 1);
    EXPECT_EQ(job.progress().trials_infeasible(), 1);
    EXPECT_EQ(job.progress().frontier_size(), 0);
    EXPECT_DOUBLE_EQ(job.progress().hypervolume(), 0);
    EXPECT_EQ(best(h).status().code(), StatusCode::kNotFound);
    // Within it.
    auto fast = *Lease(h, "w");
    ASSERT_TRUE(Call<v1::ReportResultResponse>([&](auto cb) {
                  h.m().ReportResult(with_latency(fast, 2.0, 4), cb);
                }).ok());
    EXPECT_EQ(best(h)->name(), fast.trial().name());
    // Not measured: the limit cannot be checked.
    auto unmeasured = *Lease(h, "w");
    auto failed = Call<v1::ReportResultResponse>(
        [&](auto cb) { h.m().ReportResult(Success(unmeasured, 0.5), cb); });
    EXPECT_EQ(failed->trial_state(), v1::TRIAL_STATE_FAILED);
    auto trials = list(h);
    ASSERT_EQ(trials.trials_size(), 3);
    EXPECT_NE(trials.trials(0).infeasible_reason().find(
                  "constraints.max_latency_ms: measured 10 ms > 5 ms"),
              std::string::npos)
        << trials.trials(0).infeasible_reason();
    EXPECT_DOUBLE_EQ(trials.trials(0).metrics().latency_ms(), 10);
    EXPECT_TRUE(trials.trials(1).infeasible_reason().empty());
    EXPECT_NE(trials.trials(2).state_message().find("latency_ms was not measured"),
              std::string::npos)
        << trials.trials(2).state_message();
  }
  Harness h(std::move(*SqliteStore::Open(db, SqliteStore::Options())), dir.string());
  ASSERT_TRUE(h.Recover().ok());
  auto frontier = *Call<v1::Frontier>([&](auto cb) { h.m().GetFrontier("jobs/1", cb); });
  ASSERT_EQ(frontier.points_size(), 1);
  EXPECT_EQ(frontier.points(0).trial(), "jobs/1/trials/2");
  auto job = *Call<v1::Job>([&](auto cb) { h.m().GetJob("jobs/1", cb); });
  EXPECT_EQ(job.progress().trials_infeasible(), 1);
  EXPECT_EQ(best(h)->name(), "jobs/1/trials/2");
  fs::remove_all(dir);
}

// One tokenizer per job: the teacher's, read by the controller.
TEST(JobManager, TheJobsTokenizerIsTheTeachers) {
  Harness h(std::make_unique<MemoryStore>());
  v1::SubmitJobRequest byte = DemoJob();
  byte.mutable_spec()->mutable_teacher()->mutable_model()->set_path(
      BundledCorpusTeacher(TokenizerKind::kByte));
  auto job = Call<v1::Job>([&](auto cb) { h.m().SubmitJob(byte, cb); });
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->data_info().vocab_size(), 256) << "sized with the teacher's byte tokenizer";
  EXPECT_EQ(job->data_info().tokenizer(), v1::TOKENIZER_KIND_BYTE);
  EXPECT_GT(job->data_info().text_tokens(), 1'000'000);
  EXPECT_TRUE(job->teacher_info().inheritable());
  EXPECT_EQ(job->teacher_info().architecture().num_layers(), 4);

  auto refused = [&](v1::SubmitJobRequest r, const std::string& field) {
    r.set_request_id("");
    auto j = Call<v1::Job>([&](auto cb) { h.m().SubmitJob(r, cb); });
    EXPECT_EQ(j.status().code(), StatusCode::kInvalidArgument) << field;
    EXPECT_EQ(j.status().message().rfind(field, 0), 0u) << j.status().message();
    return j.status().message();
  };
  v1::SubmitJobRequest other = byte;
  other.mutable_spec()->mutable_data()->set_tokenizer(v1::TOKENIZER_KIND_CHAR);
  refused(other, "spec.data.tokenizer: char differs from the teacher's byte tokenizer");
  v1::SubmitJobRequest same = byte;
  same.mutable_spec()->mutable_data()->set_tokenizer(v1::TOKENIZER_KIND_BYTE);
  same.set_request_id("req-same");
  EXPECT_TRUE(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(same, cb); }).ok());

  const std::string text =
      (fs::temp_directory_path() / ("kdnas-jm-text-" + std::to_string(::getpid()))).string();
  std::ofstream(text) << "not a model at all\n";
  v1::SubmitJobRequest not_teacher = DemoJob();
  not_teacher.mutable_spec()->mutable_teacher()->mutable_model()->set_path(text);
  EXPECT_NE(refused(not_teacher, "spec.teacher.model.path").find("not a TorchScript file"),
            std::string::npos);
  fs::remove(text);
}

// init: inherit needs a kdnas GPT teacher; the controller can tell and
// names the field that asks for it.
TEST(JobManager, InheritingFromATeacherThatCannotBeInheritedFromIsRefused) {
  Harness h(std::make_unique<MemoryStore>());
  v1::SubmitJobRequest r = DemoJob();
  r.set_request_id("");
  r.mutable_spec()->mutable_teacher()->mutable_model()->set_path(
      BundledCorpusTeacher(TokenizerKind::kChar, /*inheritable=*/false));
  EXPECT_TRUE(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(r, cb); }).ok()) << "scratch is fine";
  v1::SubmitJobRequest base = r;
  base.mutable_spec()->mutable_space()->mutable_base()->mutable_distillation()->set_init(
      v1::INIT_INHERIT);
  auto refused = Call<v1::Job>([&](auto cb) { h.m().SubmitJob(base, cb); });
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message().rfind("spec.space.base.distillation.init: init: inherit", 0),
            0u)
      << refused.status().message();
  v1::SubmitJobRequest searched = r;
  auto* init = searched.mutable_spec()->mutable_space()->add_parameters();
  init->set_name("init");
  init->mutable_categorical()->add_values("scratch");
  init->mutable_categorical()->add_values("inherit");
  auto named = Call<v1::Job>([&](auto cb) { h.m().SubmitJob(searched, cb); });
  EXPECT_EQ(named.status().message().rfind("spec.space.parameters[2].categorical.values[1]", 0), 0u)
      << named.status().message();
}

TEST(JobManager, LeasesAreFairAcrossJobs) {
  Harness h(std::make_unique<MemoryStore>());
  auto first = DemoJob(10), second = DemoJob(10);
  second.set_request_id("req-2");
  ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(first, cb); }).ok());
  ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(second, cb); }).ok());
  std::map<std::string, int> per_job;
  for (int i = 0; i < 8; ++i) per_job[Lease(h, "w" + std::to_string(i))->work().job()]++;
  EXPECT_EQ(per_job["jobs/1"], 4);
  EXPECT_EQ(per_job["jobs/2"], 4);
}

TEST(JobManager, CancelStopsRunningTrials) {
  Harness h(std::make_unique<MemoryStore>());
  ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(DemoJob(), cb); }).ok());
  auto lease = *Lease(h, "w1");
  auto cancelled = Call<v1::Job>([&](auto cb) { h.m().CancelJob("jobs/1", cb); });
  EXPECT_EQ(cancelled->state(), v1::JOB_STATE_CANCELLED);
  v1::HeartbeatRequest hb;
  hb.set_lease_token(lease.token());
  auto beat = Call<v1::HeartbeatResponse>([&](auto cb) { h.m().Heartbeat(hb, cb); });
  EXPECT_EQ(beat->action(), v1::HEARTBEAT_ACTION_STOP);
  v1::ReportResultRequest stopped;
  stopped.set_lease_token(lease.token());
  stopped.mutable_stopped()->set_worker_seconds(1);
  auto r = Call<v1::ReportResultResponse>([&](auto cb) { h.m().ReportResult(stopped, cb); });
  EXPECT_EQ(r->trial_state(), v1::TRIAL_STATE_STOPPED);
  EXPECT_FALSE(Lease(h, "w2").ok());
}

// A job whose candidates all have the same size, with a rung at step 100
// that judges once two trials reached it, keeping the best half.
v1::SubmitJobRequest SameSizeJobWithARung() {
  v1::SubmitJobRequest r = DemoJob(6);
  auto* space = r.mutable_spec()->mutable_space();
  space->clear_parameters();
  auto* alpha = space->add_parameters();
  alpha->set_name("alpha");
  alpha->mutable_double_range()->set_min(0.1);
  alpha->mutable_double_range()->set_max(0.9);
  auto* mf = r.mutable_spec()->mutable_strategy()->mutable_multi_fidelity();
  mf->set_enabled(true);
  mf->add_rung_steps(100);
  mf->set_reduction_factor(2);
  mf->set_min_trials_per_rung(2);
  return r;
}

// The lease's trial reports reaching that rung with `loss`.
v1::HeartbeatResponse AtRung(Harness& h, const v1::Lease& lease, double loss,
                             double latency_ms = 0) {
  v1::HeartbeatRequest hb;
  hb.set_lease_token(lease.token());
  hb.mutable_progress()->set_step(100);
  hb.mutable_progress()->set_val_step(100);
  hb.mutable_progress()->set_val_loss(loss);
  hb.mutable_progress()->set_latency_ms(latency_ms);
  return *Call<v1::HeartbeatResponse>([&](auto cb) { h.m().Heartbeat(hb, cb); });
}

TEST(JobManager, MultiFidelityStopsDominatedTrialsAtARung) {
  Harness h(std::make_unique<MemoryStore>());
  v1::SubmitJobRequest r = SameSizeJobWithARung();
  ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(r, cb); }).ok());
  auto a = *Lease(h, "a"), b = *Lease(h, "b");
  EXPECT_EQ(a.work().report_steps_size(), 1);
  EXPECT_FALSE(a.work().latency_at_rungs());  // latency is not an objective
  EXPECT_EQ(AtRung(h, a, 1.0).action(),
            v1::HEARTBEAT_ACTION_CONTINUE);  // too few at the rung to judge
  auto stop = AtRung(h, b, 2.0);
  EXPECT_EQ(stop.action(), v1::HEARTBEAT_ACTION_STOP);
  EXPECT_NE(stop.message().find("early-stopped at step 100"), std::string::npos);
  v1::ReportResultRequest stopped;
  stopped.set_lease_token(b.token());
  stopped.mutable_stopped()->mutable_progress()->set_val_step(100);
  stopped.mutable_stopped()->mutable_progress()->set_val_loss(2.0);
  auto report = Call<v1::ReportResultResponse>([&](auto cb) { h.m().ReportResult(stopped, cb); });
  EXPECT_EQ(report->trial_state(), v1::TRIAL_STATE_STOPPED);
  auto trials = *Call<v1::ListTrialsResponse>([&](auto cb) {
    v1::ListTrialsRequest req;
    req.set_parent("jobs/1");
    req.add_states(v1::TRIAL_STATE_STOPPED);
    h.m().ListTrials(req, cb);
  });
  ASSERT_EQ(trials.trials_size(), 1);
  ASSERT_EQ(trials.trials(0).rung_results_size(), 1);
  EXPECT_DOUBLE_EQ(trials.trials(0).rung_results(0).val_loss(), 2.0);
}

TEST(JobManager, RungsCompareLlamaLatencyWhenLatencyIsAnObjective) {
  Harness h(std::make_unique<MemoryStore>());
  v1::SubmitJobRequest r = SameSizeJobWithARung();
  for (const char* metric : {"val_loss", "size_bytes", "latency_ms"})
    r.mutable_spec()->add_objectives()->set_metric(metric);
  auto job = Call<v1::Job>([&](auto cb) { h.m().SubmitJob(r, cb); });
  ASSERT_TRUE(job.ok());
  ASSERT_EQ(job->latency_method(), v1::LATENCY_METHOD_LLAMA_CPP) << job->latency_method_reason();
  auto a = *Lease(h, "a"), b = *Lease(h, "b"), c = *Lease(h, "c");
  EXPECT_TRUE(a.work().latency_at_rungs());
  EXPECT_EQ(AtRung(h, a, 1.0, 1.0).action(), v1::HEARTBEAT_ACTION_CONTINUE);
  // Worse but twice as fast: not dominated.
  EXPECT_EQ(AtRung(h, b, 2.0, 0.5).action(), v1::HEARTBEAT_ACTION_CONTINUE);
  // Worse and as fast as a (2% is within the measurement's spread): dominated.
  auto stop = AtRung(h, c, 2.0, 0.98);
  EXPECT_EQ(stop.action(), v1::HEARTBEAT_ACTION_STOP);
  EXPECT_NE(stop.message().find("dominated in (size, loss, latency)"), std::string::npos)
      << stop.message();
}

TEST(JobManager, RecoversByReplayingTheStore) {
  auto dir = fs::temp_directory_path() / ("kdnas-jm-recover-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string db = (dir / "store.db").string();
  std::vector<std::string> before;
  v1::Frontier frontier_before;
  std::string running_token;
  {
    Harness h(std::move(*SqliteStore::Open(db, SqliteStore::Options())), dir.string());
    ASSERT_TRUE(h.Recover().ok());
    ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(DemoJob(8), cb); }).ok());
    for (int i = 0; i < 4; ++i) {
      auto lease = *Lease(h, "w");
      ASSERT_TRUE(Call<v1::ReportResultResponse>([&](auto cb) {
                    h.m().ReportResult(Success(lease, 2.0 + i * 0.1), cb);
                  }).ok());
    }
    running_token = Lease(h, "w")->token();
    frontier_before = *Call<v1::Frontier>([&](auto cb) { h.m().GetFrontier("jobs/1", cb); });
  }
  Harness h(std::move(*SqliteStore::Open(db, SqliteStore::Options())), dir.string());
  ASSERT_TRUE(h.Recover().ok());
  auto job = *Call<v1::Job>([&](auto cb) { h.m().GetJob("jobs/1", cb); });
  EXPECT_EQ(job.progress().trials_succeeded(), 4);
  EXPECT_EQ(job.progress().trials_running(), 1);
  auto frontier_after = *Call<v1::Frontier>([&](auto cb) { h.m().GetFrontier("jobs/1", cb); });
  EXPECT_DOUBLE_EQ(frontier_after.hypervolume(), frontier_before.hypervolume());
  // The running lease survived: its worker can heartbeat and report.
  v1::HeartbeatRequest hb;
  hb.set_lease_token(running_token);
  EXPECT_TRUE(Call<v1::HeartbeatResponse>([&](auto cb) { h.m().Heartbeat(hb, cb); }).ok());
  // A duplicate of a report made before the restart is recognized.
  auto events = h.m().ReadEvents("jobs/1", 0, 1000);
  ASSERT_TRUE(events.ok());
  EXPECT_GE(events->size(), 10u);
  for (size_t i = 0; i < events->size(); ++i)
    EXPECT_EQ((*events)[i].sequence(), static_cast<int64_t>(i + 1));
  fs::remove_all(dir);
}

TEST(JobManager, ReplayedSearchProposesWhatAnUninterruptedOneWould) {
  auto run = [](bool restart) {
    auto dir = fs::temp_directory_path() /
               ("kdnas-jm-replay-" + std::to_string(::getpid()) + (restart ? "r" : "s"));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string db = (dir / "store.db").string();
    std::vector<std::string> keys;
    auto step = [&](Harness& h, int n) {
      for (int i = 0; i < n; ++i) {
        auto lease = Lease(h, "w");
        if (!lease.ok()) return;
        keys.push_back(lease->trial().candidate_key() + " by " + lease->trial().proposed_by());
        (void)Call<v1::ReportResultResponse>(
            [&](auto cb) { h.m().ReportResult(Success(*lease, 3.0 - keys.size() * 0.01), cb); });
      }
    };
    {
      Harness h(std::move(*SqliteStore::Open(db, SqliteStore::Options())), dir.string());
      (void)h.Recover();
      // Six of the job's own points, the restart after the fifth.
      v1::SubmitJobRequest job = DemoJob(12);
      for (const char* layers : {"1", "2", "3", "4"}) {
        for (const char* bits : {"8", "4"}) {
          if (job.spec().space().points_to_evaluate_size() == 6) break;
          auto& values =
              *job.mutable_spec()->mutable_space()->add_points_to_evaluate()->mutable_values();
          values["num_layers"] = layers;
          values["weight_bits"] = bits;
        }
      }
      (void)Call<v1::Job>([&](auto cb) { h.m().SubmitJob(job, cb); });
      step(h, 5);
      if (!restart) step(h, 7);
    }
    if (restart) {
      Harness h(std::move(*SqliteStore::Open(db, SqliteStore::Options())), dir.string());
      (void)h.Recover();
      step(h, 7);
    }
    fs::remove_all(dir);
    return keys;
  };
  const std::vector<std::string> uninterrupted = run(false);
  ASSERT_EQ(uninterrupted.size(), 12u);
  EXPECT_NE(uninterrupted[5].find(" by space.points_to_evaluate[5]"), std::string::npos);
  EXPECT_NE(uninterrupted[6].find(" by nsga2"), std::string::npos) << uninterrupted[6];
  EXPECT_EQ(uninterrupted, run(true));
}

}  // namespace
}  // namespace kdnas
