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

}  // namespace kdnas
