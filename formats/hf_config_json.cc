#include "formats/hf_config_json.h"

#include <nlohmann/json.hpp>

namespace kdnas {
namespace {

using nlohmann::ordered_json;

ordered_json RopeScaling(const Rope& rope) {
  switch (rope.scaling) {
    case Rope::Scaling::kNone:
      return nullptr;
    case Rope::Scaling::kLinear:
      return {{"rope_type", "linear"}, {"factor", rope.factor}};
    case Rope::Scaling::kLlama3:
      return {{"rope_type", "llama3"},
              {"factor", rope.factor},
              {"low_freq_factor", rope.low_freq_factor},
              {"high_freq_factor", rope.high_freq_factor},
              {"original_max_position_embeddings", rope.original_max_position_embeddings}};
  }
  return nullptr;
}

}  // namespace

std::string HfConfigJson(const HfModelConfig& c, const std::string& torch_dtype) {
  ordered_json j;
  j["architectures"] = {c.architecture};
  if (c.family == HfFamily::kGpt2) {
    j["model_type"] = "gpt2";
    j["activation_function"] = "gelu_new";
    j["n_embd"] = c.hidden_size;
    j["n_layer"] = c.num_layers;
    j["n_head"] = c.num_heads;
    j["n_inner"] = c.intermediate_size;
    j["n_positions"] = c.max_position_embeddings;
    j["n_ctx"] = c.max_position_embeddings;
    j["layer_norm_epsilon"] = c.norm_eps;
    j["scale_attn_weights"] = true;
    j["scale_attn_by_inverse_layer_idx"] = false;
    j["add_cross_attention"] = false;
  } else {
    j["model_type"] = c.family == HfFamily::kQwen2 ? "qwen2" : "llama";
    j["hidden_act"] = "silu";
    j["hidden_size"] = c.hidden_size;
    j["intermediate_size"] = c.intermediate_size;
    j["num_hidden_layers"] = c.num_layers;
    j["num_attention_heads"] = c.num_heads;
    j["num_key_value_heads"] = c.num_kv_heads;
    j["head_dim"] = c.head_dim;
    j["max_position_embeddings"] = c.max_position_embeddings;
    j["rms_norm_eps"] = c.norm_eps;
    j["rope_theta"] = c.rope.theta;
    j["rope_scaling"] = RopeScaling(c.rope);
    if (c.family == HfFamily::kQwen2) {
      j["use_sliding_window"] = false;
    } else {
      j["attention_bias"] = false;
      j["mlp_bias"] = false;
    }
  }
  j["vocab_size"] = c.vocab_size;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  if (c.bos_token_id) j["bos_token_id"] = *c.bos_token_id;
  if (c.eos_token_ids.size() == 1) j["eos_token_id"] = c.eos_token_ids[0];
  if (c.eos_token_ids.size() > 1) j["eos_token_id"] = c.eos_token_ids;
  j["torch_dtype"] = torch_dtype;
  return j.dump(2) + "\n";
}

}  // namespace kdnas
