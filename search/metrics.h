// The metrics of a trial (the fields of kdnas.v1.TrialMetrics) that
// objectives, limits and GetBest name, and what the core knows of each: its
// natural direction, whether a worker may leave it unmeasured, and which
// limits are checked on the measured value after a trial ran (the cost model
// checks the predicted ones before).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "search/cost_model.h"
#include "search/status.h"

namespace kdnas {

// Metric name -> value of a finished trial. A metric a worker did not
// measure is absent.
using MetricValues = std::map<std::string, double>;

struct ObjectiveSpec {
  ObjectiveSpec() = default;
  ObjectiveSpec(std::string metric_name, bool maximized = false,
                std::optional<double> worst_worth_searching = std::nullopt)
      : metric(std::move(metric_name)), maximize(maximized), threshold(worst_worth_searching) {}

  std::string metric;  // a TrialMetrics field name
  bool maximize = false;
  // The worst value worth searching for (job.proto Objective.threshold).
  std::optional<double> threshold;
};

struct MetricInfo {
  std::string name;
  bool higher_is_better = false;   // the direction when the metric is not an objective
  bool may_be_unmeasured = false;  // absent when a worker does not measure it
};

// Every metric an objective or GetBest may name, in TrialMetrics order.
const std::vector<MetricInfo>& Metrics();
// nullptr for an unknown name.
const MetricInfo* FindMetric(const std::string& name);
// "val_loss, perplexity, ...": the names, for error messages.
std::string MetricNames();
// The direction of `metric` in a job: its objective's when it is one, else
// its natural one.
// The objective on `metric`, or null when it is not one.
const ObjectiveSpec* FindObjective(const std::string& metric,
                                   const std::vector<ObjectiveSpec>& objectives);
bool Maximized(const std::string& metric, const std::vector<ObjectiveSpec>& objectives);

// What the measured limits say of a succeeded trial.
struct MeasuredCheck {
  // FAILED_PRECONDITION when a metric the job needs (it has a limit on it or
  // it is an objective) was not measured: the trial cannot be judged.
  Status measured;
  // How far outside the measured limits, as ConstraintViolation; 0 when
  // within them.
  double violation = 0;
  // "constraints.max_latency_ms: measured 3.1 ms > 2.5 ms" when violation > 0.
  std::string infeasible_reason;
};

MeasuredCheck CheckMeasured(const MetricValues& values, const Constraints& constraints,
                            const std::vector<ObjectiveSpec>& objectives);

}  // namespace kdnas
