#include "search/search_space.h"

#include <cmath>

#include "search/number_text.h"

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
};

bool LegalBits(double v) { return v == 16 || v == 8 || v == 6 || v == 4 || v == 3 || v == 2; }
bool LegalGroup(double v) { return v == 32 || v == 64 || v == 128 || v == -1; }

// Labels of the enumerated knobs, in index order.
const std::vector<std::string>* KnobLabels(Knob knob) {
  static const std::vector<std::string> kBool = {"false", "true"};
  static const std::vector<std::string> kPattern = {"unstructured", "2:4", "1:4"};
  static const std::vector<std::string> kInit = {"scratch", "inherit"};
  switch (knob) {
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

// Checks one numeric value of a knob's domain.
Status CheckValue(Knob knob, double v, const std::string& at) {
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
    case Knob::kInit: {
      const auto* labels = KnobLabels(knob);
      if (!integral() || v < 0 || v >= static_cast<double>(labels->size())) {
        return fail("must be an index below " + std::to_string(labels->size()));
      }
      break;
    }
  }
  return Status::Ok();
}

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
        return InvalidArgument(at + ": " + p.name + " takes categorical values (" + [&] {
          std::string s;
          for (const auto& l : *labels) s += (s.empty() ? "" : ", ") + l;
          return s;
        }() + ")");
      }
      if (p.type == ParameterType::kCategorical) {
        // Translate labels to the knob's indices so values are canonical.
        std::vector<double> indices;
        for (size_t k = 0; k < p.labels.size(); ++k) {
          std::string label = p.labels[k];
          if (knob == Knob::kSparsityPattern && (label == "none" || label == "dense"))
            label = "unstructured";
          size_t found = labels->size();
          for (size_t m = 0; m < labels->size(); ++m) {
            if ((*labels)[m] == label) found = m;
          }
          if (found == labels->size()) {
            std::string choices;
            for (const auto& l : *labels) choices += (choices.empty() ? "" : ", ") + l;
            return InvalidArgument(at + ".categorical.values[" + std::to_string(k) +
                                   "]: " + p.name + " has no value \"" + p.labels[k] +
                                   "\" (one of " + choices + ")");
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
            CheckValue(knob, p.values[k], at + ".discrete.values[" + std::to_string(k) + "]"));
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
      if (std::isfinite(p.min)) KDNAS_RETURN_IF_ERROR(CheckValue(knob, p.min, range + ".min"));
      if (std::isfinite(p.max)) KDNAS_RETURN_IF_ERROR(CheckValue(knob, p.max, range + ".max"));
    }
    space.knobs_.push_back(knob);
  }
  KDNAS_ASSIGN_OR_RETURN(space.parameters_, ParameterSpace::Create(params, "space.parameters"));
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

namespace {

// The family's own rules: GPT-2 blocks have one KV head per query head;
// rotary embeddings rotate pairs of channels, so Llama heads are even.
Status ValidateFamily(const Architecture& a, const std::string& arch) {
  const BlockFamily& f = a.family;
  const std::string family = arch + "family.";
  if (!(f.norm_eps > 0 && f.norm_eps < 1)) {
    return InvalidArgument(family + "norm_eps: must be in (0, 1) (got " + NumberText(f.norm_eps) +
                           ")");
  }
  for (int l = 0; l < a.num_layers; ++l) {
    const int heads = a.layer_heads(l), kv = a.layer_kv_heads(l);
    const std::string at =
        a.layers.empty() ? arch + "num_kv_heads" : arch + "layers[" + std::to_string(l) + "]";
    if (!f.llama() && kv != heads) {
      return InvalidArgument(at + ": GPT-2 blocks have as many key/value heads as query heads (" +
                             std::to_string(kv) + " != " + std::to_string(heads) +
                             "); grouped-query attention is for the Llama family");
    }
    if (kv > heads || heads % kv != 0) {
      return InvalidArgument(at + ": the query heads (" + std::to_string(heads) +
                             ") must be a multiple of the key/value heads (" + std::to_string(kv) +
                             ")");
    }
  }
  if (!f.llama()) return Status::Ok();
  if (a.head_dim() % 2 != 0) {
    return InvalidArgument(arch + (a.fixed_head_dim > 0 ? "head_dim" : "num_heads") +
                           ": rotary positions need an even head width (got " +
                           std::to_string(a.head_dim()) + ")");
  }
  const Rope& r = f.rope;
  if (!(r.theta > 0 && std::isfinite(r.theta))) {
    return InvalidArgument(family + "rope.theta: must be positive (got " + NumberText(r.theta) +
                           ")");
  }
  if (r.scaling != Rope::Scaling::kNone && !(r.factor > 0 && std::isfinite(r.factor))) {
    return InvalidArgument(family + "rope.factor: must be positive (got " + NumberText(r.factor) +
                           ")");
  }
  if (r.scaling == Rope::Scaling::kLlama3 &&
      (r.original_max_position_embeddings <= 0 || !(r.low_freq_factor > 0) ||
       !(r.high_freq_factor > r.low_freq_factor))) {
    return InvalidArgument(family +
                           "rope: llama3 scaling needs original_max_position_embeddings > 0 and "
                           "0 < low_freq_factor < high_freq_factor");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateCandidate(const Candidate& c, const std::string& prefix) {
  const auto& a = c.architecture;
  const auto& q = c.compression;
  const auto& d = c.distillation;
  const std::string arch = prefix + ".architecture.";
  const std::string comp = prefix + ".compression.";
  KDNAS_RETURN_IF_ERROR(CheckValue(Knob::kNumLayers, a.num_layers, arch + "num_layers"));
  KDNAS_RETURN_IF_ERROR(CheckValue(Knob::kDModel, a.d_model, arch + "d_model"));
  KDNAS_RETURN_IF_ERROR(CheckValue(Knob::kNumHeads, a.num_heads, arch + "num_heads"));
  KDNAS_RETURN_IF_ERROR(CheckValue(Knob::kDFf, a.d_ff, arch + "d_ff"));
  KDNAS_RETURN_IF_ERROR(
      CheckValue(Knob::kContextLength, a.context_length, arch + "context_length"));
  if (a.fixed_head_dim > 0) {
    KDNAS_RETURN_IF_ERROR(CheckValue(Knob::kHeadDim, a.fixed_head_dim, arch + "head_dim"));
  } else if (a.d_model % a.num_heads != 0) {
    return InvalidArgument(arch + "d_model: must be divisible by num_heads (" +
                           std::to_string(a.d_model) + " % " + std::to_string(a.num_heads) +
                           " != 0), or set head_dim");
  }
  if (a.num_kv_heads > 0)
    KDNAS_RETURN_IF_ERROR(CheckValue(Knob::kNumKvHeads, a.num_kv_heads, arch + "num_kv_heads"));
  if (!a.layers.empty() && static_cast<int>(a.layers.size()) != a.num_layers) {
    return InvalidArgument(arch + "layers: has " + std::to_string(a.layers.size()) +
                           " entries; must be empty or num_layers (" +
                           std::to_string(a.num_layers) + ")");
  }
  for (size_t l = 0; l < a.layers.size(); ++l) {
    const std::string at = arch + "layers[" + std::to_string(l) + "].";
    if (a.layers[l].num_heads < 1 || a.layers[l].num_heads > a.num_heads) {
      return InvalidArgument(at + "num_heads: must be in 1..num_heads (" +
                             std::to_string(a.num_heads) + ")");
    }
    KDNAS_RETURN_IF_ERROR(CheckValue(Knob::kDFf, a.layers[l].d_ff, at + "d_ff"));
    if (a.layers[l].num_kv_heads < 0 || a.layers[l].num_kv_heads > a.layers[l].num_heads) {
      return InvalidArgument(at + "num_kv_heads: must be in 0..num_heads of the layer (" +
                             std::to_string(a.layers[l].num_heads) + ")");
    }
  }
  KDNAS_RETURN_IF_ERROR(ValidateFamily(a, arch));
  KDNAS_RETURN_IF_ERROR(CheckValue(Knob::kWeightBits, q.weight_bits, comp + "weight_bits"));
  KDNAS_RETURN_IF_ERROR(CheckValue(Knob::kGroupSize, q.group_size, comp + "group_size"));
  KDNAS_RETURN_IF_ERROR(
      CheckValue(Knob::kEmbeddingBits, q.embedding_bits, comp + "embedding_bits"));
  KDNAS_RETURN_IF_ERROR(CheckValue(Knob::kSparsity, q.sparsity, comp + "sparsity"));
  KDNAS_RETURN_IF_ERROR(CheckValue(Knob::kLowRankRatio, q.low_rank_ratio, comp + "low_rank_ratio"));
  NofM nm = PatternNofM(q.sparsity_pattern);
  if (nm.m > 0) {
    // Every pruned matrix's input dimension must split into groups of M.
    for (int l = 0; l < a.num_layers; ++l) {
      int attn = a.layer_heads(l) * a.head_dim();
      int ff = a.layer_d_ff(l);
      for (int cols : {a.d_model, attn, ff}) {
        if (cols % nm.m != 0) {
          return InvalidArgument(comp + "sparsity_pattern: " + std::to_string(nm.n) + ":" +
                                 std::to_string(nm.m) + " needs every layer width divisible by " +
                                 std::to_string(nm.m) + " (layer " + std::to_string(l) + " has " +
                                 std::to_string(cols) + ")");
        }
      }
    }
  }
  KDNAS_RETURN_IF_ERROR(
      CheckValue(Knob::kTemperature, d.temperature, prefix + ".distillation.temperature"));
  KDNAS_RETURN_IF_ERROR(CheckValue(Knob::kAlpha, d.alpha, prefix + ".distillation.alpha"));
  return Status::Ok();
}

}  // namespace kdnas
