// What an imported checkpoint is in kdnas's terms. Its students are made of
// blocks of its family (StudentFamilyOf): GPT-2 blocks for a GPT-2, Llama
// blocks for a Llama, with the teacher's norm epsilon and rotary embedding.
// Each is also exactly a kdnas Gpt of that family (KdnasArchitectureOf), so
// its weights can be copied into one and students inherit from it as from a
// kdnas teacher. Torch-free: the controller decides at submission what the
// students are.
#pragma once

#include "formats/hf_config.h"
#include "search/candidate.h"
#include "search/status.h"

namespace kdnas {

// The family of `config`'s students.
BlockFamily StudentFamilyOf(const HfModelConfig& config);

// The kdnas Architecture of `config`: a kdnas Gpt of it computes what the
// checkpoint computes (workers/hf_as_gpt.h).
Architecture KdnasArchitectureOf(const HfModelConfig& config);

// The inverse: the config.json of `architecture` over `vocab_size` logits,
// the one its family's transformers class (GPT2LMHeadModel,
// LlamaForCausalLM, Qwen2ForCausalLM) loads. FAILED_PRECONDITION with the
// reason when a standard config.json cannot describe it: layers of
// different widths or heads, or GPT-2 heads narrower or wider than
// d_model / num_heads.
StatusOr<HfModelConfig> HfConfigOf(const Architecture& architecture, int64_t vocab_size);

}  // namespace kdnas
