#include "formats/torchscript_archive.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/fixtures/teacher_fixture.h"

namespace kdnas {
namespace {

class TorchScriptArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kdnas-archive-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(TorchScriptArchiveTest, ReadsTheExtraFilesItHolds) {
  auto tokenizer = Tokenizer::Build("hello world", TokenizerKind::kChar);
  ASSERT_TRUE(tokenizer.ok());
  ASSERT_TRUE(WriteTeacherFixture(Path("t.pt"), *tokenizer, "{}").ok());
  auto extras = ReadTorchScriptExtraFiles(Path("t.pt"), {"kdnas/tokenizer.bin", "kdnas/none"});
  ASSERT_TRUE(extras.ok()) << extras.status().ToString();
  ASSERT_EQ(extras->size(), 1u);
  EXPECT_EQ(extras->at("kdnas/tokenizer.bin"), tokenizer->Serialize());
}

TEST_F(TorchScriptArchiveTest, RefusesWhatIsNotATorchScriptFile) {
  { std::ofstream(Path("text.pt")) << "just some text, not a model\n"; }
  auto text = ReadTorchScriptExtraFiles(Path("text.pt"), {"kdnas/tokenizer.bin"});
  EXPECT_EQ(text.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(text.status().message().find("not a zip archive"), std::string::npos)
      << text.status().message();
  auto missing = ReadTorchScriptExtraFiles(Path("absent.pt"), {"kdnas/tokenizer.bin"});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_F(TorchScriptArchiveTest, BoundsTheSizeOfAnExtraFile) {
  auto tokenizer = Tokenizer::Build("abcdefghijklmnopqrstuvwxyz", TokenizerKind::kChar);
  ASSERT_TRUE(tokenizer.ok());
  ASSERT_TRUE(WriteTeacherFixture(Path("t.pt"), *tokenizer).ok());
  auto extras = ReadTorchScriptExtraFiles(Path("t.pt"), {"kdnas/tokenizer.bin"}, /*max_bytes=*/8);
  EXPECT_EQ(extras.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace kdnas
