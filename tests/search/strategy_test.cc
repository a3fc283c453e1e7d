#include "search/strategy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "../bench/problems.h"
#include "search/hypervolume.h"

namespace kdnas {
namespace {

ParameterSpace UnitCube(int n) {
  std::vector<ParameterConfig> p;
  for (int i = 0; i < n; ++i)
    p.push_back(ParameterConfig::Double(std::string("x") + std::to_string(i), 0, 1));
  return *ParameterSpace::Create(p);
}

ParameterSpace SmallFiniteSpace() {
  return *ParameterSpace::Create({ParameterConfig::Integer("a", 0, 3),
                                  ParameterConfig::Discrete("b", {1, 2, 4}),
                                  ParameterConfig::Categorical("c", {"x", "y"})});
}

std::unique_ptr<Strategy> Make(const std::string& name, const ParameterSpace& space, uint64_t seed,
                               int population = 0) {
  StrategyOptions options;
  options.name = name;
  options.seed = seed;
  options.population_size = population;
  auto s = CreateStrategy(options, space);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(*s);
}

// Runs a strategy on ZDT1 in batches of 4, returning the final hypervolume.
double RunZdt1(Strategy& strategy, int evaluations) {
  std::vector<ObjectiveVector> seen;
  int64_t id = 0;
  while (id < evaluations) {
    std::vector<TrialOutcome> batch;
    for (const Point& p : strategy.Suggest(4)) {
      TrialOutcome o{id++, p, TrialStatus::kSucceeded, problems::Zdt1(p), 0};
      seen.push_back(o.values);
      batch.push_back(o);
    }
    strategy.Update(batch);
  }
  return Hypervolume(seen, {11, 11});
}

TEST(ParameterSpace, PointAtEnumeratesEveryPointOnce) {
  const ParameterSpace space = SmallFiniteSpace();
  ASSERT_EQ(space.Cardinality(), 24u);
  std::set<Point> points;
  for (uint64_t i = 0; i < space.Cardinality(); ++i) {
    const Point p = space.PointAt(i);
    EXPECT_TRUE(space.Contains(p));
    points.insert(p);
  }
  EXPECT_EQ(points.size(), 24u);
  EXPECT_EQ(space.PointAt(0), (Point{0, 1, 0}));
  EXPECT_EQ(space.PointAt(23), (Point{3, 4, 1}));
}

TEST(Strategy, FactoryNamesUnknownStrategies) {
  StrategyOptions options;
  options.name = "bayes";
  auto s = CreateStrategy(options, UnitCube(2));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(
      s.status().message(),
      "strategy.name: unknown strategy \"bayes\" (known: random, regularized_evolution, nsga2)");
  options.name = "nsga2";
  options.population_size = 2;
  EXPECT_NE(CreateStrategy(options, UnitCube(2)).status().message().find("population_size"),
            std::string::npos);
}

TEST(Strategy, SameSeedSameProposalsDifferentSeedDifferent) {
  for (const std::string& name : StrategyNames()) {
    auto a = Make(name, UnitCube(5), 11);
    auto b = Make(name, UnitCube(5), 11);
    auto c = Make(name, UnitCube(5), 12);
    RunZdt1(*a, 60);
    RunZdt1(*b, 60);
    RunZdt1(*c, 60);
    auto pa = a->Suggest(3), pb = b->Suggest(3), pc = c->Suggest(3);
    EXPECT_EQ(pa, pb) << name;
    EXPECT_NE(pa, pc) << name;
  }
}

TEST(Strategy, ReplayedStrategyProposesWhatTheOriginalWould) {
  for (const std::string& name : StrategyNames()) {
    auto original = Make(name, UnitCube(6), 5, 8);
    // Record an irregular call sequence: varied batch sizes, out-of-order
    // completions, failures, rejections and stops.
    struct Call {
      int suggest = 0;
      std::vector<TrialOutcome> update;
    };
    std::vector<Call> log;
    std::vector<TrialOutcome> pending;
    int64_t id = 0;
    Rng rng(99);
    for (int round = 0; round < 40; ++round) {
      int n = 1 + static_cast<int>(rng.Below(4));
      log.push_back({n, {}});
      for (const Point& p : original->Suggest(n)) {
        TrialOutcome o{id++, p, TrialStatus::kSucceeded, problems::Zdt1(p), 0};
        uint64_t kind = rng.Below(10);
        if (kind == 0) o = {o.id, p, TrialStatus::kFailed, {}, 0};
        if (kind == 1) o = {o.id, p, TrialStatus::kRejected, {}, 0.3};
        if (kind == 2) o.status = TrialStatus::kStopped;
        pending.push_back(o);
      }
      std::vector<TrialOutcome> done;
      while (!pending.empty() && rng.Bernoulli(0.6)) {
        size_t k = rng.Below(pending.size());
        done.push_back(pending[k]);
        pending.erase(pending.begin() + static_cast<long>(k));
      }
      original->Update(done);
      log.push_back({0, done});
    }
    auto replayed = Make(name, UnitCube(6), 5, 8);
    for (const Call& call : log) {
      if (call.suggest > 0) replayed->Suggest(call.suggest);
      if (call.suggest == 0) replayed->Update(call.update);
    }
    EXPECT_EQ(original->Suggest(5), replayed->Suggest(5)) << name;
  }
}

TEST(Strategy, NeverRepeatsAPointWhileTheSpaceHasNewOnes) {
  ParameterSpace space = SmallFiniteSpace();  // 4 * 3 * 2 = 24 points
  for (const std::string& name : StrategyNames()) {
    auto s = Make(name, space, 1, 4);
    std::set<Point> seen;
    int64_t id = 0;
    for (int round = 0; round < 6; ++round) {
      std::vector<TrialOutcome> done;
      for (const Point& p : s->Suggest(4)) {
        EXPECT_TRUE(space.Contains(p));
        EXPECT_TRUE(seen.insert(p).second) << name << " repeated a point";
        done.push_back({id++, p, TrialStatus::kSucceeded, {p[0] + p[2], p[1]}, 0});
      }
      s->Update(done);
    }
    EXPECT_EQ(seen.size(), 24u) << name;
  }
}

TEST(Strategy, RespectsTheFilter) {
  for (const std::string& name : StrategyNames()) {
    StrategyOptions options;
    options.name = name;
    options.population_size = 8;
    options.filter = [](const Point& p) { return p[0] + p[1] < 0.5; };
    auto s = *CreateStrategy(options, UnitCube(2));
    int64_t id = 0;
    for (int round = 0; round < 10; ++round) {
      std::vector<TrialOutcome> done;
      for (const Point& p : s->Suggest(4)) {
        EXPECT_LT(p[0] + p[1], 0.5) << name;
        done.push_back({id++, p, TrialStatus::kSucceeded, problems::Zdt1(p), 0});
      }
      s->Update(done);
    }
  }
}

// Points a caller proposed first (a job's points_to_evaluate) fill an
// evolutionary strategy's initial population: with all of it seeded, its first
// proposal is already an offspring of the seeds, not a random draw.
TEST(Strategy, SeededPointsCountTowardTheInitialPopulation) {
  const ParameterSpace space = UnitCube(8);
  const std::vector<Point> seeds = {Point(8, 0.125), Point(8, 0.875)};
  for (const char* name : {"nsga2", "regularized_evolution"}) {
    StrategyOptions options;
    options.name = name;
    options.seed = 5;
    options.population_size = 4;
    options.seeded_points = 4;
    options.crossover_probability = 0.0;  // an nsga2 child is then a seed, mutated
    options.mutation_probability = 0.125;
    auto s = *CreateStrategy(options, space);
    s->Update({{1, seeds[0], TrialStatus::kSucceeded, {0.2, 0.8}, 0},
               {2, seeds[1], TrialStatus::kSucceeded, {0.8, 0.2}, 0}});
    const Point child = s->Suggest(1).at(0);
    size_t shared = 0;
    for (const Point& seed : seeds) {
      size_t same = 0;
      for (size_t i = 0; i < child.size(); ++i) same += child[i] == seed[i];
      shared = std::max(shared, same);
    }
    // An offspring keeps most of a parent's coordinates; a random draw none.
    EXPECT_GE(shared, 5u) << name;
  }
}

TEST(Strategy, Nsga2BeatsRandomOnZdt1) {
  auto nsga2 = Make("nsga2", UnitCube(30), 3, 20);
  auto random = Make("random", UnitCube(30), 3);
  double hv_nsga2 = RunZdt1(*nsga2, 1000);
  double hv_random = RunZdt1(*random, 1000);
  EXPECT_GT(hv_nsga2, hv_random + 2) << hv_nsga2 << " vs " << hv_random;
}

TEST(Strategy, ConstraintDominationSteersToFeasiblePoints) {
  // Infeasible when x0 > 0.3: NSGA-II's population should end up feasible.
  StrategyOptions options;
  options.population_size = 12;
  options.seed = 4;
  auto s = *CreateStrategy(options, UnitCube(4));
  int64_t id = 0;
  int feasible_late = 0;
  for (int round = 0; round < 60; ++round) {
    std::vector<TrialOutcome> done;
    for (const Point& p : s->Suggest(4)) {
      double violation = std::max(0.0, p[0] - 0.3);
      if (round >= 50 && violation == 0) ++feasible_late;
      done.push_back({id++, p, violation > 0 ? TrialStatus::kRejected : TrialStatus::kSucceeded,
                      problems::Zdt1(p), violation});
    }
    s->Update(done);
  }
  EXPECT_GE(feasible_late, 30);  // of 40 late proposals
}

}  // namespace
}  // namespace kdnas
