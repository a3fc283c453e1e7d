#include "evaluator/evaluate.h"

#include <gtest/gtest.h>

namespace kdnas {
namespace {

// The top-k form of full teacher log-probabilities [N, T, V].
TeacherTargets TopK(const torch::Tensor& logprobs, int64_t k) {
  auto [values, index] = logprobs.topk(k, -1);
  TeacherTargets t;
  t.topk_index = index;
  t.topk_logprobs = values;
  t.rest_logprob = torch::log1p(-values.exp().sum(-1).clamp_max(1.0 - 1e-6));
  return t;
}

// With top-k teacher outputs the agreement is the full one exactly and the
// KL is over k + 1 outcomes: at most the full KL, and equal to it as k
// reaches the vocabulary.
TEST(EvaluateQuality, TopKTeacherOutputsGiveTheExactAgreementAndAKlBelowTheFullOne) {
  torch::manual_seed(4);
  const int64_t V = 300;
  auto x = torch::randint(0, V, {5, 8}, torch::kInt64);
  auto y = torch::randint(0, V, {5, 8}, torch::kInt64);
  auto s_proj = torch::randn({V, V}) * 2;
  auto t_proj = s_proj + torch::randn({V, V}) * 2;
  LogitsFn student = [&](const torch::Tensor& idx) {
    return torch::nn::functional::one_hot(idx, V).to(torch::kFloat).matmul(s_proj);
  };
  TeacherTargets full;
  full.logprobs =
      torch::log_softmax(torch::nn::functional::one_hot(x, V).to(torch::kFloat).matmul(t_proj), -1);
  const QualityMetrics exact = EvaluateQuality(student, x, y, full, 2);
  ASSERT_GT(exact.kl_to_teacher, 0.1);
  for (int64_t k : {V - 1, int64_t{32}, int64_t{4}}) {
    SCOPED_TRACE(k);
    const QualityMetrics q = EvaluateQuality(student, x, y, TopK(full.logprobs, k), 2);
    EXPECT_DOUBLE_EQ(q.val_loss, exact.val_loss);
    EXPECT_DOUBLE_EQ(q.teacher_agreement, exact.teacher_agreement);
    EXPECT_LE(q.kl_to_teacher, exact.kl_to_teacher + 1e-4);
    EXPECT_GT(q.kl_to_teacher, 0);
    if (k == V - 1) {
      EXPECT_NEAR(q.kl_to_teacher, exact.kl_to_teacher, 1e-3);
    }
  }
  // No teacher: no agreement or KL.
  const QualityMetrics alone = EvaluateQuality(student, x, y, TeacherTargets(), 2);
  EXPECT_DOUBLE_EQ(alone.val_loss, exact.val_loss);
  EXPECT_EQ(alone.kl_to_teacher, 0);
}

}  // namespace
}  // namespace kdnas
