// The student (and kdnas teacher) model: a pre-LayerNorm GPT decoder with
// causal self-attention (fused Q,K,V projection), an MLP with gelu_new (the
// tanh approximation, as GPT-2 and llama.cpp compute it) and optional tied
// embeddings, whose tensors are exactly those of docs/artifact-format.md.
// Compression is simulated in the forward pass: pruning masks, fake
// quantization (QAT) and low-rank factors (u [out,k] then v [k,in]).
//
// Parameter names: the artifact's tensor name, or that name + ".weight" for
// matrices and LayerNorm weights stored under a module ("lm_head.weight",
// "layers.0.attn.qkv.weight"); low-rank factors are "...qkv.u" / "...qkv.v".
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "search/artifact_layout.h"
#include "search/candidate.h"

namespace kdnas {

struct GptConfig {
  Architecture architecture;
  Compression compression;  // bits, groups, low rank, sparsity (simulated)
  int vocab_size = 0;
  // Fake-quantize weights below 16 bits in the forward pass (QAT).
  bool quantization_aware = true;
};

// Per-layer activation statistics for importance ranking (inheritance).
struct LayerStats {
  torch::Tensor ln_channel_abs;  // [d] sum of |LayerNorm outputs| (ln1 + ln2)
  torch::Tensor head_norm;       // [heads] sum of per-head output L2 norms
  torch::Tensor qk_dim_abs;      // [heads, head_dim] sum |q*k| per dimension
  torch::Tensor v_dim_abs;       // [heads, head_dim] sum |v|
  torch::Tensor mlp_abs;         // [d_ff] sum |GELU(fc(x))|
  double block_importance = 0;   // sum over tokens of 1 - cos(input, output)
};
struct ActivationStats {
  std::vector<LayerStats> layers;
  int64_t tokens = 0;
};

class CompressedLinearImpl : public torch::nn::Module {
 public:
  // rank 0 = dense weight [out, in]; else factors u [out, rank], v [rank, in].
  // masked: register pruning masks (ones) for the matrices.
  CompressedLinearImpl(int64_t out, int64_t in, int64_t rank, bool masked);
  torch::Tensor forward(const torch::Tensor& x);

  bool low_rank() const { return rank_ > 0; }
  // The matrices in artifact order: {weight} or {u, v}, with their masks
  // (undefined tensors when not masked) and artifact-name suffixes.
  struct Matrix {
    std::string suffix;  // "" or ".u" / ".v"
    torch::Tensor* param;
    torch::Tensor* mask;
  };
  std::vector<Matrix> matrices();

  torch::Tensor weight, u, v, bias;
  torch::Tensor weight_mask, u_mask, v_mask;
  int bits = 16;       // fake quantization when < 16 and qat
  int group_size = 0;  // configured group (-1 per channel)
  bool qat = false;
  bool deployed = false;  // weights hold their deployed values: no mask, no fake quant

 private:
  torch::Tensor Effective(const torch::Tensor& p, const torch::Tensor& mask) const;
  int64_t rank_ = 0;
};
TORCH_MODULE(CompressedLinear);

class NormImpl : public torch::nn::Module {
 public:
  explicit NormImpl(int64_t d);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
};
TORCH_MODULE(Norm);

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const GptConfig& config, int layer);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& causal_bias,
                        LayerStats* stats);

  int heads, head_dim, d_ff;
  Norm ln1{nullptr}, ln2{nullptr};
  std::shared_ptr<torch::nn::Module> attn, mlp;  // containers for the names
  CompressedLinear qkv{nullptr}, attn_proj{nullptr}, fc{nullptr}, mlp_proj{nullptr};
};
TORCH_MODULE(Block);

// One compressible tensor in artifact order.
struct WeightRef {
  std::string name;  // artifact tensor name
  TensorRole role;
  torch::Tensor* param;
  torch::Tensor* mask;  // nullptr or undefined: unpruned
  int bits;
  int group_size;  // configured (-1 per channel); see EffectiveGroupSize
};

class GptImpl : public torch::nn::Module {
 public:
  explicit GptImpl(const GptConfig& config);
  // idx int64 [B, T], T <= context_length -> logits [B, T, V].
  torch::Tensor forward(const torch::Tensor& idx, ActivationStats* stats = nullptr);

  const GptConfig& config() const { return config_; }
  // GPT-2 initialisation (std 0.02, residual projections 0.02 / sqrt(2 L)),
  // low-rank factors from the SVD of the dense initial weight. Uses torch's
  // global generator (seed it first).
  void InitScratch();
  // Every tensor in artifact order (matrices, embeddings and vectors).
  std::vector<WeightRef> Weights();
  // Replaces every weight by its deployed value (mask applied, quantized and
  // dequantized, fp16-rounded at 16 bits) and turns off masks and fake
  // quantization: the model then computes exactly what the artifact holds.
  void Deploy();
  bool deployed() const { return deployed_; }
  // Recomputes the pruning masks of the linear matrices by magnitude, at
  // unstructured `sparsity` (exact kept count) or the candidate's N:M
  // pattern, and zeroes the pruned weights. No-op for an unpruned model.
  void UpdateMasks(double sparsity);

  torch::Tensor tok_emb, pos_emb;
  torch::nn::ModuleList layers;
  Norm ln_f{nullptr};
  std::shared_ptr<torch::nn::Module> lm_head;  // holds "weight" when untied
  torch::Tensor lm_head_weight;

 private:
  torch::Tensor EffectiveEmbedding(const torch::Tensor& e) const;
  GptConfig config_;
  torch::Tensor causal_bias_;  // [C, C] 0 / -inf
  bool deployed_ = false;
};
TORCH_MODULE(Gpt);

// Low-rank factors (u [out,k], v [k,in]) of w from its SVD, sqrt(S) on each side.
std::pair<torch::Tensor, torch::Tensor> SvdFactors(const torch::Tensor& w, int64_t rank);

}  // namespace kdnas
