// JobManager: construction, persistence, progress counts, events, jobs and
// blobs. The search loop and reports are in job_manager_trials.cc, leases in
// job_manager_leases.cc, recovery in job_manager_recovery.cc, read-only views
// in job_manager_views.cc.
#include "server/job_manager.h"

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include <cmath>
#include <random>

#include "proto/api_convert.h"
#include "server/job_inputs.h"
#include "server/job_validation.h"
#include "server/latency_method.h"
#include "server/resource_names.h"

namespace kdnas {

using google::protobuf::util::TimeUtil;

MetricValues JobManager::OutcomeValues(const v1::Trial& trial) {
  MetricValues values;
  if (trial.state() == v1::TRIAL_STATE_SUCCEEDED) {
    values = MetricValuesFromProto(trial.metrics());
  } else if (trial.state() == v1::TRIAL_STATE_STOPPED && trial.progress().val_step() > 0) {
    // Stopped early: the predicted costs and the loss it had reached, a
    // pessimistic estimate of where it would have ended.
    values = MetricValuesFromProto(trial.predicted());
    values["val_loss"] = trial.progress().val_loss();
    values["perplexity"] = std::exp(trial.progress().val_loss());
  }
  return values;
}

JobManager::JobManager(Options options, Store* store, BlobStore* blobs, const Clock* clock,
                       boost::asio::io_context* io)
    : options_(options),
      store_(store),
      blobs_(blobs),
      clock_(clock),
      io_(io),
      strand_(boost::asio::make_strand(*io)),
      timer_(*io) {
  std::random_device rd;
  token_salt_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

JobManager::~JobManager() = default;

LogFields JobManager::TrialLog(const v1::Trial& trial, LogFields more) {
  return TrialFields(trial.name(), trial.worker_id(), std::move(more));
}

std::string JobManager::NewToken() {
  const uint64_t n = ++token_counter_;
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%016llx%08llx",
                static_cast<unsigned long long>(Rng::Mix(token_salt_, n)),
                static_cast<unsigned long long>(n));
  return buf;
}

StatusOr<JobManager::JobState*> JobManager::FindJob(const std::string& name) {
  if (name.rfind("jobs/", 0) != 0)
    return InvalidArgument("name: \"" + name.substr(0, 80) + "\" is not jobs/<id>");
  char* end = nullptr;
  std::string digits = name.substr(5);
  long long id = std::strtoll(digits.c_str(), &end, 10);
  if (digits.empty() || *end != '\0')
    return InvalidArgument("name: \"" + name.substr(0, 80) + "\" is not jobs/<id>");
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return NotFound(name + " not found");
  return &it->second;
}

Status JobManager::BuildSearch(JobState* job) {
  const v1::JobSpec& spec = job->job.spec();
  JobSearchOptions o;
  o.space = SearchSpaceSpecFromProto(spec.space());
  o.strategy = StrategyOptionsFromProto(spec);
  o.objectives = ObjectivesFromProto(spec);
  o.constraints = ConstraintsFromProto(spec.constraints());
  o.context = ModelContextOf(job->job.data_info());
  o.use_predictor = spec.strategy().predictor().enabled();
  o.oversample = std::max(1, spec.strategy().predictor().oversample());
  KDNAS_ASSIGN_OR_RETURN(job->search, JobSearch::Create(o));
  const auto& mf = spec.strategy().multi_fidelity();
  if (mf.enabled() && mf.rung_steps_size() > 0) {
    RungOptions rungs{{mf.rung_steps().begin(), mf.rung_steps().end()},
                      mf.reduction_factor(),
                      mf.keep_ranks(),
                      mf.min_trials_per_rung()};
    rungs.compare_latency = RungsCompareLatency(job->job);
    job->rungs = std::make_unique<RungTracker>(std::move(rungs));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- persistence

void JobManager::AddJobRecord(const JobState& job, WriteBatch* batch) const {
  batch->jobs.push_back({job.id, job.job.request_id(), job.job.SerializeAsString()});
}

void JobManager::AddTrialRecord(const JobState& job, const TrialState& t, WriteBatch* batch) const {
  batch->trials.push_back({job.id, TrialIdOf(t.trial), t.trial.SerializeAsString(),
                           PackPoint(t.point), t.lease_token, t.lease_deadline_ms, t.report});
}

void JobManager::AddLog(JobState& job, SearchLogRecord::Kind kind, int64_t value,
                        WriteBatch* batch) {
  batch->log.push_back({job.id, job.next_log_seq++, kind, value});
}

v1::JobEvent JobManager::NewEvent(JobState& job, WriteBatch* batch) {
  v1::JobEvent e;
  e.set_sequence(++job.last_event_seq);
  *e.mutable_time() = TimeUtil::MillisecondsToTimestamp(clock_->NowMs());
  e.set_job(job.job.name());
  (void)batch;
  return e;
}

void JobManager::EmitTrialChanged(JobState& job, const TrialState& t, WriteBatch* batch) {
  v1::JobEvent e = NewEvent(job, batch);
  *e.mutable_trial_state_changed()->mutable_trial() = t.trial;
  batch->events.push_back({job.id, e.sequence(), e.SerializeAsString()});
}

void JobManager::EmitJobChanged(JobState& job, WriteBatch* batch) {
  v1::JobEvent e = NewEvent(job, batch);
  auto* c = e.mutable_job_state_changed();
  c->set_state(job.job.state());
  c->set_message(job.job.state_message());
  *c->mutable_progress() = job.job.progress();
  batch->events.push_back({job.id, e.sequence(), e.SerializeAsString()});
}

void JobManager::Persist(WriteBatch batch, std::function<void(const Status&)> after) {
  // Who watches is decided when the commit is done, so keep the stored form.
  std::vector<EventRecord> events = batch.events;
  std::vector<std::pair<int64_t, int64_t>> evict;
  evict.swap(to_evict_);
  store_->Commit(std::move(batch), [this, events = std::move(events), evict = std::move(evict),
                                    after = std::move(after)](const Status& s) {
    if (!s.ok()) LogError("store commit failed", {{"reason", s.ToString()}});
    Post([this, s, events, evict, after] {
      if (s.ok()) Evict(evict);
      if (s.ok() && !subscriptions_.empty()) {
        std::set<int64_t> watched;
        for (const auto& [id, sub] : subscriptions_) watched.insert(sub.job_id);
        std::vector<v1::JobEvent> parsed;
        for (const auto& r : events) {
          v1::JobEvent e;
          if (watched.count(r.job_id) > 0 && e.ParseFromString(r.event))
            parsed.push_back(std::move(e));
        }
        Publish(parsed);
      }
      if (after) after(s);
    });
  });
}

void JobManager::Evict(const std::vector<std::pair<int64_t, int64_t>>& trials) {
  for (const auto& [job_id, trial_id] : trials) {
    auto job = jobs_.find(job_id);
    if (job == jobs_.end()) continue;
    auto t = job->second.trials.find(trial_id);
    if (t == job->second.trials.end()) continue;
    auto state = t->second.trial.state();
    if (state == v1::TRIAL_STATE_PENDING || state == v1::TRIAL_STATE_RUNNING)
      continue;  // retried since
    job->second.trials.erase(t);
  }
}

void JobManager::RememberReport(const std::string& token, Reported reported) {
  if (reported_.emplace(token, std::move(reported)).second) reported_order_.push_back(token);
  while (reported_order_.size() > kMaxReported) {
    reported_.erase(reported_order_.front());
    reported_order_.pop_front();
  }
}

void JobManager::Publish(const std::vector<v1::JobEvent>& events) {
  for (const v1::JobEvent& e : events) {
    auto id = std::strtoll(e.job().substr(5).c_str(), nullptr, 10);
    for (auto& [sid, sub] : subscriptions_) {
      if (sub.job_id != id) continue;
      if (e.has_trial_progressed() && !sub.include_progress) continue;
      sub.sink->OnEvent(e);
    }
  }
}

void JobManager::RecomputeProgress(JobState& job) {
  v1::JobProgress& p = *job.job.mutable_progress();
  p.set_teacher_shards(static_cast<int64_t>(job.pass.shards.size()));
  p.set_teacher_shards_done(job.pass.finished);
  int64_t reused = 0;
  for (const ShardState& s : job.pass.shards) reused += s.reused ? 1 : 0;
  p.set_teacher_shards_reused(reused);
  if (job.search) {
    p.set_hypervolume(job.search->hypervolume());
    p.set_frontier_size(static_cast<int64_t>(job.search->front().size()));
  }
}

void JobManager::AdjustCount(v1::JobProgress* p, v1::TrialState state, int64_t delta) {
  switch (state) {
    case v1::TRIAL_STATE_PENDING:
      p->set_trials_pending(p->trials_pending() + delta);
      break;
    case v1::TRIAL_STATE_RUNNING:
      p->set_trials_running(p->trials_running() + delta);
      break;
    case v1::TRIAL_STATE_SUCCEEDED:
      p->set_trials_succeeded(p->trials_succeeded() + delta);
      break;
    case v1::TRIAL_STATE_FAILED:
      p->set_trials_failed(p->trials_failed() + delta);
      break;
    case v1::TRIAL_STATE_STOPPED:
      p->set_trials_stopped(p->trials_stopped() + delta);
      break;
    case v1::TRIAL_STATE_REJECTED:
      p->set_trials_rejected(p->trials_rejected() + delta);
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------- jobs

void JobManager::SubmitJob(v1::SubmitJobRequest request, Callback<v1::Job> done) {
  done = [done = std::move(done)](StatusOr<v1::Job> job) {
    if (!job.ok()) LogInfo("job refused", {{"reason", job.status().ToString()}});
    done(std::move(job));
  };
  // Validation and reading the dataset need no state: they run on the
  // caller's thread, so a large corpus never holds up the strand.
  if (request.request_id().size() > 128) {
    return done(InvalidArgument("request_id: at most 128 characters"));
  }
  Status valid = ValidateJobSpec(request.spec());
  if (!valid.ok()) return done(valid);
  auto inputs = InspectJobInputs(request.spec(), *blobs_);
  if (!inputs.ok()) return done(inputs.status());
  Status fits = CheckAgainstTeacher(request.spec(), inputs->teacher);
  if (!fits.ok()) return done(fits);
  v1::JobSpec spec = ApplyJobDefaults(request.spec());
  Status family = SetStudentFamily(&spec, inputs->teacher);
  if (!family.ok()) return done(family);
  Status long_enough = CheckCorpusLength(spec, inputs->data);
  if (!long_enough.ok()) return done(long_enough);
  Status loadable = CheckHfLoadable(spec, inputs->data);
  if (!loadable.ok()) return done(loadable);
  Status pass = CheckTeacherPass(spec, inputs->data);
  if (!pass.ok()) return done(pass);
  // After the checks that name the context_length that sets the windows.
  Status window = SetWindowLength(&spec);
  if (!window.ok()) return done(window);
  Status writable = CheckGgufWritable(spec, inputs->data);
  if (!writable.ok()) return done(writable);
  Status feasible = ValidateJobSpec(spec, ModelContextOf(inputs->data));
  if (!feasible.ok()) return done(feasible);
  Post([this, request = std::move(request), spec = std::move(spec), inputs = std::move(*inputs),
        done = std::move(done)]() mutable {
    if (!request.request_id().empty()) {
      auto it = request_ids_.find(request.request_id());
      if (it != request_ids_.end()) {
        const v1::Job& existing = jobs_[it->second].job;
        if (!google::protobuf::util::MessageDifferencer::Equals(existing.spec(), spec)) {
          return done(AlreadyExists("request_id: \"" + request.request_id() + "\" was used for " +
                                    existing.name() + " with a different spec"));
        }
        return done(existing);
      }
    }
    const int64_t id = next_job_id_++;
    JobState& job = jobs_[id];
    job.id = id;
    job.job.set_name(JobName(id));
    *job.job.mutable_spec() = std::move(spec);
    job.job.set_state(v1::JOB_STATE_RUNNING);
    job.job.set_request_id(request.request_id());
    *job.job.mutable_data_info() = inputs.data;
    *job.job.mutable_teacher_info() = inputs.teacher;
    const LatencyMethodChoice latency =
        ChooseLatencyMethod(job.job.spec(), inputs.data, inputs.teacher);
    job.job.set_latency_method(latency.method);
    job.job.set_latency_method_reason(latency.reason);
    *job.job.mutable_create_time() = TimeUtil::MillisecondsToTimestamp(clock_->NowMs());
    *job.job.mutable_start_time() = job.job.create_time();
    job.last_progress_ms = clock_->NowMs();
    Status built = BuildSearch(&job);
    if (!built.ok()) {
      jobs_.erase(id);
      return done(built);
    }
    PlanPass(job, /*recovered=*/false);
    if (!request.request_id().empty()) request_ids_[request.request_id()] = id;
    RecomputeProgress(job);
    WriteBatch batch;
    AddJobRecord(job, &batch);
    EmitJobChanged(job, &batch);
    Persist(std::move(batch), [this, id, done = std::move(done)](const Status& s) {
      if (!s.ok()) return done(s);
      const v1::Job& job = jobs_[id].job;
      LogInfo("job submitted", {{"job", job.name()},
                                {"display_name", job.spec().display_name()},
                                {"max_trials", job.spec().budget().max_trials()},
                                {"max_worker_seconds", job.spec().budget().max_worker_seconds()},
                                {"strategy", job.spec().strategy().name()}});
      ServeWaiters();
      done(job);
    });
  });
}

void JobManager::GetJob(std::string name, Callback<v1::Job> done) {
  Post([this, name = std::move(name), done = std::move(done)] {
    auto job = FindJob(name);
    if (!job.ok()) return done(job.status());
    done((*job)->job);
  });
}

void JobManager::CancelJob(std::string name, Callback<v1::Job> done) {
  Post([this, name = std::move(name), done = std::move(done)] {
    auto found = FindJob(name);
    if (!found.ok()) return done(found.status());
    JobState& job = **found;
    if (job.job.state() != v1::JOB_STATE_RUNNING && job.job.state() != v1::JOB_STATE_PENDING)
      return done(job.job);
    WriteBatch batch;
    EndJob(job, v1::JOB_STATE_CANCELLED, "cancelled", &batch);
    int64_t id = job.id;
    Persist(std::move(batch), [this, id, done = std::move(done)](const Status& s) {
      if (!s.ok()) return done(s);
      done(jobs_[id].job);
    });
  });
}

// ---------------------------------------------------------------- events

void JobManager::Subscribe(std::string job, int64_t after_sequence, bool include_progress,
                           std::shared_ptr<EventSink> sink, Callback<int64_t> done) {
  Post([this, job = std::move(job), after_sequence, include_progress, sink = std::move(sink),
        done = std::move(done)] {
    auto found = FindJob(job);
    if (!found.ok()) return done(found.status());
    JobState& j = **found;
    // Stored events the caller has not read yet: committed events are in the
    // store before they are published, so nothing falls between the two.
    for (int64_t after = after_sequence;;) {
      auto events = ReadEvents(job, after, 1024);
      if (!events.ok()) return done(events.status());
      for (const auto& e : *events) sink->OnEvent(e);
      if (events->size() < 1024) break;
      after = events->back().sequence();
    }
    int64_t id = next_subscription_++;
    subscriptions_[id] = {j.id, include_progress, sink};
    done(id);
  });
}

void JobManager::Unsubscribe(int64_t subscription) {
  Post([this, subscription] { subscriptions_.erase(subscription); });
}

StatusOr<std::vector<v1::JobEvent>> JobManager::ReadEvents(const std::string& job,
                                                           int64_t after_sequence, int64_t limit) {
  if (job.rfind("jobs/", 0) != 0)
    return InvalidArgument("name: \"" + job.substr(0, 80) + "\" is not jobs/<id>");
  int64_t id = std::strtoll(job.substr(5).c_str(), nullptr, 10);
  KDNAS_ASSIGN_OR_RETURN(auto records, store_->LoadEvents(id, after_sequence, limit));
  std::vector<v1::JobEvent> out;
  for (const auto& r : records) {
    v1::JobEvent e;
    if (e.ParseFromString(r.event)) out.push_back(std::move(e));
  }
  return out;
}

// ---------------------------------------------------------------- blobs

void JobManager::RecordBlob(v1::Blob blob, Callback<v1::Blob> done) {
  Post([this, blob = std::move(blob), done = std::move(done)]() mutable {
    auto it = blobs_meta_.find(blob.name());
    if (it != blobs_meta_.end()) return done(it->second);  // same content uploaded before
    *blob.mutable_create_time() = TimeUtil::MillisecondsToTimestamp(clock_->NowMs());
    blobs_meta_[blob.name()] = blob;
    WriteBatch batch;
    batch.blobs.push_back({blob.name(), blob.SerializeAsString()});
    Persist(std::move(batch), [blob, done = std::move(done)](const Status& s) {
      if (!s.ok()) return done(s);
      done(blob);
    });
  });
}

void JobManager::GetBlob(std::string name, Callback<v1::Blob> done) {
  Post([this, name = std::move(name), done = std::move(done)] {
    auto it = blobs_meta_.find(name);
    if (it == blobs_meta_.end()) return done(NotFound(name + " not found"));
    done(it->second);
  });
}

}  // namespace kdnas
