#include "server/store/postgres_leader.h"

#include <pqxx/pqxx>

#include "log/log.h"

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
  bool acquired = false;
  try {
    if (!session_) session_ = std::make_unique<Session>(uri_);
    pqxx::nontransaction txn(session_->conn);
    acquired = txn.exec_params1("SELECT pg_try_advisory_lock($1)", kLeaderLockKey)[0].as<bool>();
  } catch (const std::exception& e) {
    LogDebug("leader lock: cannot reach the store", {{"reason", e.what()}});
    session_.reset();  // reconnect on the next try
  }
  if (acquired && !held_) LogInfo("leader elected: this controller leads the store");
  if (!acquired && !standby_logged_) {
    LogInfo("standby: another controller leads the store; waiting for its lock");
    standby_logged_ = true;
  }
  held_ = held_ || acquired;
  return acquired;
}

bool PostgresLeaderLock::Held() {
  std::string lost = "no session";
  try {
    if (session_) {
      pqxx::nontransaction txn(session_->conn);
      // Asks for this session's lock explicitly: a connection that was
      // silently re-established would answer, but not hold it.
      if (txn.exec_params1(
                 "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                 "pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = $1",
                 kLeaderLockKey)[0]
              .as<int64_t>() > 0)
        return true;
      lost = "the session no longer holds the lock";
    }
  } catch (const std::exception& e) {
    lost = e.what();
  }
  if (held_) LogError("leader lost", {{"reason", lost}});
  held_ = false;
  return false;
}

}  // namespace kdnas
