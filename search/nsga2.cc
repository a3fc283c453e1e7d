#include <algorithm>
#include <cmath>
#include <numeric>

#include "search/strategies.h"

namespace kdnas {
namespace {

// Distribution indices of SBX and polynomial mutation. A small mutation index
// (wide steps) with two mutated parameters per child on average did best on
// ZDT1-3 and DTLZ2 at 300-1,000 evaluations (tests/bench/search_quality.sh).
constexpr double kEtaCrossover = 20.0;
constexpr double kEtaMutation = 5.0;

// Simulated binary crossover of two unit coordinates (Deb & Agrawal).
void Sbx(double* a, double* b, Rng& rng) {
  if (std::fabs(*a - *b) < 1e-14) return;
  double y1 = std::min(*a, *b), y2 = std::max(*a, *b);
  auto child = [&](double beta_base, bool low) {
    double alpha = 2.0 - std::pow(beta_base, -(kEtaCrossover + 1.0));
    double u = rng.Uniform();
    double betaq = u <= 1.0 / alpha ? std::pow(u * alpha, 1.0 / (kEtaCrossover + 1.0))
                                    : std::pow(1.0 / (2.0 - u * alpha), 1.0 / (kEtaCrossover + 1.0));
    return low ? 0.5 * ((y1 + y2) - betaq * (y2 - y1)) : 0.5 * ((y1 + y2) + betaq * (y2 - y1));
  };
  double c1 = child(1.0 + 2.0 * y1 / (y2 - y1), true);
  double c2 = child(1.0 + 2.0 * (1.0 - y2) / (y2 - y1), false);
  c1 = std::clamp(c1, 0.0, 1.0);
  c2 = std::clamp(c2, 0.0, 1.0);
  if (rng.Bernoulli(0.5)) std::swap(c1, c2);
  *a = c1;
  *b = c2;
}

// Polynomial mutation of a unit coordinate.
double PolynomialMutation(double y, Rng& rng) {
  double u = rng.Uniform();
  double delta;
  if (u < 0.5) {
    double xy = 1.0 - y;
    double val = 2.0 * u + (1.0 - 2.0 * u) * std::pow(xy, kEtaMutation + 1.0);
    delta = std::pow(val, 1.0 / (kEtaMutation + 1.0)) - 1.0;
  } else {
    double xy = y;
    double val = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * std::pow(xy, kEtaMutation + 1.0);
    delta = 1.0 - std::pow(val, 1.0 / (kEtaMutation + 1.0));
  }
  return std::clamp(y + delta, 0.0, 1.0);
}

}  // namespace

Nsga2::Nsga2(const StrategyOptions& options, const ParameterSpace& space)
    : space_(space),
      maximize_(options.maximize),
      population_size_(options.population_size > 0 ? options.population_size : 16),
      random_draws_(population_size_ - std::min(population_size_, options.seeded_points)),
      crossover_probability_(options.crossover_probability.value_or(0.9)),
      mutation_probability_(options.mutation_probability.value_or(
          space.size() > 0 ? std::min(1.0, 2.0 / static_cast<double>(space.size())) : 1.0)),
      rng_(options.seed),
      tracker_(space_, options) {}

size_t Nsga2::Tournament() {
  size_t a = rng_.Below(population_.size());
  size_t b = rng_.Below(population_.size());
  if (rank_[a] != rank_[b]) return rank_[a] < rank_[b] ? a : b;
  if (crowding_[a] != crowding_[b]) return crowding_[a] > crowding_[b] ? a : b;
  return rng_.Bernoulli(0.5) ? a : b;
}

Point Nsga2::Child() {
  const Point& p1 = population_[Tournament()].point;
  const Point& p2 = population_[Tournament()].point;
  const size_t n = space_.size();
  Point c1(n), c2(n);
  bool cross = rng_.Bernoulli(crossover_probability_);
  for (size_t i = 0; i < n; ++i) {
    const ParameterConfig& p = space_.parameter(i);
    if (p.type == ParameterType::kCategorical) {
      bool swap = cross && rng_.Bernoulli(0.5);
      c1[i] = swap ? p2[i] : p1[i];
      c2[i] = swap ? p1[i] : p2[i];
      continue;
    }
    double u1 = space_.ToUnit(i, p1[i]);
    double u2 = space_.ToUnit(i, p2[i]);
    if (cross && rng_.Bernoulli(0.5)) Sbx(&u1, &u2, rng_);
    c1[i] = u1;
    c2[i] = u2;
  }
  Point child = rng_.Bernoulli(0.5) ? c1 : c2;
  for (size_t i = 0; i < n; ++i) {
    const ParameterConfig& p = space_.parameter(i);
    bool mutate = rng_.Bernoulli(mutation_probability_);
    if (p.type == ParameterType::kCategorical) {
      uint64_t card = p.Cardinality();
      if (mutate && card > 1) child[i] = static_cast<double>(rng_.Below(card));
    } else {
      double u = mutate ? PolynomialMutation(child[i], rng_) : child[i];
      child[i] = space_.FromUnit(i, u);
    }
  }
  return child;
}

std::vector<Point> Nsga2::Suggest(int n) {
  std::vector<Point> out;
  for (int k = 0; k < n; ++k) {
    if (tracker_.proposed() < random_draws_ || population_.size() < 2) {
      out.push_back(tracker_.Propose([&] { return space_.Sample(rng_); }));
    } else {
      out.push_back(tracker_.Propose([&] { return Child(); }));
    }
  }
  return out;
}

void Nsga2::Rank() {
  auto fronts = NondominatedSort(population_);
  rank_.assign(population_.size(), 0);
  crowding_.assign(population_.size(), 0);
  for (size_t f = 0; f < fronts.size(); ++f) {
    auto distance = CrowdingDistance(population_, fronts[f]);
    for (size_t i = 0; i < fronts[f].size(); ++i) {
      rank_[fronts[f][i]] = static_cast<int>(f);
      crowding_[fronts[f][i]] = distance[i];
    }
  }
}

void Nsga2::Update(const std::vector<TrialOutcome>& finished) {
  for (const TrialOutcome& o : finished) {
    Individual ind;
    if (ToIndividual(o, maximize_, &ind)) population_.push_back(std::move(ind));
  }
  if (population_.size() > population_size_) {
    // Environmental selection: whole fronts, then the most spread-out members
    // of the front that does not fit.
    auto fronts = NondominatedSort(population_);
    std::vector<Individual> next;
    for (const auto& front : fronts) {
      if (next.size() + front.size() <= population_size_) {
        for (size_t i : front) next.push_back(population_[i]);
        continue;
      }
      auto distance = CrowdingDistance(population_, front);
      std::vector<size_t> order(front.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return distance[a] > distance[b]; });
      for (size_t i = 0; next.size() < population_size_; ++i) next.push_back(population_[front[order[i]]]);
      break;
    }
    population_ = std::move(next);
  }
  Rank();
}

}  // namespace kdnas
