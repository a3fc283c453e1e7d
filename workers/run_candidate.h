// Everything a worker does with one candidate: build the student (scratch or
// inherited), distill and compress it, evaluate it and export it (packed
// artifact, TorchScript, metrics.json). The lease loop calls RunCandidate for
// each leased trial with the job's shared JobResources (teacher, corpus,
// teacher-output cache, held-out set), so per-job work happens once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "kdnas/v1/trial.pb.h"
#include "search/candidate.h"
#include "search/job_defaults.h"
#include "search/status.h"
#include "workers/corpus.h"
#include "workers/distill.h"
#include "workers/gpt.h"
#include "workers/teacher.h"
#include "workers/teacher_cache.h"
#include "workers/teacher_gguf.h"
#include "workers/teacher_shard.h"

namespace kdnas {

// Job.latency_method: LibTorch on the deployed student, or llama.cpp on its
// GGUF file (workers/llama_latency.h), with the teacher measured the same
// way for the trial's speedup and compression_ratio.
enum class LatencyMethod { kTorch, kLlamaCpp };

struct JobOptions {
  // Exactly one of teacher_path (TorchScript) and hf_teacher_dir (a Hugging
  // Face checkpoint directory).
  std::string teacher_path;
  std::string teacher_tokenizer_path;  // when the teacher archive has none
  std::string hf_teacher_dir;
  std::string data_path;
  double validation_fraction = defaults::kValidationFraction;
  // Training windows' length (TrainOptions::window_length; 0 = each
  // student's context_length): the job's largest context_length, so every
  // trial's teacher outputs come from one cache.
  int window_length = 0;
  int64_t eval_tokens = defaults::kEvalTokens;  // held-out tokens for validation loss
  TeacherCacheOptions cache;
};

// Per-job state shared by the trials of a job (thread-safe accessors).
class JobResources {
 public:
  static StatusOr<std::shared_ptr<JobResources>> Load(const JobOptions& options);

  const JobOptions& options() const { return options_; }
  Teacher& teacher() { return *teacher_; }
  const Corpus& corpus() const { return *corpus_; }
  TeacherCache& cache() { return *cache_; }
  // Held-out windows of `context` tokens and the teacher's log-probs on them.
  // The teacher's outputs are full for vocabularies up to the cache's
  // full_vocab_limit and top-k above (a few MB rather than V floats a token),
  // read from the job's held-out shard of that context when given (the
  // teacher pass computed them once for the job), else computed here.
  struct EvalSet {
    torch::Tensor x, y;
    TeacherTargets teacher;
  };
  StatusOr<const EvalSet*> Eval(int context, const TeacherShard* held_out = nullptr);
  // The teacher as a dense Gpt for inheritance (kdnas teachers only);
  // FAILED_PRECONDITION with the reason for any other teacher.
  StatusOr<GptImpl*> TeacherModel();
  // Teacher logits, serialised (TorchScript modules are not re-entrant here).
  StatusOr<torch::Tensor> TeacherLogits(const torch::Tensor& x);
  // Teacher::CheckContext once per context length.
  Status CheckTeacher(int context);
  // The teacher as an F16 GGUF file, written on first use; its error (a
  // teacher llama.cpp cannot run) on every call.
  StatusOr<TeacherGguf*> TeacherAsGguf();

 private:
  static StatusOr<std::shared_ptr<JobResources>> LoadUnguarded(const JobOptions& options);

  JobOptions options_;
  std::unique_ptr<Teacher> teacher_;
  std::unique_ptr<Corpus> corpus_;
  std::unique_ptr<TeacherCache> cache_;
  std::mutex mu_;          // eval sets and the teacher model
  std::mutex teacher_mu_;  // teacher forward passes
  std::set<int> checked_contexts_;
  std::map<int, EvalSet> eval_;
  Gpt teacher_model_{nullptr};
  std::string teacher_model_error_;
  std::unique_ptr<TeacherGguf> teacher_gguf_;
  Status teacher_gguf_error_;
};

struct RunOptions {
  Candidate candidate;
  JobOptions job;  // used when `resources` is null
  std::shared_ptr<JobResources> resources;
  std::string out_dir;  // gets student.kdna, student.pt, metrics.json
  int64_t train_steps = defaults::kTrainSteps;
  int batch_size = defaults::kBatchSize;
  double learning_rate = defaults::kLearningRate;
  uint64_t seed = 1;  // student initialisation
  // Batches; keep it the same for every trial of a job (shared teacher cache).
  uint64_t data_seed = 1;
  // The job's teacher pass: when set, every step's teacher outputs come from
  // it (with the same data_seed, batch size and windows).
  std::shared_ptr<const TeacherShardSet> teacher_shards;
  // The pass's held-out shards by context length: the teacher's outputs on
  // the held-out windows (JobResources::Eval).
  std::map<int, std::shared_ptr<const TeacherShard>> held_out_shards;
  std::vector<int64_t> report_steps;  // intermediate validation (multi-fidelity rungs)
  int64_t stop_at_step = 0;           // stop (and checkpoint) after this step; 0 = none
  std::string checkpoint_path;        // "" = none; resumes when the file exists
  int64_t checkpoint_every_steps = 0;
  int threads = 0;  // LibTorch intra-op threads; 0 = unchanged
  bool measure_latency = true;
  // How latency_ms is measured (Job.latency_method; docs/metrics.md).
  LatencyMethod latency_method = LatencyMethod::kTorch;
  int latency_repeats = 5;
  // With llama.cpp latency: also measure it before training, on a GGUF file
  // of the untrained student in its final types, and report it with the
  // progress (TrainingProgress::latency_ms) for the rungs to compare.
  bool latency_before_training = false;
  bool write_torchscript = true;
  const std::atomic<bool>* cancel = nullptr;
  // When the trial's work began (worker_seconds counts from here): set it
  // before loading the job's resources so that loading counts too.
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

struct TrialReport {
  // What the trial reports. latency_ms and tokens_per_second are unset when
  // latency was not measured; worker_seconds counts from RunOptions.started.
  v1::TrialMetrics metrics;
  // Stopped before the end (callback, cancellation or stop_at_step): only
  // the progress fields (train_steps, train_loss, val_losses) are meaningful
  // and no artifact is written.
  bool stopped = false;
  double train_tokens_per_second = 0;
  std::vector<std::pair<int64_t, double>> val_losses;
  std::string init_summary;  // how the student was initialised
  std::string packed_path, torchscript_path, metrics_path;
  // A student of an imported teacher in the teacher's layout (student-hf.tar:
  // workers/hf_export.h), or why it has none.
  std::string hf_path, hf_unavailable;
  // The student as a GGUF file for llama.cpp (student.gguf: F16, the
  // weights as they run; workers/gguf_export.h), or why it has none.
  std::string gguf_path, gguf_unavailable;
  std::string gguf_tensor_types;      // GgufTensorTypesText of gguf_path
  std::string latency_measured_with;  // Trial.latency_measured_with
};

StatusOr<TrialReport> RunCandidate(const RunOptions& options,
                                   const ProgressCallback& progress = nullptr);

// metrics.json of a report: the TrialMetrics fields by name, plus
// train_tokens_per_second, init, val_history and the candidate.
std::string TrialReportJson(const TrialReport& report, const Candidate& candidate);

}  // namespace kdnas
