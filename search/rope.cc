#include "search/rope.h"

#include <cmath>
#include <numbers>

namespace kdnas {

const char* RopeScalingName(Rope::Scaling scaling) {
  switch (scaling) {
    case Rope::Scaling::kNone:
      return "none";
    case Rope::Scaling::kLinear:
      return "linear";
    case Rope::Scaling::kLlama3:
      return "llama3";
  }
  return "unknown";
}

std::vector<double> RopeInverseFrequencies(const Rope& rope, int64_t head_dim) {
  std::vector<double> inv(static_cast<size_t>(head_dim / 2));
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    inv[i] = 1.0 / std::pow(rope.theta, static_cast<double>(2 * i) / static_cast<double>(head_dim));
  }
  if (rope.scaling == Rope::Scaling::kLinear) {
    for (double& f : inv) f /= rope.factor;
  } else if (rope.scaling == Rope::Scaling::kLlama3) {
    // transformers' _compute_llama3_parameters: long wavelengths are slowed
    // by `factor`, short ones kept, the band between interpolated.
    const double old_context = static_cast<double>(rope.original_max_position_embeddings);
    const double low_freq_wavelen = old_context / rope.low_freq_factor;
    const double high_freq_wavelen = old_context / rope.high_freq_factor;
    for (double& f : inv) {
      const double wavelen = 2 * std::numbers::pi / f;
      if (wavelen > low_freq_wavelen) {
        f /= rope.factor;
      } else if (wavelen >= high_freq_wavelen) {
        const double smooth = (old_context / wavelen - rope.low_freq_factor) /
                              (rope.high_freq_factor - rope.low_freq_factor);
        f = (1 - smooth) * f / rope.factor + smooth * f;
      }
    }
  }
  return inv;
}

}  // namespace kdnas
