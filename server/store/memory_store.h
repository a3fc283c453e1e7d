// An in-memory Store for tests: commits apply at once and nothing survives
// the process.
#pragma once

#include <map>
#include <mutex>
#include <tuple>

#include "server/store/store.h"

namespace kdnas {

class MemoryStore : public Store {
 public:
  StatusOr<StoreSnapshot> Load() override;
  StatusOr<std::vector<EventRecord>> LoadEvents(int64_t job_id, int64_t after_seq, int64_t limit) override;
  StatusOr<std::vector<TrialRecord>> LoadTrials(int64_t job_id, int64_t after_trial_id, int64_t limit) override;
  StatusOr<int64_t> LastEventSeq(int64_t job_id) override;
  void Commit(WriteBatch batch, std::function<void(const Status&)> done) override;
  Status Sync() override { return Status::Ok(); }
  StoreStats stats() const override;
  void SetCommitObserver(CommitObserver observer) override;

 private:
  mutable std::mutex mu_;
  std::map<int64_t, JobRecord> jobs_;
  std::map<std::pair<int64_t, int64_t>, TrialRecord> trials_;
  std::map<std::pair<int64_t, int64_t>, SearchLogRecord> log_;
  std::map<std::pair<int64_t, int64_t>, EventRecord> events_;
  std::map<std::string, BlobRecord> blobs_;
  StoreStats stats_;
  CommitObserver observer_;
};

}  // namespace kdnas
