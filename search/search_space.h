// The space of student candidates: a base Candidate plus searched knobs, each
// a parameter of a ParameterSpace. Decode turns a point into a Candidate.
// Knob names are the Candidate field names used in the proto and the CLI.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "search/candidate.h"
#include "search/parameter_space.h"
#include "search/status.h"

namespace kdnas {

enum class Knob {
  kNumLayers,
  kDModel,
  kNumHeads,
  kDFf,
  kContextLength,
  kTieEmbeddings,
  kWeightBits,
  kGroupSize,
  kEmbeddingBits,
  kSparsity,
  kSparsityPattern,
  kLowRankRatio,
  kTemperature,
  kAlpha,
  kInit,
  kNumKvHeads,
  kHeadDim,
  // llama.cpp's types (Compression::gguf), categorical: weight_format takes
  // "kdnas" or a type name, an override "same" (follow weight_format) or one.
  kWeightFormat,
  kAttentionFormat,
  kFfnFormat,
  kEmbeddingFormat,
  kOutputFormat,
};

// "num_layers", ... ; and back (false if unknown).
const char* KnobName(Knob knob);
bool ParseKnob(const std::string& name, Knob* knob);
// Every knob name, comma-separated, for error messages.
std::string KnownKnobNames();
// OK, or INVALID_ARGUMENT "<at>: <knob> must be ... (got v)" for a value
// outside the knob's domain (an enumerated knob's: its label index).
Status CheckKnobValue(Knob knob, double v, const std::string& at);

struct SearchSpaceSpec {
  // Knobs that are not searched take the base's values. A base d_ff of 0
  // means 4 * d_model (after d_model is decoded).
  Candidate base;
  // Parameter names are knob names.
  std::vector<ParameterConfig> parameters;
  // Students the search evaluates first, in this order, before its strategy
  // proposes any (Ray Tune's points_to_evaluate, Optuna's enqueue_trial): the
  // value of each named searched parameter as text ("4", "q4_0"); a parameter
  // left out takes the base's value.
  std::vector<std::map<std::string, std::string>> points_to_evaluate;
};

class SearchSpace {
 public:
  // Validates the knobs and their domains against each knob's legal values;
  // errors name the field path under "space" (e.g.
  // "space.parameters[1].discrete.values[0]: weight_bits must be one of 16, 8, 6, 4, 3, 2").
  static StatusOr<SearchSpace> Create(const SearchSpaceSpec& spec);

  const ParameterSpace& parameters() const { return parameters_; }
  const Candidate& base() const { return base_; }
  const std::vector<Knob>& knobs() const { return knobs_; }
  // The spec's points_to_evaluate, resolved and checked (points_to_evaluate.h).
  const std::vector<Point>& points_to_evaluate() const { return points_to_evaluate_; }

  Candidate Decode(const Point& point) const;
  // The point whose decoding is `candidate`'s knob values (snapped).
  Point Encode(const Candidate& candidate) const;
  // Decodes and checks the validity rules.
  bool IsValid(const Point& point) const;
  // Parameter i's coordinate for a value written as text (a label, "Q4_K"
  // spelled as llama.cpp does too, or a number), or INVALID_ARGUMENT "<at>: ..."
  // when the parameter's domain does not hold it.
  StatusOr<double> CoordinateOf(size_t i, const std::string& text, const std::string& at) const;
  // Parameter i's coordinate for the base's value, if its domain holds it.
  std::optional<double> BaseCoordinate(size_t i) const;

 private:
  Candidate base_;
  std::vector<Knob> knobs_;
  ParameterSpace parameters_;
  std::vector<Point> points_to_evaluate_;
};

// The validity rules of a candidate (d_model % num_heads == 0, legal bits and
// group sizes, N:M divisibility, ranges, what llama.cpp's types allow).
// Errors name `prefix`.<field>. In search/candidate_validation.cc.
Status ValidateCandidate(const Candidate& candidate, const std::string& prefix = "candidate");

}  // namespace kdnas
