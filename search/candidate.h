// Candidate: one student to train, in plain C++ (the proto message
// kdnas.v1.Candidate is converted to and from this at the edge, in server/).
// Every field holds a resolved value: defaults are applied on conversion, so
// code that reads a Candidate never has to know about "0 means default" --
// except the head widths and KV heads, whose 0 follows num_heads (a searched
// num_heads must move them too): read them through head_dim() and
// layer_kv_heads().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "search/gguf_formats.h"
#include "search/rope.h"

namespace kdnas {

// One transformer block's own choices (pruned heads, KV groups or MLP channels).
struct LayerChoice {
  int num_heads = 0;  // 1..Architecture::num_heads
  int d_ff = 0;
  int num_kv_heads = 0;  // 0: Architecture::layer_kv_heads's rule
  bool operator==(const LayerChoice&) const = default;
};

// What a student's blocks are made of. Not searched: the controller sets it
// from the teacher at submission (kdnas and GPT-2 teachers get GPT-2 blocks,
// Llama and Qwen2 teachers blocks of their own family with their norm epsilon
// and rotary embedding), so a student computes as its teacher does.
enum class FamilyKind {
  kGpt2 = 0,   // LayerNorm, learned positions, fused QKV, gelu_new MLP, biases
  kLlama = 1,  // RMSNorm, rotary positions, grouped-query attention, SwiGLU, no biases
  kQwen2 = 2,  // kLlama with biases on the q, k and v projections
};
const char* FamilyKindName(FamilyKind kind);  // "gpt2", "llama", "qwen2"

struct BlockFamily {
  FamilyKind kind = FamilyKind::kGpt2;
  double norm_eps = 1e-5;  // LayerNorm (gpt2) or RMSNorm epsilon
  Rope rope;               // the Llama family's rotary embedding

  bool llama() const { return kind != FamilyKind::kGpt2; }  // kLlama or kQwen2
  bool qkv_bias() const { return kind != FamilyKind::kLlama; }
  bool operator==(const BlockFamily&) const = default;
};

struct Architecture {
  int num_layers = 4;
  int d_model = 128;
  int num_heads = 4;
  int d_ff = 512;
  int context_length = 64;
  bool tie_embeddings = false;
  // Empty, or exactly num_layers entries overriding num_heads, d_ff and num_kv_heads.
  std::vector<LayerChoice> layers;
  BlockFamily family{};
  // Key/value heads (grouped-query attention, Llama family): 0 = num_heads.
  int num_kv_heads = 0;
  // Width of one attention head: 0 = d_model / num_heads.
  int fixed_head_dim = 0;

  int head_dim() const { return fixed_head_dim > 0 ? fixed_head_dim : d_model / num_heads; }
  int layer_heads(int layer) const { return layers.empty() ? num_heads : layers[layer].num_heads; }
  int layer_d_ff(int layer) const { return layers.empty() ? d_ff : layers[layer].d_ff; }
  // A layer's own num_kv_heads, else num_kv_heads, else (multi-head
  // attention) as many as the layer has query heads.
  int layer_kv_heads(int layer) const {
    if (!layers.empty() && layers[layer].num_kv_heads > 0) return layers[layer].num_kv_heads;
    return num_kv_heads > 0 ? num_kv_heads : layer_heads(layer);
  }
  bool operator==(const Architecture&) const = default;
};

enum class SparsityPattern { kUnstructured = 0, k2of4 = 1, k1of4 = 2 };

// Kept weights per group of M along a row, for N:M patterns.
struct NofM {
  int n = 0;
  int m = 0;
};
// {0, 0} for kUnstructured.
NofM PatternNofM(SparsityPattern pattern);

struct Compression {
  int weight_bits = 16;     // 16 (fp16), 8, 6, 4, 3, 2
  int group_size = 128;     // 32, 64, 128, or kPerChannel
  int embedding_bits = 16;  // 16, 8, 6, 4, 3, 2
  double sparsity = 0.0;    // unstructured fraction of zeros, [0, 0.99]
  SparsityPattern sparsity_pattern = SparsityPattern::kUnstructured;
  double low_rank_ratio = 0.0;  // 0 = none, else (0, 1]
  GgufFormats gguf;             // llama.cpp's types instead of the group-wise formats above

  static constexpr int kPerChannel = -1;
  bool operator==(const Compression&) const = default;
};

enum class Init { kScratch = 0, kInherit = 1 };

struct Distillation {
  double temperature = 2.0;
  double alpha = 0.5;
  Init init = Init::kScratch;
  bool operator==(const Distillation&) const = default;
};

struct Candidate {
  Architecture architecture;
  Compression compression;
  Distillation distillation;
  bool operator==(const Candidate&) const = default;
};

}  // namespace kdnas
