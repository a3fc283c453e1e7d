// Leader election among controllers that share one PostgreSQL store: the
// leader holds a session-level advisory lock on a dedicated connection.
// PostgreSQL releases it when that session ends (the process died or lost
// its connection), and a standby's TryAcquire then succeeds. A leader that
// no longer holds the lock must stop serving at once (see Held). Logs
// "standby" (first failed try), "leader elected" and "leader lost".
#pragma once

#include <memory>
#include <string>

#include "search/status.h"

namespace kdnas {

class PostgresLeaderLock {
 public:
  static StatusOr<std::unique_ptr<PostgresLeaderLock>> Open(const std::string& uri);
  ~PostgresLeaderLock();

  // Takes the lock if it is free; true if this process holds it now.
  bool TryAcquire();
  // Whether this session still holds the lock (false if the connection
  // broke: a new session would not hold it).
  bool Held();

 private:
  explicit PostgresLeaderLock(std::string uri);
  struct Session;  // the lock's connection (libpqxx stays in the .cc)
  std::string uri_;
  std::unique_ptr<Session> session_;
  bool held_ = false;
  bool standby_logged_ = false;
};

}  // namespace kdnas
