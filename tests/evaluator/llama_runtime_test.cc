#include "evaluator/llama_runtime.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

namespace kdnas {
namespace {

namespace fs = std::filesystem;

// tests/fixtures/make_llama_gguf.py's tiny llama (vocab 300, byte-level BPE),
// written once for the suite, and its float64 reference.
class LlamaRuntimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("kdnas-llama-runtime-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    const fs::path json = *dir_ / "reference.json";
    // From the source directory (ctest's working directory), else beside this file.
    fs::path script = "tests/fixtures/make_llama_gguf.py";
    if (!fs::exists(script)) {
      script = fs::path(__FILE__).parent_path().parent_path() / "fixtures/make_llama_gguf.py";
    }
    const std::string command =
        "/usr/bin/python3 " + script.string() + " " + dir_->string() + " > " + json.string();
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    std::ifstream in(json);
    reference_ = new nlohmann::json(nlohmann::json::parse(in));
    gguf_ = new std::string((*dir_ / "model.gguf").string());
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (dir_ != nullptr) fs::remove_all(*dir_, ec);
  }
  void SetUp() override { ASSERT_NE(gguf_, nullptr) << "the fixture was not written"; }

  // One thread: the machine is shared with a build.
  static LlamaRuntimeOptions Options() {
    LlamaRuntimeOptions options;
    options.threads = 1;
    options.n_ctx = 128;
    options.batch_size = 64;
    options.f32_attention = true;
    return options;
  }

  static std::unique_ptr<LlamaRuntime> LoadOrDie(const std::string& path,
                                                 LlamaRuntimeOptions options = Options()) {
    auto runtime = LlamaRuntime::Load(path, options);
    EXPECT_TRUE(runtime.ok()) << runtime.status().ToString();
    return runtime.ok() ? std::move(runtime).value() : nullptr;
  }

  // A copy of the fixture with `edit` applied to its bytes.
  static std::string Damaged(const std::string& name,
                             const std::function<void(std::string&)>& edit) {
    std::ifstream in(*gguf_, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    edit(bytes);
    const std::string path = (*dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  static std::vector<std::vector<int32_t>> Windows() {
    return (*reference_)["windows"].get<std::vector<std::vector<int32_t>>>();
  }

  static fs::path* dir_;
  static nlohmann::json* reference_;
  static std::string* gguf_;
};

fs::path* LlamaRuntimeTest::dir_ = nullptr;
nlohmann::json* LlamaRuntimeTest::reference_ = nullptr;
std::string* LlamaRuntimeTest::gguf_ = nullptr;

TEST_F(LlamaRuntimeTest, LoadsTheFixture) {
  auto runtime = LoadOrDie(*gguf_);
  ASSERT_NE(runtime, nullptr);
  EXPECT_EQ(runtime->n_vocab(), 300);
  EXPECT_EQ(runtime->n_ctx_train(), 256);
  EXPECT_GE(runtime->n_ctx(), 128);
  EXPECT_EQ(runtime->architecture(), "llama");
  // f32 parameters: embeddings and output 2 x 300 x 64, output norm 64, and per
  // layer 2 norms of 64, q/o 64 x 64, k/v 32 x 64, gate/up/down 128 x 64.
  const uint64_t params =
      2 * 300 * 64 + 64 + 2 * (2 * 64 + 2 * 64 * 64 + 2 * 32 * 64 + 3 * 128 * 64);
  EXPECT_EQ(runtime->model_size_bytes(), 4 * params);
}

TEST_F(LlamaRuntimeTest, TokenizesByteLevelBpe) {
  auto runtime = LoadOrDie(*gguf_);
  ASSERT_NE(runtime, nullptr);
  // Ids 0..255 are bytes; the merges make "hell" 258, "Ġwor" 261, "ld" 262.
  auto plain = runtime->Tokenize("hello world", false, false);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(*plain, (std::vector<int32_t>{258, 'o', 261, 262}));
  // add_bos_token: <s> is 298.
  auto with_bos = runtime->Tokenize("hello world", true, false);
  ASSERT_TRUE(with_bos.ok());
  EXPECT_EQ(*with_bos, (std::vector<int32_t>{298, 258, 'o', 261, 262}));
  // "</s>" is the EOS token only when special tokens are parsed.
  auto special = runtime->Tokenize("</s>", false, true);
  ASSERT_TRUE(special.ok());
  EXPECT_EQ(*special, (std::vector<int32_t>{299}));
  auto literal = runtime->Tokenize("</s>", false, false);
  ASSERT_TRUE(literal.ok());
  EXPECT_EQ(*literal, (std::vector<int32_t>{'<', '/', 's', '>'}));
  auto empty = runtime->Tokenize("", false, false);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(LlamaRuntimeTest, MeanNllMatchesTheFloat64Reference) {
  auto runtime = LoadOrDie(*gguf_);
  ASSERT_NE(runtime, nullptr);
  const double expected = (*reference_)["mean_nll"].get<double>();
  auto nll = runtime->MeanNll(Windows());
  ASSERT_TRUE(nll.ok()) << nll.status().ToString();
  // f32 weights and f32 attention: only f32 rounding separates the two.
  EXPECT_NEAR(*nll, expected, 1e-5);
  std::printf("mean NLL, f32 attention: llama.cpp %.7f, reference %.7f, |diff| %.2e\n", *nll,
              expected, std::abs(*nll - expected));
  // The KV cache is cleared between windows: the same windows again, and
  // in the other order, give the same mean.
  const std::vector<std::vector<int32_t>> windows = Windows();
  std::vector<std::vector<int32_t>> reversed(windows.rbegin(), windows.rend());
  auto again = runtime->MeanNll(reversed);
  ASSERT_TRUE(again.ok());
  EXPECT_NEAR(*again, *nll, 1e-9);
}

TEST_F(LlamaRuntimeTest, MeanNllWithLlamaCppDefaultsIsClose) {
  LlamaRuntimeOptions options = Options();
  options.f32_attention = false;  // f16 KV cache, flash attention
  auto runtime = LoadOrDie(*gguf_, options);
  ASSERT_NE(runtime, nullptr);
  const double expected = (*reference_)["mean_nll"].get<double>();
  auto nll = runtime->MeanNll(Windows());
  ASSERT_TRUE(nll.ok()) << nll.status().ToString();
  EXPECT_NEAR(*nll, expected, 1e-3);
  std::printf("mean NLL, llama.cpp defaults: llama.cpp %.7f, reference %.7f, |diff| %.2e\n", *nll,
              expected, std::abs(*nll - expected));
}

TEST_F(LlamaRuntimeTest, MeanNllRefusesWindowsItCannotScore) {
  auto runtime = LoadOrDie(*gguf_);
  ASSERT_NE(runtime, nullptr);
  EXPECT_EQ(runtime->MeanNll({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runtime->MeanNll({{5}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runtime->MeanNll({{5, 300}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runtime->MeanNll({{-1, 5}}).status().code(), StatusCode::kInvalidArgument);
  // 65 positions do not fit one decode of batch 64.
  EXPECT_EQ(runtime->MeanNll({std::vector<int32_t>(66, 7)}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(runtime->MeanNll({std::vector<int32_t>(65, 7)}).ok());
}

TEST_F(LlamaRuntimeTest, MeasuresSpeed) {
  auto runtime = LoadOrDie(*gguf_);
  ASSERT_NE(runtime, nullptr);
  auto speed = runtime->MeasureSpeed(32, 8);
  ASSERT_TRUE(speed.ok()) << speed.status().ToString();
  EXPECT_GT(speed->prompt_tokens_per_second, 0);
  EXPECT_TRUE(std::isfinite(speed->prompt_tokens_per_second));
  EXPECT_GT(speed->decode_ms_per_token, 0);
  EXPECT_TRUE(std::isfinite(speed->decode_ms_per_token));
  EXPECT_EQ(speed->threads, 1);
  EXPECT_EQ(speed->runtime.rfind("llama.cpp ", 0), 0u) << speed->runtime;
  EXPECT_FALSE(speed->cpu.empty());
  EXPECT_NE(speed->description.find("1 thread"), std::string::npos);
  std::printf("%s\n", speed->description.c_str());
  EXPECT_EQ(runtime->MeasureSpeed(65, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runtime->MeasureSpeed(1, runtime->n_ctx()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(runtime->MeasureSpeed(0, 1).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LlamaRuntimeTest, GeneratesDeterministicallyForASeed) {
  auto runtime = LoadOrDie(*gguf_);
  ASSERT_NE(runtime, nullptr);
  auto first = runtime->Generate("hello", 12, 42, 0.8f);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->empty());
  auto second = runtime->Generate("hello", 12, 42, 0.8f);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  auto greedy = runtime->Generate("hello", 12, 0, 0.0f);
  ASSERT_TRUE(greedy.ok());
  EXPECT_FALSE(greedy->empty());
  EXPECT_EQ(*greedy, *runtime->Generate("hello", 12, 7, 0.0f));
  auto none = runtime->Generate("hello", 0, 42, 0.8f);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(LlamaRuntimeTest, RefusesAMissingFileAndBadOptions) {
  auto missing = LlamaRuntime::Load((*dir_ / "absent.gguf").string(), Options());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  LlamaRuntimeOptions options = Options();
  options.n_ctx = 0;
  EXPECT_EQ(LlamaRuntime::Load(*gguf_, options).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LlamaRuntimeTest, RefusesATruncatedFile) {
  const std::string path =
      Damaged("truncated.gguf", [](std::string& b) { b.resize(b.size() / 2); });
  auto runtime = LlamaRuntime::Load(path, Options());
  ASSERT_FALSE(runtime.ok());
  const std::string& message = runtime.status().message();
  EXPECT_EQ(runtime.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(message.rfind("llama.cpp could not load '" + path + "': ", 0), 0u) << message;
  EXPECT_NE(message.find("not within the file bounds"), std::string::npos) << message;
  std::printf("truncated: %s\n", message.c_str());
}

// The header's tensor count (a little-endian uint64 after magic and version).
void AddToTensorCount(std::string& bytes, int64_t delta) {
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
  n += static_cast<uint64_t>(delta);
  for (int i = 0; i < 8; ++i) bytes[8 + i] = static_cast<char>(n >> (8 * i));
}

// One tensor too many: the parser reads tensor data as a tensor info.
TEST_F(LlamaRuntimeTest, RefusesATensorCountTooHigh) {
  const std::string path = Damaged("count+1.gguf", [](std::string& b) { AddToTensorCount(b, 1); });
  auto runtime = LlamaRuntime::Load(path, Options());
  ASSERT_FALSE(runtime.ok());
  const std::string& message = runtime.status().message();
  EXPECT_EQ(runtime.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(message.rfind("llama.cpp could not load '" + path + "': ", 0), 0u) << message;
  EXPECT_NE(message.find("gguf_init_from_reader: "), std::string::npos) << message;
  std::printf("tensor count +1: %s\n", message.c_str());
}

// One too few: llama.cpp itself loads it (output.weight is optional) with
// every weight read 32 or 64 bytes early; the data-span check refuses it.
TEST_F(LlamaRuntimeTest, RefusesATensorCountTooLow) {
  const std::string path = Damaged("count-1.gguf", [](std::string& b) { AddToTensorCount(b, -1); });
  auto runtime = LlamaRuntime::Load(path, Options());
  ASSERT_FALSE(runtime.ok());
  const std::string& message = runtime.status().message();
  EXPECT_EQ(runtime.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("tensor count or offsets are wrong"), std::string::npos) << message;
  std::printf("tensor count -1: %s\n", message.c_str());
}

TEST_F(LlamaRuntimeTest, RefusesAFileThatIsNotGguf) {
  const std::string path = Damaged("text.gguf", [](std::string& b) { b = "not a gguf file\n"; });
  auto runtime = LlamaRuntime::Load(path, Options());
  ASSERT_FALSE(runtime.ok());
  const std::string& message = runtime.status().message();
  EXPECT_EQ(message.rfind("llama.cpp could not load '" + path + "': ", 0), 0u) << message;
  EXPECT_EQ(message.find("no error logged"), std::string::npos) << message;
  std::printf("not GGUF: %s\n", message.c_str());
}

}  // namespace
}  // namespace kdnas
