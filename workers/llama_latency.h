// Latency as llama.cpp measures it, for a job whose latency_method is
// llama.cpp (docs/metrics.md): a GGUF model loaded in llama.cpp's prebuilt
// libraries with llama.cpp's defaults and the worker's threads, then a
// prompt of half the student's context and single-token decodes at batch 1
// after it (LlamaRuntime::MeasureSpeed), the median of a few runs. A trial's
// student is measured from its own GGUF file, and the job's teacher, as an
// F16 GGUF file, at the same shape on the same worker, for the trial's
// speedup.
#pragma once

#include <cstdint>
#include <string>

#include "search/status.h"

namespace kdnas {

struct LlamaLatencyOptions {
  int threads = 1;  // llama.cpp's threads: the worker's
  int repeats = 3;  // runs of MeasureSpeed; the medians are reported
};

// The shape of a measurement for a student of `context` tokens: a prompt of
// half of it, then up to 32 decoded tokens within it.
struct LlamaLatencyShape {
  int prompt_tokens = 0;
  int decode_tokens = 0;
  static LlamaLatencyShape ForContext(int context);
};

struct LlamaLatency {
  double decode_ms_per_token = 0;       // median over the runs
  double prompt_tokens_per_second = 0;  // median over the runs
  // What ran, where and how: llama.cpp's version and backend, the CPU, the
  // threads, the shape (LlamaSpeed::description of the median run).
  std::string description;
};

// Measures the GGUF file at `gguf_path`. The file's error (llama.cpp refuses
// it, a context too short for the shape) as it is.
StatusOr<LlamaLatency> MeasureLlamaLatency(const std::string& gguf_path, LlamaLatencyShape shape,
                                           const LlamaLatencyOptions& options);

}  // namespace kdnas
