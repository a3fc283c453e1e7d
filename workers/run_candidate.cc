#include "workers/run_candidate.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "evaluator/evaluate.h"
#include "search/cost_model.h"
#include "search/search_space.h"
#include "workers/candidate_json.h"
#include "workers/inherit.h"
#include "workers/packed_artifact.h"
#include "workers/torchscript_export.h"

namespace kdnas {
namespace fs = std::filesystem;

StatusOr<std::shared_ptr<JobResources>> JobResources::Load(const JobOptions& o) {
  if (o.teacher_path.empty())
    return InvalidArgument("teacher: a TorchScript teacher file is required");
  if (o.data_path.empty()) return InvalidArgument("data: a text file is required");
  if (o.eval_tokens <= 0) return InvalidArgument("eval_tokens: must be > 0");
  auto r = std::make_shared<JobResources>();
  r->options_ = o;
  KDNAS_ASSIGN_OR_RETURN(Teacher teacher, Teacher::Load(o.teacher_path, o.teacher_tokenizer_path));
  r->teacher_ = std::make_unique<Teacher>(std::move(teacher));
  CorpusOptions co;
  co.validation_fraction = o.validation_fraction;
  KDNAS_ASSIGN_OR_RETURN(Corpus corpus,
                         Corpus::FromFile(o.data_path, &r->teacher_->tokenizer(), co));
  r->corpus_ = std::make_unique<Corpus>(std::move(corpus));
  r->cache_ = std::make_unique<TeacherCache>(r->teacher_->vocab_size(), o.cache);
  return r;
}

StatusOr<torch::Tensor> JobResources::TeacherLogits(const torch::Tensor& x) {
  std::lock_guard<std::mutex> lock(teacher_mu_);
  return teacher_->Logits(x);
}

Status JobResources::CheckTeacher(int context) {
  std::lock_guard<std::mutex> lock(teacher_mu_);
  if (checked_contexts_.count(context)) return Status::Ok();
  KDNAS_RETURN_IF_ERROR(teacher_->CheckContext(context));
  checked_contexts_.insert(context);
  return Status::Ok();
}

StatusOr<const JobResources::EvalSet*> JobResources::Eval(int context) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = eval_.find(context);
  if (it != eval_.end()) return &it->second;
  const auto& val = corpus_->val_tokens();
  Batch b = MakeBatch(val, EvalStarts(val.numel(), context, options_.eval_tokens), context);
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < b.x.size(0); i += 32) {
    KDNAS_ASSIGN_OR_RETURN(torch::Tensor logits,
                           TeacherLogits(b.x.narrow(0, i, std::min<int64_t>(32, b.x.size(0) - i))));
    parts.push_back(torch::log_softmax(logits, -1));
  }
  EvalSet e{b.x, b.y, torch::cat(parts, 0)};
  return &eval_.emplace(context, e).first->second;
}

StatusOr<GptImpl*> JobResources::TeacherModel() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!teacher_model_ && teacher_model_error_.empty()) {
    auto m = TeacherAsGpt(*teacher_);
    if (m.ok()) {
      teacher_model_ = *m;
    } else {
      teacher_model_error_ = m.status().message();
    }
  }
  if (!teacher_model_) return FailedPrecondition(teacher_model_error_);
  return teacher_model_.get();
}

namespace {

// Removes what a failed run wrote, so no partial artifact is left behind.
class OutputGuard {
 public:
  explicit OutputGuard(std::string dir) : dir_(std::move(dir)) {}
  Status Create() {
    std::error_code ec;
    if (!fs::exists(dir_, ec)) {
      if (!fs::create_directories(dir_, ec) || ec)
        return Internal("--out: cannot create '" + dir_ + "'");
      created_dir_ = true;
    } else if (!fs::is_directory(dir_, ec)) {
      return InvalidArgument("--out: '" + dir_ + "' is not a directory");
    }
    return Status::Ok();
  }
  std::string Track(const std::string& name) {
    files_.push_back(dir_ + "/" + name);
    return files_.back();
  }
  void Commit() { committed_ = true; }
  ~OutputGuard() {
    if (committed_) return;
    std::error_code ec;
    for (const auto& f : files_) {
      fs::remove(f, ec);
      fs::remove(f + ".tmp", ec);
    }
    if (created_dir_ && fs::is_empty(dir_, ec)) fs::remove(dir_, ec);
  }

 private:
  std::string dir_;
  std::vector<std::string> files_;
  bool created_dir_ = false;
  bool committed_ = false;
};

StatusOr<TrialReport> Run(const RunOptions& o, const ProgressCallback& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const Candidate& c = o.candidate;
  KDNAS_RETURN_IF_ERROR(ValidateCandidate(c, "candidate"));
  if (o.train_steps <= 0)
    return InvalidArgument("train_steps: must be > 0, got " + std::to_string(o.train_steps));
  if (o.batch_size <= 0)
    return InvalidArgument("batch_size: must be > 0, got " + std::to_string(o.batch_size));
  if (!(o.learning_rate > 0)) return InvalidArgument("learning_rate: must be > 0");
  if (o.out_dir.empty()) return InvalidArgument("out_dir: an output directory is required");
  if (o.threads > 0) torch::set_num_threads(o.threads);

  std::shared_ptr<JobResources> job = o.resources;
  if (!job) {
    KDNAS_ASSIGN_OR_RETURN(job, JobResources::Load(o.job));
  }
  const int C = c.architecture.context_length;
  KDNAS_RETURN_IF_ERROR(job->corpus().CheckContext(C));
  KDNAS_RETURN_IF_ERROR(job->CheckTeacher(C));
  KDNAS_ASSIGN_OR_RETURN(const JobResources::EvalSet* eval, job->Eval(C));
  const Tokenizer& tokenizer = job->corpus().tokenizer();
  const int V = tokenizer.vocab_size();

  TrialReport report;
  torch::manual_seed(o.seed);
  Gpt model(GptConfig{c.architecture, c.compression, V, true});
  report.init_summary = "scratch";
  if (c.distillation.init == Init::kInherit) {
    auto teacher_model = job->TeacherModel();
    if (teacher_model.ok()) {
      Batch calib = MakeBatch(
          job->corpus().train_tokens(),
          BatchStarts(o.data_seed ^ 0x5eed, 1 << 30, 16, job->corpus().train_tokens().numel(),
                      std::min(C, (*teacher_model)->config().architecture.context_length)),
          std::min(C, (*teacher_model)->config().architecture.context_length));
      KDNAS_RETURN_IF_ERROR(
          InheritFromTeacher(*model, **teacher_model, calib.x, &report.init_summary));
    } else {
      report.init_summary = "scratch (cannot inherit: " + teacher_model.status().message() + ")";
    }
  }

  TrainOptions t;
  t.steps = o.train_steps;
  t.batch_size = o.batch_size;
  t.learning_rate = o.learning_rate;
  t.temperature = c.distillation.temperature;
  t.alpha = c.distillation.alpha;
  t.data_seed = o.data_seed;
  t.report_steps = o.report_steps;
  t.stop_at_step = o.stop_at_step;
  t.checkpoint_path = o.checkpoint_path;
  t.checkpoint_every_steps = o.checkpoint_every_steps;
  t.cancel = o.cancel;
  TeacherSource teacher{&job->cache(),
                        [&](const torch::Tensor& x) { return job->TeacherLogits(x); }};
  LogitsFn fn = [&](const torch::Tensor& x) { return model->forward(x); };
  ValidateFn validate = [&] { return ValidationLoss(fn, eval->x, eval->y); };
  KDNAS_ASSIGN_OR_RETURN(TrainResult trained, Train(*model, job->corpus(), &teacher, c.compression,
                                                    t, validate, progress));
  report.train_steps = trained.steps_run;
  report.train_loss = trained.train_loss;
  report.train_tokens_per_second = trained.tokens_per_second;
  report.val_losses = trained.val_losses;
  const CostEstimate cost = EstimateCost(c, {V, tokenizer.serialized_bytes()});
  report.params = cost.params;
  report.nonzero_params = cost.nonzero_params;
  report.flops_per_token = cost.flops_per_token;
  if (trained.stopped) {
    report.stopped = true;
    if (!trained.val_losses.empty()) report.val_loss = trained.val_losses.back().second;
    report.worker_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return report;
  }

  OutputGuard out(o.out_dir);
  KDNAS_RETURN_IF_ERROR(out.Create());
  report.packed_path = out.Track("student.kdna");
  KDNAS_RETURN_IF_ERROR(
      WritePackedArtifact(*model, c, tokenizer, report.packed_path, &report.size_bytes));
  if (report.size_bytes != cost.size_bytes ||
      FileSizeBytes(report.packed_path) != cost.size_bytes) {
    return Internal("artifact size " + std::to_string(report.size_bytes) +
                    " differs from the cost model's " + std::to_string(cost.size_bytes));
  }
  model->Deploy();
  QualityMetrics q = EvaluateQuality(fn, eval->x, eval->y, eval->teacher_logprobs);
  report.val_loss = q.val_loss;
  report.perplexity = q.perplexity;
  report.teacher_agreement = q.teacher_agreement;
  report.kl_to_teacher = q.kl_to_teacher;
  if (o.measure_latency) {
    LatencyMetrics lat = MeasureLatency(fn, C, 64, o.latency_repeats);
    report.latency_ms = lat.latency_ms;
    report.tokens_per_second = lat.tokens_per_second;
  }
  if (o.write_torchscript) {
    report.torchscript_path = out.Track("student.pt");
    KDNAS_RETURN_IF_ERROR(SaveTorchScript(*model, tokenizer, report.torchscript_path));
  }
  report.worker_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report.metrics_path = out.Track("metrics.json");
  {
    std::ofstream f(report.metrics_path + ".tmp", std::ios::trunc);
    f << TrialReportJson(report, c);
    if (!f.good()) return Internal("cannot write '" + report.metrics_path + "'");
  }
  fs::rename(report.metrics_path + ".tmp", report.metrics_path);
  if (!o.checkpoint_path.empty()) {
    std::error_code ec;
    fs::remove(o.checkpoint_path, ec);  // finished: nothing to resume
  }
  out.Commit();
  return report;
}

}  // namespace

StatusOr<TrialReport> RunCandidate(const RunOptions& options, const ProgressCallback& progress) {
  try {
    return Run(options, progress);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return Internal("run-candidate: " + what.substr(0, what.find('\n')));
  } catch (const std::exception& e) {
    return Internal(std::string("run-candidate: ") + e.what());
  }
}

std::string TrialReportJson(const TrialReport& r, const Candidate& c) {
  // Insertion order is the file's order; NaN and infinities are written as null.
  nlohmann::ordered_json j = {
      {"val_loss", r.val_loss},
      {"perplexity", r.perplexity},
      {"teacher_agreement", r.teacher_agreement},
      {"kl_to_teacher", r.kl_to_teacher},
      {"params", r.params},
      {"nonzero_params", r.nonzero_params},
      {"flops_per_token", r.flops_per_token},
      {"size_bytes", r.size_bytes},
      {"latency_ms", r.latency_ms},
      {"tokens_per_second", r.tokens_per_second},
      {"worker_seconds", r.worker_seconds},
      {"train_steps", r.train_steps},
      {"train_loss", r.train_loss},
      {"train_tokens_per_second", r.train_tokens_per_second},
      {"init", r.init_summary},
      {"val_history", r.val_losses},
      {"candidate", nlohmann::ordered_json::parse(CandidateToJson(c))},
  };
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace kdnas
