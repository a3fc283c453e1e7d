#include "formats/hf_kdnas_architecture.h"

namespace kdnas {

// The LayerNorm epsilon of kdnas's GPT (workers/gpt.cc).
constexpr double kKdnasNormEps = 1e-5;

StatusOr<Architecture> KdnasArchitectureOf(const HfModelConfig& config) {
  if (config.family != HfFamily::kGpt2) {
    return FailedPrecondition(
        "inheriting from a " + config.architecture +
        " teacher is not built yet (its RMSNorm, rotary positions and SwiGLU are not kdnas "
        "GPT layers): use init: scratch");
  }
  if (config.norm_eps != kKdnasNormEps) {
    return FailedPrecondition("config.json: layer_norm_epsilon " + std::to_string(config.norm_eps) +
                              " is not kdnas's 1e-5: a kdnas GPT copy of this teacher would "
                              "compute other logits, so students cannot inherit from it");
  }
  Architecture a;
  a.num_layers = static_cast<int>(config.num_layers);
  a.d_model = static_cast<int>(config.hidden_size);
  a.num_heads = static_cast<int>(config.num_heads);
  a.d_ff = static_cast<int>(config.intermediate_size);
  a.context_length = static_cast<int>(config.max_position_embeddings);
  a.tie_embeddings = config.tie_word_embeddings;
  return a;
}

}  // namespace kdnas
