// JobManager: leases (handing trials to workers, idempotently per worker),
// heartbeats with the multi-fidelity decision at a rung, lease expiry and the
// timer that drives it.
#include <google/protobuf/util/time_util.h>

#include "search/rng.h"
#include "server/job_manager.h"
#include "server/resource_names.h"

namespace kdnas {

using google::protobuf::util::TimeUtil;

JobManager::Worker& JobManager::SeeWorker(const std::string& id) {
  auto [it, joined] = workers_.try_emplace(id);
  Worker& w = it->second;
  if (joined || w.lost) LogInfo(joined ? "worker joined" : "worker returned", {{"worker", id}});
  w.lost = false;
  w.info.set_worker_id(id);
  w.last_seen_ms = clock_->NowMs();
  *w.info.mutable_last_seen_time() = TimeUtil::MillisecondsToTimestamp(w.last_seen_ms);
  return w;
}

v1::Lease JobManager::MakeLease(const JobState& job, const TrialState& t) const {
  v1::Lease lease;
  lease.set_token(t.lease_token);
  *lease.mutable_trial() = t.trial;
  *lease.mutable_deadline() = TimeUtil::MillisecondsToTimestamp(t.lease_deadline_ms);
  lease.set_heartbeat_interval_ms(options_.heartbeat_interval_ms);
  const v1::JobSpec& spec = job.job.spec();
  v1::TrialWork* work = lease.mutable_work();
  work->set_job(job.job.name());
  *work->mutable_data() = spec.data();
  *work->mutable_teacher() = spec.teacher();
  work->set_train_steps(spec.budget().train_steps());
  work->set_batch_size(spec.budget().batch_size());
  work->set_eval_tokens(spec.budget().eval_tokens());
  work->set_learning_rate(spec.budget().learning_rate());
  work->set_seed(Rng::Mix(spec.seed(), static_cast<uint64_t>(TrialIdOf(t.trial))));
  work->set_data_seed(job.job.data_info().data_seed());
  work->set_top_k(spec.teacher_pass().top_k());
  work->set_latency_method(job.job.latency_method());
  AddShardRefs(job, work);
  if (spec.strategy().multi_fidelity().enabled()) {
    for (int64_t step : spec.strategy().multi_fidelity().rung_steps()) work->add_report_steps(step);
    work->set_latency_at_rungs(job.rungs && job.rungs->compare_latency());
  }
  return lease;
}

bool JobManager::TryLease(const v1::LeaseTrialRequest& request,
                          Callback<v1::LeaseTrialResponse>& done) {
  Worker& worker = SeeWorker(request.worker_id());
  worker.info.set_hostname(request.hostname());
  worker.info.set_threads(request.threads());
  // Idempotent per worker: a live lease is handed out again.
  if (!worker.lease_token.empty()) {
    auto shard = shard_leases_.find(worker.lease_token);
    if (shard != shard_leases_.end()) {
      v1::LeaseTrialResponse response;
      *response.mutable_lease() = MakeShardLease(jobs_[shard->second.first], shard->second.second);
      done(response);
      return true;
    }
    auto it = leases_.find(worker.lease_token);
    if (it != leases_.end()) {
      JobState& job = jobs_[it->second.first];
      TrialState& t = job.trials[it->second.second];
      if (t.trial.state() == v1::TRIAL_STATE_RUNNING && t.lease_token == worker.lease_token &&
          t.report.empty()) {
        LogDebug("lease handed out again", TrialLog(t.trial, {{"attempt", t.trial.attempts()}}));
        v1::LeaseTrialResponse response;
        *response.mutable_lease() = MakeLease(job, t);
        done(response);
        return true;
      }
    }
    worker.lease_token.clear();
  }
  if (TryLeaseShard(request, worker, done)) return true;
  WriteBatch batch;
  auto [job, trial] = NextTrial(&batch);
  if (job == nullptr) {
    if (!batch.empty()) Persist(std::move(batch), nullptr);
    return false;
  }
  TrialState& t = *trial;
  t.lease_token = NewToken();
  t.report.clear();
  t.stop_requested = false;
  t.lease_start_ms = clock_->NowMs();
  t.trial.set_attempts(t.trial.attempts() + 1);
  t.trial.set_worker_id(request.worker_id());
  t.trial.clear_progress();
  SetTrialState(*job, t, v1::TRIAL_STATE_RUNNING, "");
  ArmLease(job->id, t, t.lease_start_ms + options_.lease_ttl_ms);
  worker.lease_token = t.lease_token;
  worker.info.set_trial(t.trial.name());
  RecomputeProgress(*job);
  AddTrialRecord(*job, t, &batch);
  EmitTrialChanged(*job, t, &batch);
  v1::LeaseTrialResponse response;
  *response.mutable_lease() = MakeLease(*job, t);
  Persist(std::move(batch), [response, done = std::move(done)](const Status& s) {
    if (!s.ok()) return done(s);
    LogInfo("trial leased",
            TrialLog(response.lease().trial(), {{"attempt", response.lease().trial().attempts()}}));
    done(response);
  });
  return true;
}

void JobManager::LeaseTrial(v1::LeaseTrialRequest request, Callback<v1::LeaseTrialResponse> done) {
  if (request.worker_id().empty() || request.worker_id().size() > 128) {
    return done(InvalidArgument("worker_id: must be 1 to 128 characters"));
  }
  if (request.wait_ms() < 0) return done(InvalidArgument("wait_ms: must be >= 0"));
  Post([this, request = std::move(request), done = std::move(done)]() mutable {
    if (stopped_) return done(v1::LeaseTrialResponse());
    if (TryLease(request, done)) return;
    int32_t wait = request.wait_ms() > 0 ? std::min(request.wait_ms(), options_.max_lease_wait_ms)
                                         : options_.default_lease_wait_ms;
    waiters_.push_back({std::move(request), clock_->NowMs() + wait, std::move(done)});
  });
}

void JobManager::ServeWaiters() {
  while (!waiters_.empty()) {
    Waiter& w = waiters_.front();
    if (!TryLease(w.request, w.done)) return;
    waiters_.pop_front();
  }
}

void JobManager::CheckLease(std::string lease_token, Callback<bool> done) {
  Post([this, lease_token = std::move(lease_token), done = std::move(done)] {
    if (leases_.count(lease_token) == 0 && shard_leases_.count(lease_token) == 0)
      return done(FailedPrecondition("lease_token: not a live lease"));
    done(true);
  });
}

void JobManager::Heartbeat(v1::HeartbeatRequest request, Callback<v1::HeartbeatResponse> done) {
  Post([this, request = std::move(request), done = std::move(done)]() mutable {
    if (HeartbeatShard(request, done)) return;
    auto it = leases_.find(request.lease_token());
    if (it == leases_.end()) {
      LogDebug("heartbeat of a lease that is gone", {{"lease", request.lease_token()}});
      return done(
          FailedPrecondition("lease_token: the lease expired or was replaced; abandon the trial"));
    }
    JobState& job = jobs_[it->second.first];
    TrialState& t = job.trials[it->second.second];
    const int64_t now = clock_->NowMs();
    if (LogEnabled(LogLevel::kTrace)) {
      LogTrace("heartbeat",
               TrialLog(t.trial, {{"step", request.progress().step()},
                                  {"tokens_per_second", request.progress().tokens_per_second()}}));
    }
    ArmLease(it->second.first, t, now + options_.lease_ttl_ms);
    SeeWorker(t.trial.worker_id());
    *t.trial.mutable_progress() = request.progress();
    job.last_progress_ms = now;
    job.tokens_per_second[t.trial.name()] = request.progress().tokens_per_second();
    if (observer_ != nullptr && request.progress().tokens_per_second() > 0) {
      const auto& budget = job.job.spec().budget();
      const double tokens_per_step = static_cast<double>(budget.batch_size()) *
                                     t.trial.candidate().architecture().context_length();
      observer_->OnStepTime(std::to_string(job.id),
                            tokens_per_step / request.progress().tokens_per_second());
    }
    v1::HeartbeatResponse response;
    *response.mutable_deadline() = TimeUtil::MillisecondsToTimestamp(t.lease_deadline_ms);
    if (job.job.state() != v1::JOB_STATE_RUNNING) {
      t.stop_requested = true;
      t.stop_reason = "job " + job.job.state_message();
    }
    JudgeAtRung(job, t, request.progress());
    if (t.stop_requested) {
      response.set_action(v1::HEARTBEAT_ACTION_STOP);
      response.set_message(t.stop_reason);
    }
    PublishProgress(job, t, now);
    done(response);
  });
}

void JobManager::JudgeAtRung(JobState& job, TrialState& t, const v1::TrialProgress& p) {
  if (!job.rungs || p.val_step() <= 0 || !(p.val_loss() > 0) || !job.rungs->IsRung(p.val_step()) ||
      t.stop_requested)
    return;
  bool seen = false;
  for (const auto& r : t.trial.rung_results()) seen |= r.val_step() == p.val_step();
  if (!seen) *t.trial.add_rung_results() = p;
  const bool go_on = job.rungs->Decide(TrialIdOf(t.trial), p.val_step(),
                                       static_cast<double>(t.trial.predicted().size_bytes()),
                                       p.val_loss(), p.latency_ms());
  LogDebug("rung decision", TrialLog(t.trial, {{"step", p.val_step()},
                                               {"val_loss", p.val_loss()},
                                               {"latency_ms", p.latency_ms()},
                                               {"go_on", go_on}}));
  if (!go_on) {
    t.stop_requested = true;
    t.early_stopped = true;
    const bool with_latency = job.rungs->compare_latency() && p.latency_ms() > 0;
    t.stop_reason = "early-stopped at step " + std::to_string(p.val_step()) + ": dominated in " +
                    (with_latency ? "(size, loss, latency)" : "(size, loss)") +
                    " by the trials that reached this rung";
  }
  if (!seen) {
    WriteBatch batch;
    AddTrialRecord(job, t, &batch);
    Persist(std::move(batch), nullptr);
  }
}

void JobManager::PublishProgress(JobState& job, const TrialState& t, int64_t now_ms) {
  // Progress is not stored: it carries the last stored sequence number.
  v1::JobEvent e;
  e.set_sequence(job.last_event_seq);
  *e.mutable_time() = TimeUtil::MillisecondsToTimestamp(now_ms);
  e.set_job(job.job.name());
  e.mutable_trial_progressed()->set_trial(t.trial.name());
  *e.mutable_trial_progressed()->mutable_progress() = t.trial.progress();
  Publish({e});
}

void JobManager::MoveDeadline(const std::string& token, int64_t* deadline_ms, int64_t to_ms) {
  lease_deadlines_.erase({*deadline_ms, token});
  *deadline_ms = to_ms;
  lease_deadlines_.insert({to_ms, token});
}

JobManager::Worker* JobManager::ReleaseWorker(const std::string& worker_id,
                                              const std::string& token) {
  auto w = workers_.find(worker_id);
  if (w == workers_.end() || w->second.lease_token != token) return nullptr;
  w->second.lease_token.clear();
  w->second.info.clear_trial();
  return &w->second;
}

void JobManager::ArmLease(int64_t job_id, TrialState& t, int64_t deadline_ms) {
  leases_[t.lease_token] = {job_id, TrialIdOf(t.trial)};
  MoveDeadline(t.lease_token, &t.lease_deadline_ms, deadline_ms);
}

void JobManager::EndLease(const TrialState& t) {
  leases_.erase(t.lease_token);
  lease_deadlines_.erase({t.lease_deadline_ms, t.lease_token});
}

void JobManager::ExpireLeases() {
  const int64_t now = clock_->NowMs();
  WriteBatch batch;
  while (!lease_deadlines_.empty() && lease_deadlines_.begin()->first <= now) {
    const std::string token = lease_deadlines_.begin()->second;
    lease_deadlines_.erase(lease_deadlines_.begin());
    auto it = leases_.find(token);
    if (it == leases_.end()) {
      ExpireShardLease(token, &batch);
      continue;
    }
    JobState& job = jobs_[it->second.first];
    TrialState& t = job.trials[it->second.second];
    ++lease_expirations_;
    ReleaseWorker(t.trial.worker_id(), token);
    const bool retry = t.trial.attempts() < job.job.spec().budget().max_attempts() &&
                       job.job.state() == v1::JOB_STATE_RUNNING;
    LogWarn(
        "lease expired",
        TrialLog(t.trial, {{"attempt", t.trial.attempts()},
                           {"outcome", retry                                      ? "retrying"
                                       : job.job.state() == v1::JOB_STATE_RUNNING ? "failed"
                                                                                  : "stopped"}}));
    if (!retry) {
      FinishTrial(job, t,
                  job.job.state() == v1::JOB_STATE_RUNNING ? v1::TRIAL_STATE_FAILED
                                                           : v1::TRIAL_STATE_STOPPED,
                  "lease expired after " + std::to_string(t.trial.attempts()) + " attempt(s)",
                  &batch);
      MaybeEndJob(job, &batch);
    } else {
      EndLease(t);
      SetTrialState(job, t, v1::TRIAL_STATE_PENDING, "lease expired; retrying");
      job.pending.push_front(TrialIdOf(t.trial));
      RecomputeProgress(job);
      AddTrialRecord(job, t, &batch);
      EmitTrialChanged(job, t, &batch);
    }
  }
  if (!batch.empty()) {
    Persist(std::move(batch), [this](const Status&) { ServeWaiters(); });
  }
}

void JobManager::CheckWorkers() {
  const int64_t now = clock_->NowMs();
  if (now < next_worker_check_ms_) return;
  next_worker_check_ms_ = now + 1000;
  for (auto& [id, w] : workers_) {
    if (w.lost || now - w.last_seen_ms <= options_.worker_seen_window_ms) continue;
    w.lost = true;
    LogWarn("worker lost", TrialFields(w.info.trial(), id, {{"unseen_ms", now - w.last_seen_ms}}));
  }
}

void JobManager::Tick() {
  Post([this] {
    ExpireLeases();
    CheckWorkers();
    const int64_t now = clock_->NowMs();
    // Long-polls that waited long enough get an empty answer.
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->deadline_ms <= now || stopped_) {
        it->done(v1::LeaseTrialResponse());
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  });
}

void JobManager::ScheduleTick() {
  timer_.expires_after(std::chrono::milliseconds(options_.tick_ms));
  timer_.async_wait(
      boost::asio::bind_executor(strand_, [this](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        Tick();
        ScheduleTick();
      }));
}

void JobManager::Start() {
  Post([this] {
    stopped_ = false;
    ScheduleTick();
  });
}

void JobManager::Stop() {
  Post([this] {
    stopped_ = true;
    timer_.cancel();
    for (auto& w : waiters_) w.done(v1::LeaseTrialResponse());
    waiters_.clear();
    subscriptions_.clear();
  });
}

}  // namespace kdnas
