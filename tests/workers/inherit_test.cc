#include "workers/inherit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

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

// For each slice of `s` along `dim`, the index of the equal slice of `t`,
// searched after the previous match (so matches are in order); -1 if none.
std::vector<int64_t> MatchInOrder(const torch::Tensor& s, const torch::Tensor& t, int64_t dim) {
  std::vector<int64_t> out;
  int64_t last = -1;
  for (int64_t j = 0; j < s.size(dim); ++j) {
    int64_t found = -1;
    for (int64_t k = last + 1; k < t.size(dim) && found < 0; ++k) {
      if (torch::equal(s.select(dim, j), t.select(dim, k))) found = k;
    }
    out.push_back(found);
    if (found >= 0) last = found;
  }
  return out;
}

// Indices of the `keep` largest entries, in increasing order.
std::vector<int64_t> Largest(const torch::Tensor& scores, int64_t keep) {
  auto idx = std::get<0>(torch::sort(std::get<1>(torch::sort(scores, 0, true)).narrow(0, 0, keep)));
  return std::vector<int64_t>(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + keep);
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
  Architecture sa{2, 16,   2, 32,
                  8, true, {}};  // fewer layers, channels, heads (head_dim 8), neurons
  Gpt student = RandomGpt(sa, 11, 4);
  auto x = torch::randint(0, 11, {4, 8}, torch::kInt64);
  std::string summary;
  ASSERT_TRUE(InheritFromTeacher(*student, *teacher, x, &summary).ok());
  // Kept channels of the token embedding are teacher columns, in order.
  auto columns = MatchInOrder(student->tok_emb.detach(), teacher->tok_emb.detach(), 1);
  EXPECT_EQ(std::count(columns.begin(), columns.end(), -1), 0);
  // Layers: the teacher's two most important blocks, in order.
  ActivationStats stats;
  torch::NoGradGuard ng;
  teacher->forward(x, &stats);
  ASSERT_EQ(stats.layers.size(), 3u);
  std::vector<double> importance;
  for (const auto& l : stats.layers) importance.push_back(l.block_importance);
  const auto kept = Largest(torch::tensor(importance, torch::kDouble), 2);
  EXPECT_NE(
      summary.find("layers [" + std::to_string(kept[0]) + "," + std::to_string(kept[1]) + "]"),
      std::string::npos)
      << summary;
  // MLP neurons: every student fc bias entry comes from the teacher's kept
  // layer, and they are that layer's 32 most active neurons, in order.
  for (int sl = 0; sl < 2; ++sl) {
    auto s_bias = student->layers[sl]->as<BlockImpl>()->fc->bias.detach();
    auto t_bias = teacher->layers[kept[sl]]->as<BlockImpl>()->fc->bias.detach();
    EXPECT_EQ(MatchInOrder(s_bias, t_bias, 0), Largest(stats.layers[kept[sl]].mlp_abs, 32))
        << "student layer " << sl << " from teacher layer " << kept[sl];
  }
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
