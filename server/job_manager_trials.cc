// JobManager: the search loop (proposing and leasing-ready trials), reports
// and how a trial and a job end.
#include <google/protobuf/util/time_util.h>

#include "proto/api_convert.h"
#include "server/job_manager.h"
#include "server/resource_names.h"

namespace kdnas {

using google::protobuf::util::TimeUtil;

namespace {

bool IsTerminal(v1::TrialState s) {
  return s == v1::TRIAL_STATE_SUCCEEDED || s == v1::TRIAL_STATE_FAILED ||
         s == v1::TRIAL_STATE_STOPPED || s == v1::TRIAL_STATE_REJECTED;
}

}  // namespace

TrialStatus JobManager::SearchStatusOf(v1::TrialState state) {
  return state == v1::TRIAL_STATE_SUCCEEDED ? TrialStatus::kSucceeded
         : state == v1::TRIAL_STATE_STOPPED ? TrialStatus::kStopped
                                            : TrialStatus::kFailed;
}

void JobManager::SetTrialState(JobState& job, TrialState& t, v1::TrialState state,
                               const std::string& message) {
  AdjustCount(job.job.mutable_progress(), t.trial.state(), -1);
  AdjustCount(job.job.mutable_progress(), state, +1);
  t.trial.set_state(state);
  t.trial.set_state_message(message);
  const auto now = TimeUtil::MillisecondsToTimestamp(clock_->NowMs());
  if (state == v1::TRIAL_STATE_RUNNING) *t.trial.mutable_start_time() = now;
  if (IsTerminal(state)) *t.trial.mutable_end_time() = now;
}

bool JobManager::JobWantsMoreTrials(const JobState& job) const {
  if (job.job.state() != v1::JOB_STATE_RUNNING || job.search->exhausted()) return false;
  const auto& p = job.job.progress();
  const auto& b = job.job.spec().budget();
  int64_t committed = p.trials_succeeded() + p.trials_failed() + p.trials_stopped() +
                      p.trials_running() + p.trials_pending();
  if (committed >= b.max_trials()) return false;
  return b.max_worker_seconds() <= 0 || p.worker_seconds_used() < b.max_worker_seconds();
}

bool JobManager::ProposeTrials(JobState& job, int n, bool leased_now, WriteBatch* batch) {
  std::vector<Proposal> rejected;
  std::vector<Proposal> proposals = job.search->Propose(n, &rejected);
  AddLog(job, SearchLogRecord::kPropose, n, batch);
  auto create = [&](Proposal& p, v1::TrialState state) {
    int64_t id = job.next_trial_id++;
    TrialState& t = job.trials[id];
    t.trial.set_name(job.job.name() + "/trials/" + std::to_string(id));
    *t.trial.mutable_candidate() = CandidateToProto(p.candidate);
    t.trial.set_candidate_key(p.key);
    t.trial.set_proposed_by(p.proposed_by);
    *t.trial.mutable_create_time() = TimeUtil::MillisecondsToTimestamp(clock_->NowMs());
    auto* predicted = t.trial.mutable_predicted();
    predicted->set_params(p.cost.params);
    predicted->set_nonzero_params(p.cost.nonzero_params);
    predicted->set_flops_per_token(p.cost.flops_per_token);
    predicted->set_size_bytes(p.cost.size_bytes);
    t.point = p.point;
    SetTrialState(job, t, state, state == v1::TRIAL_STATE_REJECTED ? p.reject_reason : "");
    if (state == v1::TRIAL_STATE_PENDING) job.pending.push_back(id);
    if (state == v1::TRIAL_STATE_REJECTED) to_evict_.push_back({job.id, id});
    // A trial leased in the same batch is recorded once, as RUNNING.
    if (state == v1::TRIAL_STATE_PENDING && leased_now) return;
    AddTrialRecord(job, t, batch);
    EmitTrialChanged(job, t, batch);
  };
  // Rejected ones were met first; their ids come first too.
  for (Proposal& p : rejected) create(p, v1::TRIAL_STATE_REJECTED);
  for (Proposal& p : proposals) create(p, v1::TRIAL_STATE_PENDING);
  RecomputeProgress(job);
  return !proposals.empty();
}

std::pair<JobManager::JobState*, JobManager::TrialState*> JobManager::NextTrial(WriteBatch* batch) {
  if (jobs_.empty()) return {nullptr, nullptr};
  // Round-robin over jobs, starting after the one served last.
  auto start = jobs_.upper_bound(round_robin_);
  for (size_t k = 0; k < jobs_.size(); ++k) {
    if (start == jobs_.end()) start = jobs_.begin();
    JobState& job = start->second;
    ++start;
    // A job's trials wait for its teacher pass.
    if (job.job.state() != v1::JOB_STATE_RUNNING || !job.pass.complete()) continue;
    while (!job.pending.empty()) {
      int64_t id = job.pending.front();
      job.pending.pop_front();
      auto it = job.trials.find(id);
      if (it != job.trials.end() && it->second.trial.state() == v1::TRIAL_STATE_PENDING) {
        round_robin_ = job.id;
        return {&job, &it->second};
      }
    }
    if (JobWantsMoreTrials(job) && ProposeTrials(job, 1, /*leased_now=*/true, batch) &&
        !job.pending.empty()) {
      int64_t id = job.pending.front();
      job.pending.pop_front();
      round_robin_ = job.id;
      return {&job, &job.trials[id]};
    }
    MaybeEndJob(job, batch);
  }
  return {nullptr, nullptr};
}

void JobManager::FinishTrial(JobState& job, TrialState& t, v1::TrialState state,
                             const std::string& message, WriteBatch* batch) {
  SetTrialState(job, t, state, message);
  if (state == v1::TRIAL_STATE_SUCCEEDED) {
    const auto& m = t.trial.metrics();
    LogInfo("trial succeeded", TrialLog(t.trial, {{"size_bytes", m.size_bytes()},
                                                  {"val_loss", m.val_loss()},
                                                  {"worker_seconds", m.worker_seconds()}}));
  } else if (state == v1::TRIAL_STATE_FAILED) {
    LogWarn("trial failed",
            TrialLog(t.trial, {{"attempt", t.trial.attempts()}, {"reason", message}}));
  } else {
    LogInfo(t.early_stopped ? "trial stopped early" : "trial stopped",
            TrialLog(t.trial, {{"step", t.trial.progress().step()},
                               {"val_loss", t.trial.progress().val_loss()},
                               {"reason", message}}));
  }
  if (observer_ != nullptr) {
    observer_->OnTrialFinished(std::to_string(job.id), state,
                               static_cast<double>(clock_->NowMs() - t.lease_start_ms) / 1000.0);
  }
  EndLease(t);
  job.tokens_per_second.erase(t.trial.name());
  Worker* worker = ReleaseWorker(t.trial.worker_id(), t.lease_token);
  if (worker != nullptr && state == v1::TRIAL_STATE_SUCCEEDED)
    worker->info.set_trials_completed(worker->info.trials_completed() + 1);
  const TrialStatus status = SearchStatusOf(state);
  FrontChange change =
      job.search->Complete(TrialIdOf(t.trial), t.point, status, OutcomeValues(t.trial));
  if (!change.infeasible_reason.empty()) {
    t.trial.set_infeasible_reason(change.infeasible_reason);
    auto* progress = job.job.mutable_progress();
    progress->set_trials_infeasible(progress->trials_infeasible() + 1);
  }
  if (change.added) job.front[TrialIdOf(t.trial)] = t.trial;
  for (int64_t removed : change.removed) job.front.erase(removed);
  to_evict_.push_back({job.id, TrialIdOf(t.trial)});
  AddLog(job, SearchLogRecord::kComplete, TrialIdOf(t.trial), batch);
  job.last_progress_ms = clock_->NowMs();
  RecomputeProgress(job);
  AddTrialRecord(job, t, batch);
  EmitTrialChanged(job, t, batch);
  if (change.added) {
    v1::JobEvent e = NewEvent(job, batch);
    auto* f = e.mutable_frontier_changed();
    f->set_frontier_size(static_cast<int64_t>(job.search->front().size()));
    f->set_hypervolume(change.hypervolume);
    f->add_added(t.trial.name());
    for (int64_t removed : change.removed)
      f->add_removed(job.job.name() + "/trials/" + std::to_string(removed));
    batch->events.push_back({job.id, e.sequence(), e.SerializeAsString()});
  }
}

void JobManager::ReportResult(v1::ReportResultRequest request,
                              Callback<v1::ReportResultResponse> done) {
  Post([this, request = std::move(request), done = std::move(done)]() mutable {
    if (ReportShard(request, done)) return;
    auto it = leases_.find(request.lease_token());
    if (it == leases_.end()) {
      // A repeat of a report already applied gets the same answer.
      auto reported = reported_.find(request.lease_token());
      if (reported != reported_.end()) {
        v1::ReportResultResponse response;
        response.ParseFromString(reported->second.response);
        response.set_duplicate(true);
        return done(response);
      }
      LogInfo("report refused: not a live lease", {{"lease", request.lease_token()}});
      return done(
          FailedPrecondition("lease_token: not the trial's current lease (expired or replaced)"));
    }
    const std::pair<int64_t, int64_t> where = it->second;
    JobState& job = jobs_[it->second.first];
    TrialState& t = job.trials[it->second.second];
    WriteBatch batch;
    double seconds = 0;
    switch (request.outcome_case()) {
      case v1::ReportResultRequest::kSuccess: {
        const auto& s = request.success();
        for (const std::string& a :
             {s.artifact(), s.torchscript_artifact(), s.hf_artifact(), s.gguf_artifact()}) {
          if (!a.empty() && artifacts_.count(a) == 0) {
            return done(
                InvalidArgument("success: artifact " + a.substr(0, 100) + " was not uploaded"));
          }
        }
        // Earlier attempts' worker-seconds stay counted in the trial.
        const double earlier = t.trial.metrics().worker_seconds();
        *t.trial.mutable_metrics() = s.metrics();
        t.trial.mutable_metrics()->set_worker_seconds(earlier +
                                                      std::max(0.0, s.metrics().worker_seconds()));
        t.trial.set_artifact(s.artifact());
        t.trial.set_torchscript_artifact(s.torchscript_artifact());
        t.trial.set_hf_artifact(s.hf_artifact());
        t.trial.set_hf_unavailable(s.hf_unavailable().substr(0, 1000));
        t.trial.set_gguf_artifact(s.gguf_artifact());
        t.trial.set_gguf_unavailable(s.gguf_unavailable().substr(0, 1000));
        t.trial.set_gguf_tensor_types(s.gguf_tensor_types().substr(0, 1000));
        t.trial.set_latency_measured_with(s.latency_measured_with().substr(0, 1000));
        seconds = s.metrics().worker_seconds();
        // A trial missing a measurement the job needs cannot be judged.
        MeasuredCheck measured =
            job.search->CheckMeasured(MetricValuesFromProto(t.trial.metrics()));
        FinishTrial(job, t,
                    measured.measured.ok() ? v1::TRIAL_STATE_SUCCEEDED : v1::TRIAL_STATE_FAILED,
                    measured.measured.message(), &batch);
        break;
      }
      case v1::ReportResultRequest::kFailure: {
        const auto& f = request.failure();
        seconds = f.worker_seconds();
        if (f.retryable() && t.trial.attempts() < job.job.spec().budget().max_attempts() &&
            job.job.state() == v1::JOB_STATE_RUNNING) {
          LogWarn("trial retried",
                  TrialLog(t.trial, {{"attempt", t.trial.attempts()}, {"reason", f.error()}}));
          EndLease(t);
          SetTrialState(job, t, v1::TRIAL_STATE_PENDING,
                        "retrying after: " + f.error().substr(0, 500));
          job.pending.push_front(TrialIdOf(t.trial));
          ReleaseWorker(t.trial.worker_id(), t.lease_token);
          RecomputeProgress(job);
          EmitTrialChanged(job, t, &batch);
        } else {
          FinishTrial(job, t, v1::TRIAL_STATE_FAILED, f.error().substr(0, 2000), &batch);
        }
        break;
      }
      case v1::ReportResultRequest::kStopped:
        *t.trial.mutable_progress() = request.stopped().progress();
        seconds = request.stopped().worker_seconds();
        FinishTrial(job, t, v1::TRIAL_STATE_STOPPED,
                    t.stop_reason.empty() ? "stopped" : t.stop_reason, &batch);
        break;
      case v1::ReportResultRequest::OUTCOME_NOT_SET:
        return done(InvalidArgument("outcome: set success, failure or stopped"));
    }
    if (!(seconds >= 0) || !std::isfinite(seconds)) seconds = 0;
    if (request.outcome_case() != v1::ReportResultRequest::kSuccess) {
      t.trial.mutable_metrics()->set_worker_seconds(t.trial.metrics().worker_seconds() + seconds);
    }
    job.job.mutable_progress()->set_worker_seconds_used(job.job.progress().worker_seconds_used() +
                                                        seconds);
    v1::ReportResultResponse response;
    response.set_trial_state(t.trial.state());
    t.report = response.SerializeAsString();
    RememberReport(request.lease_token(), {where.first, where.second, t.report});
    // The record of a retried trial keeps the token that was just reported.
    AddTrialRecord(job, t, &batch);
    MaybeEndJob(job, &batch);
    Persist(std::move(batch), [this, response, done = std::move(done)](const Status& s) {
      if (!s.ok()) return done(s);
      ServeWaiters();
      done(response);
    });
  });
}

void JobManager::RecordArtifact(std::string lease_token, v1::Artifact artifact,
                                Callback<v1::Artifact> done) {
  Post([this, lease_token = std::move(lease_token), artifact = std::move(artifact),
        done = std::move(done)] {
    if (leases_.count(lease_token) == 0 && shard_leases_.count(lease_token) == 0)
      return done(FailedPrecondition("lease_token: not a live lease"));
    if (artifacts_.count(artifact.name()) > 0) return done(artifacts_[artifact.name()]);
    artifacts_[artifact.name()] = artifact;
    WriteBatch batch;
    batch.blobs.push_back({artifact.name(), artifact.SerializeAsString()});
    Persist(std::move(batch), [artifact, done = std::move(done)](const Status& s) {
      if (!s.ok()) return done(s);
      done(artifact);
    });
  });
}

void JobManager::EndJob(JobState& job, v1::JobState state, const std::string& message,
                        WriteBatch* batch) {
  const auto& p = job.job.progress();
  Log(state == v1::JOB_STATE_FAILED ? LogLevel::kWarn : LogLevel::kInfo, "job ended",
      {{"job", job.job.name()},
       {"state", v1::JobState_Name(state)},
       {"reason", message},
       {"trials_succeeded", p.trials_succeeded()},
       {"trials_failed", p.trials_failed()},
       {"trials_stopped", p.trials_stopped()},
       {"worker_seconds", p.worker_seconds_used()}});
  job.job.set_state(state);
  job.job.set_state_message(message);
  *job.job.mutable_end_time() = TimeUtil::MillisecondsToTimestamp(clock_->NowMs());
  for (int64_t id : job.pending) {
    TrialState& t = job.trials[id];
    if (t.trial.state() != v1::TRIAL_STATE_PENDING) continue;
    SetTrialState(job, t, v1::TRIAL_STATE_STOPPED, "job " + message);
    AddTrialRecord(job, t, batch);
    EmitTrialChanged(job, t, batch);
    to_evict_.push_back({job.id, id});
  }
  job.pending.clear();
  for (auto& [tid, t] : job.trials) {
    (void)tid;
    if (t.trial.state() == v1::TRIAL_STATE_RUNNING) {
      t.stop_requested = true;
      t.stop_reason = "job " + message;
    }
  }
  RecomputeProgress(job);
  AddJobRecord(job, batch);
  EmitJobChanged(job, batch);
}

void JobManager::MaybeEndJob(JobState& job, WriteBatch* batch) {
  if (job.job.state() != v1::JOB_STATE_RUNNING) return;
  const auto& p = job.job.progress();
  const auto& b = job.job.spec().budget();
  int64_t done = p.trials_succeeded() + p.trials_failed() + p.trials_stopped();
  std::string why;
  if (done >= b.max_trials()) {
    why = "trial budget reached (" + std::to_string(b.max_trials()) + " trials)";
  } else if (b.max_worker_seconds() > 0 && p.worker_seconds_used() >= b.max_worker_seconds()) {
    why = "worker-second budget reached";
  } else if (job.search->exhausted() && p.trials_running() == 0 && p.trials_pending() == 0) {
    why = "search space exhausted";
  }
  if (why.empty()) return;
  bool any_success = p.trials_succeeded() > 0;
  EndJob(job, any_success ? v1::JOB_STATE_SUCCEEDED : v1::JOB_STATE_FAILED,
         any_success ? why : why + "; no trial succeeded", batch);
}

}  // namespace kdnas
