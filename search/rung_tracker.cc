#include "search/rung_tracker.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace kdnas {

RungTracker::RungTracker(RungOptions options) : options_(std::move(options)) {
  for (int64_t step : options_.rung_steps) rungs_[step];
}

bool RungTracker::IsRung(int64_t step) const { return rungs_.count(step) > 0; }

void RungTracker::Record(int64_t id, int64_t step, double size, double loss, double latency_ms,
                         bool continued) {
  auto it = rungs_.find(step);
  if (it == rungs_.end()) return;
  for (const Entry& e : it->second) {
    if (e.id == id) return;
  }
  it->second.push_back({id, size, loss, options_.compare_latency ? latency_ms : 0, continued});
}

bool RungTracker::Dominates(const Entry& q, const Entry& p) const {
  if (q.size > p.size || q.loss > p.loss) return false;
  bool better = q.size < p.size || q.loss < p.loss;
  if (q.latency_ms > 0 && p.latency_ms > 0) {
    if (q.latency_ms > p.latency_ms * (1 + kRungLatencyTolerance)) return false;
    better |= q.latency_ms < p.latency_ms * (1 - kRungLatencyTolerance);
  }
  return better;
}

bool RungTracker::Decide(int64_t id, int64_t step, double size, double loss, double latency_ms) {
  auto it = rungs_.find(step);
  if (it == rungs_.end()) return true;
  std::vector<Entry>& entries = it->second;
  for (const Entry& e : entries) {
    if (e.id == id) return e.continued;
  }
  entries.push_back({id, size, loss, options_.compare_latency ? latency_ms : 0, true});
  const size_t n = entries.size();
  if (n < static_cast<size_t>(std::max(1, options_.min_trials_per_rung))) return true;
  // Non-dominated ranks, every coordinate minimized: a point's rank is one
  // more than the highest rank of the points that dominate it. A point's
  // dominators come before it in (size, loss, latency) order.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(entries[a].size, entries[a].loss, entries[a].latency_ms) <
           std::tie(entries[b].size, entries[b].loss, entries[b].latency_ms);
  });
  std::vector<int> rank(n, 0);
  for (size_t oi = 0; oi < n; ++oi) {
    for (size_t oj = 0; oj < oi; ++oj) {
      if (Dominates(entries[order[oj]], entries[order[oi]]))
        rank[order[oi]] = std::max(rank[order[oi]], rank[order[oj]] + 1);
    }
  }
  const size_t self = n - 1;
  bool go_on = rank[self] < options_.keep_ranks;
  if (!go_on) {
    // Or among the top 1/eta by (rank, loss).
    std::vector<size_t> by_quality(n);
    for (size_t i = 0; i < n; ++i) by_quality[i] = i;
    std::sort(by_quality.begin(), by_quality.end(), [&](size_t a, size_t b) {
      return std::tie(rank[a], entries[a].loss) < std::tie(rank[b], entries[b].loss);
    });
    const size_t keep = static_cast<size_t>(
        std::ceil(static_cast<double>(n) / std::max(1, options_.reduction_factor)));
    for (size_t k = 0; k < keep; ++k) go_on |= by_quality[k] == self;
  }
  entries.back().continued = go_on;
  return go_on;
}

int64_t RungTracker::reached(int64_t step) const {
  auto it = rungs_.find(step);
  return it == rungs_.end() ? 0 : static_cast<int64_t>(it->second.size());
}

int64_t RungTracker::continued(int64_t step) const {
  auto it = rungs_.find(step);
  if (it == rungs_.end()) return 0;
  return std::count_if(it->second.begin(), it->second.end(),
                       [](const Entry& e) { return e.continued; });
}

}  // namespace kdnas
