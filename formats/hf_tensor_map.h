// The tensors of each imported architecture: one table per family mapping
// the parts of a decoder (embeddings, each layer's norms, attention and MLP
// projections, the final norm, the output head) to the checkpoint's tensor
// names and shapes. The controller checks a checkpoint against it at
// submission; the worker loads by it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "formats/hf_config.h"

namespace kdnas {

enum class HfPart {
  kTokenEmbedding,     // [vocab, hidden]
  kPositionEmbedding,  // GPT-2: [n_positions, hidden]
  kAttentionNorm,      // RMSNorm or LayerNorm weight [hidden]
  kAttentionNormBias,  // GPT-2
  kQuery,              // Llama/Qwen2: q_proj [heads * head_dim, hidden]
  kQueryBias,
  kKey,  // k_proj [kv_heads * head_dim, hidden]
  kKeyBias,
  kValue,  // v_proj [kv_heads * head_dim, hidden]
  kValueBias,
  kQkv,  // GPT-2: c_attn, Conv1D [hidden, 3 * hidden]
  kQkvBias,
  kAttentionOutput,  // o_proj [hidden, heads * head_dim]; GPT-2 c_proj [hidden, hidden]
  kAttentionOutputBias,
  kMlpNorm,
  kMlpNormBias,
  kGate,  // Llama/Qwen2: gate_proj [intermediate, hidden]
  kUp,    // up_proj [intermediate, hidden]; GPT-2 c_fc, Conv1D [hidden, intermediate]
  kUpBias,
  kDown,  // down_proj [hidden, intermediate]; GPT-2 c_proj, Conv1D [intermediate, hidden]
  kDownBias,
  kFinalNorm,
  kFinalNormBias,
  kOutput,  // lm_head [vocab, hidden]
};

struct HfTensorSpec {
  HfPart part;
  int64_t layer = -1;  // -1 for parts outside the layers
  std::string name;
  std::vector<int64_t> shape;
  // True for lm_head.weight of a model with tied embeddings: a checkpoint
  // may carry a copy, which must then have the right shape but is unused.
  bool optional = false;
};

// The tensors a checkpoint of `config` holds, in load order. `name_prefix`
// is prepended to every name but the output head's ("model." for
// Llama/Qwen2; "transformer." or "" for GPT-2, whose original checkpoints
// have no prefix).
std::vector<HfTensorSpec> HfTensorTable(const HfModelConfig& config,
                                        const std::string& name_prefix);

// The name prefix a checkpoint with these tensor names uses for `config`'s
// family (see HfTensorTable).
std::string HfNamePrefix(const HfModelConfig& config, const std::vector<std::string>& names);

// Tensors some checkpoints carry that hold no weights (rotary inverse
// frequencies, GPT-2's causal-mask buffers): present or not, they are
// ignored.
bool IsIgnoredHfTensor(const std::string& name);

// "[576, 192]": a shape as the messages about tensors write it.
std::string ShapeText(const std::vector<int64_t>& shape);

}  // namespace kdnas
