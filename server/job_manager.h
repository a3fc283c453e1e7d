// The controller's core: jobs, trials, leases, the search loop and the
// Pareto tracker, without gRPC. Every method may be called from any thread;
// the work runs on one strand of a Boost.Asio io_context that owns all state,
// so the core needs no locks. Changes are written through the Store and a
// caller is answered only once its change is durable. Time comes from an
// injected Clock.
#pragma once

// <utility> first: Boost 1.74's asio uses std::exchange without including it.
// clang-format off
#include <utility>
#include <boost/asio.hpp>
#include <cmath>
// clang-format on

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "kdnas/v1/search_service.pb.h"
#include "kdnas/v1/worker_service.pb.h"
#include "log/log.h"
#include "search/job_search.h"
#include "search/rung_tracker.h"
#include "server/blob_store.h"
#include "server/clock.h"
#include "server/store/store.h"

namespace kdnas {

// Receives a job's events on the core's strand; must not block.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnEvent(const v1::JobEvent& event) = 0;
};

// Figures for metrics, read on the strand (see JobManager::Stats).
struct JobManagerStats {
  struct JobFigures {
    std::string job;  // job id
    v1::JobState state = v1::JOB_STATE_UNSPECIFIED;
    v1::JobProgress progress;
    double worker_seconds_budget = 0;
    int64_t last_progress_ms = 0;
    // The best trial within each size budget: its val loss, and its
    // compression_ratio and speedup (NaN when unmeasured).
    struct BudgetBest {
      int64_t size_budget_bytes = 0;
      double val_loss = NAN, compression_ratio = NAN, speedup = NAN;
    };
    std::vector<BudgetBest> best_by_budget;
    double tokens_per_second = 0;
    int64_t end_ms = 0;  // 0 while running
    std::map<v1::TrialState, int64_t> trials_by_state;
  };
  std::vector<JobFigures> jobs;
  int64_t queue_depth = 0;
  int64_t leases_active = 0;
  int64_t lease_expirations = 0;
  int64_t workers_connected = 0;
  int64_t workers_busy = 0;
};

// Sees what happens to trials, for metrics; called on the core's strand.
class CoreObserver {
 public:
  virtual ~CoreObserver() = default;
  // A trial ended (SUCCEEDED, FAILED or STOPPED) `seconds` after its lease.
  virtual void OnTrialFinished(const std::string& job, v1::TrialState state, double seconds) = 0;
  // A heartbeat reported training progress: seconds per optimizer step.
  virtual void OnStepTime(const std::string& job, double seconds) = 0;
};

class JobManager {
 public:
  struct Options {
    int64_t lease_ttl_ms = 60'000;          // a lease ends unless a heartbeat extends it
    int32_t heartbeat_interval_ms = 5'000;  // told to workers
    int32_t max_lease_wait_ms = 60'000;     // longest LeaseTrial long-poll
    int32_t default_lease_wait_ms = 10'000;
    int64_t worker_seen_window_ms = 60'000;  // "connected" workers
    int64_t tick_ms = 100;                   // lease-expiry and long-poll timer period
  };

  template <typename T>
  using Callback = std::function<void(StatusOr<T>)>;

  JobManager(Options options, Store* store, BlobStore* blobs, const Clock* clock,
             boost::asio::io_context* io);
  ~JobManager();

  // Loads the store and replays every job's search; call once before Start.
  Status Recover();
  // Starts the lease-expiry timer.
  void Start();
  // Stops the timer and answers pending long-polls with no lease.
  void Stop();

  // SearchService.
  void SubmitJob(v1::SubmitJobRequest request, Callback<v1::Job> done);
  void GetJob(std::string name, Callback<v1::Job> done);
  void ListJobs(v1::ListJobsRequest request, Callback<v1::ListJobsResponse> done);
  void CancelJob(std::string name, Callback<v1::Job> done);
  void ListTrials(v1::ListTrialsRequest request, Callback<v1::ListTrialsResponse> done);
  void GetFrontier(std::string name, Callback<v1::Frontier> done);
  void GetBest(v1::GetBestRequest request, Callback<v1::Trial> done);
  void ListWorkers(Callback<v1::ListWorkersResponse> done);
  void ExplainJob(std::string name, Callback<v1::Explanation> done);
  void RecordBlob(v1::Blob blob, Callback<v1::Blob> done);
  void GetBlob(std::string name, Callback<v1::Blob> done);

  // Streams events after `after_sequence` to `sink`: first the stored ones
  // (from `backlog`, read by the caller off the strand), then live ones until
  // Unsubscribe. `done` gets the subscription id.
  void Subscribe(std::string job, int64_t after_sequence, bool include_progress,
                 std::shared_ptr<EventSink> sink, Callback<int64_t> done);
  void Unsubscribe(int64_t subscription);
  // Events of a job after a sequence, from memory or the store, at most limit.
  StatusOr<std::vector<v1::JobEvent>> ReadEvents(const std::string& job, int64_t after_sequence,
                                                 int64_t limit);

  // WorkerService.
  void LeaseTrial(v1::LeaseTrialRequest request, Callback<v1::LeaseTrialResponse> done);
  void Heartbeat(v1::HeartbeatRequest request, Callback<v1::HeartbeatResponse> done);
  void ReportResult(v1::ReportResultRequest request, Callback<v1::ReportResultResponse> done);
  // Records an uploaded artifact of a live lease.
  void RecordArtifact(std::string lease_token, v1::Artifact artifact, Callback<v1::Artifact> done);
  // OK if the token is a live lease (artifact uploads check it first).
  void CheckLease(std::string lease_token, Callback<bool> done);

  void Stats(Callback<JobManagerStats> done);
  // Set before Start; may be null.
  void SetObserver(CoreObserver* observer) { observer_ = observer; }

  // Runs expiry and long-poll deadlines now (tests with a FakeClock).
  void Tick();

 private:
  struct TrialState {
    v1::Trial trial;
    Point point;
    std::string lease_token;
    int64_t lease_deadline_ms = 0;
    int64_t lease_start_ms = 0;
    std::string report;  // serialized ReportResultResponse of lease_token, once reported
    bool stop_requested = false;
    bool early_stopped = false;  // stop_requested by a rung decision
    std::string stop_reason;
  };
  // A shard of a job's teacher pass (teacher_pass.h) as it runs.
  struct ShardState {
    int64_t first_step = 0;
    int64_t steps = 0;
    int32_t held_out_context = 0;  // > 0: the held-out windows of this context
    std::string key;
    v1::Artifact artifact;  // once finished
    bool reused = false;    // finished by an earlier job
    std::string lease_token, worker_id;
    int64_t lease_deadline_ms = 0;
    int64_t lease_start_ms = 0;
    int32_t attempts = 0;
    bool finished() const { return !artifact.name().empty(); }
  };
  struct TeacherPass {
    std::vector<ShardState> shards;
    int64_t finished = 0;
    bool complete() const { return finished == static_cast<int64_t>(shards.size()); }
  };
  struct JobState {
    int64_t id = 0;
    TeacherPass pass;
    v1::Job job;
    std::unique_ptr<JobSearch> search;
    std::unique_ptr<RungTracker> rungs;  // multi-fidelity early stopping, or null
    // Live trials (pending, running) and finished ones until their final
    // record is durable; after that they are read from the store, so memory
    // does not grow with the number of trials.
    std::map<int64_t, TrialState> trials;
    std::map<int64_t, v1::Trial> front;  // the frontier's trials
    std::deque<int64_t> pending;         // PENDING trial ids, oldest first
    int64_t next_trial_id = 1;
    int64_t next_log_seq = 1;
    int64_t last_event_seq = 0;
    int64_t last_progress_ms = 0;
    std::map<std::string, double> tokens_per_second;  // running trial -> latest
  };
  struct Worker {
    v1::Worker info;
    std::string lease_token;
    int64_t last_seen_ms = 0;
    bool lost = false;  // not seen for worker_seen_window_ms (logged once)
  };
  struct Waiter {
    v1::LeaseTrialRequest request;
    int64_t deadline_ms = 0;
    Callback<v1::LeaseTrialResponse> done;
  };
  struct Subscription {
    int64_t job_id = 0;
    bool include_progress = false;
    std::shared_ptr<EventSink> sink;
  };

  // Everything below runs on the strand.
  template <typename F>
  void Post(F&& f) {
    boost::asio::post(strand_, std::forward<F>(f));
  }
  // Commits `batch`, then runs `after` on the strand with the commit status
  // and publishes the batch's events to subscribers.
  void Persist(WriteBatch batch, std::function<void(const Status&)> after);
  v1::JobEvent NewEvent(JobState& job, WriteBatch* batch);
  void AddTrialRecord(const JobState& job, const TrialState& t, WriteBatch* batch) const;
  void AddJobRecord(const JobState& job, WriteBatch* batch) const;
  void AddLog(JobState& job, SearchLogRecord::Kind kind, int64_t value, WriteBatch* batch);
  void EmitTrialChanged(JobState& job, const TrialState& t, WriteBatch* batch);
  void EmitJobChanged(JobState& job, WriteBatch* batch);
  void Publish(const std::vector<v1::JobEvent>& events);

  StatusOr<JobState*> FindJob(const std::string& name);
  // What a finished trial tells the search: its metrics, or for a trial
  // stopped early its predicted costs and the loss it reached.
  static MetricValues OutcomeValues(const v1::Trial& trial);
  // How a finished trial's state reads to the search.
  static TrialStatus SearchStatusOf(v1::TrialState state);
  Status BuildSearch(JobState* job);
  // The front's figures of the job's progress (counters follow SetTrialState).
  void RecomputeProgress(JobState& job);
  // Recounts every trial (after recovery).
  void CountTrials(JobState& job);
  // The steps of Recover: blob and artifact records, jobs and their trials,
  // the search calls replayed, then each job's queues, leases and rungs.
  void RestoreBlobs(const std::vector<BlobRecord>& blobs);
  Status RestoreJobs(const StoreSnapshot& snapshot, int64_t now_ms);
  void ReplaySearchLog(const std::vector<SearchLogRecord>& log);
  // Returns the leases restored.
  int64_t RestoreLiveState(JobState& job, int64_t now_ms);
  static void AdjustCount(v1::JobProgress* progress, v1::TrialState state, int64_t delta);
  void SetTrialState(JobState& job, TrialState& t, v1::TrialState state,
                     const std::string& message);

  // The teacher pass (job_manager_teacher_pass.cc): planned when the search
  // is built; its shards are leased before the job's trials.
  void PlanPass(JobState& job, bool recovered);
  void RestoreTeacherShard(const BlobRecord& record);
  static bool IsTeacherShardRecord(const std::string& name);
  bool TryLeaseShard(const v1::LeaseTrialRequest& request, Worker& worker,
                     Callback<v1::LeaseTrialResponse>& done);
  v1::Lease MakeShardLease(const JobState& job, size_t index) const;
  // These return false when the token is not a shard's lease.
  bool HeartbeatShard(const v1::HeartbeatRequest& request, Callback<v1::HeartbeatResponse>& done);
  bool ReportShard(const v1::ReportResultRequest& request,
                   Callback<v1::ReportResultResponse>& done);
  bool ExpireShardLease(const std::string& token, WriteBatch* batch);
  // Marks the shard with `key` finished in every job that has it.
  void FinishShard(const std::string& key, const v1::Artifact& artifact, WriteBatch* batch);
  void EndShardLease(ShardState& shard);
  void AddShardRefs(const JobState& job, v1::TrialWork* work) const;
  static std::string ShardName(const JobState& job, size_t index);

  // The search loop.
  bool JobWantsMoreTrials(const JobState& job) const;
  // Creates new PENDING trials for a job (and REJECTED ones met on the way).
  // With leased_now, the caller leases them in the same batch, which then
  // records them once, as RUNNING.
  bool ProposeTrials(JobState& job, int n, bool leased_now, WriteBatch* batch);
  // A leasable trial, round-robin over running jobs, or nullptr.
  std::pair<JobState*, TrialState*> NextTrial(WriteBatch* batch);
  void ServeWaiters();
  bool TryLease(const v1::LeaseTrialRequest& request, Callback<v1::LeaseTrialResponse>& done);
  void FinishTrial(JobState& job, TrialState& t, v1::TrialState state, const std::string& message,
                   WriteBatch* batch);
  void MaybeEndJob(JobState& job, WriteBatch* batch);
  void EndJob(JobState& job, v1::JobState state, const std::string& message, WriteBatch* batch);
  void ExpireLeases();
  // Logs the workers not seen for worker_seen_window_ms as lost (each once).
  void CheckWorkers();
  // A log line's fields about a trial: job, trial and worker, then `more`.
  static LogFields TrialLog(const v1::Trial& trial, LogFields more = {});
  // A validation loss at a multi-fidelity rung: records it and decides
  // whether the trial goes on (t.stop_requested when not).
  void JudgeAtRung(JobState& job, TrialState& t, const v1::TrialProgress& progress);
  // Tells watchers of a running trial's latest progress.
  void PublishProgress(JobState& job, const TrialState& t, int64_t now_ms);
  void ScheduleTick();
  v1::Lease MakeLease(const JobState& job, const TrialState& t) const;
  std::string NewToken();
  Worker& SeeWorker(const std::string& id);

  Options options_;
  CoreObserver* observer_ = nullptr;
  Store* store_;
  BlobStore* blobs_;
  const Clock* clock_;
  boost::asio::io_context* io_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;

  std::map<int64_t, JobState> jobs_;
  std::unordered_map<std::string, int64_t> request_ids_;
  // The live leases: token -> (job, trial), and their deadlines in order.
  // Both hold exactly the live leases (ArmLease adds or moves one, EndLease
  // removes it), so memory follows the number of workers, not of heartbeats.
  std::unordered_map<std::string, std::pair<int64_t, int64_t>> leases_;
  std::set<std::pair<int64_t, std::string>> lease_deadlines_;  // (deadline ms, token)
  void ArmLease(int64_t job_id, TrialState& t, int64_t deadline_ms);
  void EndLease(const TrialState& t);
  // Moves the lease `token`'s expiry (trial or shard) from *deadline_ms to
  // `to_ms`.
  void MoveDeadline(const std::string& token, int64_t* deadline_ms, int64_t to_ms);
  // The worker `worker_id`, freed of the lease `token` if it still holds it;
  // null if it holds another (or is unknown).
  Worker* ReleaseWorker(const std::string& worker_id, const std::string& token);
  struct Reported {
    int64_t job_id = 0;
    int64_t trial_id = 0;
    std::string response;  // serialized ReportResultResponse
  };
  // Recently reported tokens, so a repeated report gets the same answer.
  std::unordered_map<std::string, Reported> reported_;
  std::deque<std::string> reported_order_;
  static constexpr size_t kMaxReported = 8192;
  void RememberReport(const std::string& token, Reported reported);
  // Finished trials whose records are in the batch being built; evicted from
  // memory once it is durable.
  std::vector<std::pair<int64_t, int64_t>> to_evict_;
  void Evict(const std::vector<std::pair<int64_t, int64_t>>& trials);
  // Runs `f` on the strand and waits for it (callers off the strand only).
  template <typename F>
  auto OnStrand(F f) -> decltype(f());
  // Trials of a job from the store, with live ones from memory.
  StatusOr<std::vector<v1::Trial>> ReadTrials(int64_t job_id, int64_t after_trial_id,
                                              int64_t limit);
  StatusOr<std::vector<v1::Trial>> SucceededTrials(int64_t job_id);
  // Live shard leases: token -> (job, shard index); their deadlines are in
  // lease_deadlines_ with the trials'.
  std::unordered_map<std::string, std::pair<int64_t, size_t>> shard_leases_;
  // Finished teacher shards of every job, by key (BlobRecord
  // "teacher-shards/{key}").
  std::map<std::string, v1::Artifact> teacher_shards_;
  std::map<std::string, Worker> workers_;
  std::deque<Waiter> waiters_;
  std::map<int64_t, Subscription> subscriptions_;
  std::map<std::string, v1::Blob> blobs_meta_;
  std::map<std::string, v1::Artifact> artifacts_;
  int64_t next_job_id_ = 1;
  int64_t next_subscription_ = 1;
  int64_t round_robin_ = 0;  // last job id served
  int64_t lease_expirations_ = 0;
  int64_t next_worker_check_ms_ = 0;
  uint64_t token_counter_ = 0;
  uint64_t token_salt_ = 0;
};

}  // namespace kdnas
