// The teacher-output cache: the teacher's log-probabilities for training
// windows, computed once and shared by every trial of a job (all trials of a
// job draw the same batches from the same data seed, so from the second trial
// on the teacher's forward pass is skipped). Small vocabularies keep the exact
// full log-probabilities in fp16 (2 V bytes per token); large ones keep the
// top-k log-probabilities and the log of the remaining mass.
//
// One cache belongs to one (teacher, token stream) pair; it checks the stream
// with a fingerprint. Entries are keyed by (window start, context length).
// Thread-safe.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "evaluator/teacher_targets.h"
#include "search/job_defaults.h"
#include "search/status.h"

namespace kdnas {

struct TeacherCacheOptions {
  // Vocabularies up to this size are cached in full.
  int64_t full_vocab_limit = defaults::kFullVocabLimit;
  // Entries kept per token for larger vocabularies.
  int top_k = defaults::kTopK;
  // Stop adding entries beyond this many bytes (later misses are computed
  // without caching).
  int64_t max_bytes = int64_t{4} << 30;
};

// One window's teacher outputs as kept (in the cache and in teacher-pass
// shards): full log-probabilities fp16 [T, V] in `a`, or the top-k token ids
// [T, k] in `a` (16 bits for vocabularies up to 65,536, stored as int16 and
// read back modulo 2^16; int32 above) and their log-probabilities with the
// log of the remaining mass last, fp16 [T, k + 1], in `b`.
struct EncodedTargets {
  torch::Tensor a, b;
  int64_t bytes() const {
    return a.numel() * a.element_size() + (b.defined() ? b.numel() * b.element_size() : 0);
  }
};
EncodedTargets EncodeTargets(const torch::Tensor& logprobs_row, bool full, int top_k);
// The dtype of the top-k ids of a vocabulary.
torch::ScalarType TopKIdType(int64_t vocab_size);
// The targets of a batch of windows (float log-probabilities, int64 ids).
TeacherTargets DecodeTargets(const std::vector<const EncodedTargets*>& windows, bool full);

class TeacherCache {
 public:
  // Teacher logits [B, T, V] of windows x [B, T].
  using LogitsFn = std::function<StatusOr<torch::Tensor>(const torch::Tensor& x)>;

  TeacherCache(int64_t vocab_size, TeacherCacheOptions options = {});

  // Targets for the windows x [B, T] starting at `starts` of `tokens`;
  // computes the missing windows in one teacher call.
  StatusOr<TeacherTargets> Get(const torch::Tensor& tokens, const std::vector<int64_t>& starts,
                               const torch::Tensor& x, const LogitsFn& teacher);

  bool full_vocabulary() const { return full_; }
  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }
  int64_t bytes() const { return bytes_; }
  int64_t entries() const;

 private:
  using Entry = EncodedTargets;

  const int64_t vocab_size_;
  const TeacherCacheOptions options_;
  const bool full_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Entry> entries_;
  int64_t fingerprint_ = -1;
  int64_t hits_ = 0, misses_ = 0, bytes_ = 0;
};

// Loss = alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE.
// The KD term is skipped when alpha == 0 (targets may be empty then).
// Writes the mean KD and CE terms to *kd / *ce when given.
torch::Tensor DistillationLoss(const torch::Tensor& student_logits, const torch::Tensor& targets,
                               const TeacherTargets& teacher, double temperature, double alpha,
                               double* kd = nullptr, double* ce = nullptr);

}  // namespace kdnas
