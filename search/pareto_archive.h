// The incremental non-dominated archive of a job: trials enter as objective
// vectors (minimization; callers negate maximized objectives) and the archive
// reports what joined and left the front, keeping its hypervolume against a
// fixed reference point. Two objectives cost O(log n) amortized per insert;
// more objectives keep a list and recompute the hypervolume exactly.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "search/hypervolume.h"

namespace kdnas {

class ParetoArchive {
 public:
  struct Member {
    int64_t id;
    ObjectiveVector point;
  };
  struct Change {
    bool added = false;
    std::vector<int64_t> removed;
  };

  explicit ParetoArchive(ObjectiveVector reference);

  // Adds `point` unless a member weakly dominates it.
  Change Insert(int64_t id, const ObjectiveVector& point);
  bool Dominated(const ObjectiveVector& point) const;

  double hypervolume() const;
  size_t size() const;
  // Members sorted by the first objective.
  std::vector<Member> Members() const;
  const ObjectiveVector& reference() const { return reference_; }

 private:
  ObjectiveVector reference_;
  std::unique_ptr<Front2D> front2d_;  // two objectives
  std::vector<Member> members_;       // otherwise
  mutable std::optional<double> hypervolume_cache_;
};

}  // namespace kdnas
