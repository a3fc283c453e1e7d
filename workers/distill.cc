#include "workers/distill.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "workers/head_loss.h"
#include "workers/pruning.h"

namespace kdnas {
namespace {

int64_t Warmup(const TrainOptions& o) {
  return o.warmup_steps >= 0 ? o.warmup_steps : std::min<int64_t>(100, o.steps / 10);
}

bool Masked(const Compression& c) {
  return c.sparsity > 0 || c.sparsity_pattern != SparsityPattern::kUnstructured;
}

Status SaveCheckpoint(GptImpl& model, torch::optim::Optimizer& optimizer, int64_t step,
                      const std::string& path) {
  try {
    torch::serialize::OutputArchive archive, model_archive, optimizer_archive;
    model.save(model_archive);
    optimizer.save(optimizer_archive);
    archive.write("model", model_archive);
    archive.write("optimizer", optimizer_archive);
    archive.write("step", torch::tensor(step, torch::kInt64));
    const std::string tmp = path + ".tmp";
    archive.save_to(tmp);
    std::filesystem::rename(tmp, path);
  } catch (const std::exception& e) {
    return Internal("checkpoint '" + path + "': " + e.what());
  }
  return Status::Ok();
}

StatusOr<int64_t> LoadCheckpoint(GptImpl& model, torch::optim::Optimizer& optimizer,
                                 const std::string& path) {
  try {
    torch::serialize::InputArchive archive, model_archive, optimizer_archive;
    archive.load_from(path);
    archive.read("model", model_archive);
    archive.read("optimizer", optimizer_archive);
    model.load(model_archive);
    optimizer.load(optimizer_archive);
    torch::Tensor step;
    archive.read("step", step);
    return step.item<int64_t>();
  } catch (const std::exception& e) {
    return DataLoss("checkpoint '" + path +
                    "' does not match this candidate: " + std::string(e.what()).substr(0, 200));
  }
}

}  // namespace

double LearningRateAt(const TrainOptions& o, int64_t step) {
  const int64_t warmup = Warmup(o);
  const double min_lr = o.learning_rate * o.min_learning_rate_ratio;
  if (step < warmup)
    return o.learning_rate * static_cast<double>(step + 1) / static_cast<double>(warmup + 1);
  const double span = static_cast<double>(std::max<int64_t>(1, o.steps - warmup));
  const double p = std::clamp(static_cast<double>(step - warmup) / span, 0.0, 1.0);
  return min_lr + 0.5 * (1.0 + std::cos(M_PI * p)) * (o.learning_rate - min_lr);
}

namespace {

// AdamW, with weight decay on matrices and embeddings only.
std::unique_ptr<torch::optim::AdamW> MakeOptimizer(GptImpl& model, const TrainOptions& o) {
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& p : model.parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  auto adamw = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(o.learning_rate).betas({o.beta1, o.beta2}).weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, adamw(o.weight_decay));
  groups.emplace_back(no_decay, adamw(0.0));
  return std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(o.learning_rate));
}

// The training loss and tokens between two progress reports.
class ProgressMeter {
 public:
  void Add(double loss, int64_t tokens) {
    loss_sum_ += loss;
    ++losses_;
    tokens_ += tokens;
  }
  bool empty() const { return losses_ == 0; }
  double mean_loss() const {
    return loss_sum_ / static_cast<double>(std::max<int64_t>(1, losses_));
  }
  // Fills the interval's figures into `progress` and starts a new interval.
  void Take(TrainingProgress* progress) {
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - start_).count();
    progress->train_loss = mean_loss();
    progress->tokens_per_second = seconds > 0 ? static_cast<double>(tokens_) / seconds : 0;
    *this = ProgressMeter();
  }
  void Restart() { start_ = std::chrono::steady_clock::now(); }

 private:
  double loss_sum_ = 0;
  int64_t losses_ = 0;
  int64_t tokens_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// One optimizer step at `step` on that step's batch; its loss.
StatusOr<double> OptimizerStep(GptImpl& model, torch::optim::AdamW& optimizer, const Corpus& corpus,
                               const TeacherSource* teacher, const TrainOptions& o, int64_t step,
                               Batch* batch) {
  const int context = model.config().architecture.context_length;
  const double lr = LearningRateAt(o, step);
  for (auto& g : optimizer.param_groups())
    static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
  const auto& tokens = corpus.train_tokens();
  const int window = std::max(o.window_length, context);
  const Batch windows =
      MakeBatch(tokens, BatchStarts(o.data_seed, step, o.batch_size, tokens.numel(), window),
                window, corpus.bos());
  // The student's batch: each window's first `context` positions, which are
  // what a window of that length would hold.
  *batch = windows;
  if (window > context) {
    batch->x = windows.x.narrow(1, 0, context).contiguous();
    batch->y = windows.y.narrow(1, 0, context).contiguous();
  }
  TeacherTargets targets;
  if (o.alpha > 0) {
    if (teacher->shards != nullptr) {
      KDNAS_ASSIGN_OR_RETURN(targets, teacher->shards->Targets(step, windows.starts));
    } else {
      KDNAS_ASSIGN_OR_RETURN(
          targets, teacher->cache->Get(tokens, windows.starts, windows.x, teacher->logits));
    }
    targets = targets.Prefix(context);
  }
  // The head and the loss in one node: DistillationLoss's value and
  // gradients without its full-vocabulary intermediates.
  const GptImpl::HiddenAndHead out = model.ForwardToHead(batch->x);
  auto loss = HeadDistillationLoss(out.hidden, out.head_weight, batch->y, targets,
                                   HeadLossOptions{o.temperature, o.alpha});
  optimizer.zero_grad();
  loss.backward();
  if (o.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model.parameters(), o.grad_clip);
  optimizer.step();
  const double value = loss.item<double>();
  if (!std::isfinite(value)) {
    return Internal("training diverged: loss is " + std::to_string(value) + " at step " +
                    std::to_string(step + 1));
  }
  return value;
}

}  // namespace

StatusOr<TrainResult> Train(GptImpl& model, const Corpus& corpus, const TeacherSource* teacher,
                            const Compression& compression, const TrainOptions& o,
                            const ValidateFn& validate, const ProgressCallback& progress) {
  if (o.steps <= 0)
    return InvalidArgument("train_steps: must be > 0, got " + std::to_string(o.steps));
  if (o.batch_size <= 0)
    return InvalidArgument("batch_size: must be > 0, got " + std::to_string(o.batch_size));
  if (!(o.learning_rate > 0)) return InvalidArgument("learning_rate: must be > 0");
  if (o.alpha > 0 && (!teacher || (!teacher->cache && !teacher->shards)))
    return InvalidArgument("distillation needs a teacher (alpha > 0)");
  const int context = model.config().architecture.context_length;
  KDNAS_RETURN_IF_ERROR(corpus.CheckContext(context));
  auto optimizer = MakeOptimizer(model, o);

  TrainResult result;
  int64_t step = 0;
  if (!o.checkpoint_path.empty() && std::filesystem::exists(o.checkpoint_path)) {
    KDNAS_ASSIGN_OR_RETURN(step, LoadCheckpoint(model, *optimizer, o.checkpoint_path));
    result.resumed_from = step;
  }
  const PruningSchedule schedule = PruningSchedule::For(compression, o.steps);
  const bool masked = Masked(compression);
  model.train();

  TrainingProgress prog;
  prog.total_steps = o.steps;
  ProgressMeter meter;
  const auto t0 = std::chrono::steady_clock::now();
  auto should_report_val = [&](int64_t s) {
    return s == o.steps ||
           std::find(o.report_steps.begin(), o.report_steps.end(), s) != o.report_steps.end();
  };
  while (step < o.steps) {
    if (o.cancel && o.cancel->load()) {
      result.stopped = true;
      break;
    }
    const auto step_start = std::chrono::steady_clock::now();
    if (masked && schedule.UpdateAt(step)) model.UpdateMasks(schedule.SparsityAt(step));
    Batch batch;
    KDNAS_ASSIGN_OR_RETURN(double loss,
                           OptimizerStep(model, *optimizer, corpus, teacher, o, step, &batch));
    ++step;
    result.step_seconds.push_back(
        std::chrono::duration<float>(std::chrono::steady_clock::now() - step_start).count());
    meter.Add(loss, batch.x.numel());

    const bool val_now = should_report_val(step);
    const bool stop_now = o.stop_at_step > 0 && step >= o.stop_at_step && step < o.steps;
    if (val_now || step % std::max<int64_t>(1, o.progress_every_steps) == 0 || stop_now) {
      prog.step = step;
      meter.Take(&prog);
      result.train_loss = prog.train_loss;
      if (val_now && validate) {
        model.eval();
        prog.val_loss = validate();
        prog.val_step = step;
        model.train();
        result.val_losses.emplace_back(step, prog.val_loss);
      }
      meter.Restart();  // validation is not training time
      if (progress && !progress(prog)) {
        result.stopped = true;
        break;
      }
    }
    if (!o.checkpoint_path.empty() && o.checkpoint_every_steps > 0 &&
        step % o.checkpoint_every_steps == 0 && step < o.steps) {
      KDNAS_RETURN_IF_ERROR(SaveCheckpoint(model, *optimizer, step, o.checkpoint_path));
    }
    if (stop_now) {
      result.stopped = true;
      break;
    }
  }
  if (result.stopped && !o.checkpoint_path.empty()) {
    KDNAS_RETURN_IF_ERROR(SaveCheckpoint(model, *optimizer, step, o.checkpoint_path));
  }
  if (!meter.empty()) result.train_loss = meter.mean_loss();
  // Exact final masks (the schedule may not have reached its end).
  if (masked && !result.stopped) model.UpdateMasks(compression.sparsity);
  model.eval();
  result.steps_run = step;
  result.train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int64_t steps_here = step - result.resumed_from;
  result.tokens_per_second =
      result.train_seconds > 0
          ? static_cast<double>(steps_here * o.batch_size * context) / result.train_seconds
          : 0;
  return result;
}

}  // namespace kdnas
