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

}  // namespace kdnas
