// A generic, Vizier-like parameter space: named parameters with integer,
// real, discrete or categorical domains. Strategies work on points of such a
// space, so the same NSGA-II runs on benchmark problems (ZDT, DTLZ) and on
// student candidates (search_space.h maps knobs to a Candidate).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "search/rng.h"
#include "search/status.h"

namespace kdnas {

// One value per parameter; a categorical parameter holds its label index.
using Point = std::vector<double>;

enum class ParameterType { kInteger, kDouble, kDiscrete, kCategorical };

struct ParameterConfig {
  std::string name;
  ParameterType type = ParameterType::kDouble;
  double min = 0;                   // kInteger, kDouble
  double max = 0;                   // kInteger, kDouble
  int64_t step = 1;                 // kInteger
  bool log_scale = false;           // kInteger, kDouble
  std::vector<double> values;       // kDiscrete, ascending and unique after Create
  std::vector<std::string> labels;  // kCategorical

  static ParameterConfig Integer(std::string name, int64_t min, int64_t max, int64_t step = 1,
                                 bool log_scale = false);
  static ParameterConfig Double(std::string name, double min, double max, bool log_scale = false);
  static ParameterConfig Discrete(std::string name, std::vector<double> values);
  static ParameterConfig Categorical(std::string name, std::vector<std::string> labels);

  // Distinct values, or 0 for a real range.
  uint64_t Cardinality() const;
  bool IsNumeric() const { return type != ParameterType::kCategorical; }
};

class ParameterSpace {
 public:
  ParameterSpace() = default;
  // Validates every domain; errors name `field_prefix`[i].<what>, e.g.
  // "space.parameters[2].integer_range.min: must be <= max (4 > 2)".
  static StatusOr<ParameterSpace> Create(std::vector<ParameterConfig> parameters,
                                         const std::string& field_prefix = "parameters");

  size_t size() const { return parameters_.size(); }
  const std::vector<ParameterConfig>& parameters() const { return parameters_; }
  const ParameterConfig& parameter(size_t i) const { return parameters_[i]; }

  // A uniformly random point (log-uniform where log_scale).
  Point Sample(Rng& rng) const;
  // The nearest legal value of parameter i (clamped, rounded to the step,
  // nearest discrete value, categorical index rounded and clamped).
  double Snap(size_t i, double value) const;
  Point Snap(Point point) const;
  bool Contains(const Point& point) const;

  // Maps a value to [0, 1] and back (log-aware; discrete and categorical by
  // index). Variation operators work in these unit coordinates.
  double ToUnit(size_t i, double value) const;
  double FromUnit(size_t i, double unit) const;

  // Distinct points in the space, saturating at UINT64_MAX; 0 if any
  // parameter is a real range.
  uint64_t Cardinality() const;
  // The index-th of the Cardinality() points (index below it), the first
  // parameter varying fastest.
  Point PointAt(uint64_t index) const;

 private:
  std::vector<ParameterConfig> parameters_;
};

// A 64-bit hash of a point's exact values, for duplicate detection.
uint64_t HashPoint(const Point& point);

}  // namespace kdnas
