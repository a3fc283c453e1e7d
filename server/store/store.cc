#include "server/store/store.h"

#include <cstring>

#include "server/store/memory_store.h"
#include "server/store/postgres_store.h"
#include "server/store/sqlite_store.h"

namespace kdnas {

void WriteBatch::Append(WriteBatch&& other) {
  auto move_all = [](auto& to, auto& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  };
  move_all(jobs, other.jobs);
  move_all(trials, other.trials);
  move_all(log, other.log);
  move_all(events, other.events);
  move_all(blobs, other.blobs);
}

std::string PackPoint(const std::vector<double>& point) {
  std::string out(point.size() * sizeof(double), '\0');
  if (!point.empty()) std::memcpy(out.data(), point.data(), out.size());
  return out;
}

std::vector<double> UnpackPoint(const std::string& bytes) {
  std::vector<double> point(bytes.size() / sizeof(double));
  if (!point.empty()) std::memcpy(point.data(), bytes.data(), point.size() * sizeof(double));
  return point;
}

bool IsPostgresStore(const std::string& spec) {
  return spec.rfind("postgresql://", 0) == 0 || spec.rfind("postgres://", 0) == 0;
}

StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& spec) {
  if (spec == "memory") return std::unique_ptr<Store>(new MemoryStore());
  if (spec.rfind("sqlite:", 0) == 0) {
    KDNAS_ASSIGN_OR_RETURN(auto store, SqliteStore::Open(spec.substr(7), SqliteStore::Options()));
    return std::unique_ptr<Store>(std::move(store));
  }
  if (IsPostgresStore(spec)) {
    KDNAS_ASSIGN_OR_RETURN(auto store, PostgresStore::Open(spec));
    return std::unique_ptr<Store>(std::move(store));
  }
  return InvalidArgument("--store: unknown store \"" + spec +
                         "\" (use memory, sqlite:PATH or postgresql://USER@HOST:PORT/DATABASE)");
}

}  // namespace kdnas
