// Which imported checkpoints are kdnas GPTs: a GPT-2 (GPT2LMHeadModel) is
// exactly the architecture of kdnas's GPT (pre-LayerNorm, fused q/k/v with
// biases, gelu_new, learned positions, optionally tied embeddings), so its
// weights can be copied into one and students inherit from it as from a
// kdnas teacher. Llama and Qwen2 checkpoints are not (RMSNorm, rotary
// positions, SwiGLU, grouped-query attention). Torch-free: the controller
// decides at submission whether init: inherit can run.
#pragma once

#include "formats/hf_config.h"
#include "search/candidate.h"
#include "search/status.h"

namespace kdnas {

// The kdnas Architecture of `config`. FAILED_PRECONDITION with the reason
// for a Llama or Qwen2 checkpoint, and for a GPT-2 whose
// layer_norm_epsilon is not kdnas's 1e-5 (the copy would compute other
// logits).
StatusOr<Architecture> KdnasArchitectureOf(const HfModelConfig& config);

}  // namespace kdnas
