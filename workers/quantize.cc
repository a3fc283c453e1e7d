#include "workers/quantize.h"

#include <algorithm>

namespace kdnas {
namespace {

// w [rows, cols] -> [rows, groups, g], zero-padded at the end of each row.
torch::Tensor Grouped(const torch::Tensor& w, int g) {
  const int64_t rows = w.size(0), cols = w.size(1);
  const int64_t groups = (cols + g - 1) / g;
  if (groups * g == cols) return w.reshape({rows, groups, g});
  return torch::constant_pad_nd(w, {0, groups * g - cols}).reshape({rows, groups, g});
}

torch::Tensor Ungrouped(const torch::Tensor& grouped, int64_t cols) {
  const int64_t rows = grouped.size(0);
  auto flat = grouped.reshape({rows, -1});
  return flat.size(1) == cols ? flat : flat.narrow(1, 0, cols);
}

}  // namespace

int EffectiveGroupSize(int bits, int group_size, int64_t cols) {
  if (bits >= 16) return 0;
  if (group_size <= 0) return static_cast<int>(cols);
  return group_size;
}

QuantizedTensor QuantizeGroups(const torch::Tensor& w2, int bits, int g) {
  torch::NoGradGuard no_grad;
  auto w = w2.detach().to(torch::kFloat);
  const float qmax = static_cast<float>((1 << (bits - 1)) - 1);
  auto grouped = Grouped(w, g);
  auto amax = grouped.abs().amax(-1, /*keepdim=*/true);
  auto scale = (amax / qmax).clamp_max(65504.0f).to(torch::kHalf).to(torch::kFloat);
  auto safe = torch::where(scale > 0, scale, torch::ones_like(scale));
  auto q = torch::round(grouped / safe).clamp_(-qmax, qmax);
  QuantizedTensor out;
  out.q = Ungrouped(q, w.size(1)).to(torch::kInt32).contiguous();
  out.scales = scale.squeeze(-1).to(torch::kHalf).contiguous();
  return out;
}

torch::Tensor Dequantize(const QuantizedTensor& qt, int g) {
  torch::NoGradGuard no_grad;
  const int64_t cols = qt.q.size(1);
  auto grouped = Grouped(qt.q.to(torch::kFloat), g);
  auto deq = grouped * qt.scales.to(torch::kFloat).unsqueeze(-1);
  return Ungrouped(deq, cols).contiguous();
}

torch::Tensor DeployedValue(const torch::Tensor& w, int bits, int group_size) {
  torch::NoGradGuard no_grad;
  if (bits >= 16) return w.detach().to(torch::kHalf).to(torch::kFloat);
  auto w2 = w.dim() == 1 ? w.detach().unsqueeze(0) : w.detach();
  auto out = Dequantize(QuantizeGroups(w2, bits, group_size), group_size);
  return out.reshape(w.sizes());
}

torch::Tensor FakeQuantize(const torch::Tensor& w, int bits, int group_size) {
  if (bits >= 16) return w;
  auto deployed = DeployedValue(w, bits, group_size);
  return w + (deployed - w.detach());
}

}  // namespace kdnas
