#include "workers/inherit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

// Narrower heads keep the teacher's attention temperature: q rows (weights
// and biases) are the teacher's times sqrt(student head_dim / teacher's),
// k and v rows the teacher's.
TEST(Inherit, NarrowerGpt2HeadsKeepTheTeachersAttentionTemperature) {
  Gpt teacher = RandomGpt(Architecture{1, 32, 4, 64, 16, false, {}}, 11, 18);  // head_dim 8
  Gpt student = RandomGpt(Architecture{1, 32, 8, 64, 16, false, {}}, 11, 19);  // head_dim 4
  auto x = torch::randint(0, 11, {2, 16}, torch::kInt64);
  ASSERT_TRUE(InheritFromTeacher(*student, *teacher, x).ok());
  auto sb = student->layers[0]->as<BlockImpl>()->qkv->bias.detach();
  auto tb = teacher->layers[0]->as<BlockImpl>()->qkv->bias.detach();
  const double scale = std::sqrt(4.0 / 8.0);
  auto found = [](const torch::Tensor& pool, double value) {
    return (pool - value).abs().min().item<double>() < 1e-6;
  };
  for (int64_t i = 0; i < 16; ++i) {  // the 4 inherited heads' q and k rows
    EXPECT_TRUE(found(tb.narrow(0, 0, 32), sb[i].item<double>() / scale)) << "q row " << i;
    EXPECT_TRUE(found(tb.narrow(0, 32, 32), sb[32 + i].item<double>())) << "k row " << i;
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

// A Llama-family architecture: head_dim 8 whatever d_model, the given KV heads.
Architecture LlamaArch(FamilyKind kind, int layers, int d, int heads, int kv, int d_ff) {
  Architecture a{layers, d, heads, d_ff, 16, false, {}};
  a.family.kind = kind;
  a.family.norm_eps = 1e-6;
  a.family.rope.theta = 10000;
  a.num_kv_heads = kv;
  a.fixed_head_dim = 8;
  return a;
}

TEST(Inherit, ALlamaOrQwen2StudentOfTheTeachersShapeBecomesTheTeacher) {
  for (FamilyKind kind : {FamilyKind::kLlama, FamilyKind::kQwen2}) {
    const Architecture a = LlamaArch(kind, 2, 24, 4, 2, 40);
    Gpt teacher = RandomGpt(a, 11, 7);
    Gpt student = RandomGpt(a, 11, 8);
    auto x = torch::randint(0, 11, {3, 16}, torch::kInt64);
    std::string summary;
    ASSERT_TRUE(InheritFromTeacher(*student, *teacher, x, &summary).ok());
    EXPECT_EQ(summary,
              "inherited teacher layers [0,1], 24/24 channels, 8 heads in 4 KV groups, 80 MLP "
              "neurons");
    torch::NoGradGuard ng;
    EXPECT_LT((student->forward(x) - teacher->forward(x)).abs().max().item<float>(), 1e-5)
        << FamilyKindName(kind);
  }
}

// The rows of head h (width 8) of a projection.
torch::Tensor HeadRows(const torch::Tensor& w, int64_t h) { return w.narrow(0, h * 8, 8); }

// The most important of the teacher's layers for two students, and the stats.
std::vector<int64_t> TwoMostImportantLayers(Gpt& teacher, const torch::Tensor& x,
                                            ActivationStats* stats) {
  teacher->forward(x, stats);
  std::vector<double> importance;
  for (const auto& l : stats->layers) importance.push_back(l.block_importance);
  return Largest(torch::tensor(importance, torch::kDouble), 2);
}

TEST(Inherit, ASmallerLlamaStudentKeepsTheMostImportantKvGroupsAndNeurons) {
  // Teacher: 3 KV groups of 3 query heads (as SmolLM2's 9 and 3); student: 2
  // such groups, fewer layers, channels and neurons.
  const Architecture ta = LlamaArch(FamilyKind::kQwen2, 3, 32, 9, 3, 48);
  const Architecture sa = LlamaArch(FamilyKind::kQwen2, 2, 16, 6, 2, 24);
  Gpt teacher = RandomGpt(ta, 11, 9);
  Gpt student = RandomGpt(sa, 11, 10);
  auto x = torch::randint(0, 11, {4, 12}, torch::kInt64);
  std::string summary;
  ASSERT_TRUE(InheritFromTeacher(*student, *teacher, x, &summary).ok());
  torch::NoGradGuard ng;
  ActivationStats stats;
  const auto kept = TwoMostImportantLayers(teacher, x, &stats);
  EXPECT_NE(summary.find("16/32 channels, 12 heads in 4 KV groups, 48 MLP neurons"),
            std::string::npos)
      << summary;
  const auto channels = torch::tensor(
      Largest(stats.layers[kept[0]].ln_channel_abs + stats.layers[kept[1]].ln_channel_abs, 16),
      torch::kInt64);
  for (int sl = 0; sl < 2; ++sl) {
    const auto& ls = stats.layers[kept[sl]];
    auto* sb = student->layers[sl]->as<BlockImpl>();
    auto* tb = teacher->layers[kept[sl]]->as<BlockImpl>();
    // KV groups by the summed output norms of their query heads, whole; the
    // q, k and v biases (rows without residual columns) identify them.
    const auto groups = Largest(ls.head_norm.view({3, 3}).sum(1), 2);
    for (int64_t jg = 0; jg < 2; ++jg) {
      EXPECT_TRUE(torch::equal(HeadRows(sb->k->bias, jg), HeadRows(tb->k->bias, groups[jg])));
      EXPECT_TRUE(torch::equal(HeadRows(sb->v->bias, jg), HeadRows(tb->v->bias, groups[jg])));
      EXPECT_TRUE(torch::equal(sb->q->bias.narrow(0, jg * 24, 24),
                               tb->q->bias.narrow(0, groups[jg] * 24, 24)))
          << "layer " << sl << " group " << jg;
    }
    // SwiGLU neurons: gate and up rows of the most active ones, over the
    // kept channels.
    const auto neurons = Largest(ls.mlp_abs, 24);
    EXPECT_EQ(MatchInOrder(sb->gate->weight.detach(),
                           tb->gate->weight.detach().index_select(1, channels), 0),
              neurons)
        << "gate rows of student layer " << sl;
    EXPECT_EQ(
        MatchInOrder(sb->up->weight.detach(), tb->up->weight.detach().index_select(1, channels), 0),
        neurons)
        << "up rows of student layer " << sl;
  }
}

TEST(Inherit, ASmallerGroupTakesTheBestHeadsOfATeacherGroupWithItsKeysAndValues) {
  const Architecture ta = LlamaArch(FamilyKind::kQwen2, 2, 32, 9, 3, 48);
  Gpt teacher = RandomGpt(ta, 11, 15);
  auto x = torch::randint(0, 11, {4, 12}, torch::kInt64);
  torch::NoGradGuard ng;
  // A multi-head student of the teacher's shape repeats each group's K and V
  // for its heads, and computes what the teacher does.
  Architecture mha = ta;
  mha.num_kv_heads = 0;
  Gpt same = RandomGpt(mha, 11, 16);
  std::string summary;
  ASSERT_TRUE(InheritFromTeacher(*same, *teacher, x, &summary).ok());
  EXPECT_NE(summary.find("18 heads in 18 KV groups"), std::string::npos) << summary;
  EXPECT_LT((same->forward(x) - teacher->forward(x)).abs().max().item<float>(), 1e-5);
  // Two single-head groups: the two most important heads, each with its
  // group's K and V.
  Architecture two = ta;
  two.num_heads = 2;
  two.num_kv_heads = 2;
  Gpt student = RandomGpt(two, 11, 17);
  ASSERT_TRUE(InheritFromTeacher(*student, *teacher, x, &summary).ok());
  ActivationStats stats;
  const auto kept = TwoMostImportantLayers(teacher, x, &stats);
  for (int sl = 0; sl < 2; ++sl) {
    auto* sb = student->layers[sl]->as<BlockImpl>();
    auto* tb = teacher->layers[kept[sl]]->as<BlockImpl>();
    const auto heads = Largest(stats.layers[kept[sl]].head_norm, 2);
    for (int64_t j = 0; j < 2; ++j) {
      EXPECT_TRUE(torch::equal(HeadRows(sb->q->bias, j), HeadRows(tb->q->bias, heads[j])));
      EXPECT_TRUE(torch::equal(HeadRows(sb->k->bias, j), HeadRows(tb->k->bias, heads[j] / 3)));
      EXPECT_TRUE(torch::equal(HeadRows(sb->v->bias, j), HeadRows(tb->v->bias, heads[j] / 3)));
    }
  }
}

TEST(Inherit, RefusesWhatItCannotInheritWithTheReason) {
  const Architecture ta = LlamaArch(FamilyKind::kLlama, 2, 32, 4, 2, 48);
  Gpt teacher = RandomGpt(ta, 11, 11);
  auto x = torch::randint(0, 11, {2, 8}, torch::kInt64);
  Architecture other_head_dim = ta;
  other_head_dim.fixed_head_dim = 4;
  Gpt student = RandomGpt(other_head_dim, 11, 12);
  Status s = InheritFromTeacher(*student, *teacher, x);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "inherit: a llama student inherits whole heads, so its head_dim must be the "
            "teacher's 8 (it is 4)");
  Gpt gpt2 = RandomGpt(Architecture{2, 32, 4, 48, 16, false, {}}, 11, 13);
  s = InheritFromTeacher(*gpt2, *teacher, x);
  EXPECT_EQ(s.message(), "inherit: a gpt2 student is not made of its llama teacher's blocks");
  Gpt other_vocab = RandomGpt(ta, 12, 14);
  EXPECT_EQ(InheritFromTeacher(*other_vocab, *teacher, x).message(),
            "inherit: the student's vocabulary differs from the teacher's");
}

}  // namespace
}  // namespace kdnas
