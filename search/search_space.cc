#include "search/search_space.h"

#include <cmath>
#include <cstdlib>

#include "search/joined.h"
#include "search/number_text.h"
#include "search/points_to_evaluate.h"

namespace kdnas {
namespace {

struct KnobInfo {
  Knob knob;
  const char* name;
};

constexpr KnobInfo kKnobs[] = {
    {Knob::kNumLayers, "num_layers"},
    {Knob::kDModel, "d_model"},
    {Knob::kNumHeads, "num_heads"},
    {Knob::kDFf, "d_ff"},
    {Knob::kContextLength, "context_length"},
    {Knob::kTieEmbeddings, "tie_embeddings"},
    {Knob::kWeightBits, "weight_bits"},
    {Knob::kGroupSize, "group_size"},
    {Knob::kEmbeddingBits, "embedding_bits"},
    {Knob::kSparsity, "sparsity"},
    {Knob::kSparsityPattern, "sparsity_pattern"},
    {Knob::kLowRankRatio, "low_rank_ratio"},
    {Knob::kTemperature, "temperature"},
    {Knob::kAlpha, "alpha"},
    {Knob::kInit, "init"},
    {Knob::kNumKvHeads, "num_kv_heads"},
    {Knob::kHeadDim, "head_dim"},
    {Knob::kWeightFormat, "weight_format"},
    {Knob::kAttentionFormat, "attention_format"},
    {Knob::kFfnFormat, "ffn_format"},
    {Knob::kEmbeddingFormat, "embedding_format"},
    {Knob::kOutputFormat, "output_format"},
};

bool FormatKnob(Knob knob) {
  return knob == Knob::kWeightFormat || knob == Knob::kAttentionFormat ||
         knob == Knob::kFfnFormat || knob == Knob::kEmbeddingFormat || knob == Knob::kOutputFormat;
}

// A format knob's labels: `unset` ("kdnas" or "same"), then llama.cpp's
// types in GgmlTypes() order, so label i > 0 is GgmlTypes()[i - 1].
std::vector<std::string> FormatLabels(const char* unset) {
  std::vector<std::string> labels = {unset};
  for (const GgmlTypeInfo& t : GgmlTypes()) labels.emplace_back(t.name);
  return labels;
}

std::optional<GgmlType> FormatOfIndex(int i) {
  if (i <= 0) return std::nullopt;
  return GgmlTypes()[static_cast<size_t>(i - 1)].type;
}

double IndexOfFormat(const std::optional<GgmlType>& type) {
  if (!type) return 0;
  const auto& types = GgmlTypes();
  for (size_t i = 0; i < types.size(); ++i)
    if (types[i].type == *type) return static_cast<double>(i + 1);
  return 0;
}

std::optional<GgmlType>* FormatField(Knob knob, GgufFormats* f) {
  switch (knob) {
    case Knob::kAttentionFormat:
      return &f->attention;
    case Knob::kFfnFormat:
      return &f->ffn;
    case Knob::kEmbeddingFormat:
      return &f->embedding;
    case Knob::kOutputFormat:
      return &f->output;
    default:
      return &f->weight;
  }
}

bool LegalBits(double v) { return v == 16 || v == 8 || v == 6 || v == 4 || v == 3 || v == 2; }
bool LegalGroup(double v) { return v == 32 || v == 64 || v == 128 || v == -1; }

// Labels of the enumerated knobs, in index order.
const std::vector<std::string>* KnobLabels(Knob knob) {
  static const std::vector<std::string> kBool = {"false", "true"};
  static const std::vector<std::string> kPattern = {"unstructured", "2:4", "1:4"};
  static const std::vector<std::string> kInit = {"scratch", "inherit"};
  static const std::vector<std::string> kWeightFormat = FormatLabels("kdnas");
  static const std::vector<std::string> kOverrideFormat = FormatLabels("same");
  switch (knob) {
    case Knob::kWeightFormat:
      return &kWeightFormat;
    case Knob::kAttentionFormat:
    case Knob::kFfnFormat:
    case Knob::kEmbeddingFormat:
    case Knob::kOutputFormat:
      return &kOverrideFormat;
    case Knob::kTieEmbeddings:
      return &kBool;
    case Knob::kSparsityPattern:
      return &kPattern;
    case Knob::kInit:
      return &kInit;
    default:
      return nullptr;
  }
}

// The knob's own spelling of a label: llama.cpp's "Q4_K" for a format,
// "none" or "dense" for an unstructured sparsity pattern.
std::string CanonicalLabel(Knob knob, std::string label) {
  if (knob == Knob::kSparsityPattern && (label == "none" || label == "dense"))
    label = "unstructured";
  if (FormatKnob(knob)) {
    if (auto type = ParseGgmlType(label)) label = std::string(GgmlTypeName(*type));
  }
  return label;
}

}  // namespace

Status CheckKnobValue(Knob knob, double v, const std::string& at) {
  auto fail = [&](const std::string& why) {
    return InvalidArgument(at + ": " + KnobName(knob) + " " + why + " (got " + NumberText(v) + ")");
  };
  auto integral = [&]() { return std::floor(v) == v; };
  switch (knob) {
    case Knob::kNumLayers:
      if (!integral() || v < 1 || v > 64) return fail("must be an integer in 1..64");
      break;
    case Knob::kDModel:
      if (!integral() || v < 8 || v > 8192) return fail("must be an integer in 8..8192");
      break;
    case Knob::kNumHeads:
    case Knob::kNumKvHeads:
      if (!integral() || v < 1 || v > 128) return fail("must be an integer in 1..128");
      break;
    case Knob::kHeadDim:
      if (!integral() || v < 2 || v > 1024) return fail("must be an integer in 2..1024");
      break;
    case Knob::kDFf:
      if (!integral() || v < 8 || v > 65536) return fail("must be an integer in 8..65536");
      break;
    case Knob::kContextLength:
      if (!integral() || v < 8 || v > 8192) return fail("must be an integer in 8..8192");
      break;
    case Knob::kWeightBits:
    case Knob::kEmbeddingBits:
      if (!LegalBits(v)) return fail("must be one of 16, 8, 6, 4, 3, 2");
      break;
    case Knob::kGroupSize:
      if (!LegalGroup(v)) return fail("must be one of 32, 64, 128, -1 (per channel)");
      break;
    case Knob::kSparsity:
      if (!(v >= 0 && v <= 0.99)) return fail("must be in [0, 0.99]");
      break;
    case Knob::kLowRankRatio:
      if (!(v >= 0 && v <= 1)) return fail("must be in [0, 1]");
      break;
    case Knob::kTemperature:
      if (!(v > 0 && v <= 100)) return fail("must be in (0, 100]");
      break;
    case Knob::kAlpha:
      if (!(v >= 0 && v <= 1)) return fail("must be in [0, 1]");
      break;
    case Knob::kTieEmbeddings:
    case Knob::kSparsityPattern:
    case Knob::kInit:
    case Knob::kWeightFormat:
    case Knob::kAttentionFormat:
    case Knob::kFfnFormat:
    case Knob::kEmbeddingFormat:
    case Knob::kOutputFormat: {
      const auto* labels = KnobLabels(knob);
      if (!integral() || v < 0 || v >= static_cast<double>(labels->size())) {
        return fail("must be an index below " + std::to_string(labels->size()));
      }
      break;
    }
  }
  return Status::Ok();
}

namespace {

// Sets one knob of `c` from a value of its parameter.
void SetKnob(Knob knob, double v, Candidate* c) {
  auto& a = c->architecture;
  auto& q = c->compression;
  auto& d = c->distillation;
  const int i = static_cast<int>(std::lround(v));
  switch (knob) {
    case Knob::kNumLayers:
      a.num_layers = i;
      break;
    case Knob::kDModel:
      a.d_model = i;
      break;
    case Knob::kNumHeads:
      a.num_heads = i;
      break;
    case Knob::kDFf:
      a.d_ff = i;
      break;
    case Knob::kContextLength:
      a.context_length = i;
      break;
    case Knob::kTieEmbeddings:
      a.tie_embeddings = i != 0;
      break;
    case Knob::kWeightBits:
      q.weight_bits = i;
      break;
    case Knob::kGroupSize:
      q.group_size = i;
      break;
    case Knob::kEmbeddingBits:
      q.embedding_bits = i;
      break;
    case Knob::kSparsity:
      q.sparsity = v;
      break;
    case Knob::kSparsityPattern:
      q.sparsity_pattern = static_cast<SparsityPattern>(i);
      break;
    case Knob::kLowRankRatio:
      q.low_rank_ratio = v;
      break;
    case Knob::kTemperature:
      d.temperature = v;
      break;
    case Knob::kAlpha:
      d.alpha = v;
      break;
    case Knob::kInit:
      d.init = static_cast<Init>(i);
      break;
    case Knob::kNumKvHeads:
      a.num_kv_heads = i;
      break;
    case Knob::kHeadDim:
      a.fixed_head_dim = i;
      break;
    case Knob::kWeightFormat:
    case Knob::kAttentionFormat:
    case Knob::kFfnFormat:
    case Knob::kEmbeddingFormat:
    case Knob::kOutputFormat:
      *FormatField(knob, &q.gguf) = FormatOfIndex(i);
      break;
  }
}

double GetKnob(Knob knob, const Candidate& c) {
  const auto& a = c.architecture;
  const auto& q = c.compression;
  const auto& d = c.distillation;
  switch (knob) {
    case Knob::kNumLayers:
      return a.num_layers;
    case Knob::kDModel:
      return a.d_model;
    case Knob::kNumHeads:
      return a.num_heads;
    case Knob::kDFf:
      return a.d_ff;
    case Knob::kContextLength:
      return a.context_length;
    case Knob::kTieEmbeddings:
      return a.tie_embeddings ? 1 : 0;
    case Knob::kWeightBits:
      return q.weight_bits;
    case Knob::kGroupSize:
      return q.group_size;
    case Knob::kEmbeddingBits:
      return q.embedding_bits;
    case Knob::kSparsity:
      return q.sparsity;
    case Knob::kSparsityPattern:
      return static_cast<double>(q.sparsity_pattern);
    case Knob::kLowRankRatio:
      return q.low_rank_ratio;
    case Knob::kTemperature:
      return d.temperature;
    case Knob::kAlpha:
      return d.alpha;
    case Knob::kInit:
      return static_cast<double>(d.init);
    case Knob::kNumKvHeads:
      return a.num_kv_heads > 0 ? a.num_kv_heads : a.num_heads;
    case Knob::kHeadDim:
      return a.head_dim();
    case Knob::kWeightFormat:
    case Knob::kAttentionFormat:
    case Knob::kFfnFormat:
    case Knob::kEmbeddingFormat:
    case Knob::kOutputFormat: {
      GgufFormats f = q.gguf;
      return IndexOfFormat(*FormatField(knob, &f));
    }
  }
  return 0;
}

}  // namespace

const char* KnobName(Knob knob) {
  for (const auto& k : kKnobs) {
    if (k.knob == knob) return k.name;
  }
  return "unknown";
}

bool ParseKnob(const std::string& name, Knob* knob) {
  for (const auto& k : kKnobs) {
    if (name == k.name) {
      *knob = k.knob;
      return true;
    }
  }
  return false;
}

std::string KnownKnobNames() {
  std::string out;
  for (const auto& k : kKnobs) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

StatusOr<SearchSpace> SearchSpace::Create(const SearchSpaceSpec& spec) {
  constexpr size_t kMaxParameters = 64;
  if (spec.parameters.size() > kMaxParameters) {
    return InvalidArgument("space.parameters: at most " + std::to_string(kMaxParameters) +
                           " parameters (got " + std::to_string(spec.parameters.size()) + ")");
  }
  SearchSpace space;
  space.base_ = spec.base;
  std::vector<ParameterConfig> params = spec.parameters;
  for (size_t i = 0; i < params.size(); ++i) {
    ParameterConfig& p = params[i];
    const std::string at = "space.parameters[" + std::to_string(i) + "]";
    Knob knob;
    if (!ParseKnob(p.name, &knob)) {
      return InvalidArgument(at + ".name: unknown knob \"" + p.name +
                             "\" (known: " + KnownKnobNames() + ")");
    }
    const auto* labels = KnobLabels(knob);
    if (labels != nullptr) {
      if (p.type != ParameterType::kCategorical && p.type != ParameterType::kDiscrete) {
        return InvalidArgument(at + ": " + p.name + " takes categorical values (" +
                               Joined(*labels) + ")");
      }
      if (p.type == ParameterType::kCategorical) {
        // Translate labels to the knob's indices so values are canonical.
        std::vector<double> indices;
        for (size_t k = 0; k < p.labels.size(); ++k) {
          const std::string label = CanonicalLabel(knob, p.labels[k]);
          size_t found = labels->size();
          for (size_t m = 0; m < labels->size(); ++m) {
            if ((*labels)[m] == label) found = m;
          }
          if (found == labels->size()) {
            return InvalidArgument(at + ".categorical.values[" + std::to_string(k) +
                                   "]: " + p.name + " has no value \"" + p.labels[k] +
                                   "\" (one of " + Joined(*labels) + ")");
          }
          indices.push_back(static_cast<double>(found));
        }
        std::vector<std::string> canonical;
        for (double idx : indices) canonical.push_back((*labels)[static_cast<size_t>(idx)]);
        p.labels = canonical;
        // Categorical points hold label indices of p.labels; Decode maps them
        // back through the knob's labels.
      }
    } else if (p.type == ParameterType::kCategorical) {
      return InvalidArgument(at + ": " + p.name +
                             " is numeric; use integer_range, double_range or discrete");
    }
    if (p.type == ParameterType::kDiscrete) {
      for (size_t k = 0; k < p.values.size(); ++k) {
        KDNAS_RETURN_IF_ERROR(
            CheckKnobValue(knob, p.values[k], at + ".discrete.values[" + std::to_string(k) + "]"));
      }
    } else if (p.type == ParameterType::kInteger || p.type == ParameterType::kDouble) {
      const std::string range =
          at + (p.type == ParameterType::kInteger ? ".integer_range" : ".double_range");
      if (knob == Knob::kWeightBits || knob == Knob::kEmbeddingBits || knob == Knob::kGroupSize) {
        return InvalidArgument(
            range + ": " + p.name +
            " takes a discrete set of values, e.g. discrete: {values: [8, 4, 3]}");
      }
      bool integer_knob = knob == Knob::kNumLayers || knob == Knob::kDModel ||
                          knob == Knob::kNumHeads || knob == Knob::kDFf ||
                          knob == Knob::kContextLength || knob == Knob::kNumKvHeads ||
                          knob == Knob::kHeadDim;
      if (integer_knob && p.type == ParameterType::kDouble) {
        return InvalidArgument(range + ": " + p.name + " is an integer; use integer_range");
      }
      if (std::isfinite(p.min)) KDNAS_RETURN_IF_ERROR(CheckKnobValue(knob, p.min, range + ".min"));
      if (std::isfinite(p.max)) KDNAS_RETURN_IF_ERROR(CheckKnobValue(knob, p.max, range + ".max"));
    }
    space.knobs_.push_back(knob);
  }
  KDNAS_ASSIGN_OR_RETURN(space.parameters_, ParameterSpace::Create(params, "space.parameters"));
  KDNAS_ASSIGN_OR_RETURN(space.points_to_evaluate_,
                         ResolvePointsToEvaluate(space, spec.points_to_evaluate));
  return space;
}

Candidate SearchSpace::Decode(const Point& point) const {
  Candidate c = base_;
  bool d_ff_searched = false;
  for (size_t i = 0; i < knobs_.size() && i < point.size(); ++i) {
    double v = point[i];
    const ParameterConfig& p = parameters_.parameter(i);
    if (p.type == ParameterType::kCategorical) {
      // Map the label index of this parameter to the knob's own index.
      const auto* labels = KnobLabels(knobs_[i]);
      const std::string& label = p.labels[static_cast<size_t>(v)];
      for (size_t m = 0; m < labels->size(); ++m) {
        if ((*labels)[m] == label) v = static_cast<double>(m);
      }
    }
    SetKnob(knobs_[i], v, &c);
    d_ff_searched |= knobs_[i] == Knob::kDFf;
  }
  if (!d_ff_searched && base_.architecture.d_ff == 0)
    c.architecture.d_ff = 4 * c.architecture.d_model;
  return c;
}

Point SearchSpace::Encode(const Candidate& candidate) const {
  Point point(knobs_.size());
  for (size_t i = 0; i < knobs_.size(); ++i) {
    double v = GetKnob(knobs_[i], candidate);
    const ParameterConfig& p = parameters_.parameter(i);
    if (p.type == ParameterType::kCategorical) {
      const auto* labels = KnobLabels(knobs_[i]);
      const std::string& label = (*labels)[static_cast<size_t>(v)];
      double index = 0;
      for (size_t m = 0; m < p.labels.size(); ++m) {
        if (p.labels[m] == label) index = static_cast<double>(m);
      }
      v = index;
    }
    point[i] = parameters_.Snap(i, v);
  }
  return point;
}

bool SearchSpace::IsValid(const Point& point) const {
  return ValidateCandidate(Decode(point)).ok();
}

StatusOr<double> SearchSpace::CoordinateOf(size_t i, const std::string& text,
                                           const std::string& at) const {
  const ParameterConfig& p = parameters_.parameter(i);
  if (p.type == ParameterType::kCategorical) {
    const std::string label = CanonicalLabel(knobs_[i], text);
    for (size_t m = 0; m < p.labels.size(); ++m) {
      if (p.labels[m] == label) return static_cast<double>(m);
    }
    return InvalidArgument(at + ": " + p.name + " \"" + text +
                           "\" is not among the searched values (" + Joined(p.labels) + ")");
  }
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v))
    return InvalidArgument(at + ": " + p.name + " takes a number (got \"" + text + "\")");
  if (parameters_.Snap(i, v) != v) {
    return InvalidArgument(at + ": " + p.name + " " + text +
                           " is not in the searched domain (space.parameters[" + std::to_string(i) +
                           "])");
  }
  return v;
}

std::optional<double> SearchSpace::BaseCoordinate(size_t i) const {
  const double v = GetKnob(knobs_[i], base_);
  const ParameterConfig& p = parameters_.parameter(i);
  if (p.type == ParameterType::kCategorical) {
    auto coordinate = CoordinateOf(i, (*KnobLabels(knobs_[i]))[static_cast<size_t>(v)], "");
    if (!coordinate.ok()) return std::nullopt;
    return *coordinate;
  }
  if (parameters_.Snap(i, v) != v) return std::nullopt;
  return v;
}

}  // namespace kdnas
