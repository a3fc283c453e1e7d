// The analytic cost model: parameters, FLOPs and the exact artifact size of a
// candidate, computed before any training, and the constraints checked
// against them (docs/artifact-format.md defines every figure).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "search/candidate.h"
#include "search/status.h"

namespace kdnas {

// What the cost model needs to know about the job's data.
struct ModelContext {
  ModelContext() = default;
  ModelContext(int64_t vocab, int64_t tokenizer,
               std::function<int64_t(const Candidate&)> gguf_bytes = nullptr)
      : vocab_size(vocab), tokenizer_bytes(tokenizer), gguf_file_bytes(std::move(gguf_bytes)) {}

  int64_t vocab_size = 0;
  int64_t tokenizer_bytes = 0;  // serialized tokenizer (search/tokenizer.h)
  // The exact bytes of the GGUF file of a candidate with a weight_format, -1
  // when it cannot be written. search/ cannot lay out a GGUF file, so the
  // one who knows the job's tokenizer supplies it (formats/gguf_size.h).
  // Unset: such a candidate's size is unknown (-1).
  std::function<int64_t(const Candidate&)> gguf_file_bytes;
};

struct CostEstimate {
  int64_t params = 0;                 // every stored weight, dense count
  int64_t nonzero_params = 0;         // params minus pruned weights
  int64_t flops_per_token = 0;        // inference at full context
  int64_t train_flops_per_token = 0;  // forward + backward = 3x inference
  // Exact bytes of the file the student is deployed as: the packed
  // artifact, or with a weight_format its GGUF file; -1 when unknown
  // (ModelContext::gguf_file_bytes), which no constraint admits.
  int64_t size_bytes = 0;
};

CostEstimate EstimateCost(const Candidate& candidate, const ModelContext& context);

// Hard limits; 0 means no limit.
struct Constraints {
  int64_t max_size_bytes = 0;
  int64_t max_params = 0;
  int64_t max_flops_per_token = 0;
  double max_latency_ms = 0;  // checked after measurement, not by the cost model
};

// How far an estimate is outside the constraints: the sum over violated
// limits of (value / limit - 1), 0 when feasible. Strategies use it for
// constraint domination.
double ConstraintViolation(const CostEstimate& cost, const Constraints& constraints);

// OK, or FAILED_PRECONDITION naming the first violated constraint:
// "constraints.max_size_bytes: 812345 bytes > 400000".
Status CheckConstraints(const CostEstimate& cost, const Constraints& constraints);

}  // namespace kdnas
