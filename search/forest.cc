#include "search/forest.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kdnas {

void RandomForest::Fit(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                       const ForestOptions& options) {
  x_ = x;
  y_ = y;
  trees_.clear();
  if (x.size() < 2) return;
  Rng rng(Rng::Mix(options.seed, 0xf0e57));
  for (int t = 0; t < options.trees; ++t) {
    Tree tree;
    tree.in_bag.assign(x.size(), false);
    std::vector<size_t> rows(x.size());
    for (auto& r : rows) {
      r = rng.Below(x.size());
      tree.in_bag[r] = true;
    }
    Build(tree, rows, 0, rows.size(), 0, rng, options);
    trees_.push_back(std::move(tree));
  }
}

int RandomForest::Build(Tree& tree, std::vector<size_t>& rows, size_t begin, size_t end, int depth, Rng& rng,
                        const ForestOptions& options) {
  const int index = static_cast<int>(tree.nodes.size());
  tree.nodes.push_back({});
  double mean = 0;
  for (size_t i = begin; i < end; ++i) mean += y_[rows[i]];
  mean /= static_cast<double>(end - begin);
  tree.nodes[index].value = mean;
  const size_t n = end - begin;
  if (depth >= options.max_depth || n < 2 * static_cast<size_t>(options.min_leaf)) return index;
  const size_t features = x_[0].size();
  const size_t tries =
      options.all_features
          ? features
          : std::max<size_t>(1, static_cast<size_t>(std::ceil(std::sqrt(static_cast<double>(features)))));
  double best_gain = 1e-12;
  int best_feature = -1;
  double best_threshold = 0;
  std::vector<std::pair<double, double>> values(n);
  for (size_t k = 0; k < tries; ++k) {
    size_t f = options.all_features ? k : rng.Below(features);
    for (size_t i = 0; i < n; ++i) values[i] = {x_[rows[begin + i]][f], y_[rows[begin + i]]};
    std::sort(values.begin(), values.end());
    double total = 0, total_sq = 0;
    for (const auto& v : values) {
      total += v.second;
      total_sq += v.second * v.second;
    }
    const double base = total_sq - total * total / static_cast<double>(n);
    double left = 0, left_sq = 0;
    for (size_t i = 0; i + 1 < n; ++i) {
      left += values[i].second;
      left_sq += values[i].second * values[i].second;
      if (values[i].first == values[i + 1].first) continue;
      const double nl = static_cast<double>(i + 1), nr = static_cast<double>(n - i - 1);
      if (nl < options.min_leaf || nr < options.min_leaf) continue;
      const double right = total - left, right_sq = total_sq - left_sq;
      const double sse = (left_sq - left * left / nl) + (right_sq - right * right / nr);
      if (base - sse > best_gain) {
        best_gain = base - sse;
        best_feature = static_cast<int>(f);
        best_threshold = 0.5 * (values[i].first + values[i + 1].first);
      }
    }
  }
  if (best_feature < 0) return index;
  auto mid = std::partition(rows.begin() + static_cast<long>(begin), rows.begin() + static_cast<long>(end),
                            [&](size_t r) { return x_[r][best_feature] <= best_threshold; });
  const size_t split = static_cast<size_t>(mid - rows.begin());
  tree.nodes[index].feature = best_feature;
  tree.nodes[index].threshold = best_threshold;
  int left_child = Build(tree, rows, begin, split, depth + 1, rng, options);
  int right_child = Build(tree, rows, split, end, depth + 1, rng, options);
  tree.nodes[index].left = left_child;
  tree.nodes[index].right = right_child;
  return index;
}

double RandomForest::PredictTree(const Tree& tree, const std::vector<double>& row) {
  int i = 0;
  while (tree.nodes[i].feature >= 0) {
    i = row[tree.nodes[i].feature] <= tree.nodes[i].threshold ? tree.nodes[i].left : tree.nodes[i].right;
  }
  return tree.nodes[i].value;
}

double RandomForest::Predict(const std::vector<double>& row) const {
  if (trees_.empty()) return 0;
  double sum = 0;
  for (const Tree& t : trees_) sum += PredictTree(t, row);
  return sum / static_cast<double>(trees_.size());
}

double RandomForest::Spread(const std::vector<double>& row) const {
  if (trees_.size() < 2) return 0;
  const double mean = Predict(row);
  double sum = 0;
  for (const Tree& t : trees_) {
    double d = PredictTree(t, row) - mean;
    sum += d * d;
  }
  return std::sqrt(sum / static_cast<double>(trees_.size()));
}

double RandomForest::PredictOutOfBag(size_t i) const {
  double sum = 0;
  int count = 0;
  for (const Tree& t : trees_) {
    if (t.in_bag[i]) continue;
    sum += PredictTree(t, x_[i]);
    ++count;
  }
  return count > 0 ? sum / count : Predict(x_[i]);
}

double RandomForest::OutOfBagError(const std::vector<std::vector<double>>& x) const {
  double error = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double sum = 0;
    int count = 0;
    for (const Tree& t : trees_) {
      if (t.in_bag[i]) continue;
      sum += PredictTree(t, x[i]);
      ++count;
    }
    double p = count > 0 ? sum / count : Predict(x[i]);
    error += (p - y_[i]) * (p - y_[i]);
  }
  return error / static_cast<double>(x.size());
}

std::vector<double> RandomForest::PermutationImportance(uint64_t seed) const {
  if (trees_.empty()) return {};
  const size_t features = x_[0].size();
  const double base = OutOfBagError(x_);
  Rng rng(Rng::Mix(seed, 0x9e3));
  std::vector<double> importance(features, 0);
  for (size_t f = 0; f < features; ++f) {
    std::vector<std::vector<double>> shuffled = x_;
    for (size_t i = shuffled.size() - 1; i > 0; --i) std::swap(shuffled[i][f], shuffled[rng.Below(i + 1)][f]);
    importance[f] = std::max(0.0, OutOfBagError(shuffled) - base);
  }
  double total = std::accumulate(importance.begin(), importance.end(), 0.0);
  if (total > 0) {
    for (double& v : importance) v /= total;
  }
  return importance;
}

double KendallTau(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = std::min(a.size(), b.size());
  double concordant = 0, discordant = 0, ties_a = 0, ties_b = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      const double da = a[i] - a[j], db = b[i] - b[j];
      if (da == 0 && db == 0) continue;
      if (da == 0) {
        ties_a += 1;
      } else if (db == 0) {
        ties_b += 1;
      } else if ((da > 0) == (db > 0)) {
        concordant += 1;
      } else {
        discordant += 1;
      }
    }
  }
  const double denom = std::sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b));
  return denom > 0 ? (concordant - discordant) / denom : 0;
}

}  // namespace kdnas
