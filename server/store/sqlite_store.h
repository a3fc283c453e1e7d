// The embedded Store: one SQLite file in WAL mode, written by a
// GroupCommitter (concurrent reports share one fsync).
// The schema is versioned; Open applies pending migrations.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <vector>

#include "server/store/group_commit.h"
#include "server/store/store.h"

namespace kdnas {

class SqliteStore : public GroupCommitStore {
 public:
  struct Options {
    // FULL: a commit survives power loss (fsync per group commit). NORMAL:
    // survives a process crash, not a power loss.
    bool synchronous_full = true;
    // Most batches folded into one transaction.
    int max_batches_per_commit = 4096;
  };

  static StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path, const Options& options);
  ~SqliteStore() override;

  StatusOr<StoreSnapshot> Load() override;
  StatusOr<std::vector<EventRecord>> LoadEvents(int64_t job_id, int64_t after_seq, int64_t limit) override;
  StatusOr<std::vector<TrialRecord>> LoadTrials(int64_t job_id, int64_t after_trial_id, int64_t limit) override;
  StatusOr<int64_t> LastEventSeq(int64_t job_id) override;

  // The schema version after migrations.
  static int LatestSchemaVersion();
  int schema_version() const { return schema_version_; }

 private:
  SqliteStore() = default;
  Status Migrate();
  Status Apply(const WriteBatch& batch);
  // One transaction of the group committer's writer thread.
  Status WriteGroup(const std::vector<const WriteBatch*>& group);

  struct Writes;
  std::unique_ptr<Writes> writes_;  // prepared statements of the writer thread
  sqlite3* db_ = nullptr;       // used by the writer thread
  sqlite3* reader_ = nullptr;   // a second connection for LoadEvents
  std::mutex read_mu_;
  Options options_;
  int schema_version_ = 0;
};

}  // namespace kdnas
