#include "formats/hf_kdnas_architecture.h"

namespace kdnas {

BlockFamily StudentFamilyOf(const HfModelConfig& config) {
  BlockFamily f;
  switch (config.family) {
    case HfFamily::kGpt2:
      f.kind = FamilyKind::kGpt2;
      break;
    case HfFamily::kLlama:
      f.kind = FamilyKind::kLlama;
      break;
    case HfFamily::kQwen2:
      f.kind = FamilyKind::kQwen2;
      break;
  }
  f.norm_eps = config.norm_eps;
  if (f.llama()) f.rope = config.rope;
  return f;
}

Architecture KdnasArchitectureOf(const HfModelConfig& config) {
  Architecture a;
  a.num_layers = static_cast<int>(config.num_layers);
  a.d_model = static_cast<int>(config.hidden_size);
  a.num_heads = static_cast<int>(config.num_heads);
  a.d_ff = static_cast<int>(config.intermediate_size);
  a.context_length = static_cast<int>(config.max_position_embeddings);
  a.tie_embeddings = config.tie_word_embeddings;
  a.family = StudentFamilyOf(config);
  if (a.family.llama()) {
    if (config.num_kv_heads != config.num_heads)
      a.num_kv_heads = static_cast<int>(config.num_kv_heads);
    if (config.head_dim * config.num_heads != config.hidden_size)
      a.fixed_head_dim = static_cast<int>(config.head_dim);
  }
  return a;
}

StatusOr<HfModelConfig> HfConfigOf(const Architecture& a, int64_t vocab_size) {
  for (int l = 1; l < a.num_layers; ++l) {
    if (a.layer_heads(l) != a.layer_heads(0) || a.layer_kv_heads(l) != a.layer_kv_heads(0) ||
        a.layer_d_ff(l) != a.layer_d_ff(0)) {
      return FailedPrecondition("layer " + std::to_string(l) +
                                " differs from layer 0 in heads or MLP width: a config.json "
                                "describes uniform layers only");
    }
  }
  const BlockFamily& f = a.family;
  HfModelConfig c;
  switch (f.kind) {
    case FamilyKind::kGpt2:
      c.family = HfFamily::kGpt2;
      c.architecture = "GPT2LMHeadModel";
      break;
    case FamilyKind::kLlama:
      c.family = HfFamily::kLlama;
      c.architecture = "LlamaForCausalLM";
      break;
    case FamilyKind::kQwen2:
      c.family = HfFamily::kQwen2;
      c.architecture = "Qwen2ForCausalLM";
      break;
  }
  c.vocab_size = vocab_size;
  c.hidden_size = a.d_model;
  c.num_layers = a.num_layers;
  c.num_heads = a.layer_heads(0);
  c.num_kv_heads = a.layer_kv_heads(0);
  c.head_dim = a.head_dim();
  c.intermediate_size = a.layer_d_ff(0);
  c.max_position_embeddings = a.context_length;
  c.norm_eps = f.norm_eps;
  c.tie_word_embeddings = a.tie_embeddings;
  c.qkv_bias = f.qkv_bias();
  c.rope = f.rope;
  if (!f.llama() && c.num_heads * c.head_dim != c.hidden_size) {
    return FailedPrecondition("GPT-2 heads are n_embd / n_head wide; these are " +
                              std::to_string(c.head_dim) + " x " + std::to_string(c.num_heads) +
                              " for n_embd " + std::to_string(c.hidden_size));
  }
  return c;
}

}  // namespace kdnas
