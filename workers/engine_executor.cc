#include "workers/engine_executor.h"

#include <algorithm>

#include "log/log.h"
#include "proto/candidate_json.h"
#include "search/rng.h"
#include "search/sha256.h"
#include "workers/hf_weights.h"
#include "workers/teacher_shard.h"
#include "workers/torch_status.h"

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
  if (work.top_k() > 0) job.cache.top_k = work.top_k();
  KDNAS_ASSIGN_OR_RETURN(auto resources, JobResources::Load(job));
  while (jobs_.size() >= options_.max_cached_jobs && !jobs_.empty()) jobs_.erase(jobs_.begin());
  jobs_[key] = resources;
  return resources;
}

Status EngineExecutor::Shards(const v1::TrialWork& work, TrialContext& context, RunOptions* run) {
  auto set = std::make_shared<TeacherShardSet>();
  int64_t held_out_bytes = 0;
  for (const v1::TeacherShardRef& ref : work.teacher_shards()) {
    v1::FileRef file;
    file.set_blob(ref.artifact());
    KDNAS_ASSIGN_OR_RETURN(std::string path, context.Fetch(file));
    KDNAS_ASSIGN_OR_RETURN(auto shard, TeacherShard::Open(path));
    if (ref.held_out_context() > 0) {
      if (!shard->spec().held_out || shard->spec().window != ref.held_out_context()) {
        return FailedPrecondition("teacher pass: " + ref.artifact() +
                                  " holds other windows than the held-out ones of context " +
                                  std::to_string(ref.held_out_context()));
      }
      held_out_bytes += shard->file_bytes();
      run->held_out_shards[ref.held_out_context()] = std::move(shard);
      continue;
    }
    if (shard->spec().first_step != ref.first_step() || shard->spec().steps != ref.steps() ||
        shard->spec().data_seed != work.data_seed() ||
        shard->spec().batch_size != work.batch_size()) {
      return FailedPrecondition("teacher pass: " + ref.artifact() +
                                " holds other steps or batches than the job's");
    }
    KDNAS_RETURN_IF_ERROR(set->Add(std::move(shard)));
  }
  const double tokens = static_cast<double>(set->steps()) * work.batch_size() *
                        std::max(1, work.data().window_length());
  LogInfo("teacher outputs from the teacher pass",
          {{"job", work.job()},
           {"shards", work.teacher_shards_size()},
           {"bytes", set->bytes()},
           {"bytes_per_token", tokens > 0 ? static_cast<double>(set->bytes()) / tokens : 0.0},
           {"held_out_contexts", static_cast<int64_t>(run->held_out_shards.size())},
           {"held_out_bytes", held_out_bytes}});
  if (!set->empty()) run->teacher_shards = std::move(set);
  return Status::Ok();
}

ExecutionResult EngineExecutor::RunShard(const v1::Lease& lease, TrialContext& context) {
  const auto started = std::chrono::steady_clock::now();
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  const v1::TeacherShardWork& w = lease.teacher_shard();
  v1::TrialWork work;
  work.set_job(w.job());
  *work.mutable_data() = w.data();
  *work.mutable_teacher() = w.teacher();
  work.set_eval_tokens(w.eval_tokens());
  work.set_top_k(w.top_k());
  auto resources = Resources(work, context);
  if (!resources.ok()) return ExecutionResult::Failure(resources.status(), seconds());
  JobResources& job = **resources;
  const std::string path = context.scratch_dir() + "/teacher-shard.bin";
  const auto progress = [&](int64_t done) {
    v1::TrialProgress progress;
    progress.set_step(done);
    const double s = seconds();
    if (s > 0)
      progress.set_tokens_per_second(static_cast<double>(done) * w.batch_size() *
                                     w.data().window_length() / s);
    return context.Progress(progress);
  };
  const TeacherCache::LogitsFn teacher = [&](const torch::Tensor& x) {
    return job.TeacherLogits(x);
  };
  TeacherShardSpec spec;
  spec.data_seed = w.data_seed();
  spec.batch_size = w.batch_size();
  spec.window = w.data().window_length();
  spec.first_step = w.first_step();
  spec.steps = w.steps();
  spec.vocab_size = job.teacher().vocab_size();
  spec.cache.top_k = w.top_k();
  const bool held_out = w.held_out_context() > 0;
  if (Status fits = job.CheckTeacher(held_out ? w.held_out_context() : spec.window); !fits.ok())
    return ExecutionResult::Failure(fits, seconds());
  const Status written = CatchTorchErrors("teacher shard", [&]() -> Status {
    if (held_out) {
      return WriteHeldOutTeacherShard(w.held_out_context(), w.eval_tokens(), spec.vocab_size,
                                      spec.cache, job.corpus(), teacher, path, progress);
    }
    return WriteTeacherShard(spec, job.corpus(), teacher, path, progress);
  });
  ExecutionResult result;
  if (written.code() == StatusCode::kCancelled) {
    result.kind = ExecutionResult::Kind::kStopped;
    result.worker_seconds = seconds();
    return result;
  }
  if (!written.ok()) return ExecutionResult::Failure(written, seconds());
  result.kind = ExecutionResult::Kind::kSucceeded;
  result.metrics.set_worker_seconds(seconds());
  result.teacher_shard_path = path;
  return result;
}

ExecutionResult EngineExecutor::Run(const v1::Lease& lease, TrialContext& context) {
  if (lease.has_teacher_shard()) return RunShard(lease, context);
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
  // Every trial of a job sees the same batches: those of the teacher pass.
  run.data_seed = work.data_seed();
  if (work.teacher_shards_size() > 0) {
    const Status shards = Shards(work, context, &run);
    if (!shards.ok()) return ExecutionResult::Failure(shards, seconds());
  }
  run.report_steps.assign(work.report_steps().begin(), work.report_steps().end());
  run.threads = options_.threads;
  run.measure_latency = options_.measure_latency;
  run.latency_method = work.latency_method() == v1::LATENCY_METHOD_LLAMA_CPP
                           ? LatencyMethod::kLlamaCpp
                           : LatencyMethod::kTorch;
  run.latency_before_training = work.latency_at_rungs() && options_.measure_latency &&
                                run.latency_method == LatencyMethod::kLlamaCpp;
  run.write_torchscript = options_.write_torchscript;
  run.cancel = &context.stop_flag();
  auto report = RunCandidate(run, [&](const TrainingProgress& p) {
    v1::TrialProgress progress;
    progress.set_step(p.step);
    progress.set_train_loss(p.train_loss);
    progress.set_val_loss(p.val_loss);
    progress.set_val_step(p.val_step);
    progress.set_tokens_per_second(p.tokens_per_second);
    progress.set_latency_ms(p.latency_ms);
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
  result.gguf_path = report->gguf_path;
  result.gguf_unavailable = report->gguf_unavailable;
  result.gguf_tensor_types = report->gguf_tensor_types;
  result.latency_measured_with = report->latency_measured_with;
  return result;
}

}  // namespace kdnas
