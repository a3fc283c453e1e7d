#include "workers/distill.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "test_util.h"

namespace kdnas {
namespace {

TEST(Schedule, WarmsUpThenDecaysToTheFloor) {
  TrainOptions o;
  o.steps = 1000;
  o.learning_rate = 1e-3;
  EXPECT_NEAR(LearningRateAt(o, 0), 1e-3 / 101, 1e-12);
  EXPECT_NEAR(LearningRateAt(o, 99), 1e-3 * 100 / 101, 1e-12);
  EXPECT_NEAR(LearningRateAt(o, 100), 1e-3, 1e-12);
  EXPECT_NEAR(LearningRateAt(o, 1000), 1e-4, 1e-12);
  EXPECT_GT(LearningRateAt(o, 400), LearningRateAt(o, 700));
}

TEST(DistillationLoss, MatchesItsDefinition) {
  torch::manual_seed(0);
  auto s = torch::randn({2, 3, 7});
  auto t = torch::randn({2, 3, 7});
  auto y = torch::randint(0, 7, {2, 3}, torch::kInt64);
  TeacherTargets full;
  full.logprobs = torch::log_softmax(t, -1);
  const double T = 2.0, alpha = 0.3;
  double kd = 0, ce = 0;
  auto loss = DistillationLoss(s, y, full, T, alpha, &kd, &ce);
  auto pt = torch::softmax(t / T, -1).view({6, 7});
  auto ls = torch::log_softmax(s / T, -1).view({6, 7});
  const double want_kd = (pt * (pt.log() - ls)).sum().item<double>() / 6;
  const double want_ce =
      torch::nn::functional::cross_entropy(s.view({6, 7}), y.view({6})).item<double>();
  EXPECT_NEAR(kd, want_kd, 1e-5);
  EXPECT_NEAR(ce, want_ce, 1e-5);
  EXPECT_NEAR(loss.item<double>(), alpha * T * T * want_kd + (1 - alpha) * want_ce, 1e-5);
  // Identical distributions: no KD term.
  TeacherTargets same;
  same.logprobs = torch::log_softmax(s, -1);
  DistillationLoss(s, y, same, 1.0, 0.5, &kd, nullptr);
  EXPECT_NEAR(kd, 0.0, 1e-6);
  // alpha 0 is plain cross-entropy and needs no teacher.
  EXPECT_NEAR(DistillationLoss(s, y, TeacherTargets{}, T, 0.0).item<double>(), want_ce, 1e-6);
}

TEST(TeacherCache, FullLogProbsAreCachedAndTopKApproximatesThem) {
  torch::manual_seed(1);
  auto tokens = torch::randint(0, 50, {1000}, torch::kInt64);
  auto proj = torch::randn({50, 300}) * 3;
  int calls = 0;
  TeacherCache::LogitsFn teacher = [&](const torch::Tensor& x) -> StatusOr<torch::Tensor> {
    ++calls;
    return torch::nn::functional::one_hot(x, 50).to(torch::kFloat).matmul(proj);
  };
  std::vector<int64_t> starts = {0, 100, 200};
  Batch b = MakeBatch(tokens, starts, 16, std::nullopt);
  TeacherCache full(300);
  auto first = full.Get(tokens, starts, b.x, teacher);
  ASSERT_TRUE(first.ok());
  auto second = full.Get(tokens, starts, b.x, teacher);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(full.hits(), 3);
  EXPECT_EQ(full.entries(), 3);
  EXPECT_EQ(full.bytes(), 3 * 16 * 300 * 2);
  auto exact = torch::log_softmax(teacher(b.x).value(), -1);
  EXPECT_LT((second->logprobs - exact).abs().max().item<float>(), 0.02);  // fp16

  TeacherCacheOptions o;
  o.full_vocab_limit = 100;
  o.top_k = 32;
  TeacherCache topk(300, o);
  auto t = topk.Get(tokens, starts, b.x, teacher);
  ASSERT_TRUE(t.ok());
  ASSERT_FALSE(t->full());
  EXPECT_EQ(topk.bytes(), 3 * 16 * (32 * 2 + 33 * 2));  // 16-bit ids
  auto s = torch::randn({3, 16, 300});
  auto y = torch::randint(0, 300, {3, 16}, torch::kInt64);
  double kd_full = 0, kd_topk = 0;
  DistillationLoss(s, y, *first, 1.0, 1.0, &kd_full);
  DistillationLoss(s, y, *t, 1.0, 1.0, &kd_topk);
  EXPECT_NEAR(kd_topk, kd_full, 0.1 * kd_full);
  // A different token stream is refused.
  auto other = torch::randint(0, 50, {999}, torch::kInt64);
  EXPECT_FALSE(full.Get(other, starts, b.x, teacher).ok());
}

// Top-k ids take 16 bits up to a vocabulary of 65,536 (ids from 32,768 on
// wrap in int16 and come back whole) and 32 bits above.
TEST(TeacherCache, TopKIdsTakeTheFewestWholeBytes) {
  for (int64_t V : {40000, 70000}) {
    auto logits = torch::zeros({3, V});
    for (int64_t id : {V - 1, int64_t{32768}, int64_t{32767}, int64_t{5}})
      logits.select(1, id).fill_(10.0 + static_cast<double>(id % 7));
    auto logp = torch::log_softmax(logits, -1);
    EncodedTargets e = EncodeTargets(logp, /*full=*/false, 4);
    EXPECT_EQ(e.a.scalar_type(), V <= 65536 ? torch::kShort : torch::kInt);
    EXPECT_EQ(e.bytes(), 3 * (4 * (V <= 65536 ? 2 : 4) + 5 * 2));
    TeacherTargets t = DecodeTargets({&e}, /*full=*/false);
    EXPECT_TRUE(torch::equal(t.topk_index[0], std::get<1>(logp.topk(4, -1))));
  }
}

class TrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(1);
    auto c = Corpus::FromText(testing::Shakespeare().substr(0, 200000), nullptr);
    ASSERT_TRUE(c.ok());
    corpus_ = std::make_unique<Corpus>(std::move(*c));
    arch_ = {2, 32, 2, 64, 16, false, {}};
    dir_ = testing::MakeTempDir("train");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Gpt NewModel() {
    torch::manual_seed(9);
    return Gpt(GptConfig{arch_, compression_, corpus_->tokenizer().vocab_size(), true});
  }
  TrainOptions Options() {
    TrainOptions o;
    o.steps = 40;
    o.batch_size = 4;
    o.alpha = 0;
    o.progress_every_steps = 5;
    return o;
  }
  std::unique_ptr<Corpus> corpus_;
  Architecture arch_;
  Compression compression_;
  std::string dir_;
};

TEST_F(TrainTest, LearnsAndReportsProgress) {
  Gpt model = NewModel();
  std::vector<TrainingProgress> seen;
  TrainOptions o = Options();
  o.report_steps = {20};
  auto r = Train(
      *model, *corpus_, nullptr, compression_, o, [] { return 1.5; },
      [&](const TrainingProgress& p) {
        seen.push_back(p);
        return true;
      });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->steps_run, 40);
  EXPECT_FALSE(r->stopped);
  ASSERT_EQ(seen.size(), 8u);
  EXPECT_EQ(seen[0].step, 5);
  EXPECT_LT(seen.back().train_loss, seen.front().train_loss);
  ASSERT_EQ(r->val_losses.size(), 2u);
  EXPECT_EQ(r->val_losses[0].first, 20);
  EXPECT_EQ(seen[3].val_step, 20);
}

// With training windows of the largest context, students of a shorter
// context train on the windows' prefixes, whose teacher outputs (a causal
// teacher's) are the cached windows' first positions: a second student of
// another context needs no teacher call.
TEST_F(TrainTest, StudentsOfEveryContextShareTheTeachersWindows) {
  Architecture ta = arch_;
  ta.context_length = 32;
  torch::manual_seed(3);
  Gpt teacher(GptConfig{ta, compression_, corpus_->tokenizer().vocab_size(), false});
  teacher->eval();
  int calls = 0;
  TeacherSource source;
  TeacherCache cache(corpus_->tokenizer().vocab_size());
  source.cache = &cache;
  source.logits = [&](const torch::Tensor& x) -> StatusOr<torch::Tensor> {
    ++calls;
    EXPECT_EQ(x.size(1), 32);  // always whole windows
    torch::NoGradGuard ng;
    return teacher->forward(x);
  };
  TrainOptions o = Options();
  o.steps = 5;
  o.alpha = 0.5;
  o.window_length = 32;
  for (int context : {16, 32, 8}) {
    arch_.context_length = context;
    auto r = Train(*NewModel(), *corpus_, &source, compression_, o, nullptr, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  EXPECT_EQ(calls, 5);  // the first student's steps only
  EXPECT_EQ(cache.misses(), 5 * 4);
  EXPECT_EQ(cache.hits(), 2 * 5 * 4);
  // A prefix's targets are the teacher's outputs on the shorter window.
  const std::vector<int64_t> starts = {0, 1000};
  const auto& tokens = corpus_->train_tokens();
  auto targets =
      cache.Get(tokens, starts, MakeBatch(tokens, starts, 32, std::nullopt).x, source.logits);
  ASSERT_TRUE(targets.ok());
  torch::NoGradGuard ng;
  auto short_logp =
      torch::log_softmax(teacher->forward(MakeBatch(tokens, starts, 16, std::nullopt).x), -1);
  EXPECT_LT((targets->Prefix(16).logprobs - short_logp).abs().max().item<float>(), 0.02);  // fp16
}

// A teacher pass in two shards holds, for every step, what the in-memory
// cache computes for that step's windows (full and top-k), and training on
// the shards is training on the cache: the same losses.
TEST_F(TrainTest, TeacherShardsHoldEachStepsTargetsAndTrainLikeTheCache) {
  Architecture ta = arch_;
  ta.context_length = 32;
  torch::manual_seed(3);
  Gpt teacher(GptConfig{ta, compression_, corpus_->tokenizer().vocab_size(), false});
  teacher->eval();
  TeacherCache::LogitsFn logits = [&](const torch::Tensor& x) -> StatusOr<torch::Tensor> {
    torch::NoGradGuard ng;
    return teacher->forward(x);
  };
  const int64_t V = corpus_->tokenizer().vocab_size();
  TrainOptions o = Options();
  o.steps = 6;
  o.alpha = 0.5;
  o.window_length = 32;
  for (bool full : {true, false}) {
    SCOPED_TRACE(full ? "full" : "top-k");
    TeacherCacheOptions co;
    co.full_vocab_limit = full ? V : V - 1;
    co.top_k = 8;
    TeacherShardSet shards;
    for (int64_t first : {0, 4}) {
      TeacherShardSpec spec;
      spec.data_seed = o.data_seed;
      spec.batch_size = o.batch_size;
      spec.window = 32;
      spec.first_step = first;
      spec.steps = first == 0 ? 4 : 2;
      spec.vocab_size = V;
      spec.cache = co;
      const std::string path = dir_ + "/shard-" + std::to_string(first);
      ASSERT_TRUE(WriteTeacherShard(spec, *corpus_, logits, path, nullptr).ok());
      auto shard = TeacherShard::Open(path);
      ASSERT_TRUE(shard.ok()) << shard.status().ToString();
      EXPECT_EQ((*shard)->file_bytes(),
                8 + 64 + spec.steps * 4 * (8 + 32 * (full ? V * 2 : 8 * 2 + 9 * 2)));
      ASSERT_TRUE(shards.Add(*shard).ok());
    }
    EXPECT_EQ(shards.steps(), 6);
    TeacherCache cache(V, co);
    const auto& tokens = corpus_->train_tokens();
    for (int64_t step : {0, 3, 5}) {
      auto starts = BatchStarts(o.data_seed, step, 4, tokens.numel(), 32);
      auto from_shard = shards.Targets(step, starts);
      ASSERT_TRUE(from_shard.ok()) << from_shard.status().ToString();
      auto from_cache =
          cache.Get(tokens, starts, MakeBatch(tokens, starts, 32, std::nullopt).x, logits);
      ASSERT_TRUE(from_cache.ok());
      if (full) {
        EXPECT_TRUE(torch::equal(from_shard->logprobs, from_cache->logprobs));
      } else {
        EXPECT_TRUE(torch::equal(from_shard->topk_index, from_cache->topk_index));
        EXPECT_TRUE(torch::equal(from_shard->topk_logprobs, from_cache->topk_logprobs));
        EXPECT_TRUE(torch::equal(from_shard->rest_logprob, from_cache->rest_logprob));
      }
      // Other windows than the shard's are refused.
      starts[0] += 1;
      EXPECT_EQ(shards.Targets(step, starts).status().code(), StatusCode::kFailedPrecondition);
    }
    EXPECT_EQ(shards.Targets(6, {}).status().code(), StatusCode::kFailedPrecondition);
    TeacherSource from_cache{&cache, logits};
    TeacherSource from_shards;
    from_shards.shards = &shards;
    std::vector<double> losses[2];
    for (int i = 0; i < 2; ++i) {
      arch_.context_length = 16;
      auto r = Train(*NewModel(), *corpus_, i == 0 ? &from_cache : &from_shards, compression_, o,
                     nullptr, [&](const TrainingProgress& p) {
                       losses[i].push_back(p.train_loss);
                       return true;
                     });
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
    EXPECT_EQ(losses[0], losses[1]);
  }
  // A truncated shard is refused when opened.
  std::filesystem::resize_file(dir_ + "/shard-4", 100);
  EXPECT_EQ(TeacherShard::Open(dir_ + "/shard-4").status().code(), StatusCode::kDataLoss);
}

TEST_F(TrainTest, StopsWhenTheCallbackOrTheCancelFlagSays) {
  Gpt model = NewModel();
  auto r = Train(*model, *corpus_, nullptr, compression_, Options(), nullptr,
                 [](const TrainingProgress& p) { return p.step < 10; });
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->stopped);
  EXPECT_EQ(r->steps_run, 10);
  std::atomic<bool> cancel{true};
  TrainOptions o = Options();
  o.cancel = &cancel;
  auto c = Train(*NewModel(), *corpus_, nullptr, compression_, o, nullptr, nullptr);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->stopped);
  EXPECT_EQ(c->steps_run, 0);
}

TEST_F(TrainTest, StopAndResumeFromACheckpointEqualsOneRun) {
  compression_.sparsity = 0.5;
  compression_.weight_bits = 4;
  compression_.group_size = 32;
  Gpt straight = NewModel();
  ASSERT_TRUE(Train(*straight, *corpus_, nullptr, compression_, Options(), nullptr, nullptr).ok());

  TrainOptions o = Options();
  o.checkpoint_path = dir_ + "/ckpt.pt";
  o.stop_at_step = 17;
  Gpt resumed = NewModel();
  auto first = Train(*resumed, *corpus_, nullptr, compression_, o, nullptr, nullptr);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->stopped);
  EXPECT_EQ(first->steps_run, 17);
  ASSERT_TRUE(std::filesystem::exists(o.checkpoint_path));
  o.stop_at_step = 0;
  Gpt again = NewModel();  // a fresh process would rebuild the model
  auto second = Train(*again, *corpus_, nullptr, compression_, o, nullptr, nullptr);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->resumed_from, 17);
  EXPECT_EQ(second->steps_run, 40);
  auto a = straight->named_parameters(), b = again->named_parameters();
  for (const auto& p : a) {
    EXPECT_TRUE(torch::allclose(p.value(), b[p.key()], 1e-5, 1e-6)) << p.key();
  }
  // Final masks keep exactly the layout's count.
  auto* fc = again->layers[0]->as<BlockImpl>()->fc.get();
  EXPECT_EQ(fc->weight_mask.sum().item<int64_t>(), fc->weight.numel() / 2);
}

TEST_F(TrainTest, RejectsZeroStepsAndMissingTeacher) {
  TrainOptions o = Options();
  o.steps = 0;
  EXPECT_EQ(
      Train(*NewModel(), *corpus_, nullptr, compression_, o, nullptr, nullptr).status().code(),
      StatusCode::kInvalidArgument);
  o = Options();
  o.alpha = 0.5;
  EXPECT_EQ(
      Train(*NewModel(), *corpus_, nullptr, compression_, o, nullptr, nullptr).status().code(),
      StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kdnas
