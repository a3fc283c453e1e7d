// The built-in strategies. Create them through CreateStrategy (strategy.h).
#pragma once

#include <deque>
#include <vector>

#include "search/rng.h"
#include "search/strategy.h"
#include "search/strategy_util.h"

namespace kdnas {

class RandomStrategy : public Strategy {
 public:
  RandomStrategy(const StrategyOptions& options, const ParameterSpace& space);
  const char* name() const override { return "random"; }
  std::vector<Point> Suggest(int n) override;
  void Update(const std::vector<TrialOutcome>& finished) override;

 private:
  ParameterSpace space_;
  Rng rng_;
  ProposalTracker tracker_;
};

// Aging evolution (Real et al., 2019): a queue of the most recent
// population_size finished trials; each child mutates the best of
// sample_size random members (best = least violation, then Pareto rank within
// the sample); the oldest member dies when a child joins.
class RegularizedEvolution : public Strategy {
 public:
  RegularizedEvolution(const StrategyOptions& options, const ParameterSpace& space);
  const char* name() const override { return "regularized_evolution"; }
  std::vector<Point> Suggest(int n) override;
  void Update(const std::vector<TrialOutcome>& finished) override;

 private:
  Point Mutate(const Point& parent);

  ParameterSpace space_;
  std::vector<bool> maximize_;
  size_t population_size_;
  size_t random_draws_;  // of the initial population: those the caller did not seed
  size_t sample_size_;
  Rng rng_;
  ProposalTracker tracker_;
  std::deque<Individual> population_;
};

// Steady-state NSGA-II (Deb et al., 2002) with constraint domination: the
// population is the best population_size finished trials by non-dominated
// rank and crowding distance; children come from binary tournaments, SBX
// crossover and polynomial mutation in unit coordinates (uniform crossover and
// random reset for categorical parameters).
class Nsga2 : public Strategy {
 public:
  Nsga2(const StrategyOptions& options, const ParameterSpace& space);
  const char* name() const override { return "nsga2"; }
  std::vector<Point> Suggest(int n) override;
  void Update(const std::vector<TrialOutcome>& finished) override;

 private:
  size_t Tournament();
  Point Child();
  void Rank();

  ParameterSpace space_;
  std::vector<bool> maximize_;
  size_t population_size_;
  size_t random_draws_;  // of the initial population: those the caller did not seed
  double crossover_probability_;
  double mutation_probability_;
  Rng rng_;
  ProposalTracker tracker_;
  std::vector<Individual> population_;
  std::vector<int> rank_;          // per population member
  std::vector<double> crowding_;   // per population member
};

}  // namespace kdnas
