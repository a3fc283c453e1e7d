// The teacher's outputs on a batch of windows, as training and evaluation
// use them: the full log-probabilities, or the top-k ones with the log of
// the remaining mass (workers/teacher_cache.h encodes and decodes them).
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace kdnas {

struct TeacherTargets {
  // Full: log-probabilities [B, T, V] (float).
  torch::Tensor logprobs;
  // Top-k: indices [B, T, k] (int64, most likely first), log-probabilities
  // [B, T, k] and the log of the remaining probability mass [B, T] (float).
  torch::Tensor topk_index, topk_logprobs, rest_logprob;
  bool full() const { return logprobs.defined(); }
  bool defined() const { return logprobs.defined() || topk_index.defined(); }
  // The targets of the first `length` positions of each window.
  TeacherTargets Prefix(int64_t length) const;
  // Windows [start, start + count).
  TeacherTargets Windows(int64_t start, int64_t count) const;
};

}  // namespace kdnas
