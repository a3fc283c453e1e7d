// Multi-fidelity, Pareto-aware early stopping. Trials report their
// validation loss at rungs (training steps); at each rung a trial goes on
// only if, among the trials that reached that rung so far, it is in the best
// `keep_ranks` non-dominated ranks in (size, loss at the rung), or in the top
// 1/reduction_factor of them ordered by (rank, loss). Until
// min_trials_per_rung trials have reached a rung, everyone goes on. Decisions
// are asynchronous (like ASHA): a trial is judged against those before it.
// With compare_latency, the ranks are in (size, loss, latency) between trials
// whose latency was measured (a trial reporting 0 is compared in (size, loss)
// only), and latencies within kRungLatencyTolerance of each other are equal.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace kdnas {

// Relative latency difference below which two trials are equally fast at a
// rung: a file timed in separate processes varies by a few percent.
inline constexpr double kRungLatencyTolerance = 0.03;

struct RungOptions {
  std::vector<int64_t> rung_steps;  // increasing
  int reduction_factor = 3;
  int keep_ranks = 1;
  int min_trials_per_rung = 4;
  bool compare_latency = false;
};

class RungTracker {
 public:
  explicit RungTracker(RungOptions options);

  bool IsRung(int64_t step) const;
  bool compare_latency() const { return options_.compare_latency; }
  // Trial `id` (artifact size `size`, latency `latency_ms`, 0 = unknown)
  // reached the rung at `step` with `loss`. Returns whether it goes on;
  // asking again for the same (id, step) gives the same answer.
  bool Decide(int64_t id, int64_t step, double size, double loss, double latency_ms = 0);
  // Adds a past result without deciding (rebuilding after a restart).
  void Record(int64_t id, int64_t step, double size, double loss, double latency_ms,
              bool continued);
  // Trials that reached the rung at `step`, and how many of them went on.
  int64_t reached(int64_t step) const;
  int64_t continued(int64_t step) const;

 private:
  struct Entry {
    int64_t id;
    double size;
    double loss;
    double latency_ms;  // 0 = unknown, or not compared
    bool continued;
  };
  bool Dominates(const Entry& q, const Entry& p) const;

  RungOptions options_;
  std::map<int64_t, std::vector<Entry>> rungs_;  // step -> entries in arrival order
};

}  // namespace kdnas
