// Symmetric per-group weight quantization (docs/artifact-format.md): a row is
// split into groups of g columns (the last may be shorter), each with one fp16
// scale = fp16(max|w| / qmax), qmax = 2^(bits-1) - 1, and values
// q = clamp(round(w / scale), -qmax, qmax). The same function serves
// quantization-aware training (fake quantization with a straight-through
// estimator), the deployed weights and the packed writer, so all three agree
// exactly.
#pragma once

#include <torch/torch.h>

namespace kdnas {

struct QuantizedTensor {
  torch::Tensor q;       // int32 [rows, cols], in [-qmax, qmax]
  torch::Tensor scales;  // fp16 [rows, ceil(cols / g)]
};

// w: 2-D float. bits in 2..8; group_size in effect (cols for per channel).
QuantizedTensor QuantizeGroups(const torch::Tensor& w, int bits, int group_size);
// q * scale, float [rows, cols].
torch::Tensor Dequantize(const QuantizedTensor& qt, int group_size);

// The value a weight takes in the artifact: the dequantized weight below 16
// bits, the fp16-rounded weight at 16 bits. No gradient.
torch::Tensor DeployedValue(const torch::Tensor& w, int bits, int group_size);

// Fake quantization for training: forward DeployedValue(w) (bits < 16), backward
// the identity (straight-through estimator). At 16 bits returns w unchanged.
torch::Tensor FakeQuantize(const torch::Tensor& w, int bits, int group_size);

// The group size in effect for a tensor of `cols` columns: 0 at 16 bits, cols
// per channel (-1), else group_size (a row narrower than it is one group).
int EffectiveGroupSize(int bits, int group_size, int64_t cols);

}  // namespace kdnas
