// A Hugging Face checkpoint's config.json, for the architectures kdnas
// imports as teachers: LlamaForCausalLM (Llama 2 and 3, TinyLlama,
// SmolLM/SmolLM2), Qwen2ForCausalLM and GPT2LMHeadModel. Anything the model
// code of those architectures would compute differently from what kdnas
// runs (another architecture, MoE, sliding-window attention, another rope
// type or activation) is refused here, naming the config.json key, so an
// accepted config is one kdnas reproduces exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "search/rope.h"
#include "search/status.h"

namespace kdnas {

enum class HfFamily {
  kLlama,  // RMSNorm, SwiGLU, rotary positions, grouped-query attention
  kQwen2,  // as kLlama, with biases on the q, k and v projections
  kGpt2,   // LayerNorm, gelu_new, learned positions, Conv1D weights [in, out]
};

const char* FamilyName(HfFamily family);  // "llama", "qwen2", "gpt2"

struct HfModelConfig {
  HfFamily family = HfFamily::kLlama;
  std::string architecture;  // e.g. "LlamaForCausalLM"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;  // == num_heads for kGpt2
  int64_t head_dim = 0;      // hidden_size / num_heads unless config.json sets it
  int64_t intermediate_size = 0;
  int64_t max_position_embeddings = 0;
  double norm_eps = 0;  // rms_norm_eps, or GPT-2's layer_norm_epsilon
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // kQwen2 and kGpt2
  Rope rope;              // unused for kGpt2
  // The checkpoint's own dtype label ("float32", "float16", "bfloat16"), ""
  // when config.json has none. The tensors' dtypes are what counts.
  std::string torch_dtype;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;  // config.json allows one or a list
};

// Parses and checks config.json. INVALID_ARGUMENT names the file and key:
// "config.json: architectures: MistralForCausalLM is not supported (kdnas
// imports LlamaForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel)".
StatusOr<HfModelConfig> ParseHfConfig(std::string_view config_json);

// RopeInverseFrequencies(config.rope, config.head_dim).
std::vector<double> RopeInverseFrequencies(const HfModelConfig& config);

}  // namespace kdnas
