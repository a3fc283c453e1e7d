// Standard multi-objective test problems (Zitzler-Deb-Thiele 2000; Deb et al.
// 2002), all minimized, decision variables in [0, 1].
#pragma once

#include <cmath>
#include <vector>

namespace kdnas::problems {

inline std::vector<double> Zdt1(const std::vector<double>& x) {
  double g = 0;
  for (size_t i = 1; i < x.size(); ++i) g += x[i];
  g = 1 + 9 * g / static_cast<double>(x.size() - 1);
  return {x[0], g * (1 - std::sqrt(x[0] / g))};
}

inline std::vector<double> Zdt2(const std::vector<double>& x) {
  double g = 0;
  for (size_t i = 1; i < x.size(); ++i) g += x[i];
  g = 1 + 9 * g / static_cast<double>(x.size() - 1);
  return {x[0], g * (1 - (x[0] / g) * (x[0] / g))};
}

inline std::vector<double> Zdt3(const std::vector<double>& x) {
  double g = 0;
  for (size_t i = 1; i < x.size(); ++i) g += x[i];
  g = 1 + 9 * g / static_cast<double>(x.size() - 1);
  double h = 1 - std::sqrt(x[0] / g) - (x[0] / g) * std::sin(10 * M_PI * x[0]);
  return {x[0], g * h};
}

// DTLZ2 with 3 objectives; the first 2 variables are positional.
inline std::vector<double> Dtlz2(const std::vector<double>& x) {
  double g = 0;
  for (size_t i = 2; i < x.size(); ++i) g += (x[i] - 0.5) * (x[i] - 0.5);
  double a = x[0] * M_PI / 2, b = x[1] * M_PI / 2;
  return {(1 + g) * std::cos(a) * std::cos(b), (1 + g) * std::cos(a) * std::sin(b), (1 + g) * std::sin(a)};
}

}  // namespace kdnas::problems
