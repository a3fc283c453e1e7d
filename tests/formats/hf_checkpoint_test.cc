// What the controller reads of a Hugging Face checkpoint (directory or tar):
// config, headers and small files, and the refusals that name the tensor.
#include "formats/hf_checkpoint.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "formats/tar_archive.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

class HfCheckpointTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("kdnas-hfc-" + std::to_string(getpid())));
    fs::remove_all(*dir_);
    const std::string command =
        "/usr/bin/python3 tests/formats/make_hf_checkpoints.py " + dir_->string();
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string Path(const std::string& name) { return (*dir_ / name).string(); }
  static std::string Tar(const std::string& name) {
    const std::string tar = Path(name + ".tar");
    EXPECT_TRUE(WriteTar(Path(name), tar).ok());
    return tar;
  }
  static void ExpectRefused(const std::string& name, const std::string& fragment) {
    for (const std::string& path : {Path(name), Tar(name)}) {
      auto headers = ReadHfCheckpointHeaders(path);
      EXPECT_EQ(headers.status().code(), StatusCode::kInvalidArgument) << path;
      EXPECT_NE(headers.status().message().find(fragment), std::string::npos)
          << headers.status().message();
    }
  }
  static fs::path* dir_;
};
fs::path* HfCheckpointTest::dir_ = nullptr;

TEST_F(HfCheckpointTest, ReadsEachFamilyFromADirectoryAndFromATarAlike) {
  for (const std::string family : {"llama", "qwen2", "gpt2"}) {
    auto from_dir = ReadHfCheckpointHeaders(Path(family));
    ASSERT_TRUE(from_dir.ok()) << family << ": " << from_dir.status().ToString();
    auto from_tar = ReadHfCheckpointHeaders(Tar(family));
    ASSERT_TRUE(from_tar.ok()) << family << ": " << from_tar.status().ToString();
    EXPECT_EQ(FamilyName(from_dir->config.family), family);
    EXPECT_EQ(from_dir->parameters, from_tar->parameters);
    EXPECT_EQ(from_dir->name_prefix, from_tar->name_prefix);
    EXPECT_EQ(from_dir->files, from_tar->files);
    EXPECT_EQ(from_dir->weight_dtype, "F32");
    EXPECT_EQ(from_dir->weight_bytes, 4 * from_dir->parameters);
    EXPECT_TRUE(from_dir->files.contains("config.json"));
  }
  // Llama fixture: 300 x 64 embeddings (tied), 2 layers of 2 norms + q, k, v, o
  // (64x64, 32x64, 32x64, 64x64) + gate, up, down (96x64 each), final norm.
  auto llama = ReadHfCheckpointHeaders(Path("llama"));
  ASSERT_TRUE(llama.ok());
  EXPECT_EQ(llama->parameters, 300 * 64 + 2 * (2 * 64 + 4096 + 2048 + 2048 + 4096 + 3 * 6144) + 64);
  EXPECT_EQ(llama->name_prefix, "model.");
  auto gpt2 = ReadHfCheckpointHeaders(Path("gpt2"));
  ASSERT_TRUE(gpt2.ok());
  EXPECT_EQ(gpt2->name_prefix, "transformer.");
}

TEST_F(HfCheckpointTest, ReadsAShardedBf16CheckpointFromATarWithoutItsWeights) {
  ASSERT_TRUE(fs::exists(Path("sharded/model.safetensors.index.json")));
  auto from_tar = ReadHfCheckpointHeaders(Tar("sharded"));
  ASSERT_TRUE(from_tar.ok()) << from_tar.status().ToString();
  EXPECT_EQ(from_tar->weight_dtype, "BF16");
  EXPECT_EQ(from_tar->weight_bytes, 2 * from_tar->parameters);
  auto from_dir = ReadHfCheckpointHeaders(Path("sharded"));
  ASSERT_TRUE(from_dir.ok()) << from_dir.status().ToString();
  EXPECT_EQ(from_dir->parameters, from_tar->parameters);
}

TEST_F(HfCheckpointTest, RefusesMissingExtraMisShapedAndNonFloatTensorsNamingThem) {
  ExpectRefused("missing", "tensor model.layers.1.mlp.down_proj.weight: missing");
  ExpectRefused("extra", "tensor model.layers.0.mlp.router.weight: not a tensor of a");
  ExpectRefused("misshaped", "tensor model.layers.0.self_attn.k_proj.bias: shape [31]");
  ExpectRefused("int_dtype", "tensor transformer.ln_f.bias: dtype I32");
}

TEST_F(HfCheckpointTest, AcceptsATiedCopyOfTheEmbeddingAndMaskBuffers) {
  auto tied = ReadHfCheckpointHeaders(Path("tied_copy"));
  ASSERT_TRUE(tied.ok()) << tied.status().ToString();
  auto plain = ReadHfCheckpointHeaders(Path("llama"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(tied->parameters, plain->parameters);  // the copy is not counted
  auto buffers = ReadHfCheckpointHeaders(Path("buffers"));
  EXPECT_TRUE(buffers.ok()) << buffers.status().ToString();
}

TEST_F(HfCheckpointTest, ADirectoryWithoutConfigOrWeightsIsNotFound) {
  fs::create_directories(Path("empty"));
  EXPECT_EQ(ReadHfCheckpointHeaders(Path("empty")).status().code(), StatusCode::kNotFound);
  fs::create_directories(Path("config_only"));
  fs::copy_file(Path("llama/config.json"), Path("config_only/config.json"));
  auto weights = ReadHfCheckpointHeaders(Path("config_only"));
  EXPECT_EQ(weights.status().code(), StatusCode::kNotFound);
  EXPECT_NE(weights.status().message().find("safetensors"), std::string::npos);
  EXPECT_EQ(ReadHfCheckpointHeaders(Path("nowhere")).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kdnas
