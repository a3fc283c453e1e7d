// Sampling text from a TorchScript language model (a kdnas teacher or
// student, or any module with a tokenizer): `kdnas-worker generate`.
#pragma once

#include <string>

#include "search/status.h"
#include "workers/teacher.h"

namespace kdnas {

struct GenerateOptions {
  std::string prompt = "\n";
  int tokens = 200;          // new tokens
  double temperature = 0.8;  // 0 = greedy
  int top_k = 0;             // 0 = all
  uint64_t seed = 1;
  int context = 0;  // 0 = the model's (kdnas models), else 64
};

// The prompt followed by the generated text.
StatusOr<std::string> Generate(Teacher& model, const GenerateOptions& options);

}  // namespace kdnas
