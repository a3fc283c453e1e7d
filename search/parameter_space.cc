#include "search/parameter_space.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "search/number_text.h"

namespace kdnas {
ParameterConfig ParameterConfig::Integer(std::string name, int64_t min, int64_t max, int64_t step,
                                         bool log_scale) {
  ParameterConfig p;
  p.name = std::move(name);
  p.type = ParameterType::kInteger;
  p.min = static_cast<double>(min);
  p.max = static_cast<double>(max);
  p.step = step;
  p.log_scale = log_scale;
  return p;
}

ParameterConfig ParameterConfig::Double(std::string name, double min, double max, bool log_scale) {
  ParameterConfig p;
  p.name = std::move(name);
  p.type = ParameterType::kDouble;
  p.min = min;
  p.max = max;
  p.log_scale = log_scale;
  return p;
}

ParameterConfig ParameterConfig::Discrete(std::string name, std::vector<double> values) {
  ParameterConfig p;
  p.name = std::move(name);
  p.type = ParameterType::kDiscrete;
  p.values = std::move(values);
  return p;
}

ParameterConfig ParameterConfig::Categorical(std::string name, std::vector<std::string> labels) {
  ParameterConfig p;
  p.name = std::move(name);
  p.type = ParameterType::kCategorical;
  p.labels = std::move(labels);
  return p;
}

uint64_t ParameterConfig::Cardinality() const {
  switch (type) {
    case ParameterType::kInteger:
      return static_cast<uint64_t>((static_cast<int64_t>(max) - static_cast<int64_t>(min)) / step) +
             1;
    case ParameterType::kDouble:
      return min == max ? 1 : 0;
    case ParameterType::kDiscrete:
      return values.size();
    case ParameterType::kCategorical:
      return labels.size();
  }
  return 0;
}

StatusOr<ParameterSpace> ParameterSpace::Create(std::vector<ParameterConfig> parameters,
                                                const std::string& prefix) {
  constexpr size_t kMaxValues = 4096;
  for (size_t i = 0; i < parameters.size(); ++i) {
    ParameterConfig& p = parameters[i];
    const std::string at = prefix + "[" + std::to_string(i) + "]";
    if (p.name.empty()) return InvalidArgument(at + ".name: must not be empty");
    for (size_t j = 0; j < i; ++j) {
      if (parameters[j].name == p.name) {
        return InvalidArgument(at + ".name: \"" + p.name + "\" appears twice (also " + prefix +
                               "[" + std::to_string(j) + "])");
      }
    }
    switch (p.type) {
      case ParameterType::kInteger:
      case ParameterType::kDouble: {
        const std::string range =
            at + (p.type == ParameterType::kInteger ? ".integer_range" : ".double_range");
        if (!std::isfinite(p.min) || !std::isfinite(p.max)) {
          return InvalidArgument(range + ": min and max must be finite numbers");
        }
        if (p.min > p.max) {
          return InvalidArgument(range + ".min: must be <= max (" + NumberText(p.min) + " > " +
                                 NumberText(p.max) + ")");
        }
        if (p.log_scale && p.min <= 0)
          return InvalidArgument(range + ".min: must be > 0 on a log scale");
        if (p.type == ParameterType::kInteger) {
          if (p.step <= 0) return InvalidArgument(range + ".step: must be >= 1");
          if (std::fabs(p.min) > 1e15 || std::fabs(p.max) > 1e15) {
            return InvalidArgument(range + ": bounds must be within +-1e15");
          }
          // The largest value reachable from min in whole steps.
          int64_t lo = static_cast<int64_t>(p.min);
          int64_t hi = static_cast<int64_t>(p.max);
          p.max = static_cast<double>(lo + (hi - lo) / p.step * p.step);
        }
        break;
      }
      case ParameterType::kDiscrete: {
        if (p.values.empty()) return InvalidArgument(at + ".discrete.values: must not be empty");
        if (p.values.size() > kMaxValues) {
          return InvalidArgument(at + ".discrete.values: at most " + std::to_string(kMaxValues) +
                                 " values");
        }
        for (size_t k = 0; k < p.values.size(); ++k) {
          if (!std::isfinite(p.values[k])) {
            return InvalidArgument(at + ".discrete.values[" + std::to_string(k) +
                                   "]: must be a finite number");
          }
        }
        std::sort(p.values.begin(), p.values.end());
        p.values.erase(std::unique(p.values.begin(), p.values.end()), p.values.end());
        break;
      }
      case ParameterType::kCategorical: {
        if (p.labels.empty()) return InvalidArgument(at + ".categorical.values: must not be empty");
        if (p.labels.size() > kMaxValues) {
          return InvalidArgument(at + ".categorical.values: at most " + std::to_string(kMaxValues) +
                                 " values");
        }
        for (size_t k = 0; k < p.labels.size(); ++k) {
          for (size_t m = 0; m < k; ++m) {
            if (p.labels[m] == p.labels[k]) {
              return InvalidArgument(at + ".categorical.values[" + std::to_string(k) + "]: \"" +
                                     p.labels[k] + "\" appears twice");
            }
          }
        }
        break;
      }
    }
  }
  ParameterSpace space;
  space.parameters_ = std::move(parameters);
  return space;
}

Point ParameterSpace::Sample(Rng& rng) const {
  Point point(parameters_.size());
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const ParameterConfig& p = parameters_[i];
    switch (p.type) {
      case ParameterType::kInteger: {
        if (p.log_scale) {
          point[i] = FromUnit(i, rng.Uniform());
        } else {
          uint64_t n = p.Cardinality();
          point[i] = p.min + static_cast<double>(rng.Below(n) * static_cast<uint64_t>(p.step));
        }
        break;
      }
      case ParameterType::kDouble:
        point[i] = FromUnit(i, rng.Uniform());
        break;
      case ParameterType::kDiscrete:
        point[i] = p.values[rng.Below(p.values.size())];
        break;
      case ParameterType::kCategorical:
        point[i] = static_cast<double>(rng.Below(p.labels.size()));
        break;
    }
  }
  return point;
}

double ParameterSpace::Snap(size_t i, double v) const {
  const ParameterConfig& p = parameters_[i];
  if (std::isnan(v)) v = p.type == ParameterType::kDiscrete ? p.values.front() : p.min;
  switch (p.type) {
    case ParameterType::kInteger: {
      double k = std::round((std::clamp(v, p.min, p.max) - p.min) / static_cast<double>(p.step));
      return std::min(p.max, p.min + k * static_cast<double>(p.step));
    }
    case ParameterType::kDouble:
      return std::clamp(v, p.min, p.max);
    case ParameterType::kDiscrete: {
      auto it = std::lower_bound(p.values.begin(), p.values.end(), v);
      if (it == p.values.end()) return p.values.back();
      if (it == p.values.begin()) return *it;
      double above = *it, below = *(it - 1);
      return (v - below <= above - v) ? below : above;
    }
    case ParameterType::kCategorical:
      return std::clamp(std::round(v), 0.0, static_cast<double>(p.labels.size() - 1));
  }
  return v;
}

Point ParameterSpace::Snap(Point point) const {
  point.resize(parameters_.size());
  for (size_t i = 0; i < point.size(); ++i) point[i] = Snap(i, point[i]);
  return point;
}

bool ParameterSpace::Contains(const Point& point) const {
  if (point.size() != parameters_.size()) return false;
  for (size_t i = 0; i < point.size(); ++i) {
    if (Snap(i, point[i]) != point[i]) return false;
  }
  return true;
}

double ParameterSpace::ToUnit(size_t i, double v) const {
  const ParameterConfig& p = parameters_[i];
  switch (p.type) {
    case ParameterType::kInteger:
    case ParameterType::kDouble:
      if (p.max == p.min) return 0.5;
      if (p.log_scale) return (std::log(v) - std::log(p.min)) / (std::log(p.max) - std::log(p.min));
      return (v - p.min) / (p.max - p.min);
    case ParameterType::kDiscrete: {
      if (p.values.size() == 1) return 0.5;
      auto it = std::lower_bound(p.values.begin(), p.values.end(), v);
      double index = static_cast<double>(it - p.values.begin());
      return index / static_cast<double>(p.values.size() - 1);
    }
    case ParameterType::kCategorical:
      return p.labels.size() == 1 ? 0.5 : v / static_cast<double>(p.labels.size() - 1);
  }
  return 0;
}

double ParameterSpace::FromUnit(size_t i, double u) const {
  const ParameterConfig& p = parameters_[i];
  u = std::clamp(u, 0.0, 1.0);
  switch (p.type) {
    case ParameterType::kInteger:
    case ParameterType::kDouble: {
      double v = p.log_scale ? std::exp(std::log(p.min) + u * (std::log(p.max) - std::log(p.min)))
                             : p.min + u * (p.max - p.min);
      if (p.type == ParameterType::kInteger && p.log_scale) {
        // Widen the end cells so the bounds are as likely as inner values.
        double lo = std::log(p.min - 0.5 * p.step > 0 ? p.min - 0.5 * p.step : p.min);
        double hi = std::log(p.max + 0.5 * p.step);
        v = std::exp(lo + u * (hi - lo));
      }
      return Snap(i, v);
    }
    case ParameterType::kDiscrete:
      return p
          .values[static_cast<size_t>(std::lround(u * static_cast<double>(p.values.size() - 1)))];
    case ParameterType::kCategorical:
      return std::round(u * static_cast<double>(p.labels.size() - 1));
  }
  return 0;
}

uint64_t ParameterSpace::Cardinality() const {
  uint64_t total = 1;
  for (const auto& p : parameters_) {
    uint64_t c = p.Cardinality();
    if (c == 0) return 0;
    if (total > std::numeric_limits<uint64_t>::max() / c)
      return std::numeric_limits<uint64_t>::max();
    total *= c;
  }
  return total;
}

Point ParameterSpace::PointAt(uint64_t index) const {
  Point point(parameters_.size());
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const ParameterConfig& p = parameters_[i];
    const uint64_t n = p.Cardinality();
    const uint64_t k = index % n;
    index /= n;
    switch (p.type) {
      case ParameterType::kInteger:
        point[i] = p.min + static_cast<double>(k * static_cast<uint64_t>(p.step));
        break;
      case ParameterType::kDouble:
        point[i] = p.min;
        break;
      case ParameterType::kDiscrete:
        point[i] = p.values[k];
        break;
      case ParameterType::kCategorical:
        point[i] = static_cast<double>(k);
        break;
    }
  }
  return point;
}

uint64_t HashPoint(const Point& point) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (double v : point) {
    if (v == 0) v = 0;  // -0.0 and 0.0 are the same value
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof(bits));
    h ^= bits + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace kdnas
