// Magnitude pruning: masks that keep exactly the number of weights the
// artifact format stores (KeptCount for unstructured sparsity, N of every M
// consecutive weights of a row for N:M), and the gradual schedule that takes
// the sparsity from 0 to its target during training.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "search/candidate.h"

namespace kdnas {

// Float 0/1 mask of w's shape keeping the `kept` largest |w| (ties broken by
// position, lower index first).
torch::Tensor MagnitudeMask(const torch::Tensor& w, int64_t kept);
// Float 0/1 mask keeping the n largest |w| of every m consecutive weights of
// a row (cols % m == 0; ties by position).
torch::Tensor NofMMask(const torch::Tensor& w, int n, int m);

// The mask for `target` sparsity (unstructured) or the N:M pattern.
torch::Tensor PruningMask(const torch::Tensor& w, const Compression& compression, double sparsity);

struct PruningSchedule {
  int64_t start_step = 0;   // dense before
  int64_t end_step = 0;     // target sparsity from here on
  int64_t every_steps = 1;  // masks recomputed this often in between
  double target = 0.0;      // unstructured target sparsity

  // Cubic ramp (Zhu & Gupta 2017): target * (1 - (1 - p)^3).
  double SparsityAt(int64_t step) const;
  bool UpdateAt(int64_t step) const;
  // A schedule over a run of total_steps: prune from 10% to 60% of the steps.
  static PruningSchedule For(const Compression& compression, int64_t total_steps);
};

}  // namespace kdnas
