#include "search/metrics.h"

#include "search/number_text.h"

namespace kdnas {
namespace {

// A limit on a metric that only a measurement can check.
struct MeasuredLimit {
  const char* metric;
  const char* field;  // the Constraints field, as the API names it
  const char* unit;
  double Constraints::*limit;
};

const MeasuredLimit kMeasuredLimits[] = {
    {"latency_ms", "constraints.max_latency_ms", "ms", &Constraints::max_latency_ms},
};

}  // namespace

const std::vector<MetricInfo>& Metrics() {
  static const std::vector<MetricInfo> metrics = {
      {"val_loss", false, false},         {"perplexity", false, false},
      {"teacher_agreement", true, false}, {"kl_to_teacher", false, false},
      {"params", false, false},           {"nonzero_params", false, false},
      {"flops_per_token", false, false},  {"size_bytes", false, false},
      {"latency_ms", false, true},        {"tokens_per_second", true, true},
  };
  return metrics;
}

const MetricInfo* FindMetric(const std::string& name) {
  for (const MetricInfo& m : Metrics()) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::string MetricNames() {
  std::string out;
  for (const MetricInfo& m : Metrics()) out += (out.empty() ? "" : ", ") + m.name;
  return out;
}

const ObjectiveSpec* FindObjective(const std::string& metric,
                                   const std::vector<ObjectiveSpec>& objectives) {
  for (const ObjectiveSpec& o : objectives) {
    if (o.metric == metric) return &o;
  }
  return nullptr;
}

bool Maximized(const std::string& metric, const std::vector<ObjectiveSpec>& objectives) {
  if (const ObjectiveSpec* o = FindObjective(metric, objectives)) return o->maximize;
  const MetricInfo* info = FindMetric(metric);
  return info != nullptr && info->higher_is_better;
}

MeasuredCheck CheckMeasured(const MetricValues& values, const Constraints& constraints,
                            const std::vector<ObjectiveSpec>& objectives) {
  MeasuredCheck check;
  auto unmeasured = [&](const std::string& metric, const std::string& why) {
    return FailedPrecondition(
        metric + " was not measured (the worker runs with --no-latency), but " + why + " needs it");
  };
  for (const ObjectiveSpec& o : objectives) {
    const MetricInfo* info = FindMetric(o.metric);
    if (info != nullptr && info->may_be_unmeasured && values.count(o.metric) == 0) {
      check.measured = unmeasured(o.metric, "the objective " + o.metric);
      return check;
    }
  }
  for (const MeasuredLimit& l : kMeasuredLimits) {
    const double limit = constraints.*l.limit;
    if (!(limit > 0)) continue;
    auto it = values.find(l.metric);
    if (it == values.end()) {
      check.measured = unmeasured(l.metric, std::string(l.field));
      return check;
    }
    if (it->second > limit) {
      check.violation += it->second / limit - 1.0;
      if (check.infeasible_reason.empty()) {
        check.infeasible_reason = std::string(l.field) + ": measured " + NumberText(it->second) +
                                  " " + l.unit + " > " + NumberText(limit) + " " + l.unit;
      }
    }
  }
  return check;
}

}  // namespace kdnas
