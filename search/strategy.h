// The search strategy interface. A strategy proposes points of a
// ParameterSpace and learns from finished trials; it never touches storage or
// RPC. Strategies are deterministic for a seed and a sequence of calls, so the
// controller rebuilds one after a restart by replaying the same calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "search/parameter_space.h"
#include "search/status.h"

namespace kdnas {

enum class TrialStatus { kSucceeded, kFailed, kStopped, kRejected };

// A finished trial as a strategy sees it.
struct TrialOutcome {
  int64_t id = 0;
  Point point;
  TrialStatus status = TrialStatus::kSucceeded;
  // One value per objective, in objective order, as measured (not negated).
  // Succeeded trials have them; stopped trials may (their last rung).
  std::vector<double> values;
  // >= 0; how far outside the constraints (cost_model.h ConstraintViolation).
  double violation = 0;
};

struct StrategyOptions {
  std::string name = "nsga2";  // random, regularized_evolution, nsga2
  uint64_t seed = 0;
  // One entry per objective: true to maximize it.
  std::vector<bool> maximize = {false, false};
  // Population of nsga2 (default 16) and regularized_evolution (default 16).
  int population_size = 0;
  // Tournament size of regularized_evolution (default 4).
  int sample_size = 0;
  // Points the caller proposes before the strategy's first (a job's
  // space.points_to_evaluate). An evolutionary strategy counts them toward its
  // initial population and draws only the rest of it at random.
  size_t seeded_points = 0;
  std::optional<double> crossover_probability;  // nsga2, default 0.9
  std::optional<double> mutation_probability;   // per parameter, default min(1, 2/n)
  // Points the caller will accept (valid and feasible). A strategy retries a
  // proposal up to max_filter_tries times before returning one that fails.
  std::function<bool(const Point&)> filter;
  int max_filter_tries = 64;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual const char* name() const = 0;
  // Up to n new points, never proposed before when the space allows it.
  virtual std::vector<Point> Suggest(int n) = 0;
  // Trials that finished, in the order they finished.
  virtual void Update(const std::vector<TrialOutcome>& finished) = 0;
};

// Creates a strategy by name; INVALID_ARGUMENT naming "strategy.<field>" for
// an unknown name or bad options.
StatusOr<std::unique_ptr<Strategy>> CreateStrategy(const StrategyOptions& options,
                                                   const ParameterSpace& space);

// Names accepted by CreateStrategy.
const std::vector<std::string>& StrategyNames();

}  // namespace kdnas
