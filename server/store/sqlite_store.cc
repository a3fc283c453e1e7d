#include "server/store/sqlite_store.h"


namespace kdnas {
namespace {

// Each entry moves the schema from version i to i + 1.
const char* const kMigrations[] = {
    // 1: the initial schema.
    "CREATE TABLE jobs(id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, job BLOB NOT NULL);"
    "CREATE INDEX jobs_request ON jobs(request_id);"
    "CREATE TABLE trials(job_id INTEGER NOT NULL, trial_id INTEGER NOT NULL, trial BLOB NOT NULL,"
    "  point BLOB NOT NULL, lease_token TEXT NOT NULL, lease_deadline_ms INTEGER NOT NULL,"
    "  report BLOB NOT NULL, PRIMARY KEY(job_id, trial_id)) WITHOUT ROWID;"
    "CREATE TABLE search_log(job_id INTEGER NOT NULL, seq INTEGER NOT NULL, kind INTEGER NOT NULL,"
    "  value INTEGER NOT NULL, PRIMARY KEY(job_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE events(job_id INTEGER NOT NULL, seq INTEGER NOT NULL, event BLOB NOT NULL,"
    "  PRIMARY KEY(job_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE blobs(name TEXT PRIMARY KEY, blob BLOB NOT NULL);",
};

Status SqlError(sqlite3* db, const std::string& what) {
  return Internal(what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "no database"));
}

Status Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    return Internal("sqlite: " + message + " in: " + sql.substr(0, 80));
  }
  return Status::Ok();
}

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) { ok_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) == SQLITE_OK; }
  ~Statement() { sqlite3_finalize(stmt_); }
  bool ok() const { return ok_; }
  sqlite3_stmt* get() { return stmt_; }
  void BindBlob(int i, const std::string& s) { sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  void BindText(int i, const std::string& s) { sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  void BindInt(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  // Steps a write; resets for reuse.
  Status Run() {
    int rc = sqlite3_step(stmt_);
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return rc == SQLITE_DONE ? Status::Ok() : SqlError(db_, "sqlite write");
  }
  std::string Blob(int col) {
    const void* p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p != nullptr ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool ok_ = false;
};

Status Configure(sqlite3* db, bool synchronous_full) {
  sqlite3_busy_timeout(db, 5000);
  KDNAS_RETURN_IF_ERROR(Exec(db, "PRAGMA journal_mode=WAL;"));
  KDNAS_RETURN_IF_ERROR(Exec(db, synchronous_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;"));
  return Exec(db, "PRAGMA foreign_keys=OFF;");
}

}  // namespace

int SqliteStore::LatestSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, const Options& options) {
  std::unique_ptr<SqliteStore> store(new SqliteStore());
  store->options_ = options;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &store->db_, flags, nullptr) != SQLITE_OK) {
    return Unavailable("cannot open the store " + path + ": " + sqlite3_errmsg(store->db_));
  }
  KDNAS_RETURN_IF_ERROR(Configure(store->db_, options.synchronous_full));
  KDNAS_RETURN_IF_ERROR(store->Migrate());
  if (sqlite3_open_v2(path.c_str(), &store->reader_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    return Unavailable("cannot open the store " + path + " for reading: " + sqlite3_errmsg(store->reader_));
  }
  sqlite3_busy_timeout(store->reader_, 5000);
  store->writes_ = std::make_unique<Writes>(store->db_);
  store->StartCommitter(
      options.max_batches_per_commit,
      [s = store.get()](const std::vector<const WriteBatch*>& group) { return s->WriteGroup(group); });
  return store;
}

SqliteStore::~SqliteStore() {
  StopCommitter();
  writes_.reset();
  sqlite3_close(reader_);
  sqlite3_close(db_);
}

Status SqliteStore::Migrate() {
  KDNAS_RETURN_IF_ERROR(Exec(db_, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);"));
  {
    Statement q(db_, "SELECT version FROM schema_version LIMIT 1;");
    if (!q.ok()) return SqlError(db_, "schema_version");
    schema_version_ = sqlite3_step(q.get()) == SQLITE_ROW ? static_cast<int>(q.Int(0)) : 0;
  }
  if (schema_version_ > LatestSchemaVersion()) {
    return FailedPrecondition("the store has schema version " + std::to_string(schema_version_) +
                              ", newer than this controller's " + std::to_string(LatestSchemaVersion()) +
                              "; upgrade kdnas-controller");
  }
  while (schema_version_ < LatestSchemaVersion()) {
    KDNAS_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE;"));
    Status s = Exec(db_, kMigrations[schema_version_]);
    if (s.ok()) {
      s = Exec(db_, "DELETE FROM schema_version; INSERT INTO schema_version VALUES(" +
                        std::to_string(schema_version_ + 1) + ");");
    }
    if (!s.ok()) {
      (void)Exec(db_, "ROLLBACK;");
      return Internal("migration to schema version " + std::to_string(schema_version_ + 1) + " failed: " + s.message());
    }
    KDNAS_RETURN_IF_ERROR(Exec(db_, "COMMIT;"));
    ++schema_version_;
  }
  return Status::Ok();
}

StatusOr<StoreSnapshot> SqliteStore::Load() {
  KDNAS_RETURN_IF_ERROR(Sync());
  std::lock_guard<std::mutex> lock(read_mu_);
  StoreSnapshot s;
  {
    Statement q(reader_, "SELECT id, request_id, job FROM jobs ORDER BY id;");
    while (sqlite3_step(q.get()) == SQLITE_ROW) s.jobs.push_back({q.Int(0), q.Blob(1), q.Blob(2)});
  }
  {
    Statement q(reader_,
                "SELECT job_id, trial_id, trial, point, lease_token, lease_deadline_ms, report FROM trials "
                "ORDER BY job_id, trial_id;");
    while (sqlite3_step(q.get()) == SQLITE_ROW) {
      s.trials.push_back({q.Int(0), q.Int(1), q.Blob(2), q.Blob(3), q.Blob(4), q.Int(5), q.Blob(6)});
    }
  }
  {
    Statement q(reader_, "SELECT job_id, seq, kind, value FROM search_log ORDER BY job_id, seq;");
    while (sqlite3_step(q.get()) == SQLITE_ROW) {
      s.log.push_back({q.Int(0), q.Int(1), static_cast<SearchLogRecord::Kind>(q.Int(2)), q.Int(3)});
    }
  }
  {
    Statement q(reader_, "SELECT name, blob FROM blobs ORDER BY name;");
    while (sqlite3_step(q.get()) == SQLITE_ROW) s.blobs.push_back({q.Blob(0), q.Blob(1)});
  }
  return s;
}

StatusOr<std::vector<EventRecord>> SqliteStore::LoadEvents(int64_t job_id, int64_t after_seq, int64_t limit) {
  std::lock_guard<std::mutex> lock(read_mu_);
  Statement q(reader_, "SELECT seq, event FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?;");
  if (!q.ok()) return SqlError(reader_, "events");
  q.BindInt(1, job_id);
  q.BindInt(2, after_seq);
  q.BindInt(3, limit);
  std::vector<EventRecord> out;
  while (sqlite3_step(q.get()) == SQLITE_ROW) out.push_back({job_id, q.Int(0), q.Blob(1)});
  return out;
}

StatusOr<std::vector<TrialRecord>> SqliteStore::LoadTrials(int64_t job_id, int64_t after_trial_id, int64_t limit) {
  std::lock_guard<std::mutex> lock(read_mu_);
  Statement q(reader_,
              "SELECT trial_id, trial, point, lease_token, lease_deadline_ms, report FROM trials "
              "WHERE job_id = ? AND trial_id > ? ORDER BY trial_id LIMIT ?;");
  if (!q.ok()) return SqlError(reader_, "trials");
  q.BindInt(1, job_id);
  q.BindInt(2, after_trial_id);
  q.BindInt(3, limit > 0 ? limit : -1);
  std::vector<TrialRecord> out;
  while (sqlite3_step(q.get()) == SQLITE_ROW) {
    out.push_back({job_id, q.Int(0), q.Blob(1), q.Blob(2), q.Blob(3), q.Int(4), q.Blob(5)});
  }
  return out;
}

StatusOr<int64_t> SqliteStore::LastEventSeq(int64_t job_id) {
  std::lock_guard<std::mutex> lock(read_mu_);
  Statement q(reader_, "SELECT COALESCE(MAX(seq), 0) FROM events WHERE job_id = ?;");
  if (!q.ok()) return SqlError(reader_, "events");
  q.BindInt(1, job_id);
  if (sqlite3_step(q.get()) != SQLITE_ROW) return SqlError(reader_, "events");
  return q.Int(0);
}

// Statements of the writer thread, prepared once.
struct SqliteStore::Writes {
  explicit Writes(sqlite3* db)
      : job(db, "INSERT OR REPLACE INTO jobs(id, request_id, job) VALUES(?, ?, ?);"),
        trial(db,
              "INSERT OR REPLACE INTO trials(job_id, trial_id, trial, point, lease_token, lease_deadline_ms, report) "
              "VALUES(?, ?, ?, ?, ?, ?, ?);"),
        log(db, "INSERT OR REPLACE INTO search_log(job_id, seq, kind, value) VALUES(?, ?, ?, ?);"),
        event(db, "INSERT OR REPLACE INTO events(job_id, seq, event) VALUES(?, ?, ?);"),
        blob(db, "INSERT OR REPLACE INTO blobs(name, blob) VALUES(?, ?);") {}
  Statement job, trial, log, event, blob;
};

Status SqliteStore::Apply(const WriteBatch& batch) {
  Writes& w = *writes_;
  for (const auto& r : batch.jobs) {
    w.job.BindInt(1, r.id);
    w.job.BindText(2, r.request_id);
    w.job.BindBlob(3, r.job);
    KDNAS_RETURN_IF_ERROR(w.job.Run());
  }
  for (const auto& r : batch.trials) {
    w.trial.BindInt(1, r.job_id);
    w.trial.BindInt(2, r.trial_id);
    w.trial.BindBlob(3, r.trial);
    w.trial.BindBlob(4, r.point);
    w.trial.BindText(5, r.lease_token);
    w.trial.BindInt(6, r.lease_deadline_ms);
    w.trial.BindBlob(7, r.report);
    KDNAS_RETURN_IF_ERROR(w.trial.Run());
  }
  for (const auto& r : batch.log) {
    w.log.BindInt(1, r.job_id);
    w.log.BindInt(2, r.seq);
    w.log.BindInt(3, r.kind);
    w.log.BindInt(4, r.value);
    KDNAS_RETURN_IF_ERROR(w.log.Run());
  }
  for (const auto& r : batch.events) {
    w.event.BindInt(1, r.job_id);
    w.event.BindInt(2, r.seq);
    w.event.BindBlob(3, r.event);
    KDNAS_RETURN_IF_ERROR(w.event.Run());
  }
  for (const auto& r : batch.blobs) {
    w.blob.BindText(1, r.name);
    w.blob.BindBlob(2, r.blob);
    KDNAS_RETURN_IF_ERROR(w.blob.Run());
  }
  return Status::Ok();
}

Status SqliteStore::WriteGroup(const std::vector<const WriteBatch*>& group) {
  Status status = Exec(db_, "BEGIN IMMEDIATE;");
  for (const WriteBatch* batch : group) {
    if (!status.ok()) break;
    status = Apply(*batch);
  }
  status = status.ok() ? Exec(db_, "COMMIT;") : status;
  if (!status.ok()) (void)Exec(db_, "ROLLBACK;");
  return status;
}

}  // namespace kdnas
