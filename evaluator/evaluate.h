// Measuring a trained student: validation loss and perplexity on a fixed
// held-out set, agreement and KL with the teacher, and generation latency.
// Models are given as callables so the evaluator does not depend on how they
// are built (a C++ module, a TorchScript module, ...).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>

#include "evaluator/teacher_targets.h"

namespace kdnas {

// int64 token ids [B, T] -> logits [B, T, V]. Called under no-grad.
using LogitsFn = std::function<torch::Tensor(const torch::Tensor& idx)>;

struct QualityMetrics {
  double val_loss = 0;           // mean cross-entropy, nats per token
  double perplexity = 0;         // exp(val_loss)
  double teacher_agreement = 0;  // fraction of positions with equal argmax
  double kl_to_teacher = 0;      // mean KL(teacher || student) at T = 1, nats per token
  int64_t tokens = 0;
};

// x, y: int64 [N, T] held-out inputs and targets. teacher: the teacher's
// outputs on x, or undefined (agreement and KL are then 0). With top-k
// outputs the agreement is exact (the teacher's argmax is its first entry)
// and the KL is over k + 1 outcomes, the k tokens and the rest of the mass
// as one (a lower bound of the full KL). Runs in chunks of batch_size windows.
QualityMetrics EvaluateQuality(const LogitsFn& student, const torch::Tensor& x,
                               const torch::Tensor& y, const TeacherTargets& teacher,
                               int batch_size = 32);

// Mean cross-entropy only.
double ValidationLoss(const LogitsFn& student, const torch::Tensor& x, const torch::Tensor& y,
                      int batch_size = 32);

// The log-softmax of `model` on x, in chunks (e.g. the teacher's, computed
// once per job).
torch::Tensor LogProbs(const LogitsFn& model, const torch::Tensor& x, int batch_size = 32);

struct LatencyMetrics {
  double latency_ms = 0;         // per generated token, median over repeats
  double tokens_per_second = 0;  // 1000 / latency_ms
};

// Greedy generation of new_tokens tokens at batch 1 from a one-token prompt,
// each step running the model on the last min(length, context) tokens. One
// warm-up run, then the median ms/token of `repeats` timed runs.
LatencyMetrics MeasureLatency(const LogitsFn& model, int context, int new_tokens = 64,
                              int repeats = 5);

// Size of a file in bytes, -1 if it does not exist.
int64_t FileSizeBytes(const std::string& path);

}  // namespace kdnas
