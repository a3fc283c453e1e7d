// The student (and kdnas teacher) model: a pre-norm decoder of one of two
// block families (search/candidate.h, BlockFamily), whose tensors are
// exactly those of docs/artifact-format.md:
// - GPT-2: LayerNorm, learned positions, fused Q,K,V projection, an MLP with
//   gelu_new (the tanh approximation, as GPT-2 and llama.cpp compute it),
//   biases everywhere;
// - Llama (and Qwen2): RMSNorm, rotary positions, separate Q, K, V
//   projections with grouped-query attention (Qwen2: with biases), SwiGLU,
//   no other biases.
// Both may tie the output projection to the token embedding. Compression is
// simulated in the forward pass: pruning masks, fake quantization (QAT: on
// kdnas's group-wise grid, or with llama.cpp's types on each matrix's GGUF
// type's, workers/gguf_quantize.h) and low-rank factors (u [out,k] then
// v [k,in]).
//
// Parameter names: the artifact's tensor name, or that name + ".weight" for
// matrices and norm weights stored under a module ("lm_head.weight",
// "layers.0.attn.qkv.weight"); low-rank factors are "...qkv.u" / "...qkv.v".
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "search/artifact_layout.h"
#include "search/candidate.h"
#include "workers/rotary.h"

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
  torch::Tensor ln_channel_abs;  // [d] sum of |norm outputs| (ln1 + ln2)
  torch::Tensor head_norm;       // [heads] sum of per-head output L2 norms
  torch::Tensor qk_dim_abs;     // [heads, head_dim] sum |q*k| per dimension (k of the head's group)
  torch::Tensor v_dim_abs;      // [heads, head_dim] sum |v| (of the head's group)
  torch::Tensor mlp_abs;        // [d_ff] sum |activation| (GELU(fc(x)), or silu(gate) * up)
  double block_importance = 0;  // sum over tokens of 1 - cos(input, output)
};
struct ActivationStats {
  std::vector<LayerStats> layers;
  int64_t tokens = 0;
};

class CompressedLinearImpl : public torch::nn::Module {
 public:
  // rank 0 = dense weight [out, in]; else factors u [out, rank], v [rank, in].
  // masked: register pruning masks (ones) for the matrices. Without a bias,
  // `bias` is undefined.
  CompressedLinearImpl(int64_t out, int64_t in, int64_t rank, bool masked, bool has_bias = true);
  torch::Tensor forward(const torch::Tensor& x);

  bool low_rank() const { return rank_ > 0; }
  // The [out, in] matrix the layer applies, masks applied and factors
  // multiplied out (fake quantization aside), detached.
  torch::Tensor DenseWeight() const;
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
  // llama.cpp's type the GGUF file stores the matrix in (after the fallback
  // for its rows): fake quantization on its grid instead of `bits`.
  std::optional<GgmlType> gguf_type;
  bool qat = false;
  bool deployed = false;  // weights hold their deployed values: no mask, no fake quant

 private:
  torch::Tensor Effective(const torch::Tensor& p, const torch::Tensor& mask) const;
  int64_t rank_ = 0;
};
TORCH_MODULE(CompressedLinear);

// LayerNorm (weight and bias) or, for the Llama family, RMSNorm (weight
// only; computed in fp32 as transformers' LlamaRMSNorm).
class NormImpl : public torch::nn::Module {
 public:
  NormImpl(int64_t d, const BlockFamily& family);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;  // bias undefined for RMSNorm

 private:
  bool rms_;
  double eps_;
};
TORCH_MODULE(Norm);

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const GptConfig& config, int layer);
  // rotary: the model's tables (Llama family; unused for GPT-2).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& causal_bias,
                        const RotaryTables& rotary, LayerStats* stats);

  // The linears in artifact order, named as the artifact's tensors under
  // "layers.N." ("attn.qkv", ... or "attn.q", "attn.k", "attn.v", ...).
  struct NamedLinear {
    std::string name;
    CompressedLinearImpl* linear;
  };
  std::vector<NamedLinear> attention_linears();
  std::vector<NamedLinear> mlp_linears();

  int heads, kv_heads, head_dim, d_ff;
  bool llama;
  Norm ln1{nullptr}, ln2{nullptr};
  std::shared_ptr<torch::nn::Module> attn, mlp;  // containers for the names
  // GPT-2: qkv and fc. Llama family: q, k, v and gate, up. Both: the projections.
  CompressedLinear qkv{nullptr}, q{nullptr}, k{nullptr}, v{nullptr}, attn_proj{nullptr};
  CompressedLinear fc{nullptr}, gate{nullptr}, up{nullptr}, mlp_proj{nullptr};

 private:
  torch::Tensor Gpt2Attention(const torch::Tensor& h, const torch::Tensor& causal_bias,
                              LayerStats* stats);
  torch::Tensor LlamaAttention(const torch::Tensor& h, const torch::Tensor& causal_bias,
                               const RotaryTables& rotary, LayerStats* stats);
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
  // With llama.cpp's types: the type its GGUF file stores it in (F32 for
  // norms and biases), which replaces bits and group_size.
  std::optional<GgmlType> gguf_type;
};

class GptImpl : public torch::nn::Module {
 public:
  explicit GptImpl(const GptConfig& config);
  // idx int64 [B, T], T <= context_length -> logits [B, T, V].
  torch::Tensor forward(const torch::Tensor& idx, ActivationStats* stats = nullptr);
  // The forward pass up to the output head: the final norm's output
  // [B, T, D] and the head's weight [V, D] as the forward pass applies it
  // (fake-quantized in training; the tied embedding), so that training can
  // fuse the head with its loss (workers/head_loss.h).
  struct HiddenAndHead {
    torch::Tensor hidden, head_weight;
  };
  HiddenAndHead ForwardToHead(const torch::Tensor& idx, ActivationStats* stats = nullptr);

  const GptConfig& config() const { return config_; }
  const RotaryTables& rotary() const { return rotary_; }
  // GPT-2's initialisation for both families (std 0.02, residual
  // projections 0.02 / sqrt(2 L), norms 1, biases 0), low-rank factors from
  // the SVD of the dense initial weight. Uses torch's global generator (seed
  // it first).
  void InitScratch();
  // Every tensor in artifact order (matrices, embeddings and vectors).
  std::vector<WeightRef> Weights();
  // Replaces every weight by its deployed value (mask applied, quantized and
  // dequantized, fp16-rounded at 16 bits; with llama.cpp's types, what its
  // GGUF file holds) and turns off masks and fake quantization: the model
  // then computes exactly what the artifact holds.
  void Deploy();
  bool deployed() const { return deployed_; }
  // Recomputes the pruning masks of the linear matrices by magnitude, at
  // unstructured `sparsity` (exact kept count) or the candidate's N:M
  // pattern, and zeroes the pruned weights. No-op for an unpruned model.
  void UpdateMasks(double sparsity);

  torch::Tensor tok_emb, pos_emb;  // pos_emb: GPT-2 only (undefined for the Llama family)
  torch::nn::ModuleList layers;
  Norm ln_f{nullptr};
  std::shared_ptr<torch::nn::Module> lm_head;  // holds "weight" when untied
  torch::Tensor lm_head_weight;

 private:
  torch::Tensor EffectiveEmbedding(const torch::Tensor& e,
                                   const std::optional<GgmlType>& gguf) const;
  std::vector<CompressedLinearImpl*> Linears();
  GptConfig config_;
  torch::Tensor causal_bias_;  // [C, C] 0 / -inf
  RotaryTables rotary_;        // [C, head_dim] (Llama family)
  bool deployed_ = false;
  // With llama.cpp's types: the GGUF types of the embeddings and the head.
  std::optional<GgmlType> tok_emb_gguf_, pos_emb_gguf_, lm_head_gguf_;
};
TORCH_MODULE(Gpt);

// Low-rank factors (u [out,k], v [k,in]) of w from its SVD, sqrt(S) on each side.
std::pair<torch::Tensor, torch::Tensor> SvdFactors(const torch::Tensor& w, int64_t rank);

}  // namespace kdnas
