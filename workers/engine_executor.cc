#include "workers/engine_executor.h"

#include "proto/candidate_json.h"
#include "search/rng.h"
#include "search/sha256.h"
#include "workers/hf_weights.h"

namespace kdnas {

StatusOr<std::shared_ptr<JobResources>> EngineExecutor::Resources(const v1::TrialWork& work,
                                                                  TrialContext& context) {
  KDNAS_ASSIGN_OR_RETURN(std::string data, context.Fetch(work.data().text()));
  const bool hf = work.teacher().has_hf();
  KDNAS_ASSIGN_OR_RETURN(std::string teacher,
                         context.Fetch(hf ? work.teacher().hf() : work.teacher().model()));
  const std::string key =
      work.job() + "|" + data + "|" + teacher + "|" + std::to_string(work.eval_tokens());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(key);
  if (it != jobs_.end()) return it->second;
  // The controller applied the job's defaults (ApplyJobDefaults).
  JobOptions job;
  if (hf) {
    KDNAS_ASSIGN_OR_RETURN(job.hf_teacher_dir, HfCheckpointDirectory(teacher));
  } else {
    job.teacher_path = teacher;
  }
  job.data_path = data;
  job.validation_fraction = work.data().validation_fraction();
  job.window_length = work.data().window_length();
  job.eval_tokens = work.eval_tokens();
  KDNAS_ASSIGN_OR_RETURN(auto resources, JobResources::Load(job));
  while (jobs_.size() >= options_.max_cached_jobs && !jobs_.empty()) jobs_.erase(jobs_.begin());
  jobs_[key] = resources;
  return resources;
}

ExecutionResult EngineExecutor::Run(const v1::Lease& lease, TrialContext& context) {
  RunOptions run;
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - run.started).count();
  };
  const v1::TrialWork& work = lease.work();
  auto resources = Resources(work, context);
  if (!resources.ok()) return ExecutionResult::Failure(resources.status(), seconds());
  run.candidate = CandidateFromProto(lease.trial().candidate());
  run.resources = *resources;
  run.out_dir = context.scratch_dir();
  run.train_steps = work.train_steps();
  run.batch_size = work.batch_size();
  run.learning_rate = work.learning_rate();
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
  if (!report.ok()) return ExecutionResult::Failure(report.status(), seconds());
  ExecutionResult result;
  if (report->stopped) {
    result.kind = ExecutionResult::Kind::kStopped;
    result.progress.set_step(report->metrics.train_steps());
    result.progress.set_train_loss(report->metrics.train_loss());
    if (!report->val_losses.empty()) {
      result.progress.set_val_step(report->val_losses.back().first);
      result.progress.set_val_loss(report->val_losses.back().second);
    }
    result.worker_seconds = report->metrics.worker_seconds();
    return result;
  }
  result.kind = ExecutionResult::Kind::kSucceeded;
  result.metrics = report->metrics;
  result.packed_path = report->packed_path;
  result.torchscript_path = report->torchscript_path;
  result.hf_path = report->hf_path;
  result.hf_unavailable = report->hf_unavailable;
  return result;
}

}  // namespace kdnas
