#include <gtest/gtest.h>

#include "search/artifact_layout.h"
#include "workers/gpt.h"
#include "workers/pruning.h"
#include "workers/quantize.h"

namespace kdnas {
namespace {

TEST(Quantize, SymmetricPerGroupWithFp16ScalesAndAShortLastGroup) {
  torch::manual_seed(0);
  auto w = torch::randn({5, 40});
  for (int bits : {8, 6, 4, 3, 2}) {
    const int qmax = (1 << (bits - 1)) - 1;
    QuantizedTensor qt = QuantizeGroups(w, bits, 32);
    ASSERT_EQ(qt.scales.sizes(), (std::vector<int64_t>{5, 2}));  // 32 + 8 columns
    EXPECT_EQ(qt.scales.scalar_type(), torch::kHalf);
    EXPECT_LE(qt.q.abs().max().item<int>(), qmax);
    auto deq = Dequantize(qt, 32);
    // Each value is within half a step of its group's scale (plus fp16 scale rounding).
    auto scale = qt.scales.to(torch::kFloat);
    auto step = torch::cat(
        {scale.narrow(1, 0, 1).expand({5, 32}), scale.narrow(1, 1, 1).expand({5, 8})}, 1);
    EXPECT_TRUE(((deq - w).abs() <= step * 0.5 + 1e-3 * w.abs().max()).all().item<bool>()) << bits;
    // The largest magnitude of a group maps to +-qmax.
    EXPECT_EQ(qt.q.narrow(1, 0, 32).abs().amax(1).min().item<int>(), qmax);
  }
}

TEST(Quantize, DeployedValueIsIdempotentAndSixteenBitsIsFp16) {
  torch::manual_seed(1);
  auto w = torch::randn({8, 64});
  auto once = DeployedValue(w, 4, 32);
  EXPECT_TRUE(torch::equal(DeployedValue(once, 4, 32), once));
  EXPECT_TRUE(torch::equal(DeployedValue(w, 16, 0), w.to(torch::kHalf).to(torch::kFloat)));
  auto per_channel = QuantizeGroups(w, 8, EffectiveGroupSize(8, Compression::kPerChannel, 64));
  EXPECT_EQ(per_channel.scales.size(1), 1);
}

TEST(Quantize, FakeQuantizationPassesGradientsStraightThrough) {
  auto w = torch::randn({4, 32}, torch::requires_grad());
  auto y = FakeQuantize(w, 3, 32);
  EXPECT_LT((y - DeployedValue(w, 3, 32)).abs().max().item<float>(), 1e-6);
  (y * torch::arange(128).view({4, 32})).sum().backward();
  EXPECT_TRUE(torch::equal(w.grad(), torch::arange(128).view({4, 32}).to(torch::kFloat)));
}

TEST(Pruning, MagnitudeMaskKeepsExactlyTheLargest) {
  auto w = torch::tensor({0.1f, -5.0f, 0.3f, 2.0f, -0.2f, 0.0f, 1.0f, 0.5f}).view({2, 4});
  auto mask = MagnitudeMask(w, 3);
  EXPECT_TRUE(
      torch::equal(mask, torch::tensor({0.f, 1.f, 0.f, 1.f, 0.f, 0.f, 1.f, 0.f}).view({2, 4})));
  // Exact count for a sparsity target (round half away from zero).
  torch::manual_seed(2);
  auto big = torch::randn({30, 50});
  for (double s : {0.0, 0.1, 0.333, 0.5, 0.9, 0.99}) {
    EXPECT_EQ(MagnitudeMask(big, KeptCount(1500, s)).sum().item<int64_t>(), KeptCount(1500, s))
        << s;
  }
  // Ties are broken by position.
  auto ties = torch::ones({1, 6});
  EXPECT_TRUE(torch::equal(MagnitudeMask(ties, 2),
                           torch::tensor({1.f, 1.f, 0.f, 0.f, 0.f, 0.f}).view({1, 6})));
}

TEST(Pruning, NofMKeepsNLargestOfEveryM) {
  torch::manual_seed(3);
  auto w = torch::randn({6, 16});
  for (auto [n, m] : {std::pair{2, 4}, std::pair{1, 4}}) {
    auto mask = NofMMask(w, n, m);
    auto groups = mask.view({6, 4, m});
    EXPECT_TRUE((groups.sum(-1) == n).all().item<bool>());
    auto kept_min = (w.abs() * mask + (1 - mask) * 1e9).view({6, 4, m}).amin(-1);
    auto dropped_max = (w.abs() * (1 - mask)).view({6, 4, m}).amax(-1);
    EXPECT_TRUE((kept_min >= dropped_max).all().item<bool>());
  }
}

TEST(Pruning, ScheduleRampsCubicallyToTheTarget) {
  Compression c;
  c.sparsity = 0.8;
  PruningSchedule s = PruningSchedule::For(c, 1000);
  EXPECT_EQ(s.SparsityAt(0), 0.0);
  EXPECT_EQ(s.SparsityAt(s.start_step), 0.0);
  EXPECT_DOUBLE_EQ(s.SparsityAt(s.end_step), 0.8);
  EXPECT_DOUBLE_EQ(s.SparsityAt(999), 0.8);
  double last = 0;
  for (int64_t step = s.start_step; step <= s.end_step; ++step) {
    EXPECT_GE(s.SparsityAt(step), last);
    last = s.SparsityAt(step);
  }
  EXPECT_GT(s.SparsityAt((s.start_step + s.end_step) / 2), 0.8 * 0.5);  // front-loaded
  EXPECT_TRUE(s.UpdateAt(s.end_step));
  EXPECT_FALSE(s.UpdateAt(s.end_step + 1));
}

TEST(Pruning, MaskedWeightsAreZeroAndGetNoGradient) {
  Candidate c;
  c.architecture = {1, 16, 2, 32, 8, false, {}};
  c.compression.sparsity_pattern = SparsityPattern::k2of4;
  torch::manual_seed(4);
  Gpt model(GptConfig{c.architecture, c.compression, 10, true});
  model->UpdateMasks(0);
  auto* fc = model->layers[0]->as<BlockImpl>()->fc.get();
  EXPECT_TRUE(((fc->weight * (1 - fc->weight_mask)) == 0).all().item<bool>());
  EXPECT_EQ(fc->weight_mask.sum().item<int64_t>(), fc->weight.numel() / 2);
  auto logits = model->forward(torch::randint(0, 10, {2, 8}, torch::kInt64));
  logits.sum().backward();
  EXPECT_EQ((fc->weight.grad() * (1 - fc->weight_mask)).abs().sum().item<float>(), 0.0f);
}

TEST(LowRank, SvdFactorsReconstructAtFullRankAndFactorizedLayersHaveTheLayoutRank) {
  torch::manual_seed(5);
  auto w = torch::randn({12, 8});
  auto [u, v] = SvdFactors(w, 8);
  EXPECT_LT((torch::mm(u, v) - w).abs().max().item<float>(), 1e-4);
  Candidate c;
  c.architecture = {1, 64, 4, 256, 8, false, {}};
  c.compression.low_rank_ratio = 0.25;
  Gpt model(GptConfig{c.architecture, c.compression, 10, true});
  auto* fc = model->layers[0]->as<BlockImpl>()->fc.get();
  ASSERT_TRUE(fc->low_rank());
  EXPECT_EQ(fc->u.size(1), LowRankRank(256, 64, 0.25));
  EXPECT_EQ(fc->u.size(1), 16);
}

}  // namespace
}  // namespace kdnas
