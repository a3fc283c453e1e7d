// A shard of a job's teacher pass: the teacher's outputs for the training
// windows of a range of optimizer steps, computed once by one worker,
// uploaded to the controller and read from disk by every trial of the job
// (and of later jobs with the same teacher, corpus and windows). The windows
// of step s are BatchStarts(data_seed, s, batch_size, train tokens, window):
// the ones Train draws, so a trial reads its step's targets instead of
// running the teacher. A held-out shard holds the teacher's outputs on the
// held-out windows of one context length instead (EvalStarts over the
// validation tokens, as one step 0 of all its windows): what a trial's
// validation metrics compare the student with. Layout (little-endian,
// docs/teacher-pass.md):
//
//   "KDNASTS1" ("KDNASTH1" held-out), then int64 vocab, full (0/1), top_k,
//   batch_size, window, data_seed, first_step, steps; then per step the
//   batch_size window starts (int64) and each window's EncodedTargets (a's
//   bytes, then b's; the ids' width follows the vocabulary, TopKIdType).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "search/status.h"
#include "workers/corpus.h"
#include "workers/teacher_cache.h"

namespace kdnas {

struct TeacherShardSpec {
  uint64_t data_seed = 0;
  int batch_size = 0;
  int window = 0;  // tokens per window: the job's window_length
  int64_t first_step = 0;
  int64_t steps = 0;
  int64_t vocab_size = 0;
  TeacherCacheOptions cache;  // full_vocab_limit and top_k
  // The held-out windows of `window` tokens (batch_size of them, one step).
  bool held_out = false;
  bool full() const { return vocab_size <= cache.full_vocab_limit; }
};

// Runs the teacher over the shard's windows and writes the shard to `path`
// (atomically). `progress` gets the steps done so far and returns true to
// stop: then CANCELLED and nothing is written.
Status WriteTeacherShard(const TeacherShardSpec& spec, const Corpus& corpus,
                         const TeacherCache::LogitsFn& teacher, const std::string& path,
                         const std::function<bool(int64_t steps_done)>& progress);

// Runs the teacher over the held-out windows of `context` tokens that
// JobResources::Eval uses (EvalStarts(validation tokens, context,
// eval_tokens)) and writes them as a held-out shard to `path`; `progress` as
// above (0 until done).
Status WriteHeldOutTeacherShard(int context, int64_t eval_tokens, int64_t vocab_size,
                                const TeacherCacheOptions& cache, const Corpus& corpus,
                                const TeacherCache::LogitsFn& teacher, const std::string& path,
                                const std::function<bool(int64_t steps_done)>& progress);

// One shard file, read on demand (nothing is held in memory but the
// header). Thread-safe.
class TeacherShard {
 public:
  static StatusOr<std::shared_ptr<TeacherShard>> Open(const std::string& path);
  ~TeacherShard();

  const TeacherShardSpec& spec() const { return spec_; }
  int64_t file_bytes() const { return file_bytes_; }
  // The targets of step `step`'s windows, which must start at `starts`
  // (FAILED_PRECONDITION otherwise: the shard is of other batches).
  StatusOr<TeacherTargets> Targets(int64_t step, const std::vector<int64_t>& starts) const;

 private:
  TeacherShard() = default;
  int64_t WindowBytes() const;
  std::string path_;
  int fd_ = -1;
  TeacherShardSpec spec_;
  int64_t file_bytes_ = 0;
};

// The shards of one teacher pass, by step.
class TeacherShardSet {
 public:
  // Adds a training shard; it must agree with the others (batch size,
  // window, seed, vocabulary, encoding) and not overlap them.
  Status Add(std::shared_ptr<TeacherShard> shard);
  bool Covers(int64_t step) const;
  StatusOr<TeacherTargets> Targets(int64_t step, const std::vector<int64_t>& starts) const;
  int64_t bytes() const;
  int64_t steps() const;
  bool empty() const { return shards_.empty(); }

 private:
  const TeacherShard* Find(int64_t step) const;
  std::vector<std::shared_ptr<TeacherShard>> shards_;  // by first_step
};

}  // namespace kdnas
