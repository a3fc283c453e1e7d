// A stand-in for training, for tests, load tests and benchmarks of the
// controller: a trial's metrics are an analytic function of its candidate
// (from the cost model's prediction in the lease), so a whole search runs in
// seconds. Larger, less compressed students get lower losses, with a little
// deterministic noise per candidate.
#pragma once

#include <cstdint>

#include "workers/trial_executor.h"

namespace kdnas {

class SyntheticExecutor : public TrialExecutor {
 public:
  struct Options {
    int64_t trial_ms = 0;        // simulated training time
    double failure_rate = 0;     // fraction of trials that fail (retryable), by candidate hash
  };
  explicit SyntheticExecutor(Options options) : options_(options) {}
  ExecutionResult Run(const v1::Lease& lease, TrialContext& context) override;

  // The synthetic validation loss of a candidate after `fraction` of its steps.
  static double Loss(const v1::Trial& trial, double fraction = 1.0);

 private:
  Options options_;
};

}  // namespace kdnas
