#include "workers/llama_latency.h"

#include <algorithm>
#include <vector>

#include "evaluator/llama_runtime.h"

namespace kdnas {

LlamaLatencyShape LlamaLatencyShape::ForContext(int context) {
  LlamaLatencyShape shape;
  shape.prompt_tokens = std::max(1, context / 2);
  shape.decode_tokens = std::clamp(context - shape.prompt_tokens, 1, 32);
  return shape;
}

StatusOr<LlamaLatency> MeasureLlamaLatency(const std::string& gguf_path, LlamaLatencyShape shape,
                                           const LlamaLatencyOptions& options) {
  LlamaRuntimeOptions o;
  o.threads = std::max(1, options.threads);
  o.n_ctx = shape.prompt_tokens + shape.decode_tokens;
  o.batch_size = shape.prompt_tokens;
  KDNAS_ASSIGN_OR_RETURN(std::unique_ptr<LlamaRuntime> runtime, LlamaRuntime::Load(gguf_path, o));
  std::vector<LlamaSpeed> runs;
  for (int i = 0; i < std::max(1, options.repeats); ++i) {
    KDNAS_ASSIGN_OR_RETURN(LlamaSpeed speed,
                           runtime->MeasureSpeed(shape.prompt_tokens, shape.decode_tokens));
    runs.push_back(std::move(speed));
  }
  std::vector<double> prompt;
  for (const LlamaSpeed& s : runs) prompt.push_back(s.prompt_tokens_per_second);
  std::sort(prompt.begin(), prompt.end());
  std::sort(runs.begin(), runs.end(), [](const LlamaSpeed& a, const LlamaSpeed& b) {
    return a.decode_ms_per_token < b.decode_ms_per_token;
  });
  const LlamaSpeed& median = runs[runs.size() / 2];
  LlamaLatency latency;
  latency.decode_ms_per_token = median.decode_ms_per_token;
  latency.prompt_tokens_per_second = prompt[prompt.size() / 2];
  latency.description =
      median.description + " (median of " + std::to_string(runs.size()) + " runs)";
  return latency;
}

}  // namespace kdnas
