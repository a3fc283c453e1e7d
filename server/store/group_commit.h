// Group commit for a durable Store: Commit queues a batch; one writer thread
// takes every batch queued while the previous transaction was being written
// and hands them to `write_group` as one transaction, so concurrent reports
// share one fsync. Each batch's callback runs once its group is durable.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "server/store/store.h"

namespace kdnas {

class GroupCommitter {
 public:
  // Writes the batches in order as one transaction; returns its status.
  using WriteGroup = std::function<Status(const std::vector<const WriteBatch*>& group)>;

  GroupCommitter(int max_batches_per_commit, WriteGroup write_group);
  // Writes what is queued, then stops the writer thread.
  ~GroupCommitter();

  void Commit(WriteBatch batch, std::function<void(const Status&)> done);
  // Blocks until every batch committed so far is durable.
  void Sync();
  StoreStats stats() const;
  void SetCommitObserver(Store::CommitObserver observer);

 private:
  struct Pending {
    WriteBatch batch;
    std::function<void(const Status&)> done;
  };
  void WriterLoop();

  const int max_batches_;
  const WriteGroup write_group_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<Pending> queue_;
  bool writing_ = false;
  bool stop_ = false;
  StoreStats stats_;
  Store::CommitObserver observer_;
  std::thread writer_;  // last: starts once everything above exists
};

// A Store whose writes go through a GroupCommitter: the durable stores
// implement reads and WriteGroup, and start the committer once they can
// write (and stop it first in their destructor, before closing anything).
class GroupCommitStore : public Store {
 public:
  void Commit(WriteBatch batch, std::function<void(const Status&)> done) override {
    committer_->Commit(std::move(batch), std::move(done));
  }
  Status Sync() override {
    committer_->Sync();
    return Status::Ok();
  }
  StoreStats stats() const override { return committer_->stats(); }
  void SetCommitObserver(CommitObserver observer) override {
    committer_->SetCommitObserver(std::move(observer));
  }

 protected:
  void StartCommitter(int max_batches_per_commit, GroupCommitter::WriteGroup write_group) {
    committer_ = std::make_unique<GroupCommitter>(max_batches_per_commit, std::move(write_group));
  }
  void StopCommitter() { committer_.reset(); }  // writes what is queued first

 private:
  std::unique_ptr<GroupCommitter> committer_;
};

}  // namespace kdnas
