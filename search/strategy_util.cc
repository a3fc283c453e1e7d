#include "search/strategy_util.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace kdnas {

bool ToIndividual(const TrialOutcome& o, const std::vector<bool>& maximize, Individual* out) {
  out->id = o.id;
  out->point = o.point;
  out->violation = o.violation;
  out->objectives.assign(maximize.size(), std::numeric_limits<double>::infinity());
  switch (o.status) {
    case TrialStatus::kSucceeded:
    case TrialStatus::kStopped:
      if (o.values.size() != maximize.size()) {
        if (o.status == TrialStatus::kStopped) return false;
        out->violation = std::max(out->violation, kFailedViolation);
        return true;
      }
      for (size_t i = 0; i < maximize.size(); ++i) {
        double v = o.values[i];
        if (std::isnan(v)) v = std::numeric_limits<double>::infinity();
        out->objectives[i] = maximize[i] ? -v : v;
      }
      return true;
    case TrialStatus::kFailed:
      out->violation = std::max(out->violation, kFailedViolation);
      return true;
    case TrialStatus::kRejected:
      out->violation = std::max(out->violation, 1e-12);
      return true;
  }
  return false;
}

bool ConstrainedDominates(const Individual& a, const Individual& b) {
  if (a.violation > 0 || b.violation > 0) return a.violation < b.violation;
  bool strictly = false;
  for (size_t i = 0; i < a.objectives.size(); ++i) {
    if (a.objectives[i] > b.objectives[i]) return false;
    if (a.objectives[i] < b.objectives[i]) strictly = true;
  }
  return strictly;
}

std::vector<std::vector<size_t>> NondominatedSort(const std::vector<Individual>& pop) {
  const size_t n = pop.size();
  std::vector<std::vector<size_t>> dominated(n);
  std::vector<int> count(n, 0);
  std::vector<std::vector<size_t>> fronts(1);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      if (ConstrainedDominates(pop[i], pop[j])) {
        dominated[i].push_back(j);
        ++count[j];
      } else if (ConstrainedDominates(pop[j], pop[i])) {
        dominated[j].push_back(i);
        ++count[i];
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (count[i] == 0) fronts[0].push_back(i);
  }
  while (!fronts.back().empty()) {
    std::vector<size_t> next;
    for (size_t i : fronts.back()) {
      for (size_t j : dominated[i]) {
        if (--count[j] == 0) next.push_back(j);
      }
    }
    std::sort(next.begin(), next.end());
    fronts.push_back(std::move(next));
  }
  fronts.pop_back();
  return fronts;
}

std::vector<double> CrowdingDistance(const std::vector<Individual>& pop, const std::vector<size_t>& front) {
  const size_t n = front.size();
  std::vector<double> distance(n, 0.0);
  if (n == 0) return distance;
  const size_t m = pop[front[0]].objectives.size();
  std::vector<size_t> order(n);
  for (size_t k = 0; k < m; ++k) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return pop[front[a]].objectives[k] < pop[front[b]].objectives[k];
    });
    double lo = pop[front[order.front()]].objectives[k];
    double hi = pop[front[order.back()]].objectives[k];
    distance[order.front()] = distance[order.back()] = std::numeric_limits<double>::infinity();
    if (!(hi > lo) || !std::isfinite(hi - lo)) continue;
    for (size_t i = 1; i + 1 < n; ++i) {
      distance[order[i]] += (pop[front[order[i + 1]]].objectives[k] - pop[front[order[i - 1]]].objectives[k]) / (hi - lo);
    }
  }
  return distance;
}

ProposalTracker::ProposalTracker(const ParameterSpace& space, const StrategyOptions& options)
    : space_(space), filter_(options.filter), max_tries_(std::max(1, options.max_filter_tries)) {}

Point ProposalTracker::Propose(const std::function<Point()>& generate) {
  Point chosen;
  bool found = false;        // new and accepted by the filter
  bool have_new = false;     // new, maybe rejected by the filter
  Point first_new, last;
  auto consider = [&](Point p) {
    p = space_.Snap(std::move(p));
    bool fresh = !WasProposed(p);
    if (fresh && (!filter_ || filter_(p))) {
      chosen = std::move(p);
      found = true;
    } else {
      if (fresh && !have_new) {
        first_new = p;
        have_new = true;
      }
      last = std::move(p);
    }
  };
  for (int attempt = 0; attempt < max_tries_ && !found; ++attempt) consider(generate());
  // The generator keeps landing on known points (a converged population, a
  // small space): walk a finite space from a pseudo-random start for a new one.
  const uint64_t cardinality = space_.Cardinality();
  if (!found && cardinality > 0 && cardinality <= kEnumerateLimit && proposed_ < cardinality) {
    uint64_t start = HashPoint(last) % cardinality;
    for (uint64_t k = 0; k < cardinality && !found; ++k) consider(PointAt((start + k) % cardinality));
  }
  if (!found) chosen = have_new ? first_new : last;
  seen_.Insert(HashPoint(chosen));
  ++proposed_;
  return chosen;
}

Point ProposalTracker::PointAt(uint64_t index) const {
  Point p(space_.size());
  for (size_t i = 0; i < space_.size(); ++i) {
    const ParameterConfig& c = space_.parameter(i);
    uint64_t card = c.Cardinality();
    uint64_t k = index % card;
    index /= card;
    switch (c.type) {
      case ParameterType::kInteger: p[i] = c.min + static_cast<double>(k * static_cast<uint64_t>(c.step)); break;
      case ParameterType::kDouble: p[i] = c.min; break;
      case ParameterType::kDiscrete: p[i] = c.values[k]; break;
      case ParameterType::kCategorical: p[i] = static_cast<double>(k); break;
    }
  }
  return p;
}

}  // namespace kdnas
