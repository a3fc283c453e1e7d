#include "search/hypervolume.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

namespace kdnas {
namespace {

bool StrictlyInside(const ObjectiveVector& p, const ObjectiveVector& ref) {
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!(p[i] < ref[i])) return false;
  }
  return true;
}

bool WeaklyDominates(const ObjectiveVector& a, const ObjectiveVector& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] > b[i]) return false;
  }
  return true;
}

std::vector<ObjectiveVector> Inside(std::vector<ObjectiveVector> points, const ObjectiveVector& ref) {
  points.erase(std::remove_if(points.begin(), points.end(),
                              [&](const ObjectiveVector& p) { return !StrictlyInside(p, ref); }),
               points.end());
  return points;
}

// Non-dominated subset (O(n^2), for WFG's small limit sets).
std::vector<ObjectiveVector> Nondominated(const std::vector<ObjectiveVector>& points) {
  std::vector<ObjectiveVector> out;
  for (size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) {
      if (i == j) continue;
      if (WeaklyDominates(points[j], points[i]) && (points[j] != points[i] || j < i)) dominated = true;
    }
    if (!dominated) out.push_back(points[i]);
  }
  return out;
}

double Box(const ObjectiveVector& p, const ObjectiveVector& ref) {
  double v = 1;
  for (size_t i = 0; i < p.size(); ++i) v *= ref[i] - p[i];
  return v;
}

double Wfg(std::vector<ObjectiveVector> points, const ObjectiveVector& ref);

// Exclusive hypervolume of points[k] given points[k+1..].
double Exclusive(const std::vector<ObjectiveVector>& points, size_t k, const ObjectiveVector& ref) {
  std::vector<ObjectiveVector> limited;
  for (size_t j = k + 1; j < points.size(); ++j) {
    ObjectiveVector q(points[k].size());
    for (size_t i = 0; i < q.size(); ++i) q[i] = std::max(points[k][i], points[j][i]);
    limited.push_back(std::move(q));
  }
  return Box(points[k], ref) - Wfg(Nondominated(limited), ref);
}

double Wfg(std::vector<ObjectiveVector> points, const ObjectiveVector& ref) {
  if (points.empty()) return 0;
  if (ref.size() == 2) return Hypervolume2D(std::move(points), ref);
  if (ref.size() == 3) return Hypervolume3D(std::move(points), ref);
  // Sorting by the last objective (worst first) keeps limit sets small.
  std::sort(points.begin(), points.end(),
            [](const ObjectiveVector& a, const ObjectiveVector& b) { return a.back() > b.back(); });
  double total = 0;
  for (size_t k = 0; k < points.size(); ++k) total += Exclusive(points, k, ref);
  return total;
}

}  // namespace

double Front2D::Term(double x, double y, double next_x) const {
  double width = std::min(next_x, ref_x_) - x;
  double height = ref_y_ - y;
  return width > 0 && height > 0 ? width * height : 0.0;
}

bool Front2D::Dominated(double x, double y) const {
  auto it = front_.upper_bound(x);
  if (it == front_.begin()) return false;
  --it;  // largest member x' <= x
  return it->second.y <= y;
}

double Front2D::Gain(double x, double y) const {
  if (x >= ref_x_ || y >= ref_y_) return 0;
  auto next = front_.upper_bound(x);
  double level = next == front_.begin() ? ref_y_ : std::prev(next)->second.y;
  double gain = 0;
  // Sweep right from x: the front's level only falls, so stop once it is at
  // or below y.
  for (double from = x; level > y;) {
    double to = next == front_.end() ? ref_x_ : std::min(next->first, ref_x_);
    gain += (to - from) * (level - y);
    if (to >= ref_x_) break;
    level = next->second.y;
    from = to;
    ++next;
  }
  return gain;
}

bool Front2D::Insert(double x, double y, int64_t id, std::vector<int64_t>* removed) {
  if (Dominated(x, y)) return false;
  const double inf = std::numeric_limits<double>::infinity();
  auto next = front_.lower_bound(x);
  // Members with x' >= x and y' >= y are dominated: a contiguous run.
  double before = 0;
  auto run_end = next;
  while (run_end != front_.end() && run_end->second.y >= y) ++run_end;
  double after_x = run_end == front_.end() ? inf : run_end->first;
  for (auto it = next; it != run_end; ++it) {
    auto succ = std::next(it);
    before += Term(it->first, it->second.y, succ == front_.end() ? inf : succ->first);
    if (removed != nullptr) removed->push_back(it->second.id);
  }
  double pred_before = 0, pred_after = 0;
  if (next != front_.begin()) {
    auto pred = std::prev(next);
    pred_before = Term(pred->first, pred->second.y, next == front_.end() ? inf : next->first);
    pred_after = Term(pred->first, pred->second.y, x);
  }
  front_.erase(next, run_end);
  front_.emplace(x, Member{y, id});
  area_ += (pred_after - pred_before) + Term(x, y, after_x) - before;
  return true;
}

double Hypervolume2D(std::vector<ObjectiveVector> points, const ObjectiveVector& ref) {
  points = Inside(std::move(points), ref);
  std::sort(points.begin(), points.end());
  double volume = 0;
  double best_y = ref[1];
  for (const auto& p : points) {
    if (p[1] < best_y) {
      volume += (ref[0] - p[0]) * (best_y - p[1]);
      best_y = p[1];
    }
  }
  return volume;
}

double Hypervolume3D(std::vector<ObjectiveVector> points, const ObjectiveVector& ref) {
  points = Inside(std::move(points), ref);
  std::sort(points.begin(), points.end(),
            [](const ObjectiveVector& a, const ObjectiveVector& b) { return a[2] < b[2]; });
  Front2D slice(ref[0], ref[1]);
  double volume = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    slice.Insert(points[i][0], points[i][1]);
    double next_z = i + 1 < points.size() ? points[i + 1][2] : ref[2];
    volume += slice.area() * (next_z - points[i][2]);
  }
  return volume;
}

double HypervolumeWfg(std::vector<ObjectiveVector> points, const ObjectiveVector& ref) {
  points = Nondominated(Inside(std::move(points), ref));
  if (points.empty()) return 0;
  // The generic recursion, also for 2 and 3 objectives (used to cross-check).
  std::sort(points.begin(), points.end(),
            [](const ObjectiveVector& a, const ObjectiveVector& b) { return a.back() > b.back(); });
  double total = 0;
  for (size_t k = 0; k < points.size(); ++k) total += Exclusive(points, k, ref);
  return total;
}

double Hypervolume(const std::vector<ObjectiveVector>& points, const ObjectiveVector& ref) {
  switch (ref.size()) {
    case 0: return 0;
    case 1: {
      double best = ref[0];
      for (const auto& p : points) best = std::min(best, p[0]);
      return ref[0] - best;
    }
    case 2: return Hypervolume2D(points, ref);
    case 3: return Hypervolume3D(points, ref);
    default: return Wfg(Nondominated(Inside(points, ref)), ref);
  }
}

}  // namespace kdnas
