#include <algorithm>

#include "search/strategies.h"

namespace kdnas {

RegularizedEvolution::RegularizedEvolution(const StrategyOptions& options, const ParameterSpace& space)
    : space_(space),
      maximize_(options.maximize),
      population_size_(options.population_size > 0 ? options.population_size : 16),
      random_draws_(population_size_ - std::min(population_size_, options.seeded_points)),
      sample_size_(options.sample_size > 0 ? options.sample_size : 4),
      rng_(options.seed),
      tracker_(space_, options) {}

Point RegularizedEvolution::Mutate(const Point& parent) {
  Point child = parent;
  if (space_.size() == 0) return child;
  size_t i = rng_.Below(space_.size());
  const ParameterConfig& p = space_.parameter(i);
  uint64_t card = p.Cardinality();
  if (p.type == ParameterType::kCategorical) {
    if (card > 1) child[i] = static_cast<double>((static_cast<uint64_t>(parent[i]) + 1 + rng_.Below(card - 1)) % card);
  } else if (rng_.Bernoulli(0.5)) {
    // A local move: a small step in unit coordinates (one index for finite domains).
    double step = card > 1 ? 1.0 / static_cast<double>(card - 1) : 0.1 * std::abs(rng_.Normal());
    double u = space_.ToUnit(i, parent[i]) + (rng_.Bernoulli(0.5) ? step : -step);
    if (u < 0 || u > 1) u = space_.ToUnit(i, parent[i]) - (u < 0 ? -step : step);
    child[i] = space_.FromUnit(i, u);
  } else {
    child[i] = space_.Sample(rng_)[i];
  }
  return child;
}

std::vector<Point> RegularizedEvolution::Suggest(int n) {
  std::vector<Point> out;
  for (int k = 0; k < n; ++k) {
    if (population_.size() < std::min<size_t>(population_size_, 2) ||
        tracker_.proposed() < random_draws_) {
      out.push_back(tracker_.Propose([&] { return space_.Sample(rng_); }));
      continue;
    }
    // Tournament: the best of a random sample (least violation, then Pareto
    // rank within the sample, then the earliest drawn).
    std::vector<Individual> sample;
    for (size_t s = 0; s < std::min(sample_size_, population_.size()); ++s) {
      sample.push_back(population_[rng_.Below(population_.size())]);
    }
    auto fronts = NondominatedSort(sample);
    const Individual& parent = sample[fronts.front().front()];
    out.push_back(tracker_.Propose([&] { return Mutate(parent.point); }));
  }
  return out;
}

void RegularizedEvolution::Update(const std::vector<TrialOutcome>& finished) {
  for (const TrialOutcome& o : finished) {
    Individual ind;
    if (!ToIndividual(o, maximize_, &ind)) continue;
    population_.push_back(std::move(ind));
    if (population_.size() > population_size_) population_.pop_front();
  }
}

}  // namespace kdnas
