// Whether a search space has any candidate within the constraints, found by
// bounded random sampling before a job starts, so an impossible job is
// refused with a clear error instead of burning its budget on rejections.
#pragma once

#include <cstdint>
#include <string>

#include "search/cost_model.h"
#include "search/search_space.h"

namespace kdnas {

struct FeasibilityReport {
  bool feasible = false;
  int64_t tries = 0;
  Point point;           // a feasible point, or the least infeasible one
  CostEstimate cost;     // of `point`
  double violation = 0;  // of `point`
  // Why the first invalid candidate met is invalid (ValidateCandidate), or "".
  std::string invalid_example;
};

// Samples up to max_tries valid points (plus the base candidate's own point)
// and stops at the first feasible one.
FeasibilityReport FindFeasiblePoint(const SearchSpace& space, const ModelContext& context,
                                    const Constraints& constraints, uint64_t seed,
                                    int64_t max_tries = 10000);

// OK if feasible; otherwise INVALID_ARGUMENT naming the constraints, e.g.
// "spec.constraints: no candidate satisfies max_size_bytes=1000 after 10000
// tries (the smallest found is 51234 bytes, 812 params)"; when no candidate
// tried is valid at all, INVALID_ARGUMENT naming spec.space with the reason
// one of them is not.
Status CheckFeasible(const SearchSpace& space, const ModelContext& context,
                     const Constraints& constraints, uint64_t seed, int64_t max_tries = 10000);

}  // namespace kdnas
