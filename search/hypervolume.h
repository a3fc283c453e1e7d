// Exact hypervolume of a set of points (all objectives minimized) with
// respect to a reference point: the measure of the region dominated by the
// set and bounded by the reference. Points not strictly better than the
// reference in every objective contribute nothing.
#pragma once

#include <cstdint>
#include <cstddef>
#include <map>
#include <vector>

namespace kdnas {

using ObjectiveVector = std::vector<double>;

// Any number of objectives: 2 -> O(n log n) sweep, 3 -> O(n log n) sweep
// (Beume et al.), more -> WFG (While et al.).
double Hypervolume(const std::vector<ObjectiveVector>& points, const ObjectiveVector& reference);

double Hypervolume2D(std::vector<ObjectiveVector> points, const ObjectiveVector& reference);
double Hypervolume3D(std::vector<ObjectiveVector> points, const ObjectiveVector& reference);
double HypervolumeWfg(std::vector<ObjectiveVector> points, const ObjectiveVector& reference);

// A 2-objective non-dominated front kept sorted by the first objective, with
// its dominated area maintained incrementally: O(log n) amortized per insert.
class Front2D {
 public:
  Front2D(double ref_x, double ref_y) : ref_x_(ref_x), ref_y_(ref_y) {}
  struct Member {
    double y;
    int64_t id;
  };
  // Inserts (x, y) unless weakly dominated by a member; the ids of members it
  // dominates are appended to `removed`. Returns whether it was inserted.
  bool Insert(double x, double y, int64_t id = 0, std::vector<int64_t>* removed = nullptr);
  bool Dominated(double x, double y) const;
  // The area (x, y) would add: dominated by it, inside the reference box and
  // not dominated by any member. 0 when it is dominated.
  double Gain(double x, double y) const;
  double area() const { return area_; }
  size_t size() const { return front_.size(); }
  // x -> (y, id), y strictly decreasing in x.
  const std::map<double, Member>& members() const { return front_; }

 private:
  double Term(double x, double y, double next_x) const;
  double ref_x_, ref_y_;
  double area_ = 0;
  std::map<double, Member> front_;
};

}  // namespace kdnas
