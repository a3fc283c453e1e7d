// kdnas-worker llama: a GGUF file run by llama.cpp (evaluator/llama_runtime.h)
// as kdnas measures it: the mean NLL on a corpus's held-out windows (the last
// validation fraction of its tokens, as llama.cpp tokenizes it, at kdnas's
// window starts), a sample, and decode speed.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "evaluator/llama_runtime.h"
#include "search/number_text.h"
#include "workers/commands.h"
#include "workers/corpus.h"
#include "workers/llama_latency.h"

namespace kdnas {
namespace {

StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("--data: cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The held-out windows kdnas evaluates on (Corpus, EvalStarts, MakeBatch),
// from the ids llama.cpp gives the text: each window is x[0..context] for
// MeanNll, and with `bos` it starts with BOS and holds `context` tokens.
StatusOr<std::vector<std::vector<int32_t>>> HeldOutWindows(const std::vector<int32_t>& ids,
                                                           double validation_fraction, int context,
                                                           int64_t eval_tokens,
                                                           std::optional<int32_t> bos) {
  const int64_t n = static_cast<int64_t>(ids.size());
  const int64_t n_val =
      static_cast<int64_t>(std::floor(static_cast<double>(n) * validation_fraction));
  if (n_val < context + 1) {
    return InvalidArgument("--data: the held-out part has " + std::to_string(n_val) +
                           " tokens, fewer than a window of --context " + std::to_string(context) +
                           " + 1");
  }
  std::vector<std::vector<int32_t>> windows;
  for (int64_t start : EvalStarts(n_val, context, eval_tokens)) {
    auto first = ids.begin() + (n - n_val) + start;
    if (bos) {
      windows.emplace_back(1, *bos);
      windows.back().insert(windows.back().end(), first, first + context);
    } else {
      windows.emplace_back(first, first + context + 1);
    }
  }
  return windows;
}

// More would only make the command slow; the bench takes 5.
constexpr int64_t kMaxSpeedRuns = 1000;

}  // namespace

int LlamaCommand(const std::vector<std::string>& args) {
  std::string gguf, data, prompt;
  int64_t threads = 1, context = 0, eval_tokens = 4096, tokens = 0, seed = 1, speed_tokens = 0,
          speed_runs = 5;
  double validation_fraction = 0.1, temperature = 0.8;
  FlagSet flags(
      "kdnas-worker llama --gguf student.gguf [flags]: run a GGUF file in llama.cpp (its prebuilt "
      "libraries): the mean NLL on a corpus's held-out windows, a sample, and decode speed.");
  flags.String("gguf", &gguf, "GGUF file (kdnas best --gguf-out, kdnas-worker export-gguf).");
  flags.Int("threads", &threads, "llama.cpp threads.");
  flags.String(
      "data", &data,
      "Corpus: report llama.cpp's mean NLL on its held-out windows (the last "
      "--validation-fraction of the tokens, as llama.cpp tokenizes it, at the window starts "
      "kdnas evaluates a job's students on).");
  flags.Double("validation-fraction", &validation_fraction, "Held-out fraction of --data.");
  flags.Int("context", &context, "Window length in tokens (0 = the model's context).");
  flags.Int("eval-tokens", &eval_tokens,
            "Held-out tokens to evaluate (a job's budget.eval_tokens).");
  flags.String("prompt", &prompt, "Text to continue (with --tokens).");
  flags.Int("tokens", &tokens, "Tokens to generate after --prompt (0 = no sample).");
  flags.Double("temperature", &temperature, "Sampling temperature (0 = greedy).");
  flags.Int("seed", &seed, "Sampling seed.");
  flags.Int(
      "speed-tokens", &speed_tokens,
      "Measure decode ms/token at batch 1 over this many tokens (at most half the model's "
      "context) after a prompt of half its context, and prompt tokens/s (0 = not measured), as "
      "a trial's latency_ms is measured.");
  flags.Int("speed-runs", &speed_runs,
            "Timed runs of the speed measurement in one loaded model, after a warm-up; the "
            "median run is reported (1.." +
                std::to_string(kMaxSpeedRuns) + ").");
  if (int rc = ParseCommandFlags(flags, args, "llama"); rc >= 0) return rc;
  if (gguf.empty()) return FailCommand("llama", InvalidArgument("--gguf: a GGUF file is required"));
  if (threads < 1) return FailCommand("llama", InvalidArgument("--threads: must be >= 1"));
  if (speed_runs < 1) return FailCommand("llama", InvalidArgument("--speed-runs: must be >= 1"));
  if (speed_runs > kMaxSpeedRuns) {
    return FailCommand("llama",
                       InvalidArgument("--speed-runs: at most " + std::to_string(kMaxSpeedRuns)));
  }

  // The model's context, architecture and vocabulary from a small context;
  // then one context of the model's length serves the windows and the
  // sample (the speed measurement loads the model in its own, as a trial does).
  LlamaRuntimeOptions probe;
  probe.threads = static_cast<int>(threads);
  probe.n_ctx = 16;
  probe.batch_size = 16;
  auto probed = LlamaRuntime::Load(gguf, probe);
  if (!probed.ok()) return FailCommand("llama", probed.status());
  const int model_context = (*probed)->n_ctx_train();
  if (context <= 0) context = model_context;
  if (context < 2 || context > model_context) {
    return FailCommand(
        "llama", InvalidArgument("--context: must be in 2.." + std::to_string(model_context)));
  }
  std::printf("%s: llama.cpp %s model, %lld bytes, vocabulary %d, context %d\n", gguf.c_str(),
              (*probed)->architecture().c_str(),
              static_cast<long long>(std::filesystem::file_size(gguf)), (*probed)->n_vocab(),
              model_context);
  probed->reset();
  std::unique_ptr<LlamaRuntime> llama;
  if (!data.empty() || tokens > 0) {
    LlamaRuntimeOptions options;
    options.threads = static_cast<int>(threads);
    options.n_ctx = model_context;
    options.batch_size = model_context;
    auto runtime = LlamaRuntime::Load(gguf, options);
    if (!runtime.ok()) return FailCommand("llama", runtime.status());
    llama = std::move(*runtime);
  }
  if (!data.empty()) {
    auto text = ReadText(data);
    if (!text.ok()) return FailCommand("llama", text.status());
    auto ids = llama->Tokenize(*text, false, false);
    if (!ids.ok()) return FailCommand("llama", ids.status());
    auto windows = HeldOutWindows(*ids, validation_fraction, static_cast<int>(context), eval_tokens,
                                  llama->bos_to_add());
    if (!windows.ok()) return FailCommand("llama", windows.status());
    auto nll = llama->MeanNll(*windows);
    if (!nll.ok()) return FailCommand("llama", nll.status());
    std::printf("held-out NLL %.4f nats/token (%zu windows of %lld tokens)\n", *nll,
                windows->size(), static_cast<long long>(context));
  }
  if (tokens > 0) {
    auto sample = llama->Generate(prompt.empty() ? "\n" : prompt, static_cast<int>(tokens),
                                  static_cast<uint64_t>(seed), static_cast<float>(temperature),
                                  /*stop_at_end_of_generation=*/false);
    if (!sample.ok()) return FailCommand("llama", sample.status());
    std::printf("sample: %s%s\n", prompt.c_str(), sample->c_str());
  }
  if (speed_tokens > 0) {
    // The same measurement as a trial's latency_ms (workers/llama_latency.h):
    // its prompt of half the context, then --speed-tokens decodes within the
    // model's context (a GPT-2's learned positions end there).
    LlamaLatencyShape shape = LlamaLatencyShape::ForContext(model_context);
    shape.decode_tokens =
        static_cast<int>(std::min<int64_t>(speed_tokens, model_context - shape.prompt_tokens));
    auto speed =
        MeasureLlamaLatency(gguf, shape, {static_cast<int>(threads), static_cast<int>(speed_runs)});
    if (!speed.ok()) return FailCommand("llama", speed.status());
    // Four decimals: a small student decodes in about 0.15 ms, and three
    // would round its tokens/s in steps of 3%.
    std::printf("speed: decode %.4f ms/token, prompt %.0f tokens/s (%s)\n",
                speed->decode_ms_per_token, speed->prompt_tokens_per_second,
                speed->description.c_str());
  }
  return 0;
}

}  // namespace kdnas
