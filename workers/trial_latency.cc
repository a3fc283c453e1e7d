#include "workers/trial_latency.h"

#include <torch/version.h>

#include <algorithm>
#include <filesystem>

#include "formats/gguf_size.h"
#include "workers/gguf_export.h"
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

// A trial's llama.cpp measurements (its student's and its teacher's): the
// student's shape, the worker's threads.
LlamaLatencyShape LlamaShapeOf(const RunOptions& o) {
  return LlamaLatencyShape::ForContext(o.candidate.architecture.context_length);
}
LlamaLatencyOptions LlamaOptionsOf(const RunOptions& o) {
  LlamaLatencyOptions options;
  options.threads = o.threads > 0 ? o.threads : torch::get_num_threads();
  options.repeats = std::max(1, std::min(o.latency_repeats, 3));
  return options;
}

}  // namespace

StatusOr<double> MeasureLatencyBeforeTraining(const RunOptions& o, GptImpl& model,
                                              const JobTokenizer& tokenizer) {
  namespace fs = std::filesystem;
  if (o.latency_method != LatencyMethod::kLlamaCpp)
    return FailedPrecondition("latency before training: only llama.cpp latency is measured then");
  std::error_code ec;
  const bool created_dir = !fs::exists(o.out_dir, ec) && fs::create_directories(o.out_dir, ec);
  const std::string path = o.out_dir + "/untrained-student.gguf";
  auto measured = [&]() -> StatusOr<LlamaLatency> {
    KDNAS_RETURN_IF_ERROR(WriteGgufFile(model, tokenizer, StudentGgufTypes(o.candidate.compression),
                                        kGgufStudentName, path)
                              .status());
    return MeasureLlamaLatency(path, LlamaShapeOf(o), LlamaOptionsOf(o));
  }();
  fs::remove(path, ec);
  if (created_dir) fs::remove(o.out_dir, ec);
  if (!measured.ok()) {
    return Status(measured.status().code(),
                  "latency before training: " + measured.status().message());
  }
  return measured->decode_ms_per_token;
}

Status MeasureTrialLatency(const RunOptions& o, JobResources& job, const LogitsFn& student,
                           TrialReport* report) {
  if (o.latency_method == LatencyMethod::kTorch) return MeasureWithTorch(o, student, report);
  if (report->gguf_path.empty()) {
    return FailedPrecondition(
        "latency: the job measures latency with llama.cpp, and this student has no GGUF file: " +
        report->gguf_unavailable);
  }
  const LlamaLatencyShape shape = LlamaShapeOf(o);
  const LlamaLatencyOptions options = LlamaOptionsOf(o);
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
