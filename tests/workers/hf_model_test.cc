// kdnas's LibTorch model of each imported architecture against a PyTorch
// reference written from transformers' formulas
// (tests/fixtures/hf_checkpoint.py), on checkpoints that reference writes in
// the Hugging Face layout: logits within 1e-4 for F32 weights.
#include "workers/hf_model.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "formats/safetensors.h"
#include "workers/hf_weights.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

class HfModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kdnas-hf-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes a checkpoint of `family` with the reference's logits; returns its directory.
  std::string Checkpoint(const std::string& family, const std::string& options = "") {
    const std::string out = (dir_ / (family + std::to_string(count_++))).string();
    const std::string command =
        "/usr/bin/python3 tests/fixtures/hf_checkpoint.py " + family + " " + out + " " + options;
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return out;
  }

  // The largest |kdnas - reference| over the reference's ids, and the
  // logits' own scale (their standard deviation), so a match is not a
  // match of near-constant outputs.
  void ExpectReferenceLogits(const std::string& directory, double tolerance) {
    auto model = LoadHfModel(directory);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    auto reference = SafetensorsFile::Open(directory + "/reference.safetensors");
    ASSERT_TRUE(reference.ok()) << reference.status().ToString();
    auto ids_bytes = reference->ReadTensorBytes("ids");
    auto expected = reference->ReadFloat32("logits");
    ASSERT_TRUE(ids_bytes.ok() && expected.ok());
    const auto* ids_info = reference->Find("ids");
    auto ids = torch::from_blob(ids_bytes->data(), ids_info->shape, torch::kInt64).clone();
    auto want =
        torch::from_blob(expected->data(), reference->Find("logits")->shape, torch::kFloat).clone();
    auto got = model->Logits(ids);
    ASSERT_EQ(got.sizes(), want.sizes());
    const double diff = (got - want).abs().max().item<double>();
    const double scale = want.std().item<double>();
    EXPECT_LT(diff, tolerance) << directory;
    std::cout << directory << ": max |kdnas - reference| " << diff << ", logits' std " << scale
              << "\n";
    EXPECT_GT(scale, 0.5) << "the reference's logits are nearly constant: a weak test";
    // Each row is a different distribution: the model is not ignoring its input.
    EXPECT_GT((want[0][0] - want[0][1]).abs().max().item<double>(), 0.5);
  }

  fs::path dir_;
  int count_ = 0;
};

TEST_F(HfModelTest, LlamaWithGroupedQueryAttentionAndTiedEmbeddingsMatchesTheReference) {
  ExpectReferenceLogits(Checkpoint("llama"), 1e-4);
}

TEST_F(HfModelTest, Llama3RopeScalingAndAnExplicitHeadDimMatchTheReference) {
  ExpectReferenceLogits(Checkpoint("llama", "--variant llama3"), 1e-4);
  ExpectReferenceLogits(Checkpoint("llama", "--variant rope_parameters"), 1e-4);
}

TEST_F(HfModelTest, Qwen2WithItsBiasesMatchesTheReference) {
  ExpectReferenceLogits(Checkpoint("qwen2"), 1e-4);
}

TEST_F(HfModelTest, Gpt2WithConv1DWeightsMatchesTheReferenceWithAndWithoutPrefix) {
  ExpectReferenceLogits(Checkpoint("gpt2"), 1e-4);
  ExpectReferenceLogits(Checkpoint("gpt2", "--variant unprefixed"), 1e-4);
}

TEST_F(HfModelTest, HalfPrecisionAndShardedCheckpointsLoad) {
  // The reference runs on the rounded weights too; kdnas computes in fp32
  // from the same rounded values, so the match stays tight.
  ExpectReferenceLogits(Checkpoint("llama", "--dtype BF16"), 1e-4);
  ExpectReferenceLogits(Checkpoint("qwen2", "--dtype F16 --shard-bytes 40000"), 1e-4);
  EXPECT_TRUE(fs::exists(dir_ / "qwen21" / "model.safetensors.index.json"));
}

TEST_F(HfModelTest, AMisShapedOrMissingTensorIsNamed) {
  const std::string good = Checkpoint("llama");
  // config.json promising a wider MLP than the weights have.
  {
    std::string config;
    {
      std::ifstream in(good + "/config.json");
      config.assign(std::istreambuf_iterator<char>(in), {});
    }
    const std::string key = "\"intermediate_size\": 96";
    const auto at = config.find(key);
    ASSERT_NE(at, std::string::npos);
    config.replace(at, key.size(), "\"intermediate_size\": 128");
    std::ofstream(good + "/config.json") << config;
  }
  auto model = LoadHfModel(good);
  ASSERT_EQ(model.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(model.status().message().find("model.layers.0.mlp.gate_proj.weight"), std::string::npos)
      << model.status().message();
}

}  // namespace
}  // namespace kdnas
