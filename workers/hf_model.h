// An imported Hugging Face decoder (Llama, Qwen2, GPT-2) in LibTorch,
// computing what transformers' modeling code computes: for Llama and Qwen2
// RMSNorm in fp32, rotate-half rotary embeddings, grouped-query attention by
// repeating KV heads, SwiGLU; for GPT-2 LayerNorm, learned positions, the
// fused Conv1D projections ([in, out] weights) and gelu_new. Weights of any
// stored dtype are held and computed in fp32. Used as a teacher; its
// weights are what students inherit from.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <utility>

#include "formats/hf_config.h"
#include "formats/hf_tensor_map.h"
#include "search/status.h"
#include "workers/rotary.h"

namespace kdnas {

class HfModel {
 public:
  // Loads every tensor of HfTensorTable(config, name_prefix) through `load`
  // (which returns the tensor stored under spec.name, any float dtype) and
  // checks its shape. INVALID_ARGUMENT naming the tensor when one is missing
  // (load returns an undefined tensor or an error) or mis-shaped.
  using TensorLoader = std::function<StatusOr<torch::Tensor>(const HfTensorSpec& spec)>;
  static StatusOr<HfModel> Create(const HfModelConfig& config, const std::string& name_prefix,
                                  const TensorLoader& load);

  const HfModelConfig& config() const { return config_; }
  // Logits [B, T, vocab] in fp32 for ids [B, T] (int64), positions 0..T-1.
  // T must not exceed max_position_embeddings.
  torch::Tensor Logits(const torch::Tensor& ids) const;
  // The weight of `part` in `layer` (-1 outside the layers), in the
  // checkpoint's layout; undefined when the family has no such part.
  torch::Tensor Weight(HfPart part, int64_t layer = -1) const;

 private:
  explicit HfModel(HfModelConfig config) : config_(std::move(config)) {}
  torch::Tensor LlamaLayer(int64_t layer, const torch::Tensor& x, const RotaryTables& rotary) const;
  torch::Tensor Gpt2Layer(int64_t layer, const torch::Tensor& x) const;
  torch::Tensor RmsNorm(const torch::Tensor& x, HfPart part, int64_t layer) const;
  torch::Tensor LayerNorm(const torch::Tensor& x, HfPart weight, HfPart bias, int64_t layer) const;

  HfModelConfig config_;
  std::map<std::pair<HfPart, int64_t>, torch::Tensor> weights_;
};

}  // namespace kdnas
