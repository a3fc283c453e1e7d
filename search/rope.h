// Rotary position embedding (Llama-family blocks), as transformers'
// modeling_rope_utils defines it: the inverse frequencies of the default,
// linear and llama3 rope types. An imported teacher's config.json sets it and
// its Llama-family students use the same, so they see positions as it does.
#pragma once

#include <cstdint>
#include <vector>

namespace kdnas {

struct Rope {
  enum class Scaling { kNone = 0, kLinear = 1, kLlama3 = 2 };
  Scaling scaling = Scaling::kNone;
  double theta = 10000.0;
  double factor = 1.0;                           // kLinear, kLlama3
  double low_freq_factor = 1.0;                  // kLlama3
  double high_freq_factor = 4.0;                 // kLlama3
  int64_t original_max_position_embeddings = 0;  // kLlama3
  bool operator==(const Rope&) const = default;
};

const char* RopeScalingName(Rope::Scaling scaling);  // "none", "linear", "llama3"

// head_dim / 2 inverse frequencies with the scaling applied, in double.
std::vector<double> RopeInverseFrequencies(const Rope& rope, int64_t head_dim);

}  // namespace kdnas
