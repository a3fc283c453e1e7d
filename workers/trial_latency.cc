#include "workers/trial_latency.h"

#include <torch/version.h>

#include <algorithm>

#include "workers/llama_latency.h"
#include "workers/teacher_gguf.h"

namespace kdnas {
namespace {

constexpr int kTorchLatencyTokens = 64;

Status MeasureWithTorch(const RunOptions& o, const LogitsFn& student, TrialReport* report) {
  const int context = o.candidate.architecture.context_length;
  LatencyMetrics latency = MeasureLatency(student, context, kTorchLatencyTokens, o.latency_repeats);
  report->metrics.set_latency_ms(latency.latency_ms);
  report->metrics.set_tokens_per_second(latency.tokens_per_second);
  report->latency_measured_with =
      std::string("LibTorch ") + TORCH_VERSION + ", " + std::to_string(torch::get_num_threads()) +
      " thread(s), the deployed student's float weights: " + std::to_string(kTorchLatencyTokens) +
      " greedy tokens at batch 1 after a one-token prompt (median of " +
      std::to_string(o.latency_repeats) + " runs)";
  return Status::Ok();
}

}  // namespace

Status MeasureTrialLatency(const RunOptions& o, JobResources& job, const LogitsFn& student,
                           TrialReport* report) {
  if (o.latency_method == LatencyMethod::kTorch) return MeasureWithTorch(o, student, report);
  if (report->gguf_path.empty()) {
    return FailedPrecondition(
        "latency: the job measures latency with llama.cpp, and this student has no GGUF file: " +
        report->gguf_unavailable);
  }
  const LlamaLatencyShape shape =
      LlamaLatencyShape::ForContext(o.candidate.architecture.context_length);
  LlamaLatencyOptions options;
  options.threads = o.threads > 0 ? o.threads : torch::get_num_threads();
  options.repeats = std::max(1, std::min(o.latency_repeats, 3));
  KDNAS_ASSIGN_OR_RETURN(LlamaLatency measured,
                         MeasureLlamaLatency(report->gguf_path, shape, options));
  auto teacher_gguf = job.TeacherAsGguf();
  if (!teacher_gguf.ok()) {
    return FailedPrecondition(
        "latency: the job measures latency with llama.cpp, and its teacher "
        "has no GGUF file: " +
        teacher_gguf.status().message());
  }
  KDNAS_ASSIGN_OR_RETURN(LlamaLatency teacher, (*teacher_gguf)->Latency(shape, options));
  v1::TrialMetrics& m = report->metrics;
  m.set_latency_ms(measured.decode_ms_per_token);
  m.set_tokens_per_second(1e3 / measured.decode_ms_per_token);
  m.set_prompt_tokens_per_second(measured.prompt_tokens_per_second);
  m.set_speedup(teacher.decode_ms_per_token / measured.decode_ms_per_token);
  m.set_compression_ratio(static_cast<double>((*teacher_gguf)->file_bytes()) /
                          static_cast<double>(m.gguf_size_bytes()));
  report->latency_measured_with = measured.description;
  return Status::Ok();
}

}  // namespace kdnas
