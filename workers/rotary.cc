#include "workers/rotary.h"

#include <vector>

namespace kdnas {

RotaryTables MakeRotaryTables(const Rope& rope, int64_t head_dim, int64_t positions) {
  const std::vector<double> inv = RopeInverseFrequencies(rope, head_dim);
  auto inverse = torch::tensor(std::vector<float>(inv.begin(), inv.end()), torch::kFloat);
  auto freqs = torch::outer(torch::arange(positions, torch::kFloat), inverse);  // [T, D/2]
  auto angles = torch::cat({freqs, freqs}, -1);                                 // [T, D]
  return {angles.cos(), angles.sin()};
}

torch::Tensor ApplyRotary(const torch::Tensor& x, const RotaryTables& tables) {
  const int64_t T = x.size(2), half = x.size(-1) / 2;
  auto rotated = torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * tables.cos.narrow(0, 0, T) + rotated * tables.sin.narrow(0, 0, T);
}

}  // namespace kdnas
