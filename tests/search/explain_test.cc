#include "search/explain.h"

#include <gtest/gtest.h>

#include <cmath>

#include "search/forest.h"

namespace kdnas {
namespace {

TEST(KendallTau, MatchesHandCounts) {
  EXPECT_DOUBLE_EQ(KendallTau({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(KendallTau({1, 2, 3, 4}, {40, 30, 20, 10}), -1.0);
  // One discordant pair of six.
  EXPECT_NEAR(KendallTau({1, 2, 3, 4}, {1, 2, 4, 3}), 4.0 / 6.0, 1e-12);
}

TEST(RandomForest, LearnsAndRanksFeatures) {
  Rng rng(1);
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  for (int i = 0; i < 200; ++i) {
    std::vector<double> row = {rng.Uniform(), rng.Uniform(), rng.Uniform()};
    y.push_back(5 * row[0] + 0.5 * row[1] + 0.0 * row[2]);
    x.push_back(row);
  }
  RandomForest forest;
  forest.Fit(x, y, {32, 8, 2, 3});
  EXPECT_NEAR(forest.Predict({0.5, 0.5, 0.5}), 2.75, 0.3);
  auto importance = forest.PermutationImportance(4);
  ASSERT_EQ(importance.size(), 3u);
  EXPECT_GT(importance[0], importance[1]);
  EXPECT_GT(importance[1], importance[2]);
  EXPECT_NEAR(importance[0] + importance[1] + importance[2], 1.0, 1e-9);
}

TEST(Explain, ImportancesTradeOffsAndPredictors) {
  SearchSpaceSpec spec;
  spec.parameters = {ParameterConfig::Discrete("weight_bits", {8, 4, 3, 2}), ParameterConfig::Double("alpha", 0, 1)};
  auto space = *SearchSpace::Create(spec);
  ModelContext context{65, 200};
  std::vector<ExplainTrial> trials;
  Rng rng(2);
  for (int i = 0; i < 40; ++i) {
    Point p = space.parameters().Sample(rng);
    Candidate c = space.Decode(p);
    CostEstimate cost = EstimateCost(c, context);
    // Loss depends on the bits only; alpha is noise.
    double loss = 1.8 + 0.5 / p[0];
    trials.push_back({i, p, c, {{"val_loss", loss}, {"size_bytes", static_cast<double>(cost.size_bytes)}}});
  }
  // A frontier of three: 8 bits, 4 bits, 2 bits.
  std::vector<int64_t> frontier;
  for (double bits : {8.0, 4.0, 2.0}) {
    for (const auto& t : trials) {
      if (t.point[0] == bits) {
        frontier.push_back(t.id);
        break;
      }
    }
  }
  Explanation e = Explain(space, {"val_loss"}, trials, frontier, context, 7);
  ASSERT_EQ(e.importances.size(), 2u);
  EXPECT_EQ(e.importances[0].knob, "weight_bits");
  EXPECT_GT(e.importances[0].importance, 0.9);
  ASSERT_EQ(e.trade_offs.size(), 2u);
  EXPECT_LT(e.trade_offs[0].size_bytes_delta, 0);
  EXPECT_GT(e.trade_offs[0].val_loss_delta, 0);
  EXPECT_GT(e.trade_offs[0].nats_per_megabyte, 0);
  EXPECT_EQ(e.trade_offs[0].changed_knobs.front().rfind("weight_bits: 8 -> 4", 0), 0u);
  // More bits, more capacity, lower loss: both predictors rank well.
  EXPECT_GT(e.predictor_kendall_tau["proxy"], 0.8);
  EXPECT_GT(e.predictor_kendall_tau["surrogate"], 0.8);
}

}  // namespace
}  // namespace kdnas
