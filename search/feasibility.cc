#include "search/feasibility.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace kdnas {

FeasibilityReport FindFeasiblePoint(const SearchSpace& space, const ModelContext& context,
                                    const Constraints& constraints, uint64_t seed,
                                    int64_t max_tries) {
  FeasibilityReport report;
  report.violation = std::numeric_limits<double>::infinity();
  Rng rng(Rng::Mix(seed, 0xfea5));
  auto consider = [&](const Point& p) {
    Candidate c = space.Decode(p);
    Status valid = ValidateCandidate(c);
    if (!valid.ok()) {
      if (report.invalid_example.empty()) report.invalid_example = valid.message();
      return false;
    }
    CostEstimate cost = EstimateCost(c, context);
    double violation = ConstraintViolation(cost, constraints);
    if (violation < report.violation) {
      report.point = p;
      report.cost = cost;
      report.violation = violation;
    }
    return violation == 0;
  };
  // The base's own knob values first: often the intended feasible point.
  if (consider(space.Encode(space.base()))) {
    report.feasible = true;
    return report;
  }
  for (report.tries = 1; report.tries <= max_tries; ++report.tries) {
    if (consider(space.parameters().Sample(rng))) {
      report.feasible = true;
      return report;
    }
  }
  return report;
}

Status CheckFeasible(const SearchSpace& space, const ModelContext& context,
                     const Constraints& constraints, uint64_t seed, int64_t max_tries) {
  FeasibilityReport r = FindFeasiblePoint(space, context, constraints, seed, max_tries);
  if (r.feasible) return Status::Ok();
  if (!std::isfinite(r.violation)) {
    return InvalidArgument("spec.space: none of the " + std::to_string(max_tries + 1) +
                           " candidates tried is valid; for example " + r.invalid_example);
  }
  std::ostringstream msg;
  msg << "spec.constraints: no candidate of the space satisfies";
  if (constraints.max_size_bytes > 0) msg << " max_size_bytes=" << constraints.max_size_bytes;
  if (constraints.max_params > 0) msg << " max_params=" << constraints.max_params;
  if (constraints.max_flops_per_token > 0)
    msg << " max_flops_per_token=" << constraints.max_flops_per_token;
  msg << " after " << max_tries << " tries";
  msg << " (the closest found is " << r.cost.size_bytes << " bytes, " << r.cost.params
      << " params, " << r.cost.flops_per_token << " FLOPs per token)";
  return InvalidArgument(msg.str());
}

}  // namespace kdnas
