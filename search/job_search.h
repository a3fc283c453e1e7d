// The search state of one job, without storage or RPC: it asks the strategy
// for points, decodes them into candidates, prices them with the cost model,
// rejects infeasible ones, skips candidates already proposed (by canonical
// key), feeds finished trials back and keeps the Pareto front and its
// hypervolume. Deterministic: the same sequence of Propose and Complete calls
// gives the same proposals, so the controller rebuilds a job after a restart
// by replaying its log of calls.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "search/cost_model.h"
#include "search/hypervolume.h"
#include "search/key_set.h"
#include "search/metrics.h"
#include "search/pareto_archive.h"
#include "search/rng.h"
#include "search/search_space.h"
#include "search/strategy.h"

namespace kdnas {

struct JobSearchOptions {
  SearchSpaceSpec space;
  StrategyOptions strategy;  // its maximize flags are set from `objectives`
  std::vector<ObjectiveSpec> objectives = {{"val_loss", false}, {"size_bytes", false}};
  Constraints constraints;
  ModelContext context;
  // Proposals drawn per candidate asked for before giving up on finding a new
  // one (a nearly exhausted space).
  int max_draws_per_proposal = 16;
  // Cheap predictors: draw `oversample` proposals per candidate asked for
  // (kProxyPool while only the proxy ranks) and keep the most promising. The predictor is the
  // training-free capacity proxy (from the first proposal on), or a random-forest surrogate of the
  // completed trials once it ranks them better (Kendall's tau of its
  // out-of-bag predictions). With the proxy, proposals that inherit the
  // teacher's weights go first, then those no earlier proposal dominates in
  // (size, -proxy), then by non-dominated rank in the pool, then the farthest
  // in log size from the earlier proposals, then the cheapest to train. With the surrogate, by the
  // area their optimistic (size, validation loss) would add to the measured front, per training
  // FLOP: hypervolume bought per worker-second.
  bool use_predictor = false;
  int oversample = 4;
};

struct Proposal {
  Point point;
  Candidate candidate;
  std::string key;
  CostEstimate cost;
  // Infeasible proposals are returned so the caller can record them as
  // REJECTED; they were already fed back to the strategy.
  bool feasible = true;
  std::string reject_reason;
  // What proposed it: "space.points_to_evaluate[2]", the strategy's name
  // ("nsga2"), "uniform draw" (the strategy kept repeating itself) or
  // "enumeration" (the last candidates of a small space).
  std::string proposed_by;
};

struct FrontChange {
  bool added = false;
  // Set when a succeeded trial is over a measured limit: it stays off the
  // front (CheckMeasured).
  std::string infeasible_reason;
  std::vector<int64_t> removed;
  double hypervolume = 0;
};

class JobSearch {
 public:
  static StatusOr<std::unique_ptr<JobSearch>> Create(const JobSearchOptions& options);
  ~JobSearch();

  // Up to n new feasible candidates; `rejected` receives the infeasible ones
  // met on the way (each already fed back). Fewer than n when the space is
  // exhausted. The space's points_to_evaluate come first, in order.
  std::vector<Proposal> Propose(int n, std::vector<Proposal>* rejected);

  // Feeds a finished trial back: succeeded trials within the measured limits
  // enter the front; those over one are fed to the strategy as infeasible.
  // `values` holds at least the objective metrics when status is kSucceeded
  // (and may for kStopped). Returns how the front changed.
  FrontChange Complete(int64_t trial_id, const Point& point, TrialStatus status,
                       const MetricValues& values);

  // A succeeded trial's measured metrics against the job's measured limits
  // and objectives (search/metrics.h).
  MeasuredCheck CheckMeasured(const MetricValues& values) const {
    return kdnas::CheckMeasured(values, options_.constraints, options_.objectives);
  }

  // The objective vector in the archive's normalized minimization form
  // (reference point 1 for minimized metrics, 0 for maximized ones).
  ObjectiveVector Normalize(const MetricValues& values) const;

  const SearchSpace& space() const { return space_; }
  const ParetoArchive& front() const { return archive_; }
  double hypervolume() const { return archive_.hypervolume(); }
  const std::vector<ObjectiveSpec>& objectives() const { return options_.objectives; }
  // The reference point in raw metric units (what users see).
  const std::vector<double>& raw_reference() const { return raw_reference_; }
  bool exhausted() const { return exhausted_; }
  // Kendall's tau of each predictor on the completed trials ("proxy",
  // "surrogate"), as of the last refit.
  const std::map<std::string, double>& predictor_tau() const { return predictor_tau_; }
  // The predictors learn from a uniform sample of at most kMaxTrainingRows
  // succeeded trials, so memory and refit time stay bounded however long
  // the search runs.
  static constexpr size_t kMaxTrainingRows = 2048;
  // Proposals the proxy screens per candidate asked for (at least; more
  // when `oversample` is larger) until the surrogate ranks better.
  static constexpr int kProxyPool = 16;
  // A space of at most this many points is walked in order when random draws
  // find no new candidate, so it is exhausted only when every one was tried.
  static constexpr uint64_t kEnumerableSpace = 1 << 16;
  // The surrogate is fitted once this many trials succeeded.
  static constexpr size_t kMinSurrogateRows = 6;
  // How many succeeded trials the predictors learn from.
  size_t predictor_sample_size() const { return completed_loss_.size(); }
  uint64_t proposed() const { return keys_.size(); }

 private:
  JobSearch(JobSearchOptions options, SearchSpace space, std::unique_ptr<Strategy> strategy,
            std::vector<double> scale, std::vector<double> raw_reference, Front2D measured_front);

  JobSearchOptions options_;
  SearchSpace space_;
  std::unique_ptr<Strategy> strategy_;
  std::vector<double> scale_;          // per objective
  std::vector<double> raw_reference_;  // per objective
  ParetoArchive archive_;
  KeySet keys_;                    // hashes of the proposed candidates' keys
  int64_t next_rejected_id_ = -1;  // rejected proposals are fed back with negative ids
  bool exhausted_ = false;
  Rng topup_rng_;                      // uniform draws when the strategy repeats itself (Propose)
  size_t next_point_to_evaluate_ = 0;  // into space_.points_to_evaluate()

  // The candidates of one Propose call.
  struct Pool {
    std::vector<Proposal> proposals;     // new and feasible
    std::unordered_set<uint64_t> drawn;  // hashes of this pool's keys
    std::vector<TrialOutcome> feedback;  // the rejected ones, for the strategy
  };
  // Prices a point: a new feasible student joins the pool's proposals, an
  // infeasible one goes to `rejected` and the pool's feedback, and one
  // proposed before is dropped.
  void Consider(Point point, const std::string& proposed_by, Pool* pool,
                std::vector<Proposal>* rejected);
  // Marks proposals as proposed (and where the proxy puts them).
  void RecordProposed(const std::vector<Proposal>& proposals);
  // Up to n candidates drawn from the strategy (screened by the predictors).
  std::vector<Proposal> ProposeDrawn(int n, std::vector<Proposal>* rejected);

  // Proposals ranked by the predictors; keeps the best n of `proposals`.
  std::vector<Proposal> Filter(std::vector<Proposal> proposals, int n);
  // Where the proxy puts a proposal: (log size_bytes, -log(1 + proxy)).
  std::pair<double, double> ProxyPosition(const Proposal& p) const;
  void RefitSurrogate();
  // The surrogate's features: the point's unit coordinates and the log of
  // the capacity proxy (a split on capacity needs no interaction of knobs).
  std::vector<double> SurrogateRow(const Point& point, const Candidate& candidate) const;
  // (size_bytes, val_loss) of the succeeded trials: what a proposal would
  // have to improve on.
  // Its box is bounded by the objectives' thresholds where set.
  Front2D measured_front_;
  bool thresholded_ = false;  // some objective has a threshold
  // (log size_bytes, -log(1 + proxy)) of every candidate proposed so far.
  // While the proxy ranks, a proposal that no earlier one covers and that
  // lies farthest along log size from them goes first, so one-at-a-time
  // proposals span the sizes instead of taking the pool's smallest each time.
  Front2D proposed_front_;
  // The predictors' training sample, a reservoir (see kMaxTrainingRows).
  void Remember(std::vector<double> row, double loss);
  std::vector<std::vector<double>> completed_rows_;  // SurrogateRow of succeeded trials
  std::vector<double> completed_loss_;
  size_t completed_seen_ = 0;  // succeeded trials offered to the sample
  Rng sample_rng_;
  size_t fitted_on_ = 0;
  bool surrogate_wins_ = false;
  // The surrogate: trend_intercept_ + trend_slope_ * log capacity, plus a
  // forest on the residuals.
  double Trend(const std::vector<double>& row) const {
    return trend_intercept_ + trend_slope_ * row.back();
  }
  double trend_intercept_ = 0, trend_slope_ = 0;
  double trend_rmse_ = 0;  // of the trend alone on the sample
  std::unique_ptr<class RandomForest> surrogate_;
  std::map<std::string, double> predictor_tau_;
};

}  // namespace kdnas
