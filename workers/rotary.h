// Rotary position embedding in LibTorch, as transformers' Llama and Qwen2
// apply it: rotate-half over a head's channels with the angles of
// RopeInverseFrequencies (search/rope.h). Shared by the imported teacher
// (workers/hf_model.h) and the Llama-family students (workers/gpt.h).
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "search/rope.h"

namespace kdnas {

struct RotaryTables {
  torch::Tensor cos, sin;  // [positions, head_dim], fp32
};
RotaryTables MakeRotaryTables(const Rope& rope, int64_t head_dim, int64_t positions);

// x [B, H, T, D] at positions 0..T-1: x cos + rotate_half(x) sin, where
// rotate_half(x) = cat(-x2, x1) of the halves x1, x2 of the channels.
torch::Tensor ApplyRotary(const torch::Tensor& x, const RotaryTables& tables);

}  // namespace kdnas
