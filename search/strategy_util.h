// Pieces the strategies share: proposal bookkeeping (filter, no repeats),
// individuals in minimization form, constrained domination, non-dominated
// sorting and crowding distance.
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_set>
#include <vector>

#include "search/key_set.h"
#include "search/parameter_space.h"
#include "search/strategy.h"

namespace kdnas {

// Violation given to failed trials: worse than any constraint violation.
constexpr double kFailedViolation = 1e9;

// A finished trial in minimization form.
struct Individual {
  int64_t id = 0;
  Point point;
  std::vector<double> objectives;  // maximized objectives negated
  double violation = 0;            // 0 = feasible
};

// Converts an outcome; false if it carries nothing to learn from (a stopped
// trial without values).
bool ToIndividual(const TrialOutcome& outcome, const std::vector<bool>& maximize, Individual* out);

// a dominates b under constraint domination (Deb): a feasible point beats an
// infeasible one, of two infeasible points the smaller violation wins, and
// feasible points compare by Pareto dominance.
bool ConstrainedDominates(const Individual& a, const Individual& b);

// Non-dominated fronts (indices into `pop`), best first. O(M N^2).
std::vector<std::vector<size_t>> NondominatedSort(const std::vector<Individual>& pop);

// Crowding distance of each member of `front` (same order); boundary points
// get infinity.
std::vector<double> CrowdingDistance(const std::vector<Individual>& pop, const std::vector<size_t>& front);

// Remembers every proposed point and applies the caller's filter.
class ProposalTracker {
 public:
  ProposalTracker(const ParameterSpace& space, const StrategyOptions& options);
  // Calls `generate` until it yields a point that is new and passes the
  // filter (at most max_filter_tries times), then, in a finite space, walks
  // the space for one; failing that returns a new point the filter rejected,
  // or a repeat. Records the result as proposed.
  Point Propose(const std::function<Point()>& generate);
  bool WasProposed(const Point& p) const { return seen_.Contains(HashPoint(p)); }
  uint64_t proposed() const { return proposed_; }

  // Finite spaces up to this size are enumerated when generation stalls.
  static constexpr uint64_t kEnumerateLimit = 1 << 20;

 private:
  // The index-th point of a finite space in mixed-radix order.
  Point PointAt(uint64_t index) const;

  const ParameterSpace& space_;
  std::function<bool(const Point&)> filter_;
  int max_tries_;
  KeySet seen_;
  uint64_t proposed_ = 0;
};

}  // namespace kdnas
