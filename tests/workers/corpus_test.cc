#include "workers/corpus.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace kdnas {
namespace {

TEST(Corpus, SplitsTheLastTenPercentForValidation) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += static_cast<char>('a' + i % 26);
  auto c = Corpus::FromText(text, nullptr);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->train_tokens().numel(), 90);
  EXPECT_EQ(c->val_tokens().numel(), 10);
  EXPECT_EQ(c->val_tokens()[0].item<int64_t>(), 90 % 26);  // 'm', id 12 of a..z
  EXPECT_TRUE(c->CheckContext(8).ok());
  auto small = c->CheckContext(64);
  EXPECT_EQ(small.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(small.message().find("too small"), std::string::npos);
}

TEST(Corpus, RejectsEmptyBinaryAndForeignSymbols) {
  EXPECT_EQ(Corpus::FromText("", nullptr).status().code(), StatusCode::kInvalidArgument);
  auto binary = Corpus::FromText(std::string("\x7f"
                                             "ELF\0\0\x01",
                                             7),
                                 nullptr);
  ASSERT_FALSE(binary.ok());
  EXPECT_NE(binary.status().message().find("binary"), std::string::npos);
  const JobTokenizer tok(*Tokenizer::Build("abc", TokenizerKind::kChar));
  auto foreign = Corpus::FromText("abcabcxyz", &tok);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find("cannot be encoded by the teacher's char tokenizer"),
            std::string::npos)
      << foreign.status().message();
  EXPECT_EQ(Corpus::FromFile("/nonexistent/file.txt", nullptr).status().code(),
            StatusCode::kNotFound);
  CorpusOptions bad;
  bad.validation_fraction = 0.9;
  EXPECT_FALSE(Corpus::FromText("abcdef", nullptr, bad).ok());
}

TEST(Corpus, BatchesAreDeterministicWindowsWithShiftedTargets) {
  auto c = Corpus::FromText(testing::Shakespeare(), nullptr);
  ASSERT_TRUE(c.ok());
  const auto& train = c->train_tokens();
  auto a = BatchStarts(7, 3, 12, train.numel(), 64);
  EXPECT_EQ(a, BatchStarts(7, 3, 12, train.numel(), 64));
  EXPECT_NE(a, BatchStarts(7, 4, 12, train.numel(), 64));
  EXPECT_NE(a, BatchStarts(8, 3, 12, train.numel(), 64));
  for (int64_t s : a) {
    EXPECT_GE(s, 0);
    EXPECT_LE(s + 64, train.numel() - 1);
  }
  Batch b = MakeBatch(train, a, 64, std::nullopt);
  EXPECT_EQ(b.x.sizes(), (std::vector<int64_t>{12, 64}));
  EXPECT_TRUE(torch::equal(b.x.narrow(1, 1, 63), b.y.narrow(1, 0, 63)));
  EXPECT_EQ(b.x[5][0].item<int64_t>(), train[a[5]].item<int64_t>());
}

// Training on a prefix of longer windows (TrainOptions::window_length) is
// training on windows of the prefix's length, with or without a BOS.
TEST(Corpus, AWindowsPrefixIsTheShorterWindow) {
  auto tokens = torch::arange(1000, torch::kInt64);
  const std::vector<int64_t> starts = {0, 17, 900};
  for (std::optional<int32_t> bos : {std::optional<int32_t>(), std::optional<int32_t>(7)}) {
    Batch long_windows = MakeBatch(tokens, starts, 64, bos);
    Batch short_windows = MakeBatch(tokens, starts, 16, bos);
    EXPECT_TRUE(long_windows.x.narrow(1, 0, 16).equal(short_windows.x));
    EXPECT_TRUE(long_windows.y.narrow(1, 0, 16).equal(short_windows.y));
  }
}

TEST(Corpus, EvalWindowsAreFixedAndSpreadOverTheSplit) {
  auto starts = EvalStarts(10000, 64, 16384);
  EXPECT_EQ(starts.size(), 10000u / 64);  // capped by what fits
  auto few = EvalStarts(100000, 64, 640);
  ASSERT_EQ(few.size(), 10u);
  EXPECT_EQ(few.front(), 0);
  EXPECT_EQ(few.back(), 100000 - 65);
  EXPECT_EQ(few, EvalStarts(100000, 64, 640));
}

}  // namespace
}  // namespace kdnas
