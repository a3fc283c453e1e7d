// random: uniform samples of the space, never repeating a point.
#include "search/strategies.h"

namespace kdnas {

RandomStrategy::RandomStrategy(const StrategyOptions& options, const ParameterSpace& space)
    : space_(space), rng_(options.seed), tracker_(space_, options) {}

std::vector<Point> RandomStrategy::Suggest(int n) {
  std::vector<Point> out;
  for (int i = 0; i < n; ++i) out.push_back(tracker_.Propose([&] { return space_.Sample(rng_); }));
  return out;
}

void RandomStrategy::Update(const std::vector<TrialOutcome>&) {}

}  // namespace kdnas
