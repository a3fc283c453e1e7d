// A job of one million trials: the cost per trial of the search loop
// (JobSearch: strategy, cost model, key dedup, Pareto archive and its
// hypervolume) at 10k, 100k and 1M trials, against recomputing the front's
// hypervolume from scratch after every trial (measured up to 10k trials).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "search/hypervolume.h"
#include "search/job_search.h"

namespace {

using Clock = std::chrono::steady_clock;

kdnas::MetricValues Evaluate(const kdnas::Proposal& p) {
  // A noisy loss that falls with size: the front keeps changing.
  double params = static_cast<double>(p.cost.nonzero_params);
  double noise = std::fmod(static_cast<double>(std::hash<std::string>()(p.key) % 10007) / 10007.0, 1.0);
  return {{"val_loss", 1.3 + 60.0 / std::sqrt(params) + 0.05 * noise},
          {"size_bytes", static_cast<double>(p.cost.size_bytes)}};
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t total = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  kdnas::JobSearchOptions o;
  o.space.base.architecture.d_ff = 0;
  o.space.parameters = {kdnas::ParameterConfig::Integer("num_layers", 1, 8),
                        kdnas::ParameterConfig::Discrete("d_model", {32, 64, 96, 128, 192, 256}),
                        kdnas::ParameterConfig::Double("sparsity", 0, 0.9),
                        kdnas::ParameterConfig::Double("alpha", 0, 1),
                        kdnas::ParameterConfig::Double("temperature", 1, 4)};
  o.strategy.name = "nsga2";
  o.strategy.population_size = 32;
  o.context = {65, 200};
  auto search = std::move(*kdnas::JobSearch::Create(o));
  std::vector<int64_t> marks = {10'000, 100'000, 1'000'000};
  std::vector<double> window_us;
  double window_seconds = 0;
  int64_t window_count = 0;
  std::printf("%12s %16s %14s\n", "trials", "us per trial", "front size");
  std::vector<std::pair<int64_t, double>> figures;
  for (int64_t id = 0; id < total; ++id) {
    auto t0 = Clock::now();
    auto proposals = search->Propose(1, nullptr);
    if (proposals.empty()) break;
    search->Complete(id, proposals[0].point, kdnas::TrialStatus::kSucceeded, Evaluate(proposals[0]));
    window_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    ++window_count;
    for (int64_t mark : marks) {
      // The mean over the last 10% before each mark.
      if (id + 1 == mark - mark / 10) {
        window_seconds = 0;
        window_count = 0;
      }
      if (id + 1 == mark) {
        double us = window_seconds / static_cast<double>(window_count) * 1e6;
        figures.push_back({mark, us});
        std::printf("%12lld %16.2f %14zu\n", static_cast<long long>(mark), us, search->front().size());
      }
    }
  }
  // The naive way: recompute the front's hypervolume from every point so far.
  std::vector<kdnas::ObjectiveVector> points;
  kdnas::Rng rng(1);
  double naive_seconds = 0;
  const int64_t naive_n = 10'000;
  for (int64_t i = 0; i < naive_n; ++i) {
    double x = rng.Uniform();
    points.push_back({x, 1 - std::sqrt(x) + 0.05 * rng.Uniform()});
    auto t0 = Clock::now();
    volatile double hv = kdnas::Hypervolume(points, {1.1, 1.1});
    (void)hv;
    if (i >= naive_n - naive_n / 10) naive_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  double naive_us = naive_seconds / static_cast<double>(naive_n / 10) * 1e6;
  std::printf("\nrecomputing the hypervolume from scratch per trial at %lld trials: %.2f us (grows linearly)\n",
              static_cast<long long>(naive_n), naive_us);
  std::printf("{\"bench\":\"million_trials\"");
  for (const auto& [n, us] : figures) std::printf(",\"us_per_trial_at_%lld\":%.3f", static_cast<long long>(n), us);
  std::printf(",\"peer\":\"hypervolume-recomputed-per-trial\",\"peer_us_per_trial_at_10000\":%.3f}\n", naive_us);
  return 0;
}
