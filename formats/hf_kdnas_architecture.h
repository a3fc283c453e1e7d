// What an imported checkpoint is in kdnas's terms. Its students are made of
// blocks of its family (StudentFamilyOf): GPT-2 blocks for a GPT-2, Llama
// blocks for a Llama, with the teacher's norm epsilon and rotary embedding.
// A GPT-2 (GPT2LMHeadModel) is moreover exactly a kdnas GPT (pre-LayerNorm,
// fused q/k/v with biases, gelu_new, learned positions, optionally tied
// embeddings), so its weights can be copied into one and students inherit
// from it as from a kdnas teacher. Torch-free: the controller decides at
// submission what the students are and whether init: inherit can run.
#pragma once

#include "formats/hf_config.h"
#include "search/candidate.h"
#include "search/status.h"

namespace kdnas {

// The family of `config`'s students.
BlockFamily StudentFamilyOf(const HfModelConfig& config);

// The kdnas Architecture of `config`. FAILED_PRECONDITION with the reason
// for a Llama or Qwen2 checkpoint (inheriting from those is not built yet).
StatusOr<Architecture> KdnasArchitectureOf(const HfModelConfig& config);

}  // namespace kdnas
