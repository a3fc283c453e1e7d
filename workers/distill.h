// Distillation training of a student: loss = alpha * T^2 * KL(teacher_T ||
// student_T) + (1 - alpha) * cross-entropy over batches of random windows,
// AdamW with linear warm-up and cosine decay, the teacher under no-grad (or
// from the shared teacher-output cache), gradual pruning, progress callbacks,
// checkpoint and resume, cancellation and stopping at a given step.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "search/job_defaults.h"
#include "search/status.h"
#include "workers/corpus.h"
#include "workers/gpt.h"
#include "workers/teacher_cache.h"
#include "workers/teacher_shard.h"

namespace kdnas {

struct TrainOptions {
  int64_t steps = defaults::kTrainSteps;  // the step budget (schedules span it)
  int batch_size = defaults::kBatchSize;
  double learning_rate = defaults::kLearningRate;  // peak
  double min_learning_rate_ratio = 0.1;            // cosine floor, fraction of the peak
  int64_t warmup_steps = -1;                       // -1: min(100, steps / 10)
  double weight_decay = 0.1;                       // on matrices and embeddings only
  double beta1 = 0.9, beta2 = 0.99;
  double grad_clip = 1.0;  // global L2 norm; 0 = off
  double temperature = 2.0;
  double alpha = 0.5;
  uint64_t data_seed = 0;  // batches (same for every trial of a job)
  // Length of the training windows (0 = the student's context_length): a
  // student trains on the first context_length tokens of each, and the
  // teacher's outputs (causal, so the same on a prefix) are cached per
  // window, so students of every context_length share them.
  int window_length = 0;
  // Steps after which validation loss is measured and reported (the final
  // step always is).
  std::vector<int64_t> report_steps;
  int64_t progress_every_steps = 10;
  // Stop after this step (0 = run all steps); with a checkpoint, a later run
  // resumes from it.
  int64_t stop_at_step = 0;
  std::string checkpoint_path;         // "" = no checkpoints
  int64_t checkpoint_every_steps = 0;  // 0 = only when stopping
  const std::atomic<bool>* cancel = nullptr;
};

struct TrainingProgress {
  int64_t step = 0;  // optimizer steps done
  int64_t total_steps = 0;
  double train_loss = 0;  // mean over the last progress interval
  double val_loss = 0;    // latest intermediate validation loss (0 = none yet)
  int64_t val_step = 0;
  double tokens_per_second = 0;
  // The student's latency measured before training (RunOptions::
  // latency_before_training); Train itself leaves it 0.
  double latency_ms = 0;
};

// Return false to stop training (e.g. the controller said STOP).
using ProgressCallback = std::function<bool(const TrainingProgress&)>;
// Validation loss of the model as it is now.
using ValidateFn = std::function<double()>;

struct TrainResult {
  int64_t steps_run = 0;     // the last step reached (counting resumed ones)
  int64_t resumed_from = 0;  // 0 = fresh start
  double train_loss = 0;     // mean over the last progress interval
  bool stopped = false;      // by the callback, cancellation or stop_at_step
  double train_seconds = 0;
  double tokens_per_second = 0;
  std::vector<std::pair<int64_t, double>> val_losses;  // (step, loss)
  // Wall time of each optimizer step run here (batch, teacher targets,
  // forward, backward, update), for robust throughput figures.
  std::vector<float> step_seconds;
};

// The teacher of the KD term: the shards of the job's teacher pass, or else
// the cache and how to fill it. May be null when alpha == 0.
struct TeacherSource {
  TeacherCache* cache = nullptr;
  TeacherCache::LogitsFn logits;
  // When set, every step's targets come from these (a step they miss fails).
  const TeacherShardSet* shards = nullptr;
};

StatusOr<TrainResult> Train(GptImpl& model, const Corpus& corpus, const TeacherSource* teacher,
                            const Compression& compression, const TrainOptions& options,
                            const ValidateFn& validate, const ProgressCallback& progress);

// The learning rate at `step` (0-based) of the schedule.
double LearningRateAt(const TrainOptions& options, int64_t step);

}  // namespace kdnas
