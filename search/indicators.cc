#include "search/indicators.h"

#include <cmath>
#include <limits>

namespace kdnas {
namespace {

double MeanNearestDistance(const std::vector<ObjectiveVector>& from, const std::vector<ObjectiveVector>& to) {
  if (from.empty() || to.empty()) return std::numeric_limits<double>::infinity();
  double total = 0;
  for (const auto& a : from) {
    double best = std::numeric_limits<double>::infinity();
    for (const auto& z : to) {
      double d2 = 0;
      for (size_t i = 0; i < a.size(); ++i) d2 += (a[i] - z[i]) * (a[i] - z[i]);
      best = std::min(best, d2);
    }
    total += std::sqrt(best);
  }
  return total / static_cast<double>(from.size());
}

}  // namespace

double GenerationalDistance(const std::vector<ObjectiveVector>& a, const std::vector<ObjectiveVector>& z) {
  return MeanNearestDistance(a, z);
}

double InvertedGenerationalDistance(const std::vector<ObjectiveVector>& a, const std::vector<ObjectiveVector>& z) {
  return MeanNearestDistance(z, a);
}

}  // namespace kdnas
