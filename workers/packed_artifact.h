// The packed student artifact of docs/artifact-format.md: the writer walks
// the cost model's layout (search/artifact_layout.h) so the file has exactly
// the predicted size; the reader decodes a file back to dequantized weights
// (tests use it to check the round trip).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "formats/job_tokenizer.h"
#include "search/candidate.h"
#include "search/status.h"
#include "workers/gpt.h"

namespace kdnas {

// Writes `model` (trained, not yet deployed: masks and master weights are
// encoded; a deployed model gives the same file) for `candidate`. The file is
// written to path + ".tmp" and renamed; *size_bytes gets its size, which
// equals LayoutArtifact(...).total_bytes (INTERNAL otherwise).
Status WritePackedArtifact(GptImpl& model, const Candidate& candidate,
                           const JobTokenizer& tokenizer, const std::string& path,
                           int64_t* size_bytes = nullptr);

struct PackedTensor {
  std::string name;
  int bits = 16;
  int sparse_encoding = 0;  // 0 dense, 1 bitmap, 2 N:M
  int n = 0, m = 0;
  int group_size = 0;
  int64_t rows = 0, cols = 0, stored_values = 0;
  torch::Tensor values;  // float [rows, cols], dequantized, zeros where pruned
  torch::Tensor mask;    // float [rows, cols], 1 = kept
};

struct PackedArtifact {
  Candidate candidate;  // architecture and compression from the header (no distillation)
  JobTokenizer tokenizer;
  std::vector<PackedTensor> tensors;
  int64_t size_bytes = 0;
};

// DATA_LOSS for anything malformed (bad magic, truncation, shapes that do not
// follow the canonical order, trailing bytes).
StatusOr<PackedArtifact> ReadPackedArtifact(const std::string& path);
StatusOr<PackedArtifact> ParsePackedArtifact(const std::string& bytes);

}  // namespace kdnas
