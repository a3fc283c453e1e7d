// Multi-fidelity, Pareto-aware early stopping. Trials report their
// validation loss at rungs (training steps); at each rung a trial goes on
// only if, among the trials that reached that rung so far, it is in the best
// `keep_ranks` non-dominated ranks in (size, loss at the rung), or in the top
// 1/reduction_factor of them ordered by (rank, loss). Until
// min_trials_per_rung trials have reached a rung, everyone goes on. Decisions
// are asynchronous (like ASHA): a trial is judged against those before it.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace kdnas {

struct RungOptions {
  std::vector<int64_t> rung_steps;  // increasing
  int reduction_factor = 3;
  int keep_ranks = 1;
  int min_trials_per_rung = 4;
};

class RungTracker {
 public:
  explicit RungTracker(RungOptions options);

  bool IsRung(int64_t step) const;
  // Trial `id` (artifact size `size`) reached the rung at `step` with `loss`.
  // Returns whether it goes on; asking again for the same (id, step) gives
  // the same answer.
  bool Decide(int64_t id, int64_t step, double size, double loss);
  // Adds a past result without deciding (rebuilding after a restart).
  void Record(int64_t id, int64_t step, double size, double loss, bool continued);
  // Trials that reached the rung at `step`, and how many of them went on.
  int64_t reached(int64_t step) const;
  int64_t continued(int64_t step) const;

 private:
  struct Entry {
    int64_t id;
    double size;
    double loss;
    bool continued;
  };
  RungOptions options_;
  std::map<int64_t, std::vector<Entry>> rungs_;  // step -> entries in arrival order
};

}  // namespace kdnas
