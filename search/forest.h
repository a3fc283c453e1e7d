// A small random-forest regressor (bagged CART trees with feature
// subsampling), the surrogate kdnas learns from completed trials: it ranks
// proposals before training and measures how much each knob matters.
#pragma once

#include <cstdint>
#include <vector>

#include "search/rng.h"

namespace kdnas {

struct ForestOptions {
  int trees = 32;
  int max_depth = 8;
  int min_leaf = 2;
  uint64_t seed = 0;
  // Every feature at every split (bagged trees, the usual choice for
  // regression on few rows) instead of a random sqrt(features) of them.
  bool all_features = false;
};

class RandomForest {
 public:
  // x: rows of features; y: targets. Needs at least 2 rows.
  void Fit(const std::vector<std::vector<double>>& x, const std::vector<double>& y, const ForestOptions& options);
  double Predict(const std::vector<double>& row) const;
  // The standard deviation of the trees' predictions for `row`: how much the
  // forest disagrees with itself there (0 when it has one tree).
  double Spread(const std::vector<double>& row) const;
  // Prediction for training row i from the trees that did not see it
  // (out-of-bag); the plain prediction if every tree saw it.
  double PredictOutOfBag(size_t i) const;
  // Permutation importance of each feature: the increase of the out-of-bag
  // squared error when that feature's column is shuffled, normalized to sum
  // to 1 (all zero when nothing matters).
  std::vector<double> PermutationImportance(uint64_t seed) const;
  bool fitted() const { return !trees_.empty(); }

 private:
  struct Node {
    int feature = -1;  // -1: leaf
    double threshold = 0;
    double value = 0;
    int left = -1, right = -1;
  };
  struct Tree {
    std::vector<Node> nodes;
    std::vector<bool> in_bag;
  };
  int Build(Tree& tree, std::vector<size_t>& rows, size_t begin, size_t end, int depth, Rng& rng,
            const ForestOptions& options);
  static double PredictTree(const Tree& tree, const std::vector<double>& row);
  double OutOfBagError(const std::vector<std::vector<double>>& x) const;

  std::vector<std::vector<double>> x_;
  std::vector<double> y_;
  std::vector<Tree> trees_;
};

// Kendall's tau-b between two equally long sequences (ties handled).
double KendallTau(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace kdnas
