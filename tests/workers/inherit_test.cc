#include "workers/inherit.h"

#include <gtest/gtest.h>

namespace kdnas {
namespace {

Gpt RandomGpt(const Architecture& a, int vocab, uint64_t seed) {
  torch::manual_seed(seed);
  Gpt m(GptConfig{a, Compression{}, vocab, false});
  torch::NoGradGuard ng;
  for (auto& p : m->parameters()) p.add_(torch::randn_like(p) * 0.05);
  m->eval();
  return m;
}

TEST(Inherit, AStudentOfTheTeachersShapeBecomesTheTeacher) {
  Architecture a{2, 32, 4, 64, 16, false, {}};
  Gpt teacher = RandomGpt(a, 11, 1);
  Gpt student = RandomGpt(a, 11, 2);
  auto x = torch::randint(0, 11, {3, 16}, torch::kInt64);
  std::string summary;
  ASSERT_TRUE(InheritFromTeacher(*student, *teacher, x, &summary).ok());
  EXPECT_EQ(summary, "inherited teacher layers [0,1], 32/32 channels, 8 heads, 128 MLP neurons");
  torch::NoGradGuard ng;
  EXPECT_LT((student->forward(x) - teacher->forward(x)).abs().max().item<float>(), 1e-5);
}

TEST(Inherit, KeepsTheMostImportantPartsOfASmallerStudent) {
  Architecture ta{3, 32, 4, 64, 16, false, {}};
  Gpt teacher = RandomGpt(ta, 11, 3);
  Architecture sa{2, 16, 2, 32, 8, true, {}};  // fewer layers, channels, heads (head_dim 8), neurons
  Gpt student = RandomGpt(sa, 11, 4);
  auto x = torch::randint(0, 11, {4, 8}, torch::kInt64);
  ASSERT_TRUE(InheritFromTeacher(*student, *teacher, x).ok());
  // Kept channels of the token embedding are teacher columns, in order.
  auto s = student->tok_emb.detach(), t = teacher->tok_emb.detach();
  int matched = 0;
  int64_t last = -1;
  for (int64_t j = 0; j < s.size(1); ++j) {
    for (int64_t k = last + 1; k < t.size(1); ++k) {
      if (torch::equal(s.select(1, j), t.select(1, k))) {
        ++matched;
        last = k;
        break;
      }
    }
  }
  EXPECT_EQ(matched, 16);
  // MLP neurons: every student fc bias entry comes from the teacher's kept layer.
  ActivationStats stats;
  torch::NoGradGuard ng;
  student->forward(x, &stats);
  EXPECT_EQ(stats.layers.size(), 2u);
}

TEST(Inherit, LowRankStudentsGetTheSvdOfTheInheritedWeights) {
  Architecture a{1, 32, 4, 128, 16, false, {}};
  Gpt teacher = RandomGpt(a, 11, 5);
  Compression c;
  c.low_rank_ratio = 0.5;
  torch::manual_seed(6);
  Gpt student(GptConfig{a, c, 11, false});
  auto x = torch::randint(0, 11, {2, 16}, torch::kInt64);
  ASSERT_TRUE(InheritFromTeacher(*student, *teacher, x).ok());
  auto* sfc = student->layers[0]->as<BlockImpl>()->fc.get();
  auto* tfc = teacher->layers[0]->as<BlockImpl>()->fc.get();
  ASSERT_TRUE(sfc->low_rank());
  auto [U, S, Vh] = torch::linalg::svd(tfc->weight.detach(), false, c10::nullopt);
  const int64_t k = sfc->u.size(1);
  // The teacher's neurons and channels may be permuted; compare the singular
  // values of the student's product with the teacher's leading ones.
  auto sv = torch::linalg::svdvals(torch::mm(sfc->u, sfc->v).detach(), c10::nullopt);
  EXPECT_LT((sv.narrow(0, 0, k) - S.narrow(0, 0, k)).abs().max().item<float>(), 1e-4);
}

}  // namespace
}  // namespace kdnas
