#include <cmath>

#include "search/strategies.h"

namespace kdnas {

const std::vector<std::string>& StrategyNames() {
  static const std::vector<std::string> names = {"random", "regularized_evolution", "nsga2"};
  return names;
}

StatusOr<std::unique_ptr<Strategy>> CreateStrategy(const StrategyOptions& options, const ParameterSpace& space) {
  if (options.maximize.empty()) return InvalidArgument("objectives: at least one objective is required");
  if (options.population_size < 0 || options.population_size > 100000) {
    return InvalidArgument("strategy.population_size: must be in 0..100000 (0 = default)");
  }
  if (options.sample_size < 0) return InvalidArgument("strategy.regularized_evolution.sample_size: must be >= 0");
  for (const auto& [name, p] : {std::pair{"crossover_probability", options.crossover_probability},
                                std::pair{"mutation_probability", options.mutation_probability}}) {
    if (p.has_value() && !(*p >= 0 && *p <= 1)) {
      return InvalidArgument(std::string("strategy.nsga2.") + name + ": must be in [0, 1]");
    }
  }
  if (options.name == "random") return std::unique_ptr<Strategy>(new RandomStrategy(options, space));
  if (options.name == "regularized_evolution") {
    if (options.population_size > 0 && options.population_size < 2) {
      return InvalidArgument("strategy.regularized_evolution.population_size: must be >= 2");
    }
    int population = options.population_size > 0 ? options.population_size : 16;
    if (options.sample_size > population) {
      return InvalidArgument("strategy.regularized_evolution.sample_size: must be <= population_size (" +
                             std::to_string(population) + ")");
    }
    return std::unique_ptr<Strategy>(new RegularizedEvolution(options, space));
  }
  if (options.name == "nsga2") {
    if (options.population_size > 0 && options.population_size < 4) {
      return InvalidArgument("strategy.nsga2.population_size: must be >= 4");
    }
    return std::unique_ptr<Strategy>(new Nsga2(options, space));
  }
  return InvalidArgument("strategy.name: unknown strategy \"" + options.name +
                         "\" (known: random, regularized_evolution, nsga2)");
}

}  // namespace kdnas
