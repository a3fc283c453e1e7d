// The training data of a trial: a UTF-8 corpus encoded with the job's
// tokenizer, split into train and validation tokens (the last
// validation_fraction, by tokens), with deterministic, counter-based batch
// sampling (batch `step` is a pure
// function of the seed and the step, so training resumes exactly and every
// trial of a job can see the same batches) and a fixed held-out eval set.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/job_tokenizer.h"
#include "search/status.h"
#include "search/tokenizer.h"

namespace kdnas {

struct CorpusOptions {
  TokenizerKind tokenizer_kind = TokenizerKind::kChar;  // when no tokenizer is given
  double validation_fraction = 0.1;                     // (0, 0.5]
};

class Corpus {
 public:
  // Reads and encodes `path`. With `tokenizer` (the teacher's), the text is
  // encoded with it and a symbol it cannot encode is an error (invalid UTF-8
  // with the byte offset, unless the tokenizer is byte-level); otherwise a
  // kdnas tokenizer of options.tokenizer_kind is built from the text.
  static StatusOr<Corpus> FromFile(const std::string& path, const JobTokenizer* tokenizer,
                                   const CorpusOptions& options = {});
  static StatusOr<Corpus> FromText(const std::string& text, const JobTokenizer* tokenizer,
                                   const CorpusOptions& options = {},
                                   const std::string& what = "data");

  const JobTokenizer& tokenizer() const { return tokenizer_; }
  // The id every window starts with (the teacher's tokenizer adds it to each
  // sequence), or none. Pass it to MakeBatch.
  std::optional<int32_t> bos() const { return tokenizer_.bos_to_add(); }
  // int64 1-D token ids.
  const torch::Tensor& train_tokens() const { return train_; }
  const torch::Tensor& val_tokens() const { return val_; }
  // INVALID_ARGUMENT when a split is too small for windows of `context` tokens.
  Status CheckContext(int context) const;

 private:
  explicit Corpus(JobTokenizer tokenizer) : tokenizer_(std::move(tokenizer)) {}
  JobTokenizer tokenizer_;
  torch::Tensor train_;
  torch::Tensor val_;
};

// One batch: inputs x [B, T] and next-token targets y [B, T] (int64).
struct Batch {
  torch::Tensor x;
  torch::Tensor y;
  std::vector<int64_t> starts;  // window start of each row
};

// Start offsets of the `batch_size` windows of step `step`: uniform in
// [0, num_tokens - context - 1], from an independent stream per window.
std::vector<int64_t> BatchStarts(uint64_t seed, int64_t step, int batch_size, int64_t num_tokens,
                                 int context);
// The windows at `starts`. Without `bos`, x is the `context` tokens from
// each start and y the same shifted by one. With `bos`, y is the `context`
// tokens from each start and x is BOS followed by y's first context - 1, so
// each window reads like the start of a sequence to a teacher whose
// tokenizer adds BOS.
Batch MakeBatch(const torch::Tensor& tokens, const std::vector<int64_t>& starts, int context,
                std::optional<int32_t> bos);

// A fixed held-out set: ceil(eval_tokens / context) windows spread evenly over
// `num_tokens` (at most as many as fit without overlap, and at least one).
std::vector<int64_t> EvalStarts(int64_t num_tokens, int context, int64_t eval_tokens);

}  // namespace kdnas
