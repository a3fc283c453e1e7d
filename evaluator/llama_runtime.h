// A GGUF model run by llama.cpp (its prebuilt shared libraries, through the C
// API): kdnas checks its GGUF exports with it (tokens, mean NLL against the
// PyTorch student) and measures a student's speed as llama.cpp runs it.
// No LibTorch here; errors come back as Status, never as exceptions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "search/status.h"

struct llama_model;
struct llama_context;

namespace kdnas {

struct LlamaRuntimeOptions {
  // CPU threads for both prompt and single-token decoding; 0 = all cores.
  int threads = 0;
  // Context length in tokens (the KV cache holds this many); >= 1. llama.cpp
  // rounds it up to a multiple of 256; n_ctx() says how many positions can
  // be used.
  int n_ctx = 512;
  // Most tokens one decode takes, so the longest MeanNll window and the
  // longest MeasureSpeed prompt; clamped to n_ctx.
  int batch_size = 512;
  // Attention in f32 throughout: an f32 KV cache (llama.cpp's default is
  // f16) and no flash attention (whose CPU kernel works in f16, and which
  // llama.cpp turns on by default). The setting for comparing losses with
  // another implementation: the tiny test model's mean NLL is ~1e-7 nats from
  // a float64 forward with it, ~2.5e-4 with the defaults.
  bool f32_attention = false;
};

// What MeasureSpeed measured and how fast it ran.
struct LlamaSpeed {
  double prompt_tokens_per_second = 0;  // one decode of the whole prompt
  double decode_ms_per_token = 0;       // then one token per decode (batch 1)
  int prompt_tokens = 0;
  int decode_tokens = 0;
  int threads = 0;
  std::string runtime;  // "llama.cpp <version> (<backend features>)"
  std::string cpu;      // /proc/cpuinfo's model name, or "unknown CPU"
  // One line with all of the above, for logs and reports.
  std::string description;
};

class LlamaRuntime {
 public:
  // Loads the GGUF at `gguf_path` and creates a context. NOT_FOUND if there
  // is no such file; INVALID_ARGUMENT for bad options, a file llama.cpp
  // refuses ("llama.cpp could not load 'x.gguf': <its log>") or one whose
  // tensor data does not end at the file's end (which llama.cpp accepts).
  static StatusOr<std::unique_ptr<LlamaRuntime>> Load(const std::string& gguf_path,
                                                      LlamaRuntimeOptions options);
  ~LlamaRuntime();
  LlamaRuntime(const LlamaRuntime&) = delete;
  LlamaRuntime& operator=(const LlamaRuntime&) = delete;

  // The model's tokenizer. `add_special` adds BOS/EOS as the GGUF asks;
  // `parse_special` turns the text of special tokens into those tokens.
  StatusOr<std::vector<int32_t>> Tokenize(std::string_view text, bool add_special,
                                          bool parse_special) const;

  // Mean over windows and positions t of -log p(x[t+1] | x[0..t]) in nats,
  // for windows x[0..T] of token ids (2 <= T+1 <= batch size + 1, T <= n_ctx):
  // one decode per window from an empty KV cache, log-softmax in double.
  StatusOr<double> MeanNll(const std::vector<std::vector<int32_t>>& windows);

  // Prompt throughput and per-token decode latency at batch 1, on fixed
  // token ids after one untimed warm-up of the same shape.
  StatusOr<LlamaSpeed> MeasureSpeed(int prompt_tokens, int decode_tokens);

  // Up to `max_tokens` tokens after `prompt` (tokenized with special tokens),
  // stopping at the context's end and, with `stop_at_end_of_generation`, at
  // an end-of-generation token (a vocabulary without one, like kdnas's char
  // and byte tokenizers in GGUF, still has llama.cpp's default BPE id 11:
  // docs/gguf.md). Sampling with `temperature` and `seed`; temperature <= 0
  // is greedy.
  StatusOr<std::string> Generate(std::string_view prompt, int max_tokens, uint64_t seed,
                                 float temperature, bool stop_at_end_of_generation = true);

  int n_vocab() const;
  int n_ctx_train() const;
  // Positions usable: the context's, as llama.cpp rounded it, but at most
  // the model's training context (a GPT-2's learned positions end there;
  // past them llama.cpp aborts).
  int n_ctx() const;
  uint64_t model_size_bytes() const;
  // The token llama.cpp puts before a sequence (tokenizer.ggml.add_bos_token).
  std::optional<int32_t> bos_to_add() const;
  const std::string& architecture() const { return architecture_; }

 private:
  LlamaRuntime(llama_model* model, llama_context* ctx, int threads, int batch_size);
  // Decodes `tokens` at positions start_pos.. in sequence 0; logits for all
  // of them if `all_logits`, else for the last one.
  Status Decode(const std::vector<int32_t>& tokens, int start_pos, bool all_logits);
  Status CheckTokens(const std::vector<int32_t>& tokens) const;

  llama_model* model_;
  llama_context* ctx_;
  int threads_;
  int batch_size_;
  std::string architecture_;
};

}  // namespace kdnas
