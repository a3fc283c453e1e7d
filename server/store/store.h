// The controller's durable state, as an interface with an in-memory and an
// SQLite implementation that pass one contract suite (tests/server/
// store_contract_test.cc). The job manager keeps its working state in memory
// and writes every change through Commit; it acknowledges a client only once
// the commit is durable. Records carry serialized API messages, so the schema
// stays small and new fields need no migration.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "search/status.h"

namespace kdnas {

struct JobRecord {
  int64_t id = 0;
  std::string request_id;  // client idempotency key, may be empty
  std::string job;         // serialized kdnas.v1.Job
};

struct TrialRecord {
  int64_t job_id = 0;
  int64_t trial_id = 0;
  std::string trial;        // serialized kdnas.v1.Trial
  std::string point;        // the strategy's point, packed doubles
  std::string lease_token;  // current or last lease
  int64_t lease_deadline_ms = 0;
  std::string report;       // serialized ReportResultResponse once reported
};

// One call of a job's search, in order: replaying them rebuilds its state.
struct SearchLogRecord {
  enum Kind : int32_t { kPropose = 0, kComplete = 1 };
  int64_t job_id = 0;
  int64_t seq = 0;
  Kind kind = kPropose;
  int64_t value = 0;  // proposals asked for, or the completed trial id
};

struct EventRecord {
  int64_t job_id = 0;
  int64_t seq = 0;
  std::string event;  // serialized kdnas.v1.JobEvent
};

struct BlobRecord {
  std::string name;  // "blobs/{sha256}" or "artifacts/{sha256}"
  std::string blob;  // serialized kdnas.v1.Blob or kdnas.v1.Artifact
};

// Upserts, applied atomically by Commit.
struct WriteBatch {
  std::vector<JobRecord> jobs;
  std::vector<TrialRecord> trials;
  std::vector<SearchLogRecord> log;
  std::vector<EventRecord> events;
  std::vector<BlobRecord> blobs;

  bool empty() const { return jobs.empty() && trials.empty() && log.empty() && events.empty() && blobs.empty(); }
  size_t size() const { return jobs.size() + trials.size() + log.size() + events.size() + blobs.size(); }
  void Append(WriteBatch&& other);
};

// Everything but events, which are read on demand.
struct StoreSnapshot {
  std::vector<JobRecord> jobs;           // by id
  std::vector<TrialRecord> trials;       // by (job_id, trial_id)
  std::vector<SearchLogRecord> log;      // by (job_id, seq)
  std::vector<BlobRecord> blobs;         // by name
};

struct StoreStats {
  int64_t commits = 0;          // transactions
  int64_t batches = 0;          // Commit calls
  int64_t writes = 0;           // records
};

class Store {
 public:
  virtual ~Store() = default;

  virtual StatusOr<StoreSnapshot> Load() = 0;
  // Events of a job with seq > after_seq, in order, at most `limit`.
  virtual StatusOr<std::vector<EventRecord>> LoadEvents(int64_t job_id, int64_t after_seq, int64_t limit) = 0;
  // Trials of a job with trial_id > after_trial_id, in id order, at most
  // `limit` (0 = all).
  virtual StatusOr<std::vector<TrialRecord>> LoadTrials(int64_t job_id, int64_t after_trial_id, int64_t limit) = 0;
  // The highest event seq of a job, 0 if it has none.
  virtual StatusOr<int64_t> LastEventSeq(int64_t job_id) = 0;
  // Applies `batch` atomically; `done` runs once it is durable (or failed),
  // on a thread of the store's choosing. Batches commit in call order.
  virtual void Commit(WriteBatch batch, std::function<void(const Status&)> done) = 0;
  // Blocks until every batch committed so far is durable.
  virtual Status Sync() = 0;
  virtual StoreStats stats() const = 0;
  // Called with the duration of each durable commit and its batch count (for
  // metrics); may be called from the store's thread.
  using CommitObserver = std::function<void(double seconds, int batches)>;
  virtual void SetCommitObserver(CommitObserver observer) = 0;
};

// Opens a store from a URL-like spec: "memory", "sqlite:PATH" (a file,
// created with its schema if missing) or a PostgreSQL connection URI
// "postgresql://..." (the schema is created if missing).
StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& spec);
// Whether a store spec names a PostgreSQL database.
bool IsPostgresStore(const std::string& spec);

// Packs and unpacks a point as raw little-endian doubles.
std::string PackPoint(const std::vector<double>& point);
std::vector<double> UnpackPoint(const std::string& bytes);

}  // namespace kdnas
