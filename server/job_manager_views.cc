// JobManager: read-only views (lists, frontier, best trial, workers, stats).
#include <google/protobuf/util/time_util.h>

#include <climits>
#include <cmath>
#include <future>
#include <optional>

#include "proto/api_convert.h"
#include "search/explain.h"
#include "server/job_inputs.h"
#include "server/job_manager.h"
#include "server/resource_names.h"

namespace kdnas {

using google::protobuf::util::TimeUtil;

namespace {

// Page tokens are the last id returned, in decimal.
StatusOr<int64_t> ParsePageToken(const std::string& token) {
  if (token.empty()) return int64_t{0};
  char* end = nullptr;
  long long v = std::strtoll(token.c_str(), &end, 10);
  if (*end != '\0' || v < 0) return InvalidArgument("page_token: not a token from a previous page");
  return static_cast<int64_t>(v);
}

int PageSize(int requested, int fallback) {
  if (requested <= 0) return fallback;
  return std::min(requested, 1000);
}

}  // namespace

template <typename F>
auto JobManager::OnStrand(F f) -> decltype(f()) {
  std::promise<decltype(f())> promise;
  auto future = promise.get_future();
  Post([&] { promise.set_value(f()); });
  return future.get();
}

StatusOr<std::vector<v1::Trial>> JobManager::ReadTrials(int64_t job_id, int64_t after_trial_id,
                                                        int64_t limit) {
  KDNAS_ASSIGN_OR_RETURN(auto records, store_->LoadTrials(job_id, after_trial_id, limit));
  std::vector<v1::Trial> trials(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    if (!trials[i].ParseFromString(records[i].trial)) return DataLoss("a trial record is corrupt");
  }
  // Live trials change faster than their records: take their state from memory.
  OnStrand([&] {
    auto job = jobs_.find(job_id);
    if (job == jobs_.end()) return 0;
    for (size_t i = 0; i < records.size(); ++i) {
      auto t = job->second.trials.find(records[i].trial_id);
      if (t != job->second.trials.end()) trials[i] = t->second.trial;
    }
    return 0;
  });
  return trials;
}

void JobManager::ListJobs(v1::ListJobsRequest request, Callback<v1::ListJobsResponse> done) {
  Post([this, request = std::move(request), done = std::move(done)] {
    auto after = ParsePageToken(request.page_token());
    if (!after.ok()) return done(after.status());
    if (request.page_size() < 0) return done(InvalidArgument("page_size: must be >= 0"));
    const int size = PageSize(request.page_size(), 50);
    v1::ListJobsResponse response;
    // Newest first; the token is the id of the last job returned.
    const int64_t bound = *after > 0 ? *after : INT64_MAX;
    int64_t last = 0;
    for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
      if (it->first >= bound) continue;
      const v1::Job& job = it->second.job;
      if (request.state() != v1::JOB_STATE_UNSPECIFIED && job.state() != request.state()) continue;
      if (response.jobs_size() == size) {
        response.set_next_page_token(std::to_string(last));
        break;
      }
      *response.add_jobs() = job;
      last = it->first;
    }
    done(response);
  });
}

void JobManager::ListTrials(v1::ListTrialsRequest request, Callback<v1::ListTrialsResponse> done) {
  // Finished trials live in the store: read them here, off the strand.
  const int64_t job_id = JobIdOf(request.parent());
  if (job_id < 0)
    return done(
        InvalidArgument("parent: \"" + request.parent().substr(0, 80) + "\" is not jobs/<id>"));
  bool exists = OnStrand([&] { return jobs_.count(job_id) > 0; });
  if (!exists) return done(NotFound(request.parent() + " not found"));
  auto after = ParsePageToken(request.page_token());
  if (!after.ok()) return done(after.status());
  if (request.page_size() < 0) return done(InvalidArgument("page_size: must be >= 0"));
  const int size = PageSize(request.page_size(), 100);
  std::set<int> states(request.states().begin(), request.states().end());
  v1::ListTrialsResponse response;
  // In id order; the token is the id of the last trial returned.
  int64_t cursor = *after;
  for (;;) {
    auto page = ReadTrials(job_id, cursor, 1000);
    if (!page.ok()) return done(page.status());
    for (auto& t : *page) {
      const int64_t id = TrialIdOf(t);
      if (!states.empty() && states.count(t.state()) == 0) {
        cursor = id;
        continue;
      }
      if (response.trials_size() == size) {
        response.set_next_page_token(std::to_string(cursor));
        return done(response);
      }
      *response.add_trials() = std::move(t);
      cursor = id;
    }
    if (page->size() < 1000) break;
  }
  done(response);
}

void JobManager::GetFrontier(std::string name, Callback<v1::Frontier> done) {
  Post([this, name = std::move(name), done = std::move(done)] {
    auto found = FindJob(name);
    if (!found.ok()) return done(found.status());
    JobState& job = **found;
    v1::Frontier frontier;
    frontier.set_job(job.job.name());
    *frontier.mutable_objectives() = job.job.spec().objectives();
    frontier.set_hypervolume(job.search->hypervolume());
    for (double r : job.search->raw_reference()) frontier.add_reference_point(r);
    std::vector<v1::FrontierPoint> points;
    for (const auto& member : job.search->front().Members()) {
      auto t = job.front.find(member.id);
      if (t == job.front.end()) continue;
      v1::FrontierPoint p;
      p.set_trial(t->second.name());
      const MetricValues values = MetricValuesFromProto(t->second.metrics());
      for (const auto& objective : job.job.spec().objectives()) {
        auto v = values.find(objective.metric());
        p.add_objective_values(v == values.end() ? NAN : v->second);
      }
      *p.mutable_metrics() = t->second.metrics();
      *p.mutable_candidate() = t->second.candidate();
      p.set_artifact(t->second.artifact());
      points.push_back(std::move(p));
    }
    std::sort(points.begin(), points.end(),
              [](const v1::FrontierPoint& a, const v1::FrontierPoint& b) {
                return a.objective_values(0) < b.objective_values(0);
              });
    for (auto& p : points) *frontier.add_points() = std::move(p);
    done(frontier);
  });
}

StatusOr<std::vector<v1::Trial>> JobManager::SucceededTrials(int64_t job_id) {
  std::vector<v1::Trial> out;
  for (int64_t cursor = 0;;) {
    KDNAS_ASSIGN_OR_RETURN(auto page, ReadTrials(job_id, cursor, 1000));
    for (auto& t : page) {
      cursor = TrialIdOf(t);
      if (t.state() == v1::TRIAL_STATE_SUCCEEDED) out.push_back(std::move(t));
    }
    if (page.size() < 1000) return out;
  }
}

void JobManager::GetBest(v1::GetBestRequest request, Callback<v1::Trial> done) {
  if (request.max_size_bytes() < 0 || request.max_params() < 0 ||
      !(request.max_latency_ms() >= 0)) {
    return done(InvalidArgument("max_size_bytes, max_params and max_latency_ms must be >= 0"));
  }
  const int64_t job_id = JobIdOf(request.job());
  if (job_id < 0)
    return done(InvalidArgument("job: \"" + request.job().substr(0, 80) + "\" is not jobs/<id>"));
  auto spec = OnStrand([&]() -> std::optional<v1::JobSpec> {
    auto job = jobs_.find(job_id);
    if (job == jobs_.end()) return std::nullopt;
    return job->second.job.spec();
  });
  if (!spec) return done(NotFound(request.job() + " not found"));
  std::string metric = request.objective().empty() ? "val_loss" : request.objective();
  if (FindMetric(metric) == nullptr)
    return done(InvalidArgument("objective: unknown metric \"" + metric.substr(0, 64) +
                                "\" (known: " + MetricNames() + ")"));
  const bool maximize = Maximized(metric, ObjectivesFromProto(*spec));
  // Every succeeded trial, from the store (off the strand).
  auto trials = SucceededTrials(job_id);
  if (!trials.ok()) return done(trials.status());
  const v1::Trial* best = nullptr;
  double best_value = 0;
  for (const v1::Trial& t : *trials) {
    if (!t.infeasible_reason().empty()) continue;  // over a measured limit of the job
    const auto& m = t.metrics();
    if (request.max_size_bytes() > 0 && m.size_bytes() > request.max_size_bytes()) continue;
    if (request.max_params() > 0 && m.params() > request.max_params()) continue;
    if (request.max_latency_ms() > 0 &&
        (!m.has_latency_ms() || m.latency_ms() > request.max_latency_ms()))
      continue;
    const MetricValues values = MetricValuesFromProto(m);
    auto found = values.find(metric);
    if (found == values.end()) continue;  // not measured
    const double v = found->second;
    if (std::isnan(v)) continue;
    if (best == nullptr || (maximize ? v > best_value : v < best_value)) {
      best = &t;
      best_value = v;
    }
  }
  if (best == nullptr)
    return done(NotFound("no succeeded trial of " + request.job() + " fits the limits"));
  done(*best);
}

void JobManager::ExplainJob(std::string name, Callback<v1::Explanation> done) {
  const int64_t job_id = JobIdOf(name);
  if (job_id < 0)
    return done(InvalidArgument("name: \"" + name.substr(0, 80) + "\" is not jobs/<id>"));
  struct View {
    v1::Job job;
    std::unique_ptr<SearchSpace> space;
    std::vector<int64_t> frontier;
  };
  auto view = OnStrand([&]() -> std::optional<View> {
    auto job = jobs_.find(job_id);
    if (job == jobs_.end()) return std::nullopt;
    View v;
    v.job = job->second.job;
    v.space = std::make_unique<SearchSpace>(job->second.search->space());
    for (const auto& m : job->second.search->front().Members()) v.frontier.push_back(m.id);
    return v;
  });
  if (!view) return done(NotFound(name + " not found"));
  // Fitting the surrogate is work for this thread, not for the strand.
  auto succeeded = SucceededTrials(job_id);
  if (!succeeded.ok()) return done(succeeded.status());
  std::vector<ExplainTrial> trials;
  for (const v1::Trial& t : *succeeded) {
    const int64_t id = TrialIdOf(t);
    trials.push_back({id, view->space->Encode(CandidateFromProto(t.candidate())),
                      CandidateFromProto(t.candidate()), OutcomeValues(t)});
  }
  std::vector<std::string> metrics;
  for (const auto& o : view->job.spec().objectives()) metrics.push_back(o.metric());
  Explanation e = Explain(*view->space, metrics, trials, view->frontier,
                          ModelContextOf(view->job.data_info()), view->job.spec().seed());
  v1::Explanation out;
  out.set_job(view->job.name());
  for (const auto& k : e.importances) {
    auto* i = out.add_importances();
    i->set_knob(k.knob);
    i->set_metric(k.metric);
    i->set_importance(k.importance);
  }
  const std::string prefix = view->job.name() + "/trials/";
  for (const auto& t : e.trade_offs) {
    auto* r = out.add_trade_offs();
    r->set_from_trial(prefix + std::to_string(t.from));
    r->set_to_trial(prefix + std::to_string(t.to));
    r->set_size_bytes_delta(t.size_bytes_delta);
    r->set_val_loss_delta(t.val_loss_delta);
    r->set_nats_per_megabyte(t.nats_per_megabyte);
    for (const auto& c : t.changed_knobs) r->add_changed_knobs(c);
  }
  for (const auto& [predictor, tau] : e.predictor_kendall_tau)
    (*out.mutable_predictor_kendall_tau())[predictor] = tau;
  *out.mutable_compute_time() = TimeUtil::MillisecondsToTimestamp(clock_->NowMs());
  done(out);
}

void JobManager::ListWorkers(Callback<v1::ListWorkersResponse> done) {
  Post([this, done = std::move(done)] {
    v1::ListWorkersResponse response;
    const int64_t now = clock_->NowMs();
    for (const auto& [id, w] : workers_) {
      (void)id;
      if (now - w.last_seen_ms <= 10 * options_.worker_seen_window_ms)
        *response.add_workers() = w.info;
    }
    done(response);
  });
}

void JobManager::Stats(Callback<JobManagerStats> done) {
  Post([this, done = std::move(done)] {
    JobManagerStats s;
    const int64_t now = clock_->NowMs();
    for (const auto& [id, job] : jobs_) {
      JobManagerStats::JobFigures f;
      f.job = std::to_string(id);
      f.state = job.job.state();
      f.progress = job.job.progress();
      f.worker_seconds_budget = job.job.spec().budget().max_worker_seconds();
      f.last_progress_ms = job.last_progress_ms;
      if (job.job.has_end_time()) f.end_ms = TimeUtil::TimestampToMilliseconds(job.job.end_time());
      for (const auto& [trial, tps] : job.tokens_per_second) f.tokens_per_second += tps;
      const auto& p = job.job.progress();
      f.trials_by_state = {{v1::TRIAL_STATE_PENDING, p.trials_pending()},
                           {v1::TRIAL_STATE_RUNNING, p.trials_running()},
                           {v1::TRIAL_STATE_SUCCEEDED, p.trials_succeeded()},
                           {v1::TRIAL_STATE_FAILED, p.trials_failed()},
                           {v1::TRIAL_STATE_REJECTED, p.trials_rejected()},
                           {v1::TRIAL_STATE_STOPPED, p.trials_stopped()}};
      for (int64_t budget : job.job.spec().report_size_budgets_bytes()) {
        JobManagerStats::JobFigures::BudgetBest best;
        best.size_budget_bytes = budget;
        for (const auto& member : job.search->front().Members()) {
          auto t = job.front.find(member.id);
          if (t == job.front.end()) continue;
          const auto& m = t->second.metrics();
          if (m.size_bytes() > budget ||
              (!std::isnan(best.val_loss) && m.val_loss() >= best.val_loss))
            continue;
          best.val_loss = m.val_loss();
          best.compression_ratio = m.has_compression_ratio() ? m.compression_ratio() : NAN;
          best.speedup = m.has_speedup() ? m.speedup() : NAN;
        }
        f.best_by_budget.push_back(best);
      }
      s.queue_depth += f.progress.trials_pending();
      s.jobs.push_back(std::move(f));
    }
    s.leases_active = static_cast<int64_t>(leases_.size() + shard_leases_.size());
    s.lease_expirations = lease_expirations_;
    for (const auto& [id, w] : workers_) {
      (void)id;
      if (now - w.last_seen_ms <= options_.worker_seen_window_ms) s.workers_connected++;
      if (!w.lease_token.empty()) s.workers_busy++;
    }
    done(s);
  });
}

}  // namespace kdnas
