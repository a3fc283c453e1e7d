// The baseline a search must beat: post-training round-to-nearest
// quantization of the teacher itself (no distillation, no training), at
// several bit widths. Each point is the teacher's own architecture with
// `bits`-bit weights and embeddings in groups of `group_size`, evaluated on
// the same held-out tokens the workers use and sized by the cost model.
#pragma once

#include <string>
#include <vector>

#include "search/status.h"
#include "workers/run_candidate.h"

namespace kdnas {

struct RtnPoint {
  int bits = 16;  // 16 = the teacher in fp16
  int group_size = 32;
  int64_t size_bytes = 0;
  double val_loss = 0;
};

StatusOr<std::vector<RtnPoint>> RtnBaseline(const JobOptions& job, const std::vector<int>& bits, int group_size);

// kdnas-worker baseline-rtn --teacher t.pt [--data file] [--bits 8,4,3,2] [--group 32]
int RtnBaselineCommand(const std::vector<std::string>& args);

}  // namespace kdnas
