// SentencePieceTokenizer against the sentencepiece library's own encoder:
// tests/formats/sentencepiece_reference.py trains models on a slice of the
// bundled corpus with python3-sentencepiece and writes its ids for every
// text here; the C++ reader must give the same ids, token for token.
#include "formats/sentencepiece_tokenizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "formats/gguf_tokenizer.h"
#include "formats/job_tokenizer.h"

namespace kdnas {
namespace {

constexpr size_t kSliceBytes = 200'000;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Texts that stress the encoder: emoji and ZWJ sequences, CJK, characters
// outside the vocabulary, digit runs, whitespace runs, leading and trailing
// spaces, newlines, tabs, NUL, user-defined symbols, U+2581 itself.
std::vector<std::string> HardStrings() {
  return {
      "",
      " ",
      "   ",
      "Hello world",
      " leading space",
      "trailing space ",
      "  two  spaces  between  ",
      "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 family",
      "\xf0\x9f\x98\x80\xf0\x9f\x8f\xbd\xf0\x9f\x91\x8d",
      "\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97\xe7\xac\xa6 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
      "em\xe2\x80\x94"
      "dash and \xc3\xa9\xc3\xa0\xc3\xbc \xef\xac\x81 ligature \xe2\x84\xab",
      "1234567890 3.14159 0007",
      "line one\nline two\n\nline four\n",
      "tab\there\t\ttwo tabs",
      "\r\n\x0b\x0c mixed",
      std::string("nul\0byte", 8),
      "<user> and [SEP] and ab inside",
      "\xe2\x96\x81 lower one eighth block \xe2\x96\x81\xe2\x96\x81",
      "<s> not a control piece </s> <unk>",
      "xyzzy qqq zzz",
      // Runs where one merge applies at several places (ties go left).
      "aaaaaaa eeeeeee lllllll sssssss ooooooo",
      "         nine spaces and\t\t\t\tfour tabs\n\n\n\n",
      "!!!!!!! ....... ------- 1111111 0000000",
  };
}

struct Reference {
  std::filesystem::path dir;
  std::vector<std::string> texts;
  nlohmann::json json;
  std::string error;
};

Reference* g_reference = nullptr;

// Removes the models and the reference at the end of the run.
class RemoveReference : public ::testing::Environment {
 public:
  void TearDown() override {
    if (g_reference != nullptr) std::filesystem::remove_all(g_reference->dir);
  }
};
const auto* const kRemoveReference = ::testing::AddGlobalTestEnvironment(new RemoveReference);

const Reference& Ref() {
  static const Reference* ref = [] {
    auto* r = g_reference = new Reference;
    r->dir = std::filesystem::temp_directory_path() / ("kdnas-spm-" + std::to_string(::getpid()));
    std::filesystem::create_directories(r->dir);
    r->texts = HardStrings();
    const std::string corpus = ReadFile("data/tinyshakespeare.txt").substr(0, kSliceBytes);
    std::istringstream lines(corpus);
    for (std::string line; std::getline(lines, line);) r->texts.push_back(line);
    r->texts.push_back(corpus);
    nlohmann::json cases = r->texts;
    std::ofstream(r->dir / "cases.json") << cases.dump();
    const std::string command =
        "/usr/bin/python3 tests/formats/sentencepiece_reference.py "
        "data/tinyshakespeare.txt " +
        std::to_string(kSliceBytes) + " " + r->dir.string() + " " +
        (r->dir / "cases.json").string() + " > " + (r->dir / "log.txt").string() + " 2>&1";
    if (std::system(command.c_str()) != 0) {
      r->error = "the reference script failed (python3-sentencepiece missing?): " +
                 ReadFile(r->dir / "log.txt");
      return r;
    }
    r->json = nlohmann::json::parse(ReadFile(r->dir / "reference.json"));
    return r;
  }();
  return *ref;
}

std::string ModelBytes(const std::string& name) { return ReadFile(Ref().dir / (name + ".model")); }

SentencePieceModel LoadModel(const std::string& name) {
  auto m = SentencePieceModel::Parse(ModelBytes(name));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

std::unique_ptr<SentencePieceTokenizer> Make(const std::string& model,
                                             const std::string& config = "",
                                             TokenizerFiles extra = {}) {
  extra["tokenizer.model"] = ModelBytes(model);
  if (!config.empty()) extra["tokenizer_config.json"] = config;
  auto t = SentencePieceTokenizer::Create(extra);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t).value() : nullptr;
}

std::vector<int32_t> Concat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

class SentencePieceReferenceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { ASSERT_TRUE(Ref().error.empty()) << Ref().error; }
};

TEST_P(SentencePieceReferenceTest, EncodesAndDecodesAsTheLibraryDoes) {
  const std::string name = GetParam();
  const SentencePieceModel model = LoadModel(name);
  const nlohmann::json& ref = Ref().json[name];
  ASSERT_EQ(model.piece_size(), ref["piece_size"].get<int>());
  size_t tokens = 0;
  for (size_t i = 0; i < Ref().texts.size(); ++i) {
    const std::string& text = Ref().texts[i];
    const auto want = ref["ids"][i].get<std::vector<int32_t>>();
    auto ids = model.Encode(text, model.normalizer_spec().add_dummy_prefix);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    ASSERT_EQ(*ids, want) << name << " text " << i << ": '" << text.substr(0, 200) << "'";
    auto nodummy = model.Encode(text, false);
    ASSERT_TRUE(nodummy.ok());
    ASSERT_EQ(*nodummy, ref["ids_nodummy"][i].get<std::vector<int32_t>>()) << "text " << i;
    ASSERT_EQ(model.Decode(want, model.normalizer_spec().add_dummy_prefix),
              ref["decoded"][i].get<std::string>())
        << "text " << i;
    tokens += want.size();
  }
  EXPECT_GT(tokens, kSliceBytes / 8);  // the slice was really encoded
}

INSTANTIATE_TEST_SUITE_P(Models, SentencePieceReferenceTest,
                         ::testing::Values("bpe", "unigram", "unigram_bytes"));

TEST(SentencePieceTokenizerTest, ByteFallbackGivesBytePieces) {
  ASSERT_TRUE(Ref().error.empty()) << Ref().error;
  const SentencePieceModel model = LoadModel("bpe");
  auto ids = model.Encode("\xe2\x80\x94", true);  // U+2014, not in the slice
  ASSERT_TRUE(ids.ok());
  std::vector<std::string> pieces;
  for (int32_t id : *ids) pieces.push_back(model.piece(id).text);
  EXPECT_EQ(pieces, (std::vector<std::string>{"\xe2\x96\x81", "<0xE2>", "<0x80>", "<0x94>"}));
  EXPECT_EQ(model.Decode(*ids, true), "\xe2\x80\x94");
}

TEST(SentencePieceTokenizerTest, DefaultsAreLlamaTokenizers) {
  ASSERT_TRUE(Ref().error.empty()) << Ref().error;
  auto t = Make("bpe");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->kind(), "sentencepiece");
  EXPECT_EQ(t->vocab_size(), 1000);
  EXPECT_EQ(t->bos_to_add(), 1);
  EXPECT_EQ(t->eos_id(), 2);
  EXPECT_EQ(t->eos_to_add(), std::nullopt);
  EXPECT_TRUE(t->legacy());
  EXPECT_FALSE(t->byte_level());
  for (size_t i = 0; i < 40 && i < Ref().texts.size(); ++i) {
    const std::string& text = Ref().texts[i];
    // Special-token strings: below; U+2581 decodes as ' ', as in the library.
    if (text.find('<') != std::string::npos || text.find("\xe2\x96\x81") != std::string::npos) {
      continue;
    }
    auto ids = t->Encode(text);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, Ref().json["bpe"]["ids"][i].get<std::vector<int32_t>>()) << i;
    EXPECT_EQ(t->Decode(*ids), text) << i;
  }
}

TEST(SentencePieceTokenizerTest, ConfigSetsBosAndEos) {
  ASSERT_TRUE(Ref().error.empty()) << Ref().error;
  auto no_bos = Make("bpe", R"({"add_bos_token": false, "add_eos_token": true})");
  ASSERT_NE(no_bos, nullptr);
  EXPECT_EQ(no_bos->bos_to_add(), std::nullopt);
  EXPECT_EQ(no_bos->eos_to_add(), 2);
  EXPECT_EQ(no_bos->eos_id(), 2);
  auto objects = Make("bpe", R"({"bos_token": {"__type": "AddedToken", "content": "<s>",
      "lstrip": false, "rstrip": false}, "eos_token": {"content": "</s>"}, "pad_token": null,
      "legacy": false})");
  ASSERT_NE(objects, nullptr);
  EXPECT_EQ(objects->bos_to_add(), 1);
  EXPECT_EQ(objects->eos_id(), 2);
  EXPECT_FALSE(objects->legacy());
  auto none = Make("bpe", R"({"eos_token": null})", {{"special_tokens_map.json", "{}"}});
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(none->eos_id(), std::nullopt);
  EXPECT_EQ(none->bos_to_add(), 1);
}

TEST(SentencePieceTokenizerTest, SpecialTokensInTheTextAreTheirIds) {
  ASSERT_TRUE(Ref().error.empty()) << Ref().error;
  auto legacy = Make("bpe");
  auto modern = Make("bpe", R"({"legacy": false})");
  ASSERT_NE(legacy, nullptr);
  ASSERT_NE(modern, nullptr);
  const SentencePieceModel& m = legacy->model();
  auto sp = [&](const std::string& s, bool dummy) { return m.Encode(s, dummy).value(); };
  // transformers' documented example: legacy "Hello <s>." is ▁Hello ▁ <s> ▁.
  // and non-legacy ▁Hello ▁ <s> . (no dummy prefix after a special token).
  EXPECT_EQ(legacy->Encode("Hello <s>.").value(), Concat({sp("Hello ", true), {1}, sp(".", true)}));
  EXPECT_EQ(modern->Encode("Hello <s>.").value(),
            Concat({sp("Hello ", true), {1}, sp(".", false)}));
  // A leading "▁" before a special token is dropped (non-legacy).
  EXPECT_EQ(modern->Encode("<s>Hello").value(), Concat({{1}, sp("Hello", false)}));
  EXPECT_EQ(legacy->Encode("<s>Hello").value(), Concat({{1}, sp("Hello", true)}));
  // A piece after a special token that starts with a space keeps it.
  EXPECT_EQ(modern->Encode("a</s> b").value(), Concat({sp("a", true), {2}, sp(" b", false)}));
  EXPECT_EQ(legacy->Encode("end</s>").value(), Concat({sp("end", true), {2}}));
  EXPECT_EQ(legacy->Encode("<unk>").value(), (std::vector<int32_t>{0}));
  for (const auto* t : {legacy.get(), modern.get()}) {
    for (const std::string text : {"Hello <s>.", "<s>Hello", "a</s> b", "x <unk> y</s>"}) {
      EXPECT_EQ(t->Decode(t->Encode(text).value()), text) << t->legacy();
    }
  }
}

TEST(SentencePieceTokenizerTest, AddedTokensExtendTheVocabulary) {
  ASSERT_TRUE(Ref().error.empty()) << Ref().error;
  auto t = Make("bpe",
                R"({"added_tokens_decoder": {"1001": {"content": "<|sep|>", "rstrip": true,
                    "lstrip": true, "special": true}}})",
                {{"added_tokens.json", R"({"<extra>": 1000})"}});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->vocab_size(), 1002);
  const SentencePieceModel& m = t->model();
  auto sp = [&](const std::string& s) { return m.Encode(s, true).value(); };
  EXPECT_EQ(t->Encode("a<extra>b").value(), Concat({sp("a"), {1000}, sp("b")}));
  EXPECT_EQ(t->Encode("a  <|sep|>  b").value(), Concat({sp("a"), {1001}, sp("b")}));
  EXPECT_EQ(t->Decode(t->Encode("a<extra>b").value()), "a<extra>b");
  // A special token that is neither a piece nor an added token is added.
  auto pad = Make("bpe", R"({"pad_token": "<pad>"})");
  ASSERT_NE(pad, nullptr);
  EXPECT_EQ(pad->vocab_size(), 1001);
  EXPECT_EQ(pad->Encode("<pad>").value(), (std::vector<int32_t>{1000}));
}

TEST(SentencePieceTokenizerTest, RoundTripsTheCorpus) {
  ASSERT_TRUE(Ref().error.empty()) << Ref().error;
  for (const char* config : {"", R"({"legacy": false})"}) {
    auto t = Make("bpe", config);
    ASSERT_NE(t, nullptr);
    const std::string& corpus = Ref().texts.back();
    auto ids = t->Encode(corpus);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(t->Decode(*ids), corpus);
    for (const std::string& text : HardStrings()) {
      if (text.find('<') != std::string::npos || text.find("\xe2\x96\x81") != std::string::npos) {
        continue;
      }
      EXPECT_EQ(t->Decode(t->Encode(text).value()), text) << config << " '" << text << "'";
    }
    // U+2581 in the text is the piece for ' ': it comes back as a space.
    EXPECT_EQ(t->Decode(t->Encode("a\xe2\x96\x81"
                                  "b")
                            .value()),
              "a b");
  }
}

TEST(SentencePieceTokenizerTest, InvalidUtf8NamesTheOffset) {
  ASSERT_TRUE(Ref().error.empty()) << Ref().error;
  auto t = Make("bpe");
  ASSERT_NE(t, nullptr);
  for (const auto& [text, offset] :
       std::vector<std::pair<std::string, int>>{{"ab\xff"
                                                 "cd",
                                                 2},
                                                {"\xc3", 0},
                                                {"ok \xed\xa0\x80", 3},
                                                {"\xe2\x82", 0},
                                                {"\xc0\xaf", 0},
                                                {"fine\xf4\x90\x80\x80", 4}}) {
    auto ids = t->Encode(text);
    ASSERT_FALSE(ids.ok()) << text;
    EXPECT_EQ(ids.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(ids.status().message().find("invalid UTF-8 at byte " + std::to_string(offset)),
              std::string::npos)
        << ids.status().message();
  }
}

TEST(SentencePieceTokenizerTest, RefusesHostileModelsClearly) {
  ASSERT_TRUE(Ref().error.empty()) << Ref().error;
  auto refused = [](const std::string& bytes) {
    auto t = SentencePieceTokenizer::Create({{"tokenizer.model", bytes}});
    if (t.ok()) {  // a mutation that still parses must still encode safely
      (void)(*t)->Encode("Hello world, \xe4\xb8\xad 123");
      (void)(*t)->Decode({0, 1, 2, 3, 1000000, -5});
      return std::string();
    }
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(t.status().message().rfind("tokenizer.model: ", 0), 0u) << t.status().message();
    return t.status().message();
  };
  EXPECT_EQ(refused(""), "tokenizer.model: not a SentencePiece model: empty");
  EXPECT_NE(refused("not a model at all\n").find("not a SentencePiece model"), std::string::npos);
  std::mt19937 rng(7);
  for (const std::string name : {"bpe", "unigram"}) {
    const std::string real = ModelBytes(name);
    // A cut at a field boundary can leave a valid model (fewer pieces, the
    // trainer spec's defaults), as libsentencepiece agrees; others are refused.
    int cuts = 0, refusals = 0;
    for (size_t cut = 0; cut + 1 < real.size(); cut += 1 + real.size() / 300, ++cuts) {
      refusals += !refused(real.substr(0, cut)).empty();
    }
    EXPECT_GT(refusals, cuts * 9 / 10) << name;
    for (int trial = 0; trial < 300; ++trial) {
      std::string bytes = real;
      for (int k = 0; k < 4; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      refused(bytes);
    }
  }
  for (int trial = 0; trial < 300; ++trial) {
    std::string bytes(rng() % 512, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    refused(bytes);
  }
  // A WORD model (trainer_spec.model_type 3 merged in) is refused by name.
  EXPECT_NE(refused(ModelBytes("bpe") + std::string("\x12\x02\x18\x03", 4))
                .find("model type WORD is not supported"),
            std::string::npos);
}

// A model llama.cpp's SentencePiece tokenizer (SPM: BPE by the pieces'
// scores, no normalizer but the space escape) would tokenize differently is
// refused for GGUF files with the reason; the Llama-2-like BPE model is
// written (tests/workers/gguf_export_test.cc has llama.cpp tokenize it).
TEST(SentencePieceTokenizerTest, GgufWritesWhatLlamaCppTokenizesTheSame) {
  ASSERT_TRUE(Ref().error.empty()) << Ref().error;
  auto metadata = [](const std::string& model_bytes) {
    auto tokenizer = JobTokenizer::FromHfFiles({{"tokenizer.model", model_bytes}}, 1024);
    EXPECT_TRUE(tokenizer.ok()) << tokenizer.status().ToString();
    return GgufTokenizerMetadata(*tokenizer);
  };
  auto written = metadata(ModelBytes("bpe"));
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  std::map<std::string, GgufValue> keys;
  for (const GgufKeyValue& kv : *written) keys[kv.key] = kv.value;
  EXPECT_EQ(std::get<std::string>(keys["tokenizer.ggml.model"]), "llama");
  EXPECT_EQ(std::get<std::vector<std::string>>(keys["tokenizer.ggml.tokens"]).size(), 1024u);
  EXPECT_EQ(std::get<std::vector<float>>(keys["tokenizer.ggml.scores"]).size(), 1024u);
  EXPECT_EQ(std::get<std::vector<int32_t>>(keys["tokenizer.ggml.token_type"])[1023], 5);  // unused
  EXPECT_TRUE(std::get<bool>(keys["tokenizer.ggml.add_space_prefix"]));

  for (const std::string name : {"unigram", "unigram_bytes"}) {
    auto refused = metadata(ModelBytes(name));
    EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition) << name;
    EXPECT_NE(refused.status().message().find("Unigram"), std::string::npos)
        << refused.status().message();
  }
  // normalizer_spec.remove_extra_whitespaces = 1 merged into the BPE model.
  auto squeezes = metadata(ModelBytes("bpe") + std::string("\x1a\x02\x20\x01", 4));
  EXPECT_EQ(squeezes.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(squeezes.status().message().find("removes extra whitespace"), std::string::npos)
      << squeezes.status().message();
}

TEST(SentencePieceTokenizerTest, RefusesBadConfigsByFileName) {
  ASSERT_TRUE(Ref().error.empty()) << Ref().error;
  auto missing = SentencePieceTokenizer::Create({});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  for (const auto& [file, body, message] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"tokenizer_config.json", "{not json", "tokenizer_config.json: not valid JSON"},
           {"tokenizer_config.json", R"({"add_bos_token": "yes"})",
            "tokenizer_config.json: add_bos_token must be true or false"},
           {"special_tokens_map.json", R"({"eos_token": 5})", "special_tokens_map.json: eos_token"},
           {"added_tokens.json", R"({"<x>": "one"})", "added_tokens.json: \"<x>\""},
           {"added_tokens.json", R"({"<x>": 99999999999})", "out of range"}}) {
    auto t = SentencePieceTokenizer::Create({{"tokenizer.model", ModelBytes("bpe")}, {file, body}});
    ASSERT_FALSE(t.ok()) << file << " " << body;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find(message), std::string::npos) << t.status().message();
  }
}

}  // namespace
}  // namespace kdnas
