// A trained student's latency, by its job's method (RunOptions::
// latency_method, docs/metrics.md): LibTorch on the deployed student, or
// llama.cpp on its GGUF file with the job's teacher measured the same way
// on the same worker for the trial's speedup and compression_ratio.
#pragma once

#include "evaluator/evaluate.h"
#include "search/status.h"
#include "workers/run_candidate.h"

namespace kdnas {

// Sets latency_ms and tokens_per_second of report->metrics and
// report->latency_measured_with; with llama.cpp also
// prompt_tokens_per_second, speedup and compression_ratio. With llama.cpp,
// FAILED_PRECONDITION with the reason when the student has no GGUF file
// (report->gguf_path) or the teacher none (a job's trials are all measured
// one way: no fallback to LibTorch).
Status MeasureTrialLatency(const RunOptions& options, JobResources& job, const LogitsFn& student,
                           TrialReport* report);

// With llama.cpp latency, the student's decode ms per token as it is before
// training: its current weights written as a GGUF file in the types its
// final file will have (StudentGgufTypes), measured as MeasureTrialLatency
// measures the final file, then removed. A llama.cpp latency depends on the
// model's shape and tensor types, not on the weights' values. The file goes
// to RunOptions::out_dir. FAILED_PRECONDITION for LibTorch latency.
StatusOr<double> MeasureLatencyBeforeTraining(const RunOptions& options, GptImpl& model,
                                              const JobTokenizer& tokenizer);

}  // namespace kdnas
