#include "server/store/group_commit.h"

#include <chrono>

namespace kdnas {

GroupCommitter::GroupCommitter(int max_batches_per_commit, WriteGroup write_group)
    : max_batches_(max_batches_per_commit),
      write_group_(std::move(write_group)),
      writer_([this] { WriterLoop(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void GroupCommitter::Commit(WriteBatch batch, std::function<void(const Status&)> done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back({std::move(batch), std::move(done)});
  }
  cv_.notify_one();
}

void GroupCommitter::Sync() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [&] { return (queue_.empty() && !writing_) || stop_; });
}

StoreStats GroupCommitter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void GroupCommitter::SetCommitObserver(Store::CommitObserver observer) {
  std::lock_guard<std::mutex> lock(mu_);
  observer_ = std::move(observer);
}

void GroupCommitter::WriterLoop() {
  for (;;) {
    std::vector<Pending> group;
    Store::CommitObserver observer;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) break;
      while (!queue_.empty() && static_cast<int>(group.size()) < max_batches_) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      writing_ = true;
      observer = observer_;
    }
    const auto start = std::chrono::steady_clock::now();
    std::vector<const WriteBatch*> batches;
    int64_t writes = 0;
    for (const Pending& p : group) {
      batches.push_back(&p.batch);
      writes += static_cast<int64_t>(p.batch.size());
    }
    const Status status = write_group_(batches);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (observer) observer(seconds, static_cast<int>(group.size()));
    for (Pending& p : group) {
      if (p.done) p.done(status);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.commits++;
      stats_.batches += static_cast<int64_t>(group.size());
      stats_.writes += writes;
      writing_ = false;
    }
    idle_cv_.notify_all();
  }
}

}  // namespace kdnas
