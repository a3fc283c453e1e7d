#include "workers/synthetic_executor.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "search/rng.h"
#include "search/sha256.h"

namespace kdnas {
namespace {

uint64_t KeyHash(const v1::Trial& trial) {
  std::string h = Sha256Hex(trial.candidate_key());
  return std::stoull(h.substr(0, 15), nullptr, 16);
}

}  // namespace

double SyntheticExecutor::Loss(const v1::Trial& trial, double fraction) {
  const auto& p = trial.predicted();
  const auto& q = trial.candidate().compression();
  double params = std::max<double>(1.0, static_cast<double>(p.nonzero_params()));
  double bits = q.weight_bits() == 0 ? 16 : q.weight_bits();
  double quantization = bits >= 16 ? 0.0 : 0.3 * std::pow(2.0, -(bits - 2));
  double noise = (static_cast<double>(KeyHash(trial) % 2001) / 1000.0 - 1.0) * 0.01;
  double final_loss = 1.3 + 60.0 / std::sqrt(params) + quantization + noise;
  // Early in training the loss is higher, by a margin that shrinks.
  return final_loss + 1.5 * std::exp(-5.0 * std::clamp(fraction, 0.0, 1.0));
}

ExecutionResult SyntheticExecutor::Run(const v1::Lease& lease, TrialContext& context) {
  if (lease.has_teacher_shard()) {
    // A stand-in for the teacher's outputs: the shard's own description.
    const v1::TeacherShardWork& w = lease.teacher_shard();
    ExecutionResult result;
    v1::TrialProgress progress;
    progress.set_step(w.steps());
    if (context.Progress(progress)) {
      result.kind = ExecutionResult::Kind::kStopped;
      return result;
    }
    result.teacher_shard_path = context.scratch_dir() + "/synthetic-shard";
    std::ofstream(result.teacher_shard_path)
        << "synthetic teacher shard: " << w.ShortDebugString() << "\n";
    result.kind = ExecutionResult::Kind::kSucceeded;
    return result;
  }
  const v1::Trial& trial = lease.trial();
  const auto start = std::chrono::steady_clock::now();
  const int64_t steps = std::max<int64_t>(1, lease.work().train_steps());
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  ExecutionResult result;
  // Walk the rungs (and the end), sleeping the simulated time between them.
  std::vector<int64_t> checkpoints(lease.work().report_steps().begin(),
                                   lease.work().report_steps().end());
  checkpoints.push_back(steps);
  int64_t previous = 0;
  for (int64_t step : checkpoints) {
    if (options_.trial_ms > 0) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(options_.trial_ms * (step - previous) / steps));
    }
    previous = step;
    v1::TrialProgress progress;
    progress.set_step(step);
    progress.set_train_loss(Loss(trial, static_cast<double>(step) / steps) + 0.05);
    progress.set_val_loss(Loss(trial, static_cast<double>(step) / steps));
    progress.set_val_step(step);
    progress.set_tokens_per_second(1e4);
    if (context.Progress(progress) && step < steps) {
      result.kind = ExecutionResult::Kind::kStopped;
      result.progress = progress;
      result.worker_seconds = elapsed();
      return result;
    }
  }
  if (options_.failure_rate > 0 &&
      static_cast<double>(KeyHash(trial) % 1000) < 1000 * options_.failure_rate &&
      trial.attempts() <= 1) {
    return ExecutionResult::Failure(Unavailable("synthetic failure"), elapsed());
  }
  const auto& p = trial.predicted();
  v1::TrialMetrics& m = result.metrics;
  m.set_val_loss(Loss(trial));
  m.set_perplexity(std::exp(m.val_loss()));
  m.set_teacher_agreement(std::clamp(1.2 - 0.35 * m.val_loss(), 0.0, 1.0));
  m.set_kl_to_teacher(std::max(0.0, m.val_loss() - 1.25));
  m.set_params(p.params());
  m.set_nonzero_params(p.nonzero_params());
  m.set_flops_per_token(p.flops_per_token());
  m.set_size_bytes(p.size_bytes());
  m.set_latency_ms(0.05 + static_cast<double>(p.flops_per_token()) / 2e9);
  m.set_tokens_per_second(1000.0 / m.latency_ms());
  m.set_train_steps(steps);
  m.set_train_loss(m.val_loss() + 0.05);
  // A nominal cost so worker-second budgets behave: bigger students cost more.
  m.set_worker_seconds(options_.trial_ms > 0 ? elapsed() : static_cast<double>(p.params()) * 1e-5);
  result.kind = ExecutionResult::Kind::kSucceeded;
  return result;
}

}  // namespace kdnas
