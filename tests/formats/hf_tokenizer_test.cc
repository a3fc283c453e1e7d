// Which of a checkpoint's tokenizer files LoadHfTokenizer runs, and that the
// record says why a tokenizer.json was passed over.
#include "formats/hf_tokenizer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace kdnas {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A Llama-2-era tokenizer.json: BPE with byte fallback behind a Metaspace
// normalizer, which kdnas does not run from tokenizer.json.
constexpr char kLlama2TokenizerJson[] = R"({
  "version": "1.0", "added_tokens": [], "normalizer": {"type": "Sequence", "normalizers": [
    {"type": "Prepend", "prepend": "\u2581"}, {"type": "Replace", "pattern": {"String": " "},
    "content": "\u2581"}]}, "pre_tokenizer": null, "post_processor": null, "decoder": null,
  "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "byte_fallback": true,
    "fuse_unk": true, "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2}, "merges": []}})";

// A GPT-2-era vocab.json + merges.txt: the printable byte-level symbols and
// one merge.
TokenizerFiles VocabAndMerges() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int c = '!'; c <= '~'; ++c) vocab[std::string(1, static_cast<char>(c))] = vocab.size();
  vocab["th"] = vocab.size();
  return {{"vocab.json", vocab.dump()}, {"merges.txt", "#version: 0.2\nt h\n"}};
}

TEST(HfTokenizer, TokenizerJsonFirstThenTokenizerModelThenVocabAndMerges) {
  auto none = LoadHfTokenizer({{"config.json", "{}"}});
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("no tokenizer"), std::string::npos);

  auto pair = LoadHfTokenizer(VocabAndMerges());
  ASSERT_TRUE(pair.ok()) << pair.status().ToString();
  EXPECT_EQ(pair->source, "vocab.json + merges.txt");
  EXPECT_EQ(pair->tokenizer->kind(), "bpe");
  auto ids = pair->tokenizer->Encode("the");
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(ids->size(), 2u);  // "th" + "e"

  // A tokenizer.json kdnas cannot run, and no tokenizer.model: its reason.
  auto json_only = LoadHfTokenizer({{"tokenizer.json", kLlama2TokenizerJson}});
  EXPECT_EQ(json_only.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(json_only.status().message().find("tokenizer.json"), std::string::npos)
      << json_only.status().message();
}

TEST(HfTokenizer, ALlama2CheckpointRunsItsTokenizerModelAndSaysWhyNotTheJson) {
  const fs::path dir = fs::temp_directory_path() / ("kdnas-hftok-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string script =
      "import sentencepiece as spm, sys\n"
      "spm.SentencePieceTrainer.train(input=sys.argv[1], model_prefix=sys.argv[2], "
      "model_type='bpe', vocab_size=400, byte_fallback=True, unk_id=0, bos_id=1, eos_id=2, "
      "pad_id=-1, input_sentence_size=20000, minloglevel=2)\n";
  std::ofstream(dir / "train.py") << script;
  const std::string command = "/usr/bin/python3 " + (dir / "train.py").string() +
                              " data/tinyshakespeare.txt " + (dir / "sp").string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  TokenizerFiles files = {{"tokenizer.json", kLlama2TokenizerJson},
                          {"tokenizer.model", ReadFile(dir / "sp.model")}};
  auto loaded = LoadHfTokenizer(files);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->source, "tokenizer.model");
  EXPECT_EQ(loaded->tokenizer->kind(), "sentencepiece");
  EXPECT_NE(loaded->passed_over.find("tokenizer.json"), std::string::npos) << loaded->passed_over;
  EXPECT_EQ(loaded->tokenizer->bos_to_add(), 1);  // LlamaTokenizer adds BOS by default

  files["tokenizer.model"] = "not a model";
  auto broken = LoadHfTokenizer(files);
  EXPECT_EQ(broken.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(broken.status().message().find("tokenizer.model"), std::string::npos);
  EXPECT_NE(broken.status().message().find("tokenizer.json"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kdnas
