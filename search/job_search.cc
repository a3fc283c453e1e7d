#include "search/job_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "search/candidate_key.h"
#include "search/explain.h"
#include "search/forest.h"
#include "search/strategy_util.h"

namespace kdnas {
namespace {

// How far x lies from the nearest member of `front` along x; infinity when
// the front is empty.
double DistanceAlongX(const Front2D& front, double x) {
  const auto& members = front.members();
  double distance = std::numeric_limits<double>::infinity();
  auto next = members.lower_bound(x);
  if (next != members.end()) distance = next->first - x;
  if (next != members.begin()) distance = std::min(distance, x - std::prev(next)->first);
  return distance;
}

// The worst plausible value of a minimized metric, and the best plausible
// value of a maximized one, in raw units: the normalization scale of the
// objective. `largest` is the largest cost of a sample of the space.
double Scale(const std::string& metric, const JobSearchOptions& o, const CostEstimate& largest) {
  const double vocab = static_cast<double>(std::max<int64_t>(o.context.vocab_size, 2));
  const Constraints& c = o.constraints;
  if (metric == "val_loss" || metric == "kl_to_teacher") return std::log(vocab);
  if (metric == "perplexity") return vocab;
  if (metric == "teacher_agreement") return 1.0;
  if (metric == "size_bytes")
    return c.max_size_bytes > 0 ? static_cast<double>(c.max_size_bytes) : 1.1 * largest.size_bytes;
  if (metric == "params" || metric == "nonzero_params") {
    return c.max_params > 0 ? static_cast<double>(c.max_params) : 1.1 * largest.params;
  }
  if (metric == "flops_per_token") {
    return c.max_flops_per_token > 0 ? static_cast<double>(c.max_flops_per_token)
                                     : 1.1 * largest.flops_per_token;
  }
  if (metric == "latency_ms") return c.max_latency_ms > 0 ? c.max_latency_ms : 1000.0;
  if (metric == "tokens_per_second") return 1e6;
  return 1.0;
}

}  // namespace

StatusOr<std::unique_ptr<JobSearch>> JobSearch::Create(const JobSearchOptions& options) {
  if (options.objectives.empty())
    return InvalidArgument("objectives: at least one objective is required");
  KDNAS_ASSIGN_OR_RETURN(SearchSpace space, SearchSpace::Create(options.space));
  JobSearchOptions opts = options;
  opts.strategy.maximize.clear();
  for (const auto& o : opts.objectives) opts.strategy.maximize.push_back(o.maximize);
  opts.strategy.seeded_points = space.points_to_evaluate().size();
  const Constraints constraints = opts.constraints;
  const ModelContext context = opts.context;
  // The filter decodes with the job's own space, bound once it has its final
  // address inside the JobSearch.
  auto filter_space = std::make_shared<const SearchSpace*>(nullptr);
  opts.strategy.filter = [filter_space, constraints, context](const Point& p) {
    Candidate c = (*filter_space)->Decode(p);
    if (!ValidateCandidate(c).ok()) return false;
    return ConstraintViolation(EstimateCost(c, context), constraints) == 0;
  };
  // The largest candidate of a sample of the space sets the scale of
  // size-like objectives when no constraint does.
  CostEstimate largest;
  Rng rng(Rng::Mix(opts.strategy.seed, 0x5ca1e));
  for (int i = 0; i <= 256; ++i) {
    Candidate c =
        space.Decode(i == 0 ? space.Encode(space.base()) : space.parameters().Sample(rng));
    if (!ValidateCandidate(c).ok()) continue;
    CostEstimate e = EstimateCost(c, context);
    largest.size_bytes = std::max(largest.size_bytes, e.size_bytes);
    largest.params = std::max(largest.params, e.params);
    largest.flops_per_token = std::max(largest.flops_per_token, e.flops_per_token);
  }
  std::vector<double> scale, raw_reference;
  for (const auto& o : opts.objectives) {
    double s = Scale(o.metric, opts, largest);
    if (!(s > 0) || !std::isfinite(s)) s = 1.0;
    scale.push_back(s);
    raw_reference.push_back(o.maximize ? 0.0 : s);
  }
  KDNAS_ASSIGN_OR_RETURN(std::unique_ptr<Strategy> strategy,
                         CreateStrategy(opts.strategy, space.parameters()));
  // The measured front's box: what a proposal's area is counted inside.
  auto bound = [&](const std::string& metric) {
    const ObjectiveSpec* o = FindObjective(metric, opts.objectives);
    return o != nullptr && o->threshold ? *o->threshold : Scale(metric, opts, largest);
  };
  Front2D measured_front(bound("size_bytes"), bound("val_loss"));
  auto search = std::unique_ptr<JobSearch>(
      new JobSearch(std::move(opts), std::move(space), std::move(strategy), std::move(scale),
                    std::move(raw_reference), std::move(measured_front)));
  *filter_space = &search->space_;
  return search;
}

JobSearch::JobSearch(JobSearchOptions options, SearchSpace space,
                     std::unique_ptr<Strategy> strategy, std::vector<double> scale,
                     std::vector<double> raw_reference, Front2D measured_front)
    : options_(std::move(options)),
      space_(std::move(space)),
      strategy_(std::move(strategy)),
      scale_(std::move(scale)),
      raw_reference_(std::move(raw_reference)),
      archive_(ObjectiveVector(options_.objectives.size(), 0.0)),
      measured_front_(std::move(measured_front)),
      // Log sizes stay far below 1e3 and -log(1 + proxy) at or below 0.
      proposed_front_(1e3, 1.0) {
  // Minimized objectives have reference 1 and maximized ones 0 after
  // normalization (see Normalize).
  ObjectiveVector reference;
  for (const auto& o : options_.objectives) {
    reference.push_back(o.maximize ? 0.0 : 1.0);
    thresholded_ |= o.threshold.has_value();
  }
  archive_ = ParetoArchive(reference);
  sample_rng_.Seed(Rng::Mix(options_.strategy.seed, 0x73616d706c65));  // "sample"
  topup_rng_.Seed(Rng::Mix(options_.strategy.seed, 0x746f707570));     // "topup"
}

ObjectiveVector JobSearch::Normalize(const MetricValues& values) const {
  ObjectiveVector v;
  for (size_t i = 0; i < options_.objectives.size(); ++i) {
    auto it = values.find(options_.objectives[i].metric);
    double x = it == values.end() || std::isnan(it->second) ? INFINITY : it->second / scale_[i];
    v.push_back(options_.objectives[i].maximize ? -x : x);
  }
  return v;
}

JobSearch::~JobSearch() = default;

void JobSearch::Consider(Point point, const std::string& proposed_by, Pool* pool,
                         std::vector<Proposal>* rejected) {
  Proposal p;
  p.proposed_by = proposed_by;
  p.candidate = space_.Decode(point);
  p.point = std::move(point);
  p.key = CandidateKey(p.candidate);
  const uint64_t hash = std::hash<std::string>()(p.key);
  // The same student again (proposed before, or twice in this pool).
  if (keys_.Contains(hash) || !pool->drawn.insert(hash).second) return;
  Status valid = ValidateCandidate(p.candidate);
  p.cost = EstimateCost(p.candidate, options_.context);
  double violation =
      valid.ok() ? ConstraintViolation(p.cost, options_.constraints) : kFailedViolation;
  if (!valid.ok() || violation > 0) {
    keys_.Insert(hash);
    p.feasible = false;
    p.reject_reason =
        valid.ok() ? CheckConstraints(p.cost, options_.constraints).message() : valid.message();
    pool->feedback.push_back({next_rejected_id_--, p.point, TrialStatus::kRejected, {}, violation});
    if (rejected != nullptr) rejected->push_back(std::move(p));
    return;
  }
  pool->proposals.push_back(std::move(p));
}

void JobSearch::RecordProposed(const std::vector<Proposal>& proposals) {
  for (const Proposal& p : proposals) {
    keys_.Insert(std::hash<std::string>()(p.key));
    if (options_.use_predictor) {
      const auto [log_size, proxy_loss] = ProxyPosition(p);
      proposed_front_.Insert(log_size, proxy_loss);
    }
  }
}

std::vector<Proposal> JobSearch::Propose(int n, std::vector<Proposal>* rejected) {
  // The user's points go first, as given: the predictors do not screen them.
  Pool first;
  const std::vector<Point>& given = space_.points_to_evaluate();
  while (static_cast<int>(first.proposals.size()) < n && next_point_to_evaluate_ < given.size()) {
    const size_t j = next_point_to_evaluate_++;
    Consider(given[j], "space.points_to_evaluate[" + std::to_string(j) + "]", &first, rejected);
  }
  if (!first.feedback.empty()) strategy_->Update(first.feedback);
  RecordProposed(first.proposals);
  const int drawn = n - static_cast<int>(first.proposals.size());
  if (drawn <= 0 && n > 0) {
    exhausted_ = false;
    return std::move(first.proposals);
  }
  std::vector<Proposal> more = ProposeDrawn(drawn, rejected);
  first.proposals.insert(first.proposals.end(), std::make_move_iterator(more.begin()),
                         std::make_move_iterator(more.end()));
  return std::move(first.proposals);
}

std::vector<Proposal> JobSearch::ProposeDrawn(int n, std::vector<Proposal>* rejected) {
  const bool predict = options_.use_predictor && n > 0;
  const int wanted = n;
  if (predict) {
    // The proxy costs nothing, so until the surrogate ranks better it
    // screens a wider pool.
    const int oversample = std::max(1, options_.oversample);
    n *= surrogate_wins_ ? oversample : std::max(oversample, kProxyPool);
  }
  Pool pool;
  std::vector<Proposal>& out = pool.proposals;
  std::vector<TrialOutcome>& feedback = pool.feedback;
  std::string proposed_by = strategy_->name();
  auto take = [&](Point point) { Consider(std::move(point), proposed_by, &pool, rejected); };
  int draws = 0;
  const int max_draws = std::max(1, n) * std::max(1, options_.max_draws_per_proposal);
  while (static_cast<int>(out.size()) < n && draws < max_draws) {
    std::vector<Point> points = strategy_->Suggest(n - static_cast<int>(out.size()));
    draws += static_cast<int>(points.size());
    if (points.empty()) break;
    for (Point& point : points) take(std::move(point));
    if (!feedback.empty()) strategy_->Update(feedback);
    feedback.clear();
  }
  // A strategy that keeps suggesting students already tried (NSGA-II's
  // offspring of a converged population, late in a small space) has not
  // exhausted the space: top up with uniform draws before saying it is.
  proposed_by = "uniform draw";
  for (int topup = 0; static_cast<int>(out.size()) < std::min(n, wanted) && topup < max_draws;
       ++topup) {
    take(space_.parameters().Sample(topup_rng_));
  }
  // The draws can miss the last few candidates of a small space: walk it.
  const uint64_t points = space_.parameters().Cardinality();
  if (points > 0 && points <= kEnumerableSpace) {
    proposed_by = "enumeration";
    for (uint64_t i = 0; i < points && static_cast<int>(out.size()) < std::min(n, wanted); ++i)
      take(space_.parameters().PointAt(i));
  }
  if (!feedback.empty()) strategy_->Update(feedback);
  exhausted_ = static_cast<int>(out.size()) < std::min(n, wanted) || out.empty();
  // Candidates the predictors passed over stay proposable: the surrogate
  // may think better of them once it has seen more trials.
  if (predict) out = Filter(std::move(out), wanted);
  RecordProposed(out);
  return std::move(out);
}

void JobSearch::RefitSurrogate() {
  // Refit when the completed set grew by a tenth (every trial while small).
  if (completed_loss_.size() < kMinSurrogateRows ||
      completed_seen_ < fitted_on_ + std::max<size_t>(1, fitted_on_ / 10))
    return;
  fitted_on_ = completed_seen_;
  // A straight line in log(capacity) carries the trend beyond the sizes
  // tried so far (trees alone predict flat there); the forest learns the
  // rest, e.g. initialisation and quantization, from the residuals.
  const size_t rows = completed_loss_.size();
  double mx = 0, my = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < rows; ++i) {
    mx += completed_rows_[i].back();
    my += completed_loss_[i];
  }
  mx /= static_cast<double>(rows);
  my /= static_cast<double>(rows);
  for (size_t i = 0; i < rows; ++i) {
    const double dx = completed_rows_[i].back() - mx;
    sxx += dx * dx;
    sxy += dx * (completed_loss_[i] - my);
  }
  trend_slope_ =
      sxx > 0 ? std::min(0.0, sxy / sxx) : 0.0;  // more capacity never predicts more loss
  trend_intercept_ = my - trend_slope_ * mx;
  std::vector<double> residual(rows);
  double squares = 0;
  for (size_t i = 0; i < rows; ++i) {
    residual[i] = completed_loss_[i] - Trend(completed_rows_[i]);
    squares += residual[i] * residual[i];
  }
  trend_rmse_ = std::sqrt(squares / static_cast<double>(rows));
  surrogate_ = std::make_unique<RandomForest>();
  surrogate_->Fit(completed_rows_, residual,
                  {32, 8, 2, Rng::Mix(options_.strategy.seed, fitted_on_), /*all_features=*/true});
  std::vector<double> oob, proxy;
  for (size_t i = 0; i < rows; ++i) {
    oob.push_back(Trend(completed_rows_[i]) + surrogate_->PredictOutOfBag(i));
    proxy.push_back(-completed_rows_[i].back());  // log capacity: the same ranks as the proxy
  }
  predictor_tau_["surrogate"] = KendallTau(oob, completed_loss_);
  predictor_tau_["proxy"] = KendallTau(proxy, completed_loss_);
  surrogate_wins_ = predictor_tau_["surrogate"] > predictor_tau_["proxy"];
}

void JobSearch::Remember(std::vector<double> row, double loss) {
  ++completed_seen_;
  size_t slot = completed_rows_.size();
  if (slot >= kMaxTrainingRows) {
    slot = sample_rng_.Below(completed_seen_);
    if (slot >= kMaxTrainingRows) return;
    completed_rows_[slot] = std::move(row);
    completed_loss_[slot] = loss;
    return;
  }
  completed_rows_.push_back(std::move(row));
  completed_loss_.push_back(loss);
}

std::vector<double> JobSearch::SurrogateRow(const Point& point, const Candidate& candidate) const {
  std::vector<double> row(point.size() + 1);
  for (size_t k = 0; k < point.size(); ++k) row[k] = space_.parameters().ToUnit(k, point[k]);
  row.back() = std::log1p(CapacityProxy(candidate, options_.context));
  return row;
}

std::pair<double, double> JobSearch::ProxyPosition(const Proposal& p) const {
  return {std::log(std::max(1.0, static_cast<double>(p.cost.size_bytes))),
          -std::log1p(CapacityProxy(p.candidate, options_.context))};
}

std::vector<Proposal> JobSearch::Filter(std::vector<Proposal> proposals, int n) {
  RefitSurrogate();
  // Hypervolume per FLOP ranks once the surrogate does better than the
  // proxy, or, under a threshold, as soon as the proxy's trend is calibrated
  // in nats (the proxy alone cannot tell how far beyond a threshold a
  // student is).
  const bool by_gain = surrogate_wins_ || (surrogate_ != nullptr && thresholded_);
  const size_t m = proposals.size();
  std::vector<double> loss(m), size(m), gain(m, 0.0), gap(m, 0.0);
  std::vector<bool> scratch(m, false), covered(m, false);
  for (size_t i = 0; i < m; ++i) {
    const Proposal& p = proposals[i];
    size[i] = static_cast<double>(p.cost.size_bytes);
    if (by_gain) {
      std::vector<double> row = SurrogateRow(p.point, p.candidate);
      loss[i] = Trend(row);
      double uncertainty = trend_rmse_;
      if (surrogate_wins_) {
        loss[i] += surrogate_->Predict(row);
        uncertainty = surrogate_->Spread(row);  // of the trees
      } else {
        scratch[i] = p.candidate.distillation.init != Init::kInherit;
      }
      // Optimistic by the predictor's uncertainty: an uncertain proposal may
      // still be worth its training.
      gain[i] = measured_front_.Gain(size[i], loss[i] - uncertainty) /
                static_cast<double>(std::max<int64_t>(1, p.cost.train_flops_per_token));
    } else {
      const auto [log_size, proxy_loss] = ProxyPosition(p);
      loss[i] = proxy_loss;
      // Inheriting the teacher's weights lowered the loss at equal steps in
      // every pair measured (deploy/bench.sh inheritance: 0.44-0.48 nats),
      // which the proxy cannot see; the surrogate learns it for itself.
      scratch[i] = p.candidate.distillation.init != Init::kInherit;
      covered[i] = proposed_front_.Dominated(log_size, proxy_loss);
      gap[i] = DistanceAlongX(proposed_front_, log_size);
    }
  }
  // How many proposals dominate each one; under the inheritance preference
  // a scratch proposal dominates no inherited one.
  std::vector<int> rank(m, 0);
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < m; ++j) {
      if (size[j] <= size[i] && loss[j] <= loss[i] && (size[j] < size[i] || loss[j] < loss[i]) &&
          scratch[j] <= scratch[i])
        ++rank[i];
    }
  }
  std::vector<size_t> order(m);
  for (size_t i = 0; i < m; ++i) order[i] = i;
  // Most hypervolume per FLOP first (surrogate); with the proxy, inherited
  // before scratch, then what no earlier proposal covers; then the best
  // non-dominated ranks in (size, predicted loss), then (proxy) the farthest
  // from the earlier proposals along log size, then the cheapest to train
  // (more trials, sooner, to learn from); ties keep the strategy's order.
  auto flops = [&](size_t i) { return proposals[i].cost.train_flops_per_token; };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (gain[a] != gain[b]) return gain[a] > gain[b];
    if (scratch[a] != scratch[b]) return static_cast<bool>(scratch[b]);
    if (covered[a] != covered[b]) return static_cast<bool>(covered[b]);
    if (rank[a] != rank[b]) return rank[a] < rank[b];
    if (gap[a] != gap[b]) return gap[a] > gap[b];
    return flops(a) < flops(b);
  });
  std::vector<Proposal> kept;
  for (size_t i = 0; i < m && static_cast<int>(kept.size()) < n; ++i)
    kept.push_back(std::move(proposals[order[i]]));
  return kept;
}

FrontChange JobSearch::Complete(int64_t trial_id, const Point& point, TrialStatus status,
                                const MetricValues& values) {
  FrontChange change;
  TrialOutcome outcome{trial_id, point, status, {}, 0};
  if (status == TrialStatus::kSucceeded) {
    MeasuredCheck measured = CheckMeasured(values);
    outcome.violation = measured.violation;
    change.infeasible_reason = std::move(measured.infeasible_reason);
  }
  const bool feasible = outcome.violation == 0;
  bool has_values = true;
  for (const auto& o : options_.objectives) {
    auto it = values.find(o.metric);
    if (it == values.end()) {
      has_values = false;
      break;
    }
    outcome.values.push_back(it->second);
  }
  if (!has_values) outcome.values.clear();
  strategy_->Update({outcome});
  if (status == TrialStatus::kSucceeded && has_values && options_.use_predictor) {
    auto loss = values.find("val_loss");
    if (loss != values.end()) {
      const Candidate candidate = space_.Decode(point);
      Remember(SurrogateRow(point, candidate), loss->second);
      auto size = values.find("size_bytes");
      if (feasible) {
        measured_front_.Insert(
            size != values.end()
                ? size->second
                : static_cast<double>(EstimateCost(candidate, options_.context).size_bytes),
            loss->second);
      }
    }
  }
  if (status == TrialStatus::kSucceeded && has_values && feasible) {
    auto c = archive_.Insert(trial_id, Normalize(values));
    change.added = c.added;
    change.removed = std::move(c.removed);
  }
  change.hypervolume = archive_.hypervolume();
  return change;
}

}  // namespace kdnas
