// One contract for every Store: the in-memory, the SQLite and the PostgreSQL
// store (against a real server started by the test) pass the same tests.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "server/store/memory_store.h"
#include "server/store/postgres_store.h"
#include "server/store/sqlite_store.h"
#include "tests/server/postgres_server.h"

namespace kdnas {
namespace {

class StoreFactory {
 public:
  virtual ~StoreFactory() = default;
  virtual std::unique_ptr<Store> Open() = 0;  // a fresh, empty store
  virtual std::unique_ptr<Store> Reopen() = 0;  // the same data, after a restart (or null if not durable)
};

class MemoryFactory : public StoreFactory {
 public:
  std::unique_ptr<Store> Open() override { return std::make_unique<MemoryStore>(); }
  std::unique_ptr<Store> Reopen() override { return nullptr; }
};

class SqliteFactory : public StoreFactory {
 public:
  SqliteFactory() {
    path_ = std::filesystem::temp_directory_path() / ("kdnas-store-" + std::to_string(::getpid()) + "-" +
                                                      std::to_string(counter_++) + ".db");
    std::filesystem::remove(path_);
  }
  ~SqliteFactory() override {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }
  std::unique_ptr<Store> Open() override { return Reopen(); }
  std::unique_ptr<Store> Reopen() override {
    auto s = SqliteStore::Open(path_.string(), SqliteStore::Options());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(*s);
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

// One PostgreSQL server for the whole test program; a database per factory.
testing::PostgresServer& Postgres() {
  static testing::PostgresServer server;  // stopped and deleted at exit
  return server;
}

class PostgresFactory : public StoreFactory {
 public:
  PostgresFactory() : uri_(Postgres().NewDatabase()) {}
  std::unique_ptr<Store> Open() override { return Reopen(); }
  std::unique_ptr<Store> Reopen() override {
    auto s = PostgresStore::Open(uri_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  const std::string& uri() const { return uri_; }

 private:
  std::string uri_;
};

template <typename F>
class StoreContract : public ::testing::Test {
 protected:
  F factory_;
};

using Factories = ::testing::Types<MemoryFactory, SqliteFactory, PostgresFactory>;
TYPED_TEST_SUITE(StoreContract, Factories);

Status CommitAndWait(Store& store, WriteBatch batch) {
  std::promise<Status> done;
  store.Commit(std::move(batch), [&](const Status& s) { done.set_value(s); });
  return done.get_future().get();
}

WriteBatch SampleBatch() {
  WriteBatch b;
  b.jobs.push_back({1, "req-1", "job-one"});
  b.jobs.push_back({2, "", "job-two"});
  b.trials.push_back({1, 1, "trial-1", PackPoint({1.5, 2}), "tok-a", 123, ""});
  b.trials.push_back({1, 2, "trial-2", PackPoint({}), "", 0, "report"});
  b.log.push_back({1, 1, SearchLogRecord::kPropose, 2});
  b.log.push_back({1, 2, SearchLogRecord::kComplete, 1});
  b.events.push_back({1, 1, "e1"});
  b.events.push_back({1, 2, "e2"});
  b.events.push_back({1, 3, "e3"});
  b.events.push_back({2, 1, "other"});
  b.blobs.push_back({"blobs/abc", "meta"});
  return b;
}

TYPED_TEST(StoreContract, StartsEmpty) {
  auto store = this->factory_.Open();
  auto snapshot = store->Load();
  ASSERT_TRUE(snapshot.ok());
  EXPECT_TRUE(snapshot->jobs.empty());
  EXPECT_TRUE(snapshot->trials.empty());
  EXPECT_TRUE(snapshot->log.empty());
  EXPECT_TRUE(snapshot->blobs.empty());
}

TYPED_TEST(StoreContract, LoadsWhatWasCommitted) {
  auto store = this->factory_.Open();
  ASSERT_TRUE(CommitAndWait(*store, SampleBatch()).ok());
  auto s = *store->Load();
  ASSERT_EQ(s.jobs.size(), 2u);
  EXPECT_EQ(s.jobs[0].request_id, "req-1");
  EXPECT_EQ(s.jobs[1].job, "job-two");
  ASSERT_EQ(s.trials.size(), 2u);
  EXPECT_EQ(s.trials[0].trial, "trial-1");
  EXPECT_EQ(UnpackPoint(s.trials[0].point), (std::vector<double>{1.5, 2}));
  EXPECT_EQ(s.trials[0].lease_token, "tok-a");
  EXPECT_EQ(s.trials[0].lease_deadline_ms, 123);
  EXPECT_EQ(s.trials[1].report, "report");
  ASSERT_EQ(s.log.size(), 2u);
  EXPECT_EQ(s.log[1].kind, SearchLogRecord::kComplete);
  EXPECT_EQ(s.log[1].value, 1);
  ASSERT_EQ(s.blobs.size(), 1u);
}

TYPED_TEST(StoreContract, LoadsTrialsOfAJobInPages) {
  auto store = this->factory_.Open();
  WriteBatch b;
  for (int64_t t = 1; t <= 5; ++t) b.trials.push_back({7, t, std::string("t") + std::to_string(t), "", "", 0, ""});
  b.trials.push_back({8, 1, "other job", "", "", 0, ""});
  ASSERT_TRUE(CommitAndWait(*store, b).ok());
  auto first = *store->LoadTrials(7, 0, 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].trial, "t1");
  auto rest = *store->LoadTrials(7, first.back().trial_id, 0);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest.back().trial, "t5");
  EXPECT_TRUE(store->LoadTrials(9, 0, 0)->empty());
}

TYPED_TEST(StoreContract, UpsertsReplace) {
  auto store = this->factory_.Open();
  ASSERT_TRUE(CommitAndWait(*store, SampleBatch()).ok());
  WriteBatch update;
  update.trials.push_back({1, 1, "trial-1-v2", PackPoint({1.5, 2}), "tok-b", 456, "r"});
  ASSERT_TRUE(CommitAndWait(*store, update).ok());
  auto s = *store->Load();
  ASSERT_EQ(s.trials.size(), 2u);
  EXPECT_EQ(s.trials[0].trial, "trial-1-v2");
  EXPECT_EQ(s.trials[0].lease_token, "tok-b");
}

TYPED_TEST(StoreContract, EventsResumeAfterASequence) {
  auto store = this->factory_.Open();
  ASSERT_TRUE(CommitAndWait(*store, SampleBatch()).ok());
  auto all = *store->LoadEvents(1, 0, 100);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].event, "e1");
  auto after = *store->LoadEvents(1, 1, 1);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].seq, 2);
  EXPECT_TRUE(store->LoadEvents(3, 0, 10)->empty());
  EXPECT_EQ(*store->LastEventSeq(1), 3);
  EXPECT_EQ(*store->LastEventSeq(2), 1);
  EXPECT_EQ(*store->LastEventSeq(3), 0);
}

TYPED_TEST(StoreContract, ConcurrentCommitsAllLandInOrderPerWriter) {
  auto store = this->factory_.Open();
  constexpr int kThreads = 8, kPerThread = 200;
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        WriteBatch b;
        b.log.push_back({t, i, SearchLogRecord::kPropose, i});
        std::promise<void> done;
        store->Commit(std::move(b), [&](const Status& s) {
          EXPECT_TRUE(s.ok());
          acknowledged++;
          done.set_value();
        });
        done.get_future().wait();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(acknowledged.load(), kThreads * kPerThread);
  auto s = *store->Load();
  EXPECT_EQ(s.log.size(), static_cast<size_t>(kThreads * kPerThread));
  StoreStats stats = store->stats();
  EXPECT_EQ(stats.batches, kThreads * kPerThread);
  EXPECT_LE(stats.commits, stats.batches);
}

TYPED_TEST(StoreContract, SurvivesARestart) {
  auto store = this->factory_.Open();
  ASSERT_TRUE(CommitAndWait(*store, SampleBatch()).ok());
  store.reset();
  auto reopened = this->factory_.Reopen();
  if (!reopened) GTEST_SKIP() << "not a durable store";
  auto s = *reopened->Load();
  EXPECT_EQ(s.jobs.size(), 2u);
  EXPECT_EQ(s.trials.size(), 2u);
  EXPECT_EQ(reopened->LoadEvents(1, 0, 10)->size(), 3u);
}

TEST(SqliteStore, GroupCommitSharesTransactions) {
  SqliteFactory factory;
  auto store = factory.Open();
  constexpr int kBatches = 2000;
  std::atomic<int> done{0};
  for (int i = 0; i < kBatches; ++i) {
    WriteBatch b;
    b.events.push_back({1, i + 1, "e"});
    store->Commit(std::move(b), [&](const Status&) { done++; });
  }
  ASSERT_TRUE(store->Sync().ok());
  EXPECT_EQ(done.load(), kBatches);
  EXPECT_LT(store->stats().commits, kBatches / 4) << "commits were not grouped";
}

TEST(SqliteStore, RefusesANewerSchema) {
  auto path = std::filesystem::temp_directory_path() / ("kdnas-newer-" + std::to_string(::getpid()) + ".db");
  {
    auto store = *SqliteStore::Open(path.string(), SqliteStore::Options());
    EXPECT_EQ(store->schema_version(), SqliteStore::LatestSchemaVersion());
  }
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "UPDATE schema_version SET version = 999;", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto newer = SqliteStore::Open(path.string(), SqliteStore::Options());
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.status().message().find("newer than this controller"), std::string::npos);
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}

TEST(PostgresStore, AcknowledgedCommitsSurviveAServerCrash) {
  PostgresFactory factory;
  auto store = factory.Open();
  ASSERT_NE(store, nullptr);
  constexpr int kBatches = 200;
  std::atomic<int> acknowledged{0};
  for (int i = 1; i <= kBatches; ++i) {
    WriteBatch b;
    b.log.push_back({7, i, SearchLogRecord::kPropose, i});
    store->Commit(std::move(b), [&](const Status& s) {
      if (s.ok()) ++acknowledged;
    });
  }
  ASSERT_TRUE(store->Sync().ok());
  ASSERT_EQ(acknowledged.load(), kBatches);
  store.reset();
  Postgres().Stop("immediate");  // no shutdown checkpoint: recovery replays the WAL
  Postgres().Start();
  auto reopened = factory.Reopen();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->Load()->log.size(), static_cast<size_t>(kBatches));
}

TEST(PostgresStore, AnUnreachableServerIsAClearError) {
  auto s = PostgresStore::Open("postgresql://kdnas@127.0.0.1:1/none?connect_timeout=2");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("cannot connect to the store"), std::string::npos) << s.status().message();
}

}  // namespace
}  // namespace kdnas
