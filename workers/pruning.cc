#include "workers/pruning.h"

#include <algorithm>
#include <cmath>

#include "search/artifact_layout.h"

namespace kdnas {

torch::Tensor MagnitudeMask(const torch::Tensor& w, int64_t kept) {
  torch::NoGradGuard no_grad;
  const int64_t numel = w.numel();
  kept = std::clamp<int64_t>(kept, 0, numel);
  auto mask = torch::zeros({numel}, torch::kFloat);
  if (kept == numel) return mask.fill_(1.0f).reshape(w.sizes());
  if (kept > 0) {
    auto order =
        std::get<1>(torch::sort(w.detach().abs().reshape({numel}), /*stable=*/true, /*dim=*/0,
                                /*descending=*/true));
    mask.index_fill_(0, order.narrow(0, 0, kept), 1.0f);
  }
  return mask.reshape(w.sizes());
}

torch::Tensor NofMMask(const torch::Tensor& w, int n, int m) {
  torch::NoGradGuard no_grad;
  const int64_t rows = w.size(0), cols = w.size(1);
  auto groups = w.detach().abs().reshape({rows, cols / m, m});
  auto order = std::get<1>(torch::sort(groups, /*stable=*/true, /*dim=*/-1, /*descending=*/true));
  auto mask = torch::zeros({rows, cols / m, m}, torch::kFloat);
  mask.scatter_(-1, order.narrow(-1, 0, n), 1.0f);
  return mask.reshape({rows, cols});
}

torch::Tensor PruningMask(const torch::Tensor& w, const Compression& c, double sparsity) {
  NofM nm = PatternNofM(c.sparsity_pattern);
  if (nm.m > 0) return NofMMask(w, nm.n, nm.m);
  return MagnitudeMask(w, KeptCount(w.numel(), sparsity));
}

double PruningSchedule::SparsityAt(int64_t step) const {
  if (step >= end_step) return target;
  if (step < start_step) return 0.0;
  const double p = static_cast<double>(step - start_step) /
                   static_cast<double>(std::max<int64_t>(1, end_step - start_step));
  return target * (1.0 - std::pow(1.0 - p, 3));
}

bool PruningSchedule::UpdateAt(int64_t step) const {
  if (step < start_step || step > end_step) return false;
  return step == end_step || (step - start_step) % every_steps == 0;
}

PruningSchedule PruningSchedule::For(const Compression& c, int64_t total_steps) {
  PruningSchedule s;
  s.target = c.sparsity;
  s.start_step = total_steps / 10;
  s.end_step = std::max(s.start_step, total_steps * 6 / 10);
  s.every_steps = std::max<int64_t>(1, (s.end_step - s.start_step) / 20);
  return s;
}

}  // namespace kdnas
