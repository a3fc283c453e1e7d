// A JobManager on a FakeClock and an io thread, with helpers to submit a
// demo job, lease, heartbeat and report, shared by the JobManager tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <string>
#include <thread>

#include "search/sha256.h"
#include "server/job_manager.h"
#include "tests/fixtures/teacher_fixture.h"
#include "tests/server/demo_job.h"

namespace kdnas {

template <typename T, typename F>
StatusOr<T> Call(F&& f) {
  std::promise<StatusOr<T>> p;
  auto future = p.get_future();
  f([&p](StatusOr<T> r) { p.set_value(std::move(r)); });
  return future.get();
}

class Harness {
 public:
  explicit Harness(std::unique_ptr<Store> store, std::string data_dir = "")
      : store_(std::move(store)) {
    if (data_dir.empty())
      data_dir =
          (std::filesystem::temp_directory_path() / ("kdnas-jm-" + std::to_string(::getpid())))
              .string();
    blobs_ = std::move(*BlobStore::Open(data_dir, 1 << 30));
    JobManager::Options o;
    o.lease_ttl_ms = 10'000;
    manager_ = std::make_unique<JobManager>(o, store_.get(), blobs_.get(), &clock_, &io_);
    work_ =
        std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
            io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Harness() {
    manager_->Stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  Status Recover() { return manager_->Recover(); }
  JobManager& m() { return *manager_; }
  FakeClock& clock() { return clock_; }
  Store* store() { return store_.get(); }
  BlobStore* blobs() { return blobs_.get(); }
  // Runs the timer work now and waits for it.
  void Tick() {
    manager_->Tick();
    (void)Call<v1::ListWorkersResponse>([&](auto cb) { manager_->ListWorkers(cb); });
    (void)store_->Sync();
    (void)Call<v1::ListWorkersResponse>([&](auto cb) { manager_->ListWorkers(cb); });
  }

 private:
  FakeClock clock_;
  boost::asio::io_context io_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<JobManager> manager_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
};

inline v1::LeaseTrialRequest LeaseRequest(const std::string& worker, int wait_ms = 1) {
  v1::LeaseTrialRequest r;
  r.set_worker_id(worker);
  r.set_wait_ms(wait_ms);
  return r;
}

inline v1::ReportResultRequest Success(const v1::Lease& lease, double loss) {
  v1::ReportResultRequest r;
  r.set_lease_token(lease.token());
  auto* m = r.mutable_success()->mutable_metrics();
  m->set_val_loss(loss);
  m->set_size_bytes(lease.trial().predicted().size_bytes());
  m->set_params(lease.trial().predicted().params());
  m->set_worker_seconds(10);
  return r;
}

// Puts a file into the harness's blob store; its name ("blobs/{sha256}").
inline std::string PutBlob(Harness& h, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto upload =
      h.blobs()->StartUpload("blobs", Sha256Hex(bytes), static_cast<int64_t>(bytes.size()));
  EXPECT_TRUE(upload.ok()) << upload.status().ToString();
  EXPECT_TRUE((*upload)->Write(bytes).ok());
  auto name = (*upload)->Finish();
  EXPECT_TRUE(name.ok()) << name.status().ToString();
  return *name;
}

// Leases with a 1 ms long-poll; time is moved on until the poll answers.
// Any lease: a trial's or a teacher shard's.
inline StatusOr<v1::Lease> LeaseAny(Harness& h, const std::string& worker) {
  std::promise<StatusOr<v1::LeaseTrialResponse>> p;
  auto future = p.get_future();
  h.m().LeaseTrial(LeaseRequest(worker),
                   [&p](StatusOr<v1::LeaseTrialResponse> r) { p.set_value(std::move(r)); });
  while (future.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready) {
    h.clock().AdvanceMs(2);
    h.m().Tick();
  }
  auto r = future.get();
  if (!r.ok()) return r.status();
  if (!r->has_lease()) return NotFound("no lease");
  return r->lease();
}

// Records a (pretend) uploaded teacher shard of a shard lease and reports it
// finished; the report's answer.
inline StatusOr<v1::ReportResultResponse> FinishShard(Harness& h, const v1::Lease& lease) {
  v1::Artifact artifact;
  artifact.set_name("artifacts/" + Sha256Hex(lease.teacher_shard().name()));
  artifact.set_kind(v1::ARTIFACT_KIND_TEACHER_SHARD);
  auto recorded =
      Call<v1::Artifact>([&](auto cb) { h.m().RecordArtifact(lease.token(), artifact, cb); });
  if (!recorded.ok()) return recorded.status();
  v1::ReportResultRequest r;
  r.set_lease_token(lease.token());
  r.mutable_success()->set_artifact(artifact.name());
  r.mutable_success()->mutable_metrics()->set_worker_seconds(0);
  return Call<v1::ReportResultResponse>([&](auto cb) { h.m().ReportResult(r, cb); });
}

// The next trial lease. Shards of a teacher pass met on the way are
// reported finished, for tests about trials rather than the pass.
inline StatusOr<v1::Lease> Lease(Harness& h, const std::string& worker) {
  for (;;) {
    auto lease = LeaseAny(h, worker);
    if (!lease.ok() || !lease->has_teacher_shard()) return lease;
    auto finished = FinishShard(h, *lease);
    if (!finished.ok()) return finished.status();
  }
}

}  // namespace kdnas
