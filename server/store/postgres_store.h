// The shared Store: a PostgreSQL database (libpqxx), selected with
// `--store postgresql://...`. Same schema and semantics as the SQLite store
// (one contract suite): byte strings are stored as BYTEA, records are
// upserts, and a GroupCommitter folds concurrent batches into one
// transaction, acknowledged once PostgreSQL has committed it.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/store/group_commit.h"
#include "server/store/store.h"

namespace kdnas {

class PostgresStore : public GroupCommitStore {
 public:
  // `uri`: a libpq connection URI, e.g. postgresql://user@host:5432/kdnas.
  static StatusOr<std::unique_ptr<PostgresStore>> Open(const std::string& uri);
  ~PostgresStore() override;

  StatusOr<StoreSnapshot> Load() override;
  StatusOr<std::vector<EventRecord>> LoadEvents(int64_t job_id, int64_t after_seq,
                                                int64_t limit) override;
  StatusOr<std::vector<TrialRecord>> LoadTrials(int64_t job_id, int64_t after_trial_id,
                                                int64_t limit) override;
  StatusOr<int64_t> LastEventSeq(int64_t job_id) override;

  static int LatestSchemaVersion();

 private:
  PostgresStore() = default;
  Status Migrate();
  Status WriteGroup(const std::vector<const WriteBatch*>& group);
  // Runs `read` in a read-only transaction on the reader connection; a
  // libpqxx error becomes an Unavailable status naming `what`.
  template <typename T, typename ReadFn>
  StatusOr<T> Read(const char* what, ReadFn read);

  struct Connections;                // libpqxx stays in the .cc
  std::unique_ptr<Connections> db_;  // writer: the committer's thread; reader: guarded by read_mu_
  std::mutex read_mu_;
};

}  // namespace kdnas
