// A job's tokenizer: kdnas's own or an imported one, one serialized form for
// both, which round-trips and whose size is what the cost model counts.
#include "formats/job_tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "formats/tar_archive.h"

namespace kdnas {
namespace {

// A GPT-2-era vocab.json + merges.txt over the printable ASCII symbols.
TokenizerFiles VocabAndMerges() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int c = '!'; c <= '~'; ++c) vocab[std::string(1, static_cast<char>(c))] = vocab.size();
  vocab["th"] = vocab.size();
  return {{"vocab.json", vocab.dump()},
          {"merges.txt", "#version: 0.2\nt h\n"},
          {"config.json", "{}"},
          {"tokenizer_config.json", R"({"add_bos_token": false})"}};
}

TEST(JobTokenizer, KdnasTokenizersKeepTheirSerializedForm) {
  auto byte = Tokenizer::Build("abc", TokenizerKind::kByte);
  ASSERT_TRUE(byte.ok());
  JobTokenizer t(*byte);
  EXPECT_EQ(t.kind(), JobTokenizer::Kind::kByte);
  EXPECT_EQ(t.vocab_size(), 256);
  EXPECT_EQ(t.serialized(), byte->Serialize());
  EXPECT_TRUE(t.byte_level());
  EXPECT_FALSE(t.bos_to_add());
  auto back = JobTokenizer::Deserialize(t.serialized());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_NE(back->kdnas(), nullptr);
  EXPECT_EQ(*back->kdnas(), *byte);
}

TEST(JobTokenizer, AnImportedTokenizerCarriesTheFilesItWasReadFrom) {
  auto t = JobTokenizer::FromHfFiles(VocabAndMerges(), 128);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->kind(), JobTokenizer::Kind::kBpe);
  EXPECT_EQ(t->vocab_size(), 128);  // config.json's, above the tokenizer's 95
  EXPECT_EQ(t->source(), "vocab.json + merges.txt");
  // config.json is not the tokenizer's.
  std::vector<std::string> names;
  for (const auto& [name, bytes] : t->files()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"merges.txt", "tokenizer_config.json", "vocab.json"}));
  auto ids = t->Encode("the");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 2u);

  // The serialized form: tag 2, the model's vocabulary, a tar of the files.
  const std::string& bytes = t->serialized();
  ASSERT_GT(bytes.size(), 5u);
  EXPECT_EQ(bytes[0], 2);
  EXPECT_EQ(static_cast<uint8_t>(bytes[1]), 128);
  auto files = FilesOfTar(std::string_view(bytes).substr(5), "test");
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(*files, t->files());

  auto back = JobTokenizer::Deserialize(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->serialized(), bytes);
  EXPECT_EQ(back->vocab_size(), 128);
  EXPECT_EQ(*back->Encode("the"), *ids);
}

TEST(JobTokenizer, ATokenizerWiderThanTheModelIsRefused) {
  auto t = JobTokenizer::FromHfFiles(VocabAndMerges(), 50);
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("config.json: vocab_size 50"), std::string::npos)
      << t.status().message();
}

TEST(JobTokenizer, CorruptSerializedFormsAreDataLoss) {
  auto t = JobTokenizer::FromHfFiles(VocabAndMerges(), 128);
  ASSERT_TRUE(t.ok());
  std::string bytes = t->serialized();
  EXPECT_EQ(JobTokenizer::Deserialize(bytes.substr(0, 3)).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(JobTokenizer::Deserialize(bytes.substr(0, bytes.size() / 2)).status().code(),
            StatusCode::kDataLoss);
  // A tar with another file beside the tokenizer's is not kdnas's.
  auto files = t->files();
  files["notes.txt"] = "x";
  std::string extra = bytes.substr(0, 5) + *TarOfFiles(files);
  auto refused = JobTokenizer::Deserialize(extra);
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(JobTokenizer::Deserialize("").status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace kdnas
