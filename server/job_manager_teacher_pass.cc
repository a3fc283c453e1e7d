// JobManager: the teacher pass. A job's shards (teacher_pass.h) are leased
// to workers before its trials, with heartbeats and expiry like a trial's
// lease, so a worker that dies loses only the shard it held. A finished
// shard is an artifact, recorded durably by its key ("teacher-shards/{key}")
// and found again by any later job whose shard has the same key. Shard
// leases themselves live in memory: after a controller restart the
// unfinished shards are leased again.
#include <google/protobuf/util/time_util.h>

#include "server/job_manager.h"
#include "server/teacher_pass.h"

namespace kdnas {

using google::protobuf::util::TimeUtil;

namespace {
constexpr char kShardRecordPrefix[] = "teacher-shards/";
}  // namespace

std::string JobManager::ShardName(const JobState& job, size_t index) {
  return job.job.name() + "/teacher-shards/" + std::to_string(index);
}

void JobManager::PlanPass(JobState& job, bool recovered) {
  const TeacherPassPlan plan = PlanTeacherPass(job.job);
  job.pass = TeacherPass();
  job.job.mutable_data_info()->set_data_seed(plan.data_seed);
  for (const TeacherPassPlan::Shard& p : plan.shards) {
    ShardState shard;
    shard.first_step = p.first_step;
    shard.steps = p.steps;
    shard.held_out_context = p.held_out_context;
    shard.key = p.key;
    auto it = teacher_shards_.find(p.key);
    if (it != teacher_shards_.end()) {
      shard.artifact = it->second;
      ++job.pass.finished;
    }
    job.pass.shards.push_back(std::move(shard));
  }
  // A new job found its finished shards from earlier jobs; a recovered one
  // may have computed some itself, and its record says how many it found.
  int64_t reused = recovered ? job.job.progress().teacher_shards_reused() : job.pass.finished;
  for (ShardState& shard : job.pass.shards) {
    if (reused > 0 && shard.finished()) {
      shard.reused = true;
      --reused;
    }
  }
  if (!plan.shards.empty() && !recovered) {
    LogInfo("teacher pass planned", {{"job", job.job.name()},
                                     {"shards", static_cast<int64_t>(plan.shards.size())},
                                     {"reused", job.pass.finished}});
  }
}

v1::Lease JobManager::MakeShardLease(const JobState& job, size_t index) const {
  const ShardState& s = job.pass.shards[index];
  const v1::JobSpec& spec = job.job.spec();
  v1::Lease lease;
  lease.set_token(s.lease_token);
  *lease.mutable_deadline() = TimeUtil::MillisecondsToTimestamp(s.lease_deadline_ms);
  lease.set_heartbeat_interval_ms(options_.heartbeat_interval_ms);
  v1::TeacherShardWork* w = lease.mutable_teacher_shard();
  w->set_job(job.job.name());
  w->set_name(ShardName(job, index));
  *w->mutable_data() = spec.data();
  *w->mutable_teacher() = spec.teacher();
  w->set_batch_size(spec.budget().batch_size());
  w->set_data_seed(job.job.data_info().data_seed());
  w->set_first_step(s.first_step);
  w->set_steps(s.steps);
  w->set_top_k(spec.teacher_pass().top_k());
  w->set_eval_tokens(spec.budget().eval_tokens());
  w->set_held_out_context(s.held_out_context);
  return lease;
}

void JobManager::AddShardRefs(const JobState& job, v1::TrialWork* work) const {
  for (const ShardState& s : job.pass.shards) {
    v1::TeacherShardRef* ref = work->add_teacher_shards();
    ref->set_first_step(s.first_step);
    ref->set_steps(s.steps);
    ref->set_artifact(s.artifact.name());
    ref->set_held_out_context(s.held_out_context);
  }
}

bool JobManager::TryLeaseShard(const v1::LeaseTrialRequest& request, Worker& worker,
                               Callback<v1::LeaseTrialResponse>& done) {
  // Keys being computed now: a job that shares a shard with another waits
  // for it rather than computing it twice.
  std::set<std::string> in_progress;
  for (const auto& [token, where] : shard_leases_) {
    (void)token;
    in_progress.insert(jobs_[where.first].pass.shards[where.second].key);
  }
  for (auto& [id, job] : jobs_) {
    if (job.job.state() != v1::JOB_STATE_RUNNING || job.pass.complete()) continue;
    for (size_t i = 0; i < job.pass.shards.size(); ++i) {
      ShardState& s = job.pass.shards[i];
      if (s.finished() || !s.lease_token.empty() || in_progress.count(s.key)) continue;
      const int64_t now = clock_->NowMs();
      s.lease_token = NewToken();
      s.worker_id = request.worker_id();
      s.lease_start_ms = now;
      s.lease_deadline_ms = now + options_.lease_ttl_ms;
      ++s.attempts;
      shard_leases_[s.lease_token] = {id, i};
      lease_deadlines_.insert({s.lease_deadline_ms, s.lease_token});
      worker.lease_token = s.lease_token;
      worker.info.set_trial(ShardName(job, i));
      LogInfo("teacher shard leased", {{"job", job.job.name()},
                                       {"shard", static_cast<int64_t>(i)},
                                       {"worker", request.worker_id()},
                                       {"attempt", s.attempts}});
      v1::LeaseTrialResponse response;
      *response.mutable_lease() = MakeShardLease(job, i);
      done(response);
      return true;
    }
  }
  return false;
}

void JobManager::EndShardLease(ShardState& shard) {
  shard_leases_.erase(shard.lease_token);
  lease_deadlines_.erase({shard.lease_deadline_ms, shard.lease_token});
  ReleaseWorker(shard.worker_id, shard.lease_token);
  shard.lease_token.clear();
  shard.worker_id.clear();
}

bool JobManager::HeartbeatShard(const v1::HeartbeatRequest& request,
                                Callback<v1::HeartbeatResponse>& done) {
  auto it = shard_leases_.find(request.lease_token());
  if (it == shard_leases_.end()) return false;
  JobState& job = jobs_[it->second.first];
  ShardState& s = job.pass.shards[it->second.second];
  const int64_t now = clock_->NowMs();
  MoveDeadline(s.lease_token, &s.lease_deadline_ms, now + options_.lease_ttl_ms);
  SeeWorker(s.worker_id);
  job.last_progress_ms = now;
  v1::HeartbeatResponse response;
  *response.mutable_deadline() = TimeUtil::MillisecondsToTimestamp(s.lease_deadline_ms);
  if (job.job.state() != v1::JOB_STATE_RUNNING) {
    response.set_action(v1::HEARTBEAT_ACTION_STOP);
    response.set_message("job " + job.job.state_message());
  }
  done(response);
  return true;
}

void JobManager::FinishShard(const std::string& key, const v1::Artifact& artifact,
                             WriteBatch* batch) {
  teacher_shards_[key] = artifact;
  batch->blobs.push_back({kShardRecordPrefix + key, artifact.SerializeAsString()});
  for (auto& [id, job] : jobs_) {
    (void)id;
    bool changed = false;
    for (ShardState& s : job.pass.shards) {
      if (s.key != key || s.finished()) continue;
      s.artifact = artifact;
      ++job.pass.finished;
      changed = true;
    }
    if (!changed) continue;
    if (job.pass.complete()) {
      LogInfo("teacher pass finished",
              {{"job", job.job.name()}, {"shards", static_cast<int64_t>(job.pass.shards.size())}});
    }
    RecomputeProgress(job);
    AddJobRecord(job, batch);
    EmitJobChanged(job, batch);
  }
}

bool JobManager::ReportShard(const v1::ReportResultRequest& request,
                             Callback<v1::ReportResultResponse>& done) {
  auto it = shard_leases_.find(request.lease_token());
  if (it == shard_leases_.end()) return false;
  JobState& job = jobs_[it->second.first];
  const size_t index = it->second.second;
  ShardState& s = job.pass.shards[index];
  if (request.has_success()) {
    auto a = artifacts_.find(request.success().artifact());
    if (a == artifacts_.end() || a->second.kind() != v1::ARTIFACT_KIND_TEACHER_SHARD) {
      done(InvalidArgument("success: artifact " + request.success().artifact().substr(0, 100) +
                           " is not an uploaded teacher shard"));
      return true;
    }
  }
  double seconds = 0;
  if (request.has_success()) seconds = request.success().metrics().worker_seconds();
  if (request.has_failure()) seconds = request.failure().worker_seconds();
  if (request.has_stopped()) seconds = request.stopped().worker_seconds();
  v1::JobProgress& p = *job.job.mutable_progress();
  p.set_teacher_pass_worker_seconds(p.teacher_pass_worker_seconds() + std::max(0.0, seconds));
  p.set_worker_seconds_used(p.worker_seconds_used() + std::max(0.0, seconds));
  const std::string key = s.key;
  const int32_t attempts = s.attempts;
  EndShardLease(s);
  WriteBatch batch;
  v1::ReportResultResponse response;
  const LogFields fields = {
      {"job", job.job.name()}, {"shard", static_cast<int64_t>(index)}, {"worker_seconds", seconds}};
  if (request.has_success()) {
    LogInfo("teacher shard finished", fields);
    response.set_trial_state(v1::TRIAL_STATE_SUCCEEDED);
    FinishShard(key, artifacts_[request.success().artifact()], &batch);
  } else {
    const bool retry =
        !request.has_failure() ||
        (request.failure().retryable() && attempts < job.job.spec().budget().max_attempts());
    response.set_trial_state(retry ? v1::TRIAL_STATE_PENDING : v1::TRIAL_STATE_FAILED);
    if (request.has_failure()) {
      LogWarn("teacher shard failed", {{"job", job.job.name()},
                                       {"shard", static_cast<int64_t>(index)},
                                       {"retrying", retry},
                                       {"reason", request.failure().error()}});
    }
    if (!retry && job.job.state() == v1::JOB_STATE_RUNNING) {
      EndJob(job, v1::JOB_STATE_FAILED,
             "teacher pass: " + ShardName(job, index) +
                 " failed: " + request.failure().error().substr(0, 500),
             &batch);
    }
    AddJobRecord(job, &batch);
  }
  RememberReport(request.lease_token(), {job.id, 0, response.SerializeAsString()});
  Persist(std::move(batch), [this, response, done = std::move(done)](const Status& st) {
    if (!st.ok()) return done(st);
    done(response);
    ServeWaiters();
  });
  return true;
}

bool JobManager::ExpireShardLease(const std::string& token, WriteBatch* batch) {
  auto it = shard_leases_.find(token);
  if (it == shard_leases_.end()) return false;
  JobState& job = jobs_[it->second.first];
  const size_t index = it->second.second;
  ShardState& s = job.pass.shards[index];
  ++lease_expirations_;
  const bool retry = s.attempts < job.job.spec().budget().max_attempts();
  LogWarn("teacher shard lease expired", {{"job", job.job.name()},
                                          {"shard", static_cast<int64_t>(index)},
                                          {"worker", s.worker_id},
                                          {"attempt", s.attempts},
                                          {"outcome", retry ? "retrying" : "failed"}});
  EndShardLease(s);
  if (!retry && job.job.state() == v1::JOB_STATE_RUNNING) {
    EndJob(job, v1::JOB_STATE_FAILED,
           "teacher pass: " + ShardName(job, index) + ": lease expired after " +
               std::to_string(s.attempts) + " attempt(s)",
           batch);
  }
  return true;
}

void JobManager::RestoreTeacherShard(const BlobRecord& record) {
  v1::Artifact artifact;
  if (artifact.ParseFromString(record.blob))
    teacher_shards_[record.name.substr(sizeof(kShardRecordPrefix) - 1)] = artifact;
}

bool JobManager::IsTeacherShardRecord(const std::string& name) {
  return name.rfind(kShardRecordPrefix, 0) == 0;
}

}  // namespace kdnas
