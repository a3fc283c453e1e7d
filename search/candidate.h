// Candidate: one student to train, in plain C++ (the proto message
// kdnas.v1.Candidate is converted to and from this at the edge, in server/).
// Every field holds a resolved value: defaults are applied on conversion, so
// code that reads a Candidate never has to know about "0 means default".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kdnas {

// One transformer block's own choices (pruned heads or MLP channels).
struct LayerChoice {
  int num_heads = 0;  // 1..Architecture::num_heads
  int d_ff = 0;
  bool operator==(const LayerChoice&) const = default;
};

struct Architecture {
  int num_layers = 4;
  int d_model = 128;
  int num_heads = 4;  // head_dim = d_model / num_heads for every layer
  int d_ff = 512;
  int context_length = 64;
  bool tie_embeddings = false;
  // Empty, or exactly num_layers entries overriding num_heads and d_ff.
  std::vector<LayerChoice> layers;

  int head_dim() const { return d_model / num_heads; }
  int layer_heads(int layer) const { return layers.empty() ? num_heads : layers[layer].num_heads; }
  int layer_d_ff(int layer) const { return layers.empty() ? d_ff : layers[layer].d_ff; }
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
