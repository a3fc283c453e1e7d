#include "search/explain.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "search/artifact_layout.h"
#include "search/forest.h"
#include "search/ggml_types.h"
#include "search/number_text.h"

namespace kdnas {
namespace {

// The knob's value as users write it.
std::string KnobValue(const SearchSpace& space, size_t i, double v) {
  const ParameterConfig& p = space.parameters().parameter(i);
  if (p.type == ParameterType::kCategorical) return p.labels[static_cast<size_t>(v)];
  return NumberText(v);
}

std::vector<double> UnitRow(const SearchSpace& space, const Point& point) {
  std::vector<double> row(point.size());
  for (size_t i = 0; i < point.size(); ++i) row[i] = space.parameters().ToUnit(i, point[i]);
  return row;
}

}  // namespace

double CapacityProxy(const Candidate& candidate, const ModelContext& context) {
  const GgufFormats& gguf = candidate.compression.gguf;
  // A GGUF student's weights hold the bits of the type llama.cpp stores each
  // matrix in, not weight_bits (16, unset, with a weight_format).
  ArtifactLayout layout =
      LayoutArtifact(candidate, context.vocab_size, context.tokenizer_bytes, gguf.set());
  constexpr double kPrecisionScale = 2.7;  // gamma_w, in bits
  double effective = 0;
  for (const TensorLayout& t : layout.tensors) {
    if (t.role != TensorRole::kLinear) continue;
    double bits = t.bits;
    if (gguf.set()) {
      const bool attention = t.name.find(".attn.") != std::string::npos;
      const GgmlType type = attention ? gguf.attention_type() : gguf.ffn_type();
      bits = GgmlTypeOf(GgmlFallbackType(type, t.cols)).nominal_bits;
    }
    effective += static_cast<double>(t.kept) * (1.0 - std::exp(-bits / kPrecisionScale));
  }
  return effective;
}

Explanation Explain(const SearchSpace& space, const std::vector<std::string>& metrics,
                    const std::vector<ExplainTrial>& trials, const std::vector<int64_t>& frontier,
                    const ModelContext& context, uint64_t seed) {
  Explanation out;
  std::vector<std::vector<double>> x;
  for (const ExplainTrial& t : trials) x.push_back(UnitRow(space, t.point));
  // Knob importance per objective.
  if (trials.size() >= 4 && space.parameters().size() > 0) {
    for (const std::string& metric : metrics) {
      std::vector<double> y;
      for (const ExplainTrial& t : trials) {
        auto it = t.metrics.find(metric);
        y.push_back(it == t.metrics.end() ? 0 : it->second);
      }
      RandomForest forest;
      forest.Fit(x, y, {32, 8, 2, seed});
      std::vector<double> importance = forest.PermutationImportance(seed);
      for (size_t k = 0; k < importance.size(); ++k) {
        out.importances.push_back({KnobName(space.knobs()[k]), metric, importance[k]});
      }
    }
    std::stable_sort(
        out.importances.begin(), out.importances.end(), [](const auto& a, const auto& b) {
          return a.metric != b.metric ? a.metric < b.metric : a.importance > b.importance;
        });
  }
  // Trade-offs between neighbouring frontier points, from the largest down.
  std::vector<const ExplainTrial*> front;
  for (int64_t id : frontier) {
    for (const ExplainTrial& t : trials) {
      if (t.id == id) front.push_back(&t);
    }
  }
  auto metric = [](const ExplainTrial* t, const char* name) {
    auto it = t->metrics.find(name);
    return it == t->metrics.end() ? 0.0 : it->second;
  };
  std::sort(front.begin(), front.end(), [&](const ExplainTrial* a, const ExplainTrial* b) {
    return metric(a, "size_bytes") > metric(b, "size_bytes");
  });
  for (size_t i = 0; i + 1 < front.size(); ++i) {
    const ExplainTrial* a = front[i];
    const ExplainTrial* b = front[i + 1];
    TradeOffResult r;
    r.from = a->id;
    r.to = b->id;
    r.size_bytes_delta = static_cast<int64_t>(metric(b, "size_bytes") - metric(a, "size_bytes"));
    r.val_loss_delta = metric(b, "val_loss") - metric(a, "val_loss");
    r.nats_per_megabyte =
        r.size_bytes_delta < 0 ? r.val_loss_delta / (-r.size_bytes_delta / 1e6) : 0;
    for (size_t k = 0; k < space.knobs().size(); ++k) {
      if (a->point[k] != b->point[k]) {
        r.changed_knobs.push_back(std::string(KnobName(space.knobs()[k])) + ": " +
                                  KnobValue(space, k, a->point[k]) + " -> " +
                                  KnobValue(space, k, b->point[k]));
      }
    }
    out.trade_offs.push_back(std::move(r));
  }
  // How well the cheap predictors rank the measured validation losses.
  if (trials.size() >= 4) {
    std::vector<double> loss, proxy, surrogate;
    for (const ExplainTrial& t : trials) {
      auto it = t.metrics.find("val_loss");
      loss.push_back(it == t.metrics.end() ? 0 : it->second);
      proxy.push_back(-CapacityProxy(t.candidate, context));  // more capacity, lower loss
    }
    out.predictor_kendall_tau["proxy"] = KendallTau(proxy, loss);
    if (space.parameters().size() > 0) {
      RandomForest forest;
      forest.Fit(x, loss, {32, 8, 2, seed});
      for (size_t i = 0; i < trials.size(); ++i) surrogate.push_back(forest.PredictOutOfBag(i));
      out.predictor_kendall_tau["surrogate"] = KendallTau(surrogate, loss);
    }
  }
  return out;
}

}  // namespace kdnas
