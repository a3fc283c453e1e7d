// llama.cpp's types in training (Compression::gguf): a matrix's rows through
// its type's reference quantizer and back (formats/ggml_quants.h,
// FakeQuantizeRow), so a student trains on, and is evaluated with, exactly
// the values its GGUF file holds. Rows are the last dimension, as ggml's.
#pragma once

#include <torch/torch.h>

#include "search/ggml_types.h"

namespace kdnas {

// The values llama.cpp dequantizes from `w` stored in `type` (F32: `w`
// itself). No gradient; w float, its last dimension a whole number of the
// type's blocks.
torch::Tensor GgufRoundTrip(const torch::Tensor& w, GgmlType type);

// Fake quantization for training: forward GgufRoundTrip(w, type), backward
// the identity (straight-through estimator).
torch::Tensor GgufFakeQuantize(const torch::Tensor& w, GgmlType type);

}  // namespace kdnas
