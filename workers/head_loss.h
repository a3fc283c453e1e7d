// The output head and the distillation loss of a training step in one
// autograd node. Its value and gradients are DistillationLoss's
// (workers/teacher_cache.h) of the logits linear(hidden, weight), without
// the autograd graph's full-vocabulary intermediates: one GEMM writes the
// batch's logits [N, V] into a buffer, each block of rows is turned in place,
// while it is in cache, into d(loss)/d(logits) by the closed form in
// head_loss.cc, and two GEMMs give the gradients of the hidden states and of
// the weight. A step's full-vocabulary elementwise work is then a few passes
// over cached rows instead of a dozen [N, V] tensors (log_softmax at T = 1 and
// T, their backward, exp, gathers), and its memory one [N, V] buffer. With a
// vocabulary of 49,152 that work was most of a step of a small student.
#pragma once

#include <torch/torch.h>

#include "evaluator/teacher_targets.h"

namespace kdnas {

struct HeadLossOptions {
  double temperature = 1.0;
  double alpha = 0.0;      // the KD term's weight (0: cross-entropy only)
  int64_t block_rows = 0;  // rows turned into gradients at a time (0: ~8 MB of logits)
};

// hidden [.., D] (the final norm's output), weight [V, D] (the head, or the
// tied embedding, as the forward pass uses it), targets [..] ids, teacher
// the targets of the same positions (may be empty when alpha == 0). Returns
// alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE, a scalar
// whose backward gives hidden's and weight's gradients (computed in the
// forward call: use it where the step backpropagates). Writes the mean KD
// and CE terms to *kd / *ce when given.
torch::Tensor HeadDistillationLoss(const torch::Tensor& hidden, const torch::Tensor& weight,
                                   const torch::Tensor& targets, const TeacherTargets& teacher,
                                   const HeadLossOptions& options, double* kd = nullptr,
                                   double* ce = nullptr);

}  // namespace kdnas
