#include "workers/engine_executor.h"

#include <chrono>

#include "search/rng.h"
#include "search/sha256.h"
#include "workers/candidate_json.h"

namespace kdnas {

StatusOr<std::shared_ptr<JobResources>> EngineExecutor::Resources(const v1::TrialWork& work, TrialContext& context) {
  KDNAS_ASSIGN_OR_RETURN(std::string data, context.Fetch(work.data().text()));
  KDNAS_ASSIGN_OR_RETURN(std::string teacher, context.Fetch(work.teacher().model()));
  const std::string key = work.job() + "|" + data + "|" + teacher + "|" + std::to_string(work.eval_tokens());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(key);
  if (it != jobs_.end()) return it->second;
  JobOptions job;
  job.teacher_path = teacher;
  job.data_path = data;
  job.validation_fraction = work.data().validation_fraction() > 0 ? work.data().validation_fraction() : 0.1;
  job.eval_tokens = work.eval_tokens() > 0 ? work.eval_tokens() : 16384;
  KDNAS_ASSIGN_OR_RETURN(auto resources, JobResources::Load(job));
  while (jobs_.size() >= options_.max_cached_jobs && !jobs_.empty()) jobs_.erase(jobs_.begin());
  jobs_[key] = resources;
  return resources;
}

ExecutionResult EngineExecutor::Run(const v1::Lease& lease, TrialContext& context) {
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  ExecutionResult result;
  const v1::TrialWork& work = lease.work();
  auto resources = Resources(work, context);
  if (!resources.ok()) {
    result.error = resources.status().message();
    // A missing or corrupt teacher or corpus will not get better by retrying here.
    result.retryable = resources.status().code() == StatusCode::kUnavailable;
    result.worker_seconds = seconds();
    return result;
  }
  RunOptions run;
  run.candidate = CandidateFromProto(lease.trial().candidate());
  run.resources = *resources;
  run.out_dir = context.scratch_dir();
  run.train_steps = work.train_steps();
  run.batch_size = work.batch_size() > 0 ? work.batch_size() : 12;
  run.learning_rate = work.learning_rate() > 0 ? work.learning_rate() : 1e-3;
  run.seed = work.seed();
  // Every trial of a job sees the same batches, so the teacher-output cache is shared.
  run.data_seed = std::stoull(Sha256Hex(work.job()).substr(0, 15), nullptr, 16);
  run.report_steps.assign(work.report_steps().begin(), work.report_steps().end());
  run.threads = options_.threads;
  run.measure_latency = options_.measure_latency;
  run.write_torchscript = options_.write_torchscript;
  run.cancel = &context.stop_flag();
  auto report = RunCandidate(run, [&](const TrainingProgress& p) {
    v1::TrialProgress progress;
    progress.set_step(p.step);
    progress.set_train_loss(p.train_loss);
    progress.set_val_loss(p.val_loss);
    progress.set_val_step(p.val_step);
    progress.set_tokens_per_second(p.tokens_per_second);
    return !context.Progress(progress);
  });
  if (!report.ok()) {
    result.error = report.status().message();
    result.retryable = report.status().code() != StatusCode::kInvalidArgument &&
                       report.status().code() != StatusCode::kFailedPrecondition;
    result.worker_seconds = seconds();
    return result;
  }
  if (report->stopped) {
    result.kind = ExecutionResult::Kind::kStopped;
    result.progress.set_step(report->train_steps);
    result.progress.set_train_loss(report->train_loss);
    if (!report->val_losses.empty()) {
      result.progress.set_val_step(report->val_losses.back().first);
      result.progress.set_val_loss(report->val_losses.back().second);
    }
    result.worker_seconds = seconds();
    return result;
  }
  v1::TrialMetrics& m = result.metrics;
  m.set_val_loss(report->val_loss);
  m.set_perplexity(report->perplexity);
  m.set_teacher_agreement(report->teacher_agreement);
  m.set_kl_to_teacher(report->kl_to_teacher);
  m.set_params(report->params);
  m.set_nonzero_params(report->nonzero_params);
  m.set_flops_per_token(report->flops_per_token);
  m.set_size_bytes(report->size_bytes);
  m.set_latency_ms(report->latency_ms);
  m.set_tokens_per_second(report->tokens_per_second);
  m.set_worker_seconds(seconds());
  m.set_train_steps(report->train_steps);
  m.set_train_loss(report->train_loss);
  result.kind = ExecutionResult::Kind::kSucceeded;
  result.packed_path = report->packed_path;
  result.torchscript_path = report->torchscript_path;
  return result;
}

}  // namespace kdnas
