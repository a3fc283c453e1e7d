#include "server/store/postgres_store.h"

#include <cstdint>
#include <limits>
#include <pqxx/pqxx>
#include <string>

namespace kdnas {
namespace {

// Each entry moves the schema from version i to i + 1.
const char* const kMigrations[] = {
    // 1: the initial schema. Every byte string is BYTEA: keys and tokens
    // may hold any bytes, and BYTEA orders them as the other stores do.
    "CREATE TABLE jobs(id BIGINT PRIMARY KEY, request_id BYTEA NOT NULL, job BYTEA NOT NULL);"
    "CREATE INDEX jobs_request ON jobs(request_id);"
    "CREATE TABLE trials(job_id BIGINT NOT NULL, trial_id BIGINT NOT NULL, trial BYTEA NOT NULL,"
    "  point BYTEA NOT NULL, lease_token BYTEA NOT NULL, lease_deadline_ms BIGINT NOT NULL,"
    "  report BYTEA NOT NULL, PRIMARY KEY(job_id, trial_id));"
    "CREATE TABLE search_log(job_id BIGINT NOT NULL, seq BIGINT NOT NULL, kind INTEGER NOT NULL,"
    "  value BIGINT NOT NULL, PRIMARY KEY(job_id, seq));"
    "CREATE TABLE events(job_id BIGINT NOT NULL, seq BIGINT NOT NULL, event BYTEA NOT NULL,"
    "  PRIMARY KEY(job_id, seq));"
    "CREATE TABLE blobs(name BYTEA PRIMARY KEY, blob BYTEA NOT NULL);",
};

// Byte strings travel as hex text (decode(.., 'hex') / encode(.., 'hex')),
// which needs no binary-parameter support from the client library.
std::string Hex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 15];
  }
  return out;
}

std::string Unhex(const pqxx::field& f) {
  const char* s = f.c_str();
  const size_t n = f.size() / 2;
  auto digit = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<char>(digit(s[2 * i]) << 4 | digit(s[2 * i + 1]));
  return out;
}

int64_t Int(const pqxx::field& f) { return f.as<int64_t>(); }

// A trial row's columns after its job id, and the record they make.
constexpr char kTrialColumns[] =
    "trial_id, encode(trial, 'hex'), encode(point, 'hex'), encode(lease_token, 'hex'), "
    "lease_deadline_ms, encode(report, 'hex')";

TrialRecord TrialFromRow(int64_t job_id, const pqxx::row& r, int first) {
  auto col = [&](int i) { return r[first + i]; };
  return {job_id,        Int(col(0)), Unhex(col(1)), Unhex(col(2)),
          Unhex(col(3)), Int(col(4)), Unhex(col(5))};
}

Status Error(const std::string& what, const std::exception& e) {
  return Unavailable("postgres: " + what + ": " + e.what());
}

void PrepareWrites(pqxx::connection& c) {
  c.prepare(
      "job",
      "INSERT INTO jobs(id, request_id, job) VALUES($1, decode($2, 'hex'), decode($3, 'hex')) "
      "ON CONFLICT (id) DO UPDATE SET request_id = EXCLUDED.request_id, job = EXCLUDED.job");
  c.prepare(
      "trial",
      "INSERT INTO trials(job_id, trial_id, trial, point, lease_token, lease_deadline_ms, report) "
      "VALUES($1, $2, decode($3, 'hex'), decode($4, 'hex'), decode($5, 'hex'), $6, decode($7, "
      "'hex')) "
      "ON CONFLICT (job_id, trial_id) DO UPDATE SET trial = EXCLUDED.trial, point = "
      "EXCLUDED.point, "
      "lease_token = EXCLUDED.lease_token, lease_deadline_ms = EXCLUDED.lease_deadline_ms, "
      "report = EXCLUDED.report");
  c.prepare("log",
            "INSERT INTO search_log(job_id, seq, kind, value) VALUES($1, $2, $3, $4) "
            "ON CONFLICT (job_id, seq) DO UPDATE SET kind = EXCLUDED.kind, value = EXCLUDED.value");
  c.prepare("event",
            "INSERT INTO events(job_id, seq, event) VALUES($1, $2, decode($3, 'hex')) "
            "ON CONFLICT (job_id, seq) DO UPDATE SET event = EXCLUDED.event");
  c.prepare("blob",
            "INSERT INTO blobs(name, blob) VALUES(decode($1, 'hex'), decode($2, 'hex')) "
            "ON CONFLICT (name) DO UPDATE SET blob = EXCLUDED.blob");
}

}  // namespace

struct PostgresStore::Connections {
  explicit Connections(const std::string& uri) : writer(uri), reader(uri) {}
  pqxx::connection writer;
  pqxx::connection reader;
};

int PostgresStore::LatestSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& uri) {
  std::unique_ptr<PostgresStore> store(new PostgresStore());
  try {
    store->db_ = std::make_unique<Connections>(uri);
  } catch (const std::exception& e) {
    return Error("cannot connect to the store", e);
  }
  KDNAS_RETURN_IF_ERROR(store->Migrate());
  try {
    PrepareWrites(store->db_->writer);
  } catch (const std::exception& e) {
    return Error("prepare", e);
  }
  store->StartCommitter(4096, [s = store.get()](const std::vector<const WriteBatch*>& group) {
    return s->WriteGroup(group);
  });
  return store;
}

PostgresStore::~PostgresStore() { StopCommitter(); }

Status PostgresStore::Migrate() {
  try {
    pqxx::work txn(db_->writer);
    // One controller migrates at a time (a transaction-scoped advisory lock).
    txn.exec("SELECT pg_advisory_xact_lock(4202611)");
    txn.exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
    pqxx::result r = txn.exec("SELECT version FROM schema_version LIMIT 1");
    int version = r.empty() ? 0 : r[0][0].as<int>();
    if (version > LatestSchemaVersion()) {
      return FailedPrecondition("the store has schema version " + std::to_string(version) +
                                ", newer than this controller's " +
                                std::to_string(LatestSchemaVersion()) +
                                "; upgrade kdnas-controller");
    }
    for (; version < LatestSchemaVersion(); ++version) txn.exec(kMigrations[version]);
    txn.exec("DELETE FROM schema_version");
    txn.exec("INSERT INTO schema_version VALUES(" + std::to_string(version) + ")");
    txn.commit();
  } catch (const std::exception& e) {
    return Error("migration", e);
  }
  return Status::Ok();
}

template <typename T, typename ReadFn>
StatusOr<T> PostgresStore::Read(const char* what, ReadFn read) {
  std::lock_guard<std::mutex> lock(read_mu_);
  try {
    pqxx::read_transaction txn(db_->reader);
    return read(txn);
  } catch (const std::exception& e) {
    return Error(what, e);
  }
}

StatusOr<StoreSnapshot> PostgresStore::Load() {
  KDNAS_RETURN_IF_ERROR(Sync());
  return Read<StoreSnapshot>("load", [](pqxx::read_transaction& txn) {
    StoreSnapshot s;
    for (const auto& r : txn.exec(
             "SELECT id, encode(request_id, 'hex'), encode(job, 'hex') FROM jobs ORDER BY id")) {
      s.jobs.push_back({Int(r[0]), Unhex(r[1]), Unhex(r[2])});
    }
    for (const auto& r : txn.exec(std::string("SELECT job_id, ") + kTrialColumns +
                                  " FROM trials ORDER BY job_id, trial_id")) {
      s.trials.push_back(TrialFromRow(Int(r[0]), r, 1));
    }
    for (const auto& r :
         txn.exec("SELECT job_id, seq, kind, value FROM search_log ORDER BY job_id, seq")) {
      s.log.push_back(
          {Int(r[0]), Int(r[1]), static_cast<SearchLogRecord::Kind>(Int(r[2])), Int(r[3])});
    }
    for (const auto& r :
         txn.exec("SELECT encode(name, 'hex'), encode(blob, 'hex') FROM blobs ORDER BY name")) {
      s.blobs.push_back({Unhex(r[0]), Unhex(r[1])});
    }
    return s;
  });
}

StatusOr<std::vector<EventRecord>> PostgresStore::LoadEvents(int64_t job_id, int64_t after_seq,
                                                             int64_t limit) {
  return Read<std::vector<EventRecord>>("events", [&](pqxx::read_transaction& txn) {
    std::vector<EventRecord> out;
    for (const auto& r :
         txn.exec_params("SELECT seq, encode(event, 'hex') FROM events WHERE job_id = $1 AND "
                         "seq > $2 ORDER BY seq LIMIT $3",
                         job_id, after_seq, limit)) {
      out.push_back({job_id, Int(r[0]), Unhex(r[1])});
    }
    return out;
  });
}

StatusOr<std::vector<TrialRecord>> PostgresStore::LoadTrials(int64_t job_id, int64_t after_trial_id,
                                                             int64_t limit) {
  return Read<std::vector<TrialRecord>>("trials", [&](pqxx::read_transaction& txn) {
    std::vector<TrialRecord> out;
    for (const auto& r : txn.exec_params(std::string("SELECT ") + kTrialColumns +
                                             " FROM trials WHERE job_id = $1 AND trial_id > $2 "
                                             "ORDER BY trial_id LIMIT $3",
                                         job_id, after_trial_id,
                                         limit > 0 ? limit : std::numeric_limits<int64_t>::max())) {
      out.push_back(TrialFromRow(job_id, r, 0));
    }
    return out;
  });
}

StatusOr<int64_t> PostgresStore::LastEventSeq(int64_t job_id) {
  return Read<int64_t>("events", [&](pqxx::read_transaction& txn) {
    return Int(
        txn.exec_params1("SELECT COALESCE(MAX(seq), 0) FROM events WHERE job_id = $1", job_id)[0]);
  });
}

Status PostgresStore::WriteGroup(const std::vector<const WriteBatch*>& group) {
  try {
    pqxx::work txn(db_->writer);
    for (const WriteBatch* b : group) {
      for (const auto& r : b->jobs) txn.exec_prepared("job", r.id, Hex(r.request_id), Hex(r.job));
      for (const auto& r : b->trials) {
        txn.exec_prepared("trial", r.job_id, r.trial_id, Hex(r.trial), Hex(r.point),
                          Hex(r.lease_token), r.lease_deadline_ms, Hex(r.report));
      }
      for (const auto& r : b->log)
        txn.exec_prepared("log", r.job_id, r.seq, static_cast<int>(r.kind), r.value);
      for (const auto& r : b->events) txn.exec_prepared("event", r.job_id, r.seq, Hex(r.event));
      for (const auto& r : b->blobs) txn.exec_prepared("blob", Hex(r.name), Hex(r.blob));
    }
    txn.commit();
  } catch (const std::exception& e) {
    return Error("commit", e);
  }
  return Status::Ok();
}

}  // namespace kdnas
