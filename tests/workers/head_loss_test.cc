// HeadDistillationLoss (the head and the loss fused, gradients in closed
// form) against DistillationLoss of the head's logits through autograd: the
// same value, KD and CE terms, and gradients of the hidden states and of the
// weight, for cross-entropy alone, full and top-k teachers, temperatures 1
// and 2, blocks of rows that do not divide the batch, and a student whose
// mass on the teacher's top k reaches the reference's clamp.
#include "workers/head_loss.h"

#include <gtest/gtest.h>

#include "workers/teacher_cache.h"

namespace kdnas {
namespace {

struct Case {
  const char* name;
  int64_t vocab;
  int top_k;  // 0: full log-probabilities
  double temperature, alpha;
  int64_t block_rows;
  double logit_scale = 1.0;
  bool teacher_is_student = false;
};

TeacherTargets TeacherOf(const torch::Tensor& teacher_logits, int top_k) {
  TeacherTargets t;
  const torch::Tensor logp = torch::log_softmax(teacher_logits, -1);
  if (top_k == 0) {
    t.logprobs = logp;
    return t;
  }
  auto [values, index] = logp.topk(top_k, -1);
  t.topk_index = index;
  t.topk_logprobs = values;
  t.rest_logprob = torch::log1p(-values.exp().sum(-1).clamp_max(1.0 - 1e-6));
  return t;
}

void ExpectSame(const Case& c) {
  SCOPED_TRACE(c.name);
  torch::manual_seed(7);
  const int64_t B = 3, T = 5, D = 16;
  const torch::Tensor h0 = torch::randn({B, T, D}) * c.logit_scale;
  const torch::Tensor w0 = torch::randn({c.vocab, D}) * 0.5;
  const torch::Tensor y = torch::randint(0, c.vocab, {B, T}, torch::kInt64);
  const torch::Tensor teacher_logits =
      c.teacher_is_student ? torch::linear(h0, w0) : torch::randn({B, T, c.vocab}) * 2;
  const TeacherTargets teacher =
      c.alpha > 0 ? TeacherOf(teacher_logits, c.top_k) : TeacherTargets{};

  torch::Tensor h = h0.clone().requires_grad_(), w = w0.clone().requires_grad_();
  double want_kd = 0, want_ce = 0;
  torch::Tensor want =
      DistillationLoss(torch::linear(h, w), y, teacher, c.temperature, c.alpha, &want_kd, &want_ce);
  want.backward();

  torch::Tensor fh = h0.clone().requires_grad_(), fw = w0.clone().requires_grad_();
  double kd = 0, ce = 0;
  torch::Tensor got = HeadDistillationLoss(
      fh, fw, y, teacher, HeadLossOptions{c.temperature, c.alpha, c.block_rows}, &kd, &ce);
  // The loss scaled by 3 scales the gradients by 3 (backward honours its
  // incoming gradient).
  (got * 3).backward();

  EXPECT_NEAR(got.item<double>(), want.item<double>(), 2e-5 * std::max(1.0, want.item<double>()));
  EXPECT_NEAR(kd, want_kd, 2e-5 * std::max(1.0, want_kd));
  EXPECT_NEAR(ce, want_ce, 2e-5 * std::max(1.0, want_ce));
  const double scale_h = h.grad().abs().max().item<double>();
  const double scale_w = w.grad().abs().max().item<double>();
  EXPECT_LT((fh.grad() / 3 - h.grad()).abs().max().item<double>(), 1e-4 * scale_h);
  EXPECT_LT((fw.grad() / 3 - w.grad()).abs().max().item<double>(), 1e-4 * scale_w);
}

TEST(HeadDistillationLoss, EqualsDistillationLossOfTheLogitsWithItsGradients) {
  for (const Case& c : std::vector<Case>{
           {"cross-entropy only", 40, 0, 2.0, 0.0, 0},
           {"full teacher, T 2", 50, 0, 2.0, 0.3, 0},
           {"full teacher, T 1, blocks of 4", 50, 0, 1.0, 0.7, 4},
           {"top-8, T 1", 300, 8, 1.0, 0.5, 0},
           {"top-8, T 2, blocks of 4", 300, 8, 2.0, 0.5, 4},
           {"top-16, KD only, blocks of 1", 200, 16, 2.0, 1.0, 1},
           {"top-4, the student's mass on them clamped", 60, 4, 1.0, 0.5, 7, 30.0, true},
       }) {
    ExpectSame(c);
  }
}

TEST(HeadDistillationLoss, AHeadWithoutGradientGetsNone) {
  torch::manual_seed(3);
  const torch::Tensor h = torch::randn({2, 4, 8}).requires_grad_();
  const torch::Tensor w = torch::randn({30, 8});
  const torch::Tensor y = torch::randint(0, 30, {2, 4}, torch::kInt64);
  torch::Tensor loss = HeadDistillationLoss(h, w, y, TeacherTargets{}, HeadLossOptions{});
  loss.backward();
  EXPECT_TRUE(h.grad().defined());
  EXPECT_FALSE(w.grad().defined());
}

}  // namespace
}  // namespace kdnas
