#include "server/store/memory_store.h"

#include <climits>

namespace kdnas {

StatusOr<StoreSnapshot> MemoryStore::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  StoreSnapshot s;
  for (const auto& [id, r] : jobs_) s.jobs.push_back(r);
  for (const auto& [id, r] : trials_) s.trials.push_back(r);
  for (const auto& [id, r] : log_) s.log.push_back(r);
  for (const auto& [id, r] : blobs_) s.blobs.push_back(r);
  return s;
}

StatusOr<std::vector<EventRecord>> MemoryStore::LoadEvents(int64_t job_id, int64_t after_seq, int64_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<EventRecord> out;
  for (auto it = events_.upper_bound({job_id, after_seq}); it != events_.end() && it->first.first == job_id &&
                                                           static_cast<int64_t>(out.size()) < limit;
       ++it) {
    out.push_back(it->second);
  }
  return out;
}

StatusOr<std::vector<TrialRecord>> MemoryStore::LoadTrials(int64_t job_id, int64_t after_trial_id, int64_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TrialRecord> out;
  for (auto it = trials_.upper_bound({job_id, after_trial_id});
       it != trials_.end() && it->first.first == job_id && (limit <= 0 || static_cast<int64_t>(out.size()) < limit);
       ++it) {
    out.push_back(it->second);
  }
  return out;
}

StatusOr<int64_t> MemoryStore::LastEventSeq(int64_t job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = events_.lower_bound({job_id + 1, INT64_MIN});
  if (it == events_.begin()) return int64_t{0};
  --it;
  return it->first.first == job_id ? it->first.second : 0;
}

void MemoryStore::Commit(WriteBatch batch, std::function<void(const Status&)> done) {
  CommitObserver observer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.batches++;
    stats_.commits++;
    stats_.writes += static_cast<int64_t>(batch.size());
    for (auto& r : batch.jobs) jobs_[r.id] = std::move(r);
    for (auto& r : batch.trials) trials_[{r.job_id, r.trial_id}] = std::move(r);
    for (auto& r : batch.log) log_[{r.job_id, r.seq}] = r;
    for (auto& r : batch.events) events_[{r.job_id, r.seq}] = std::move(r);
    for (auto& r : batch.blobs) blobs_[r.name] = std::move(r);
    observer = observer_;
  }
  if (observer) observer(0.0, 1);
  if (done) done(Status::Ok());
}

StoreStats MemoryStore::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void MemoryStore::SetCommitObserver(CommitObserver observer) {
  std::lock_guard<std::mutex> lock(mu_);
  observer_ = std::move(observer);
}

}  // namespace kdnas
