// libFuzzer target: the stores. The input is a program of upserts (jobs,
// trials, log records, events, blobs with fuzzed keys and payloads) applied
// in fuzzed batches to an in-memory and an SQLite store; both must accept
// everything and load back the same snapshot.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <future>
#include <string>
#include <unistd.h>

#include "server/store/memory_store.h"
#include "server/store/sqlite_store.h"

namespace {

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  int64_t Small() { return Byte() % 8; }
  std::string Bytes() {
    size_t n = Byte() % 32;
    std::string s;
    while (n-- > 0 && !done()) s += static_cast<char>(Byte());
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

bool Same(const kdnas::StoreSnapshot& a, const kdnas::StoreSnapshot& b) {
  if (a.jobs.size() != b.jobs.size() || a.trials.size() != b.trials.size() || a.log.size() != b.log.size() ||
      a.blobs.size() != b.blobs.size()) {
    return false;
  }
  for (size_t i = 0; i < a.jobs.size(); ++i) {
    if (a.jobs[i].id != b.jobs[i].id || a.jobs[i].job != b.jobs[i].job) return false;
  }
  for (size_t i = 0; i < a.trials.size(); ++i) {
    if (a.trials[i].trial != b.trials[i].trial || a.trials[i].point != b.trials[i].point ||
        a.trials[i].lease_deadline_ms != b.trials[i].lease_deadline_ms) {
      return false;
    }
  }
  for (size_t i = 0; i < a.blobs.size(); ++i) {
    if (a.blobs[i].name != b.blobs[i].name || a.blobs[i].blob != b.blobs[i].blob) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("kdnas-fuzz-store-" + std::to_string(getpid()) + ".db")).string();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  kdnas::MemoryStore memory;
  auto sqlite = kdnas::SqliteStore::Open(path, kdnas::SqliteStore::Options{false, 64});
  if (!sqlite.ok()) __builtin_trap();
  Reader in(data, size);
  while (!in.done()) {
    kdnas::WriteBatch batch;
    for (int n = in.Byte() % 6; n > 0 && !in.done(); --n) {
      switch (in.Byte() % 5) {
        case 0: batch.jobs.push_back({in.Small(), in.Bytes(), in.Bytes()}); break;
        case 1:
          batch.trials.push_back({in.Small(), in.Small(), in.Bytes(), in.Bytes(), in.Bytes(), in.Small(), in.Bytes()});
          break;
        case 2:
          batch.log.push_back({in.Small(), in.Small(), static_cast<kdnas::SearchLogRecord::Kind>(in.Byte() % 2),
                               in.Small()});
          break;
        case 3: batch.events.push_back({in.Small(), in.Small(), in.Bytes()}); break;
        default: batch.blobs.push_back({in.Bytes(), in.Bytes()}); break;
      }
    }
    kdnas::WriteBatch copy = batch;
    std::promise<kdnas::Status> a, b;
    memory.Commit(std::move(batch), [&](const kdnas::Status& s) { a.set_value(s); });
    (*sqlite)->Commit(std::move(copy), [&](const kdnas::Status& s) { b.set_value(s); });
    if (!a.get_future().get().ok() || !b.get_future().get().ok()) __builtin_trap();
  }
  auto x = memory.Load();
  auto y = (*sqlite)->Load();
  if (!x.ok() || !y.ok() || !Same(*x, *y)) __builtin_trap();
  return 0;
}
