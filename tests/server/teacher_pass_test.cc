// The controller's side of the teacher pass on a fake clock: shards are
// leased before trials, a worker that dies loses only its shard, trials get
// the finished shards, a later job with the same teacher and data reuses
// them (also after a restart), and cancelling stops the pass.
#include "server/teacher_pass.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "server/store/memory_store.h"
#include "server/store/sqlite_store.h"
#include "tests/server/job_manager_harness.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

// The demo job over uploaded blobs (known by content), 40 steps in shards
// of 16, and the held-out shard of its one context length.
v1::SubmitJobRequest BlobJob(Harness& h, const std::string& request_id) {
  v1::SubmitJobRequest r = DemoJob();
  r.set_request_id(request_id);
  auto* spec = r.mutable_spec();
  spec->mutable_data()->mutable_text()->set_blob(PutBlob(h, "data/tinyshakespeare.txt"));
  spec->mutable_teacher()->mutable_model()->set_blob(PutBlob(h, BundledCorpusTeacher()));
  spec->mutable_budget()->set_train_steps(40);
  spec->mutable_teacher_pass()->set_steps_per_shard(16);
  return r;
}

v1::Job GetJob(Harness& h, const std::string& name) {
  return *Call<v1::Job>([&](auto cb) { h.m().GetJob(name, cb); });
}

StatusOr<v1::HeartbeatResponse> Beat(Harness& h, const v1::Lease& lease) {
  v1::HeartbeatRequest hb;
  hb.set_lease_token(lease.token());
  return Call<v1::HeartbeatResponse>([&](auto cb) { h.m().Heartbeat(hb, cb); });
}

TEST(TeacherPass, ShardsComeBeforeTrialsAndALostShardIsLeasedAgain) {
  const fs::path dir = fs::temp_directory_path() / ("kdnas-pass-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string db = (dir / "store.db").string();
  std::vector<v1::TeacherShardRef> refs;
  uint64_t data_seed = 0;
  {
    Harness h(std::move(*SqliteStore::Open(db, SqliteStore::Options())), (dir / "data").string());
    ASSERT_TRUE(h.Recover().ok());
    auto job = Call<v1::Job>([&](auto cb) { h.m().SubmitJob(BlobJob(h, "a"), cb); });
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    EXPECT_EQ(job->spec().teacher_pass().top_k(), 32);  // the default, applied
    EXPECT_EQ(job->progress().teacher_shards(), 4);
    EXPECT_EQ(job->progress().teacher_shards_done(), 0);

    auto first = LeaseAny(h, "w1");
    auto second = LeaseAny(h, "w2");
    ASSERT_TRUE(first.ok() && second.ok());
    ASSERT_TRUE(first->has_teacher_shard());
    ASSERT_TRUE(second->has_teacher_shard());
    EXPECT_FALSE(first->has_trial());
    const v1::TeacherShardWork& w = first->teacher_shard();
    EXPECT_EQ(w.name(), "jobs/1/teacher-shards/0");
    EXPECT_EQ(w.first_step(), 0);
    EXPECT_EQ(w.steps(), 16);
    EXPECT_EQ(second->teacher_shard().first_step(), 16);
    EXPECT_EQ(w.batch_size(), job->spec().budget().batch_size());
    EXPECT_EQ(w.data().window_length(), job->spec().data().window_length());
    EXPECT_GT(w.data().window_length(), 0);
    data_seed = w.data_seed();
    EXPECT_EQ(GetJob(h, "jobs/1").data_info().data_seed(), data_seed);
    EXPECT_EQ(second->teacher_shard().data_seed(), data_seed);
    // Asking again hands the same shard back.
    EXPECT_EQ(LeaseAny(h, "w1")->token(), first->token());

    // w2 dies: only its shard is lost, and leased again, as a second attempt.
    h.clock().AdvanceMs(9'000);
    ASSERT_TRUE(Beat(h, *first).ok());
    h.clock().AdvanceMs(1'500);
    h.Tick();
    EXPECT_EQ(Beat(h, *second).status().code(), StatusCode::kFailedPrecondition);
    ASSERT_EQ(Beat(h, *first)->action(), v1::HEARTBEAT_ACTION_CONTINUE);
    auto again = LeaseAny(h, "w3");
    ASSERT_TRUE(again.ok() && again->has_teacher_shard());
    EXPECT_EQ(again->teacher_shard().name(), "jobs/1/teacher-shards/1");
    EXPECT_EQ(FinishShard(h, *second).status().code(), StatusCode::kFailedPrecondition);

    // A report must name an uploaded shard.
    v1::ReportResultRequest bogus;
    bogus.set_lease_token(first->token());
    bogus.mutable_success()->set_artifact("artifacts/" + std::string(64, 'a'));
    EXPECT_EQ(Call<v1::ReportResultResponse>([&](auto cb) { h.m().ReportResult(bogus, cb); })
                  .status()
                  .code(),
              StatusCode::kInvalidArgument);
    auto done = FinishShard(h, *first);
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    EXPECT_FALSE(done->duplicate());
    // The same report again (its response was lost) gets the same answer.
    v1::ReportResultRequest repeat;
    repeat.set_lease_token(first->token());
    repeat.mutable_success()->set_artifact("artifacts/" + Sha256Hex(w.name()));
    auto repeated =
        Call<v1::ReportResultResponse>([&](auto cb) { h.m().ReportResult(repeat, cb); });
    ASSERT_TRUE(repeated.ok()) << repeated.status().ToString();
    EXPECT_TRUE(repeated->duplicate());
    EXPECT_EQ(repeated->trial_state(), v1::TRIAL_STATE_SUCCEEDED);
    EXPECT_EQ(GetJob(h, "jobs/1").progress().teacher_shards_done(), 1);

    // Trials wait for the whole pass.
    auto last = LeaseAny(h, "w4");
    ASSERT_TRUE(last.ok() && last->has_teacher_shard());
    EXPECT_EQ(last->teacher_shard().steps(), 8);
    EXPECT_EQ(last->teacher_shard().held_out_context(), 0);
    // The teacher's outputs on the held-out windows of the students' context.
    auto held_out = LeaseAny(h, "w6");
    ASSERT_TRUE(held_out.ok() && held_out->has_teacher_shard());
    const int context = held_out->teacher_shard().held_out_context();
    EXPECT_EQ(context, 64);  // the demo space's, unset in its spec
    EXPECT_EQ(held_out->teacher_shard().eval_tokens(), job->spec().budget().eval_tokens());
    EXPECT_EQ(LeaseAny(h, "w5").status().code(), StatusCode::kNotFound);
    ASSERT_TRUE(FinishShard(h, *again).ok());
    ASSERT_TRUE(FinishShard(h, *last).ok());
    EXPECT_EQ(LeaseAny(h, "w5").status().code(), StatusCode::kNotFound);
    ASSERT_TRUE(FinishShard(h, *held_out).ok());
    EXPECT_EQ(GetJob(h, "jobs/1").progress().teacher_shards_done(), 4);
    EXPECT_EQ(GetJob(h, "jobs/1").progress().teacher_shards_reused(), 0);

    auto trial = LeaseAny(h, "w5");
    ASSERT_TRUE(trial.ok() && trial->has_trial());
    EXPECT_EQ(trial->work().data_seed(), data_seed);
    EXPECT_EQ(trial->work().top_k(), 32);
    EXPECT_EQ(trial->trial().candidate().architecture().context_length(), context);
    ASSERT_EQ(trial->work().teacher_shards_size(), 4);
    refs.assign(trial->work().teacher_shards().begin(), trial->work().teacher_shards().end());
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(refs[i].first_step(), i < 3 ? 16 * i : 0);
      EXPECT_EQ(refs[i].held_out_context(), i < 3 ? 0 : context);
      EXPECT_EQ(refs[i].artifact().rfind("artifacts/", 0), 0u);
    }

    // A second job with the same teacher and data: every shard is reused.
    auto second_job = Call<v1::Job>([&](auto cb) { h.m().SubmitJob(BlobJob(h, "b"), cb); });
    ASSERT_TRUE(second_job.ok());
    EXPECT_EQ(second_job->progress().teacher_shards_done(), 4);
    EXPECT_EQ(second_job->progress().teacher_shards_reused(), 4);
    // Other steps per shard make other training shards (the held-out one is
    // the same); other held-out tokens another held-out shard; per_worker
    // makes none.
    v1::SubmitJobRequest other = BlobJob(h, "c");
    other.mutable_spec()->mutable_teacher_pass()->set_steps_per_shard(20);
    EXPECT_EQ(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(other, cb); })
                  ->progress()
                  .teacher_shards_done(),
              1);
    v1::SubmitJobRequest fewer = BlobJob(h, "e");
    fewer.mutable_spec()->mutable_budget()->set_eval_tokens(1024);
    EXPECT_EQ(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(fewer, cb); })
                  ->progress()
                  .teacher_shards_done(),
              3);
    v1::SubmitJobRequest own = BlobJob(h, "d");
    own.mutable_spec()->mutable_teacher_pass()->set_per_worker(true);
    EXPECT_EQ(
        Call<v1::Job>([&](auto cb) { h.m().SubmitJob(own, cb); })->progress().teacher_shards(), 0);
    ASSERT_TRUE(h.store()->Sync().ok());
  }
  // After a restart the record says which job reused its shards, and a
  // trial of the second job gets the first job's shards.
  Harness h(std::move(*SqliteStore::Open(db, SqliteStore::Options())), (dir / "data").string());
  ASSERT_TRUE(h.Recover().ok());
  EXPECT_EQ(GetJob(h, "jobs/1").progress().teacher_shards_done(), 4);
  EXPECT_EQ(GetJob(h, "jobs/1").progress().teacher_shards_reused(), 0);
  EXPECT_EQ(GetJob(h, "jobs/2").progress().teacher_shards_reused(), 4);
  for (const char* name : {"jobs/1", "jobs/3", "jobs/4"})
    ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().CancelJob(name, cb); }).ok());
  auto trial = LeaseAny(h, "w6");
  ASSERT_TRUE(trial.ok() && trial->has_trial()) << trial.status().ToString();
  EXPECT_EQ(trial->trial().name().rfind("jobs/2/", 0), 0u);
  EXPECT_EQ(trial->work().data_seed(), data_seed);
  ASSERT_EQ(trial->work().teacher_shards_size(), 4);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(trial->work().teacher_shards(i).artifact(), refs[i].artifact());
  fs::remove_all(dir);
}

// The held-out windows differ by context length: a held-out shard for each
// one the space proposes, up to kMaxHeldOutContexts (beyond that, workers
// compute the ones their trials need).
TEST(TeacherPass, AHeldOutShardPerContextLengthTheSpaceProposes) {
  v1::Job job;
  job.set_name("jobs/9");
  *job.mutable_spec() = DemoJob().spec();
  job.mutable_spec()->mutable_budget()->set_train_steps(40);
  job.mutable_spec()->mutable_teacher_pass()->set_steps_per_shard(16);
  job.mutable_data_info()->set_vocab_size(65);
  auto held_out = [](const TeacherPassPlan& plan) {
    std::map<int, std::string> keys;
    for (const auto& shard : plan.shards) {
      if (shard.held_out_context > 0) keys[shard.held_out_context] = shard.key;
    }
    return keys;
  };
  const auto one = held_out(PlanTeacherPass(job));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one.begin()->first, 64);  // the demo space's, unset in its spec
  v1::Parameter* p = job.mutable_spec()->mutable_space()->add_parameters();
  p->set_name("context_length");
  p->mutable_discrete()->add_values(64);
  p->mutable_discrete()->add_values(32);
  const TeacherPassPlan plan = PlanTeacherPass(job);
  const auto two = held_out(plan);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two.begin()->first, 32);
  EXPECT_NE(two.at(32), two.at(64));
  EXPECT_EQ(plan.shards.size(), 3u + 2u);
  std::set<std::string> keys;
  for (const auto& shard : plan.shards) EXPECT_TRUE(keys.insert(shard.key).second);
  p->clear_discrete();
  p->mutable_integer_range()->set_min(8);
  p->mutable_integer_range()->set_max(8 + kMaxHeldOutContexts);
  EXPECT_TRUE(held_out(PlanTeacherPass(job)).empty());
  p->mutable_integer_range()->set_step(2);
  EXPECT_EQ(held_out(PlanTeacherPass(job)).size(), kMaxHeldOutContexts / 2 + 1);
}

TEST(TeacherPass, CancellingTheJobStopsItsShards) {
  Harness h(std::make_unique<MemoryStore>());
  ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(BlobJob(h, "a"), cb); }).ok());
  auto shard = LeaseAny(h, "w1");
  ASSERT_TRUE(shard.ok() && shard->has_teacher_shard());
  ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().CancelJob("jobs/1", cb); }).ok());
  auto beat = Beat(h, *shard);
  ASSERT_TRUE(beat.ok());
  EXPECT_EQ(beat->action(), v1::HEARTBEAT_ACTION_STOP);
  EXPECT_EQ(LeaseAny(h, "w2").status().code(), StatusCode::kNotFound);
}

TEST(TeacherPass, AShardThatCannotBeComputedFailsTheJobWithTheReason) {
  Harness h(std::make_unique<MemoryStore>());
  ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().SubmitJob(BlobJob(h, "a"), cb); }).ok());
  auto shard = LeaseAny(h, "w1");
  ASSERT_TRUE(shard.ok() && shard->has_teacher_shard());
  v1::ReportResultRequest r;
  r.set_lease_token(shard->token());
  r.mutable_failure()->set_error("the teacher has 70 logits, the job 65");
  auto report = Call<v1::ReportResultResponse>([&](auto cb) { h.m().ReportResult(r, cb); });
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->trial_state(), v1::TRIAL_STATE_FAILED);
  const v1::Job job = GetJob(h, "jobs/1");
  EXPECT_EQ(job.state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(job.state_message(),
            "teacher pass: jobs/1/teacher-shards/0 failed: the teacher has 70 logits, the job 65");
}

TEST(TeacherPass, ItsSettingsAreChecked) {
  Harness h(std::make_unique<MemoryStore>());
  v1::SubmitJobRequest r = BlobJob(h, "a");
  r.mutable_spec()->mutable_teacher_pass()->set_top_k(-1);
  auto job = Call<v1::Job>([&](auto cb) { h.m().SubmitJob(r, cb); });
  EXPECT_EQ(job.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(job.status().message().find("spec.teacher_pass.top_k"), std::string::npos)
      << job.status().message();
  r = BlobJob(h, "b");
  r.mutable_spec()->mutable_teacher_pass()->set_steps_per_shard(-3);
  job = Call<v1::Job>([&](auto cb) { h.m().SubmitJob(r, cb); });
  EXPECT_NE(job.status().message().find("spec.teacher_pass.steps_per_shard"), std::string::npos)
      << job.status().message();
  // No student distils (alpha 0, not searched): no pass.
  r = BlobJob(h, "c");
  r.mutable_spec()->mutable_space()->mutable_base()->mutable_distillation()->set_alpha(0);
  job = Call<v1::Job>([&](auto cb) { h.m().SubmitJob(r, cb); });
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->progress().teacher_shards(), 0);
}

}  // namespace
}  // namespace kdnas
