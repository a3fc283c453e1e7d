// The config.json of an HfModelConfig, as transformers' save_pretrained
// writes one for GPT2LMHeadModel, LlamaForCausalLM and Qwen2ForCausalLM:
// the keys those classes read, with the values that make them compute what
// kdnas computes (silu, no attention or MLP biases for Llama, no sliding
// window for Qwen2, gelu_new for GPT-2). ParseHfConfig reads it back to the
// same config.
#pragma once

#include <string>

#include "formats/hf_config.h"

namespace kdnas {

// torch_dtype: "float32", "float16" or "bfloat16", the stored weights'.
std::string HfConfigJson(const HfModelConfig& config, const std::string& torch_dtype);

}  // namespace kdnas
