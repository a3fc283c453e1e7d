#include "workers/run_candidate.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "evaluator/evaluate.h"
#include "formats/gguf_size.h"
#include "formats/safetensors.h"
#include "formats/tar_archive.h"
#include "log/log.h"
#include "proto/candidate_json.h"
#include "search/cost_model.h"
#include "search/search_space.h"
#include "workers/gguf_export.h"
#include "workers/hf_export.h"
#include "workers/inherit.h"
#include "workers/packed_artifact.h"
#include "workers/peak_memory.h"
#include "workers/torch_status.h"
#include "workers/torchscript_export.h"
#include "workers/trial_latency.h"

namespace kdnas {
namespace fs = std::filesystem;

namespace {

// A trial's Hugging Face export is in its teacher's dtype when the
// checkpoint has one, else (mixed, or a TorchScript teacher) in F16.
SafetensorsDtype HfExportDtype(const Teacher& teacher) {
  SafetensorsDtype dtype;
  if (ParseSafetensorsDtype(teacher.hf_weight_dtype(), &dtype) &&
      (dtype == SafetensorsDtype::kF32 || dtype == SafetensorsDtype::kBF16))
    return dtype;
  return SafetensorsDtype::kF16;
}

}  // namespace

StatusOr<std::shared_ptr<JobResources>> JobResources::Load(const JobOptions& o) {
  return CatchTorchErrors("loading the job", [&]() -> StatusOr<std::shared_ptr<JobResources>> {
    return LoadUnguarded(o);
  });
}

StatusOr<std::shared_ptr<JobResources>> JobResources::LoadUnguarded(const JobOptions& o) {
  if (o.teacher_path.empty() == o.hf_teacher_dir.empty()) {
    return InvalidArgument(
        "teacher: exactly one of a TorchScript teacher file and a Hugging Face checkpoint "
        "directory is required");
  }
  if (o.data_path.empty()) return InvalidArgument("data: a text file is required");
  if (o.eval_tokens <= 0) return InvalidArgument("eval_tokens: must be > 0");
  auto r = std::make_shared<JobResources>();
  r->options_ = o;
  KDNAS_ASSIGN_OR_RETURN(Teacher teacher,
                         o.hf_teacher_dir.empty()
                             ? Teacher::Load(o.teacher_path, o.teacher_tokenizer_path)
                             : Teacher::LoadHf(o.hf_teacher_dir));
  r->teacher_ = std::make_unique<Teacher>(std::move(teacher));
  CorpusOptions co;
  co.validation_fraction = o.validation_fraction;
  KDNAS_ASSIGN_OR_RETURN(Corpus corpus,
                         Corpus::FromFile(o.data_path, &r->teacher_->tokenizer(), co));
  r->corpus_ = std::make_unique<Corpus>(std::move(corpus));
  const int64_t vocab = r->teacher_->vocab_size();
  if (vocab > o.cache.full_vocab_limit && (o.cache.top_k < 1 || o.cache.top_k >= vocab)) {
    return InvalidArgument("top_k: must be in [1, " + std::to_string(vocab - 1) +
                           "] for the teacher's vocabulary of " + std::to_string(vocab) + ", got " +
                           std::to_string(o.cache.top_k));
  }
  r->cache_ = std::make_unique<TeacherCache>(vocab, o.cache);
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

StatusOr<const JobResources::EvalSet*> JobResources::Eval(int context,
                                                          const TeacherShard* held_out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = eval_.find(context);
  if (it != eval_.end()) return &it->second;
  const auto& val = corpus_->val_tokens();
  const std::vector<int64_t> starts = EvalStarts(val.numel(), context, options_.eval_tokens);
  Batch b = MakeBatch(val, starts, context, corpus_->bos());
  if (held_out != nullptr) {
    if (!held_out->spec().held_out || held_out->spec().window != context)
      return FailedPrecondition("held-out teacher shard: not of context " +
                                std::to_string(context));
    KDNAS_ASSIGN_OR_RETURN(TeacherTargets teacher, held_out->Targets(0, starts));
    return &eval_.emplace(context, EvalSet{b.x, b.y, std::move(teacher)}).first->second;
  }
  LogInfo("held-out teacher outputs computed",
          {{"context", static_cast<int64_t>(context)}, {"windows", b.x.size(0)}});
  const bool full = teacher_->vocab_size() <= options_.cache.full_vocab_limit;
  std::vector<torch::Tensor> parts;
  std::vector<EncodedTargets> encoded;
  for (int64_t i = 0; i < b.x.size(0); i += 32) {
    KDNAS_ASSIGN_OR_RETURN(torch::Tensor logits,
                           TeacherLogits(b.x.narrow(0, i, std::min<int64_t>(32, b.x.size(0) - i))));
    auto logp = torch::log_softmax(logits.to(torch::kFloat), -1);
    if (full) {
      parts.push_back(logp);
    } else {
      for (int64_t w = 0; w < logp.size(0); ++w)
        encoded.push_back(EncodeTargets(logp[w], false, options_.cache.top_k));
    }
  }
  EvalSet e{b.x, b.y, {}};
  if (full) {
    e.teacher.logprobs = torch::cat(parts, 0);
  } else {
    std::vector<const EncodedTargets*> windows;
    for (const auto& w : encoded) windows.push_back(&w);
    e.teacher = DecodeTargets(windows, false);
  }
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

StatusOr<TeacherGguf*> JobResources::TeacherAsGguf() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!teacher_gguf_ && teacher_gguf_error_.ok()) {
    auto written = TeacherGguf::Write(*teacher_, corpus_->tokenizer());
    if (written.ok()) {
      teacher_gguf_ = std::move(*written);
    } else {
      teacher_gguf_error_ = written.status();
    }
  }
  if (!teacher_gguf_) return teacher_gguf_error_;
  return teacher_gguf_.get();
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

// The student the trial starts from: scratch, or the teacher's most
// important slices (FAILED_PRECONDITION when the teacher is not a kdnas GPT:
// a trial never trains from scratch under an inherit label).
StatusOr<Gpt> BuildStudent(const RunOptions& o, JobResources& job, int vocab_size,
                           std::string* init_summary) {
  const Candidate& c = o.candidate;
  torch::manual_seed(o.seed);
  Gpt model(GptConfig{c.architecture, c.compression, vocab_size, true});
  *init_summary = "scratch";
  if (c.distillation.init != Init::kInherit) return model;
  auto teacher = job.TeacherModel();
  if (!teacher.ok()) {
    return FailedPrecondition("init: inherit: cannot inherit from the teacher: " +
                              teacher.status().message());
  }
  const int context =
      std::min(c.architecture.context_length, (*teacher)->config().architecture.context_length);
  const torch::Tensor& tokens = job.corpus().train_tokens();
  Batch calibration =
      MakeBatch(tokens, BatchStarts(o.data_seed ^ 0x5eed, 1 << 30, 16, tokens.numel(), context),
                context, job.corpus().bos());
  KDNAS_RETURN_IF_ERROR(InheritFromTeacher(*model, **teacher, calibration.x, init_summary));
  return model;
}

TrainOptions TrainingOptions(const RunOptions& o) {
  TrainOptions t;
  t.steps = o.train_steps;
  t.batch_size = o.batch_size;
  t.learning_rate = o.learning_rate;
  t.temperature = o.candidate.distillation.temperature;
  t.alpha = o.candidate.distillation.alpha;
  t.data_seed = o.data_seed;
  t.report_steps = o.report_steps;
  t.stop_at_step = o.stop_at_step;
  t.checkpoint_path = o.checkpoint_path;
  t.checkpoint_every_steps = o.checkpoint_every_steps;
  t.cancel = o.cancel;
  return t;
}

// Writes the packed artifact and checks it against the cost model, which
// priced the candidate before training: a difference is a kdnas bug that
// no retry fixes.
Status WritePacked(GptImpl& model, const Candidate& c, const JobTokenizer& tokenizer,
                   const CostEstimate& cost, const std::string& path) {
  int64_t size_bytes = 0;
  KDNAS_RETURN_IF_ERROR(WritePackedArtifact(model, c, tokenizer, path, &size_bytes));
  if (size_bytes != cost.size_bytes || FileSizeBytes(path) != cost.size_bytes) {
    return FailedPrecondition("the packed artifact has " + std::to_string(FileSizeBytes(path)) +
                              " bytes but the cost model predicted " +
                              std::to_string(cost.size_bytes) +
                              " (a kdnas bug: the cost model and the packed writer disagree)");
  }
  return Status::Ok();
}

// The cost model's context of the job's students; the GGUF size only for a
// candidate with llama.cpp's types (the tokenizer's GGUF metadata is laid out
// for it).
StatusOr<ModelContext> ModelContextOf(const JobTokenizer& tokenizer, const Candidate& c) {
  ModelContext context{tokenizer.vocab_size(), tokenizer.serialized_bytes()};
  if (!c.compression.gguf.set()) return context;
  KDNAS_ASSIGN_OR_RETURN(int64_t metadata_bytes, GgufTokenizerMetadataBytes(tokenizer));
  context.gguf_file_bytes = GgufStudentSizer(tokenizer.vocab_size(), metadata_bytes);
  return context;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  {
    std::ofstream f(path + ".tmp", std::ios::binary | std::ios::trunc);
    f << text;
    if (!f.good()) return Internal("cannot write '" + path + "'");
  }
  std::error_code ec;
  fs::rename(path + ".tmp", path, ec);
  if (ec) return Internal("cannot write '" + path + "': " + ec.message());
  return Status::Ok();
}

StatusOr<TrialReport> Run(const RunOptions& o, const ProgressCallback& progress) {
  const Candidate& c = o.candidate;
  KDNAS_RETURN_IF_ERROR(ValidateCandidate(c, "candidate"));
  if (o.train_steps <= 0)
    return InvalidArgument("train_steps: must be > 0, got " + std::to_string(o.train_steps));
  if (o.batch_size <= 0)
    return InvalidArgument("batch_size: must be > 0, got " + std::to_string(o.batch_size));
  if (!(o.learning_rate > 0)) return InvalidArgument("learning_rate: must be > 0");
  if (o.out_dir.empty()) return InvalidArgument("out_dir: an output directory is required");
  if (o.threads > 0) torch::set_num_threads(o.threads);
  // The trial's peak, not the worker's life's: without the reset the figure
  // would say something else, so it is then not reported (0).
  const bool peak_is_the_trials = ResetPeakResidentBytes();

  std::shared_ptr<JobResources> job = o.resources;
  if (!job) {
    KDNAS_ASSIGN_OR_RETURN(job, JobResources::Load(o.job));
  }
  const int C = c.architecture.context_length;
  const int window = std::max(job->options().window_length, C);
  KDNAS_RETURN_IF_ERROR(job->corpus().CheckContext(window));
  KDNAS_RETURN_IF_ERROR(job->CheckTeacher(window));
  const auto held_out = o.held_out_shards.find(C);
  KDNAS_ASSIGN_OR_RETURN(
      const JobResources::EvalSet* eval,
      job->Eval(C, held_out == o.held_out_shards.end() ? nullptr : held_out->second.get()));
  const JobTokenizer& tokenizer = job->corpus().tokenizer();
  KDNAS_ASSIGN_OR_RETURN(const ModelContext context, ModelContextOf(tokenizer, c));
  const CostEstimate cost = EstimateCost(c, context);

  TrialReport report;
  v1::TrialMetrics& m = report.metrics;
  KDNAS_ASSIGN_OR_RETURN(Gpt model,
                         BuildStudent(o, *job, tokenizer.vocab_size(), &report.init_summary));
  TeacherSource teacher{&job->cache(),
                        [&](const torch::Tensor& x) { return job->TeacherLogits(x); },
                        o.teacher_shards.get()};
  LogitsFn fn = [&](const torch::Tensor& x) { return model->forward(x); };
  ValidateFn validate = [&] { return ValidationLoss(fn, eval->x, eval->y); };
  TrainOptions training = TrainingOptions(o);
  training.window_length = window;
  double latency_before_training = 0;
  if (o.latency_before_training) {
    KDNAS_ASSIGN_OR_RETURN(latency_before_training,
                           MeasureLatencyBeforeTraining(o, *model, tokenizer));
  }
  ProgressCallback reported = progress;
  if (progress && latency_before_training > 0) {
    reported = [&](const TrainingProgress& p) {
      TrainingProgress with_latency = p;
      with_latency.latency_ms = latency_before_training;
      return progress(with_latency);
    };
  }
  KDNAS_ASSIGN_OR_RETURN(TrainResult trained, Train(*model, job->corpus(), &teacher, c.compression,
                                                    training, validate, reported));
  m.set_train_steps(trained.steps_run);
  m.set_train_loss(trained.train_loss);
  m.set_params(cost.params);
  m.set_nonzero_params(cost.nonzero_params);
  m.set_flops_per_token(cost.flops_per_token);
  report.train_tokens_per_second = trained.tokens_per_second;
  report.val_losses = trained.val_losses;
  if (trained.stopped) {
    report.stopped = true;
    if (!trained.val_losses.empty()) m.set_val_loss(trained.val_losses.back().second);
    m.set_worker_seconds(SecondsSince(o.started));
    if (peak_is_the_trials) m.set_peak_rss_bytes(PeakResidentBytes());
    return report;
  }

  OutputGuard out(o.out_dir);
  KDNAS_RETURN_IF_ERROR(out.Create());
  if (c.compression.gguf.set()) {
    // Its GGUF file is the student: written from the trained weights, the
    // file holds what Deploy() then sets them to.
    report.gguf_path = out.Track("student.gguf");
    KDNAS_ASSIGN_OR_RETURN(GgufExportResult gguf,
                           WriteGgufFile(*model, tokenizer, StudentGgufTypes(c.compression),
                                         kGgufStudentName, report.gguf_path));
    if (gguf.file_bytes != cost.size_bytes) {
      return FailedPrecondition("the GGUF file has " + std::to_string(gguf.file_bytes) +
                                " bytes but the cost model predicted " +
                                std::to_string(cost.size_bytes) +
                                " (a kdnas bug: the cost model and the GGUF writer disagree)");
    }
    report.gguf_tensor_types = GgufTensorTypesText(gguf.tensors);
    m.set_gguf_size_bytes(gguf.file_bytes);
  } else {
    report.packed_path = out.Track("student.kdna");
    KDNAS_RETURN_IF_ERROR(WritePacked(*model, c, tokenizer, cost, report.packed_path));
  }
  m.set_size_bytes(cost.size_bytes);
  model->Deploy();
  QualityMetrics q = EvaluateQuality(fn, eval->x, eval->y, eval->teacher);
  m.set_val_loss(q.val_loss);
  m.set_perplexity(q.perplexity);
  m.set_teacher_agreement(q.teacher_agreement);
  m.set_kl_to_teacher(q.kl_to_teacher);
  if (o.write_torchscript) {
    report.torchscript_path = out.Track("student.pt");
    KDNAS_RETURN_IF_ERROR(SaveTorchScript(*model, tokenizer, report.torchscript_path));
  }
  if (!tokenizer.files().empty()) {  // an imported teacher: the student in its layout too
    auto files = HfCheckpointFiles(*model, tokenizer, HfExportDtype(job->teacher()));
    if (files.status().code() == StatusCode::kFailedPrecondition) {
      report.hf_unavailable = files.status().message();
    } else {
      KDNAS_RETURN_IF_ERROR(files.status());
      KDNAS_ASSIGN_OR_RETURN(std::string tar, TarOfFiles(*files));
      report.hf_path = out.Track("student-hf.tar");
      KDNAS_RETURN_IF_ERROR(WriteFileAtomically(report.hf_path, tar));
    }
  }
  if (!c.compression.gguf.set()) {
    // Its weights as they run, in F16.
    const std::string gguf_path = out.Track("student.gguf");
    auto gguf = WriteGgufFile(*model, tokenizer, StudentGgufTypes(c.compression), kGgufStudentName,
                              gguf_path);
    if (gguf.status().code() == StatusCode::kFailedPrecondition) {
      report.gguf_unavailable = gguf.status().message();
    } else {
      KDNAS_RETURN_IF_ERROR(gguf.status());
      report.gguf_path = gguf_path;
      report.gguf_tensor_types = GgufTensorTypesText(gguf->tensors);
      m.set_gguf_size_bytes(gguf->file_bytes);
    }
  }
  if (o.measure_latency) KDNAS_RETURN_IF_ERROR(MeasureTrialLatency(o, *job, fn, &report));
  m.set_worker_seconds(SecondsSince(o.started));
  if (peak_is_the_trials) m.set_peak_rss_bytes(PeakResidentBytes());
  report.metrics_path = out.Track("metrics.json");
  KDNAS_RETURN_IF_ERROR(WriteFileAtomically(report.metrics_path, TrialReportJson(report, c)));
  if (!o.checkpoint_path.empty()) {
    std::error_code ec;
    fs::remove(o.checkpoint_path, ec);  // finished: nothing to resume
  }
  out.Commit();
  return report;
}

}  // namespace

StatusOr<TrialReport> RunCandidate(const RunOptions& options, const ProgressCallback& progress) {
  return CatchTorchErrors("run-candidate", [&] { return Run(options, progress); });
}

std::string TrialReportJson(const TrialReport& r, const Candidate& c) {
  nlohmann::ordered_json j;
  const v1::TrialMetrics& m = r.metrics;
  const auto* descriptor = m.GetDescriptor();
  const auto* reflection = m.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* f = descriptor->field(i);
    if (f->has_presence() && !reflection->HasField(m, f)) {
      j[f->name()] = nullptr;  // not measured
    } else if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_INT64) {
      j[f->name()] = reflection->GetInt64(m, f);
    } else {
      j[f->name()] = reflection->GetDouble(m, f);
    }
  }
  j["train_tokens_per_second"] = r.train_tokens_per_second;
  j["init"] = r.init_summary;
  if (!r.gguf_tensor_types.empty()) j["gguf_tensor_types"] = r.gguf_tensor_types;
  if (!r.latency_measured_with.empty()) j["latency_measured_with"] = r.latency_measured_with;
  j["val_history"] = r.val_losses;
  j["candidate"] = nlohmann::ordered_json::parse(CandidateToJson(c));
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace kdnas
