#include "server/store/postgres_leader.h"

#include <pqxx/pqxx>

namespace kdnas {
namespace {

constexpr int64_t kLeaderLockKey = 4202613;  // any constant; advisory locks are per database

}  // namespace

struct PostgresLeaderLock::Session {
  explicit Session(const std::string& uri) : conn(uri) {}
  pqxx::connection conn;
};

PostgresLeaderLock::PostgresLeaderLock(std::string uri) : uri_(std::move(uri)) {}

StatusOr<std::unique_ptr<PostgresLeaderLock>> PostgresLeaderLock::Open(const std::string& uri) {
  std::unique_ptr<PostgresLeaderLock> lock(new PostgresLeaderLock(uri));
  try {
    lock->session_ = std::make_unique<Session>(uri);
  } catch (const std::exception& e) {
    return Unavailable(std::string("postgres: cannot connect for the leader lock: ") + e.what());
  }
  return lock;
}

PostgresLeaderLock::~PostgresLeaderLock() = default;

bool PostgresLeaderLock::TryAcquire() {
  try {
    if (!session_) session_ = std::make_unique<Session>(uri_);
    pqxx::nontransaction txn(session_->conn);
    return txn.exec_params1("SELECT pg_try_advisory_lock($1)", kLeaderLockKey)[0].as<bool>();
  } catch (const std::exception&) {
    session_.reset();  // reconnect on the next try
    return false;
  }
}

bool PostgresLeaderLock::Held() {
  try {
    if (!session_) return false;
    pqxx::nontransaction txn(session_->conn);
    // Asks for this session's lock explicitly: a connection that was
    // silently re-established would answer, but not hold it.
    return txn.exec_params1(
                  "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                  "pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = $1",
                  kLeaderLockKey)[0]
               .as<int64_t>() > 0;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace kdnas
