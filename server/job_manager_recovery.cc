// JobManager: recovery from the store, replaying each job's log of search
// calls so that strategies and fronts end up exactly where they were.
#include <chrono>

#include "server/job_manager.h"

namespace kdnas {

Status JobManager::Recover() {
  const auto started = std::chrono::steady_clock::now();
  KDNAS_ASSIGN_OR_RETURN(StoreSnapshot snapshot, store_->Load());
  const int64_t now = clock_->NowMs();
  RestoreBlobs(snapshot.blobs);
  KDNAS_RETURN_IF_ERROR(RestoreJobs(snapshot, now));
  ReplaySearchLog(snapshot.log);
  int64_t leases = 0, running_jobs = 0;
  for (auto& [id, job] : jobs_) {
    running_jobs += job.job.state() == v1::JOB_STATE_RUNNING;
    leases += RestoreLiveState(job, now);
  }
  LogInfo("store recovered", {{"jobs", static_cast<int64_t>(jobs_.size())},
                              {"jobs_running", running_jobs},
                              {"trials", static_cast<int64_t>(snapshot.trials.size())},
                              {"log_records", static_cast<int64_t>(snapshot.log.size())},
                              {"blobs", static_cast<int64_t>(snapshot.blobs.size())},
                              {"leases", leases},
                              {"duration_ms", std::chrono::duration<double, std::milli>(
                                                  std::chrono::steady_clock::now() - started)
                                                  .count()}});
  return Status::Ok();
}

void JobManager::RestoreBlobs(const std::vector<BlobRecord>& blobs) {
  for (const BlobRecord& b : blobs) {
    if (IsTeacherShardRecord(b.name)) {
      RestoreTeacherShard(b);
    } else if (b.name.rfind("blobs/", 0) == 0) {
      v1::Blob blob;
      if (blob.ParseFromString(b.blob)) blobs_meta_[b.name] = blob;
    } else {
      v1::Artifact a;
      if (a.ParseFromString(b.blob)) artifacts_[b.name] = a;
    }
  }
}

Status JobManager::RestoreJobs(const StoreSnapshot& snapshot, int64_t now_ms) {
  for (const JobRecord& r : snapshot.jobs) {
    JobState& job = jobs_[r.id];
    job.id = r.id;
    if (!job.job.ParseFromString(r.job))
      return DataLoss("job " + std::to_string(r.id) + " is corrupt in the store");
    KDNAS_RETURN_IF_ERROR(BuildSearch(&job));
    PlanPass(job, /*recovered=*/true);
    if (!r.request_id.empty()) request_ids_[r.request_id] = r.id;
    next_job_id_ = std::max(next_job_id_, r.id + 1);
    KDNAS_ASSIGN_OR_RETURN(job.last_event_seq, store_->LastEventSeq(r.id));
    job.last_progress_ms = now_ms;
  }
  for (const TrialRecord& r : snapshot.trials) {
    auto it = jobs_.find(r.job_id);
    if (it == jobs_.end()) continue;
    TrialState& t = it->second.trials[r.trial_id];
    if (!t.trial.ParseFromString(r.trial))
      return DataLoss("trial " + std::to_string(r.trial_id) + " is corrupt");
    t.point = UnpackPoint(r.point);
    t.lease_token = r.lease_token;
    t.report = r.report;
    if (!t.report.empty() && !t.lease_token.empty())
      RememberReport(t.lease_token, {r.job_id, r.trial_id, r.report});
    it->second.next_trial_id = std::max(it->second.next_trial_id, r.trial_id + 1);
  }
  return Status::Ok();
}

void JobManager::ReplaySearchLog(const std::vector<SearchLogRecord>& log) {
  for (const SearchLogRecord& r : log) {
    auto it = jobs_.find(r.job_id);
    if (it == jobs_.end()) continue;
    JobState& job = it->second;
    job.next_log_seq = std::max(job.next_log_seq, r.seq + 1);
    if (r.kind == SearchLogRecord::kPropose) {
      job.search->Propose(static_cast<int>(r.value), nullptr);
      continue;
    }
    auto t = job.trials.find(r.value);
    if (t == job.trials.end()) continue;
    const v1::Trial& trial = t->second.trial;
    job.search->Complete(r.value, t->second.point, SearchStatusOf(trial.state()),
                         OutcomeValues(trial));
  }
}

int64_t JobManager::RestoreLiveState(JobState& job, int64_t now_ms) {
  int64_t leases = 0;
  for (auto& [tid, t] : job.trials) {
    if (job.rungs) {
      const auto& rungs = t.trial.rung_results();
      for (int i = 0; i < rungs.size(); ++i) {
        // Only the last rung of a trial stopped early made it stop.
        bool stopped_here = i + 1 == rungs.size() && t.trial.state() == v1::TRIAL_STATE_STOPPED;
        job.rungs->Record(tid, rungs[i].val_step(),
                          static_cast<double>(t.trial.predicted().size_bytes()),
                          rungs[i].val_loss(), rungs[i].latency_ms(), !stopped_here);
      }
    }
    if (t.trial.state() == v1::TRIAL_STATE_PENDING) job.pending.push_back(tid);
    if (t.trial.state() == v1::TRIAL_STATE_RUNNING && !t.lease_token.empty()) {
      // A fresh deadline, so that workers can reconnect and heartbeat.
      t.lease_start_ms = now_ms;
      ArmLease(job.id, t, now_ms + options_.lease_ttl_ms);
      ++leases;
      LogDebug("lease restored", TrialLog(t.trial, {{"attempt", t.trial.attempts()}}));
    }
  }
  CountTrials(job);
  // Keep the frontier's trials and the live ones; the rest stay in the store.
  for (const auto& member : job.search->front().Members()) {
    auto t = job.trials.find(member.id);
    if (t != job.trials.end()) job.front[member.id] = t->second.trial;
  }
  for (auto it = job.trials.begin(); it != job.trials.end();) {
    auto state = it->second.trial.state();
    it = state == v1::TRIAL_STATE_PENDING || state == v1::TRIAL_STATE_RUNNING
             ? std::next(it)
             : job.trials.erase(it);
  }
  return leases;
}

void JobManager::CountTrials(JobState& job) {
  v1::JobProgress& p = *job.job.mutable_progress();
  // The teacher pass's worker-seconds are only in the job's record.
  const double pass_seconds = p.teacher_pass_worker_seconds();
  p.Clear();
  p.set_teacher_pass_worker_seconds(pass_seconds);
  p.set_worker_seconds_used(pass_seconds);
  // Each trial keeps the worker-seconds of all its attempts.
  for (const auto& [tid, t] : job.trials) {
    (void)tid;
    AdjustCount(&p, t.trial.state(), +1);
    if (t.trial.state() == v1::TRIAL_STATE_SUCCEEDED && !t.trial.infeasible_reason().empty())
      p.set_trials_infeasible(p.trials_infeasible() + 1);
    p.set_worker_seconds_used(p.worker_seconds_used() + t.trial.metrics().worker_seconds());
  }
  RecomputeProgress(job);
}

}  // namespace kdnas
