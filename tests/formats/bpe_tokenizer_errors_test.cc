// BpeTokenizer on malformed, hostile and unsupported files: clear
// INVALID_ARGUMENT errors naming the file and key, never a crash; and the
// options whose effect is easiest to see on a hand-made vocabulary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "formats/bpe_tokenizer.h"
#include "formats/byte_level.h"
#include "formats/pre_tokenizer.h"

namespace kdnas {
namespace {

using nlohmann::json;

// A byte-level tokenizer: the 256 byte characters, "he", "ll", "hell",
// "hello", "Ġw" and "<|end|>" (an added special token), and a template that
// puts "<|bos|>" first.
json ValidTokenizer() {
  json vocab = json::object();
  int id = 0;
  for (int b = 0; b < 256; ++b) vocab[std::string(ByteLevelChar(static_cast<uint8_t>(b)))] = id++;
  for (const char* t : {"he", "ll", "hell", "hello", "Ġw", "<|bos|>"}) vocab[t] = id++;
  json merges =
      json::array({json::array({"h", "e"}), json::array({"l", "l"}), json::array({"he", "ll"}),
                   json::array({"hell", "o"}), json::array({"Ġ", "w"})});
  return {
      {"version", "1.0"},
      {"added_tokens",
       json::array(
           {{{"id", id}, {"content", "<|end|>"}, {"special", true}, {"normalized", false}},
            {{"id", id - 1}, {"content", "<|bos|>"}, {"special", true}, {"normalized", false}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", json::array({{{"SpecialToken", {{"id", "<|bos|>"}, {"type_id", 0}}}},
                                {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
        {"pair", json::array()},
        {"special_tokens",
         {{"<|bos|>", {{"id", "<|bos|>"}, {"ids", {id - 1}}, {"tokens", {"<|bos|>"}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"vocab", vocab},
        {"merges", merges}}},
  };
}

StatusOr<std::unique_ptr<BpeTokenizer>> Load(const std::string& text, TokenizerFiles extra = {}) {
  extra["tokenizer.json"] = text;
  return BpeTokenizer::FromTokenizerJson(extra);
}

// Expects INVALID_ARGUMENT with `needle` in the message.
void ExpectRefused(const json& tokenizer, const std::string& needle) {
  StatusOr<std::unique_ptr<BpeTokenizer>> t = Load(tokenizer.dump());
  ASSERT_FALSE(t.ok()) << needle;
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find(needle), std::string::npos) << t.status().message();
}

TEST(BpeTokenizerErrorsTest, TheValidOneLoadsAndEncodes) {
  StatusOr<std::unique_ptr<BpeTokenizer>> t = Load(ValidTokenizer().dump());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE((*t)->byte_level());
  EXPECT_EQ((*t)->bos_to_add(), (*t)->TokenToId("<|bos|>"));
  EXPECT_EQ((*t)->vocab_size(), 263);
  StatusOr<std::vector<int32_t>> ids = (*t)->Encode("hello world<|end|>");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->front(), *(*t)->TokenToId("hello"));
  EXPECT_EQ(ids->back(), 262);
  EXPECT_EQ((*t)->Decode(*ids), "hello world<|end|>");
}

TEST(BpeTokenizerErrorsTest, NotJson) {
  for (const std::string& text :
       std::vector<std::string>{"", "{", "[1, 2]", "\xff\xfe", std::string(100000, '[')}) {
    StatusOr<std::unique_ptr<BpeTokenizer>> t = Load(text);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(t.status().message().rfind("tokenizer.json", 0), 0u) << t.status().message();
  }
  EXPECT_EQ(BpeTokenizer::FromTokenizerJson({}).status().code(), StatusCode::kNotFound);
}

TEST(BpeTokenizerErrorsTest, OtherModels) {
  json t = ValidTokenizer();
  t["model"]["type"] = "WordPiece";
  ExpectRefused(t, R"(tokenizer.json: model.type "WordPiece" is not supported (kdnas reads BPE))");
  t["model"]["type"] = "Unigram";
  ExpectRefused(t, R"(model.type "Unigram" is not supported)");
}

TEST(BpeTokenizerErrorsTest, BpeOptionsKdnasDoesNotRun) {
  const std::vector<std::pair<std::pair<std::string, json>, std::string>> cases = {
      {{"dropout", 0.1}, "model.dropout"},
      {{"byte_fallback", true}, "model.byte_fallback"},
      {{"continuing_subword_prefix", "##"}, "model.continuing_subword_prefix"},
      {{"end_of_word_suffix", "</w>"}, "model.end_of_word_suffix"},
      {{"unk_token", "<unk>"}, "model.unk_token \"<unk>\" is not in the vocabulary"},
      {{"ignore_merges", "yes"}, "model.ignore_merges is not true or false"},
  };
  for (const auto& [edit, needle] : cases) {
    json t = ValidTokenizer();
    t["model"][edit.first] = edit.second;
    ExpectRefused(t, needle);
  }
  // Empty prefixes (GPT-2's files have them) and a zero dropout are no-ops.
  json t = ValidTokenizer();
  t["model"]["continuing_subword_prefix"] = "";
  t["model"]["end_of_word_suffix"] = "";
  t["model"]["dropout"] = 0.0;
  EXPECT_TRUE(Load(t.dump()).ok());
}

TEST(BpeTokenizerErrorsTest, BadVocabularyAndMerges) {
  json t = ValidTokenizer();
  t["model"]["merges"].push_back(json::array({"zz", "q"}));
  ExpectRefused(t, R"(model.merges: "zz" is not in the vocabulary)");
  t = ValidTokenizer();
  t["model"]["merges"].push_back(json::array({"w", "o"}));  // "wo" is not in the vocabulary
  ExpectRefused(t, R"("wo" is not in the vocabulary)");
  t = ValidTokenizer();
  t["model"]["merges"] = json::array({"h e", "l l l"});
  ExpectRefused(t, "model.merges[1]");
  t["model"]["merges"] = json::array({json::array({"h"})});
  ExpectRefused(t, "model.merges[0]");
  t = ValidTokenizer();
  t["model"]["vocab"]["x"] = -1;
  ExpectRefused(t, "model.vocab.x is not a token id");
  t["model"]["vocab"]["x"] = "1";
  ExpectRefused(t, "model.vocab.x");
  t["model"]["vocab"] = json::array();
  ExpectRefused(t, "model.vocab");
  // Both merges forms load alike.
  t = ValidTokenizer();
  t["model"]["merges"] = json::array({"h e", "l l", "he ll", "hell o", "Ġ w"});
  StatusOr<std::unique_ptr<BpeTokenizer>> legacy = Load(t.dump());
  ASSERT_TRUE(legacy.ok()) << legacy.status().ToString();
  EXPECT_EQ(*(*legacy)->Encode("hello"), std::vector<int32_t>{*(*legacy)->TokenToId("hello")});
}

TEST(BpeTokenizerErrorsTest, UnsupportedParts) {
  json t = ValidTokenizer();
  t["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "▁"}};
  ExpectRefused(t, R"(tokenizer.json: pre_tokenizer.type "Metaspace" is not supported)");
  t["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers", json::array({{{"type", "Digits"}}, {{"type", "Whitespace"}}})}};
  ExpectRefused(t, "pre_tokenizer.pretokenizers[1].type");
  t["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  ExpectRefused(t, "pre_tokenizer.pattern.Regex");
  t["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"Regex", "[[:alpha:]]"}}}, {"behavior", "Isolated"}};
  ExpectRefused(t, "POSIX bracket");
  t["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Sideways"}};
  ExpectRefused(t, "pre_tokenizer.behavior");
  t = ValidTokenizer();
  t["normalizer"] = {{"type", "Lowercase"}};
  ExpectRefused(t, R"(normalizer.type "Lowercase" is not supported)");
  t = ValidTokenizer();
  t["decoder"] = {{"type", "WordPiece"}};
  ExpectRefused(t, "decoder.type");
  t = ValidTokenizer();
  t["post_processor"] = {{"type", "RobertaProcessing"}};
  ExpectRefused(t, "post_processor.type");
  t = ValidTokenizer();
  t["post_processor"]["single"].push_back({{"SpecialToken", {{"id", "<|bos|>"}, {"type_id", 0}}}});
  ExpectRefused(t, "post_processor.single[2] puts \"<|bos|>\" after $A");
  t = ValidTokenizer();
  t["post_processor"]["special_tokens"] = json::object();
  ExpectRefused(t, "post_processor.special_tokens has no ids");
  t = ValidTokenizer();
  t["version"] = "2.0";
  ExpectRefused(t, "version");
}

TEST(BpeTokenizerErrorsTest, ConfigFiles) {
  const std::string tokenizer = ValidTokenizer().dump();
  StatusOr<std::unique_ptr<BpeTokenizer>> t =
      Load(tokenizer, {{"tokenizer_config.json", R"({"add_bos_token": true})"}});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("add_bos_token is true but no bos_token"), std::string::npos);
  t = Load(tokenizer, {{"tokenizer_config.json", R"({"eos_token": "<|nope|>"})"}});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find(R"(tokenizer_config.json: eos_token "<|nope|>")"),
            std::string::npos);
  t = Load(tokenizer, {{"tokenizer_config.json", "not json"}});
  EXPECT_EQ(t.status().message().rfind("tokenizer_config.json: not JSON", 0), 0u);

  // add_bos_token decides over the template, either way.
  t = Load(tokenizer,
           {{"tokenizer_config.json", R"({"add_bos_token": false, "eos_token": "<|end|>"})"}});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->bos_to_add(), std::nullopt);
  EXPECT_EQ((*t)->eos_id(), 262);
  t = Load(tokenizer, {{"tokenizer_config.json",
                        R"({"add_bos_token": true, "bos_token": {"content": "<|end|>"}})"}});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->bos_to_add(), 262);
  t = Load(tokenizer, {{"special_tokens_map.json", R"({"eos_token": "hello"})"}});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->eos_id(), (*t)->TokenToId("hello"));
}

TEST(BpeTokenizerErrorsTest, VocabAndMerges) {
  TokenizerFiles files = {{"vocab.json", R"({"a": 0, "b": 1, "ab": 2})"},
                          {"merges.txt", "#version: 0.2\na b\n"}};
  StatusOr<std::unique_ptr<BpeTokenizer>> t = BpeTokenizer::FromVocabAndMerges(files);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FALSE((*t)->byte_level());                // no byte alphabet
  EXPECT_EQ((*t)->TokenToId("<|endoftext|>"), 3);  // GPT-2's default, added after the vocabulary
  EXPECT_EQ((*t)->eos_id(), 3);
  EXPECT_EQ(*(*t)->Encode("ab<|endoftext|>"), (std::vector<int32_t>{2, 3}));
  files["merges.txt"] = "#version: 0.2\na b\nab\n";
  EXPECT_NE(BpeTokenizer::FromVocabAndMerges(files).status().message().find("merges.txt: merge 2"),
            std::string::npos);
  files["merges.txt"] = "a c\n";
  EXPECT_NE(BpeTokenizer::FromVocabAndMerges(files).status().message().find(R"("c" is not in)"),
            std::string::npos);
  files["vocab.json"] = "[]";
  EXPECT_NE(BpeTokenizer::FromVocabAndMerges(files).status().message().find("vocab.json"),
            std::string::npos);
  EXPECT_EQ(BpeTokenizer::FromVocabAndMerges({}).status().code(), StatusCode::kNotFound);
}

// A character-level BPE without ByteLevel: not byte-level, so invalid UTF-8
// is refused with its offset; unk_token and fuse_unk; ignore_merges.
TEST(BpeTokenizerErrorsTest, NotByteLevelOptions) {
  json t = ValidTokenizer();
  t["pre_tokenizer"] = nullptr;
  t["decoder"] = nullptr;
  t["post_processor"] = nullptr;
  t["model"]["vocab"] = {{"<unk>", 0}, {"a", 1}, {"b", 2}, {"c", 3}, {"ab", 4}, {"abc", 5}};
  t["model"]["merges"] = json::array({"a b"});
  t["model"]["unk_token"] = "<unk>";
  t["added_tokens"] = json::array();
  StatusOr<std::unique_ptr<BpeTokenizer>> plain = Load(t.dump());
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_FALSE((*plain)->byte_level());
  StatusOr<std::vector<int32_t>> bad = (*plain)->Encode("abc\xff");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("invalid UTF-8 at byte 3"), std::string::npos);
  EXPECT_EQ(*(*plain)->Encode("abc"), (std::vector<int32_t>{4, 3}));         // "abc" unreachable
  EXPECT_EQ(*(*plain)->Encode("axyb"), (std::vector<int32_t>{1, 0, 0, 2}));  // one unk a char
  EXPECT_EQ((*plain)->Decode({4, 3}), "ab c");  // no decoder: tokens joined by spaces, as HF
  t["model"]["ignore_merges"] = true;
  t["model"]["fuse_unk"] = true;
  StatusOr<std::unique_ptr<BpeTokenizer>> ignoring = Load(t.dump());
  ASSERT_TRUE(ignoring.ok());
  EXPECT_EQ(*(*ignoring)->Encode("abc"), std::vector<int32_t>{5});
  EXPECT_EQ(*(*ignoring)->Encode("axyb"), (std::vector<int32_t>{1, 0, 2}));  // fused
}

TEST(BpeTokenizerErrorsTest, AddedTokenOptions) {
  json t = ValidTokenizer();
  t["added_tokens"] = json::array({
      {{"id", 300}, {"content", "[L]"}, {"lstrip", true}, {"special", true}, {"normalized", false}},
      {{"id", 301}, {"content", "[R]"}, {"rstrip", true}, {"special", true}, {"normalized", false}},
      {{"id", 302}, {"content", "hi"}, {"single_word", true}, {"normalized", false}},
  });
  StatusOr<std::unique_ptr<BpeTokenizer>> tok = Load(t.dump());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const int32_t l = *(*tok)->TokenToId("[L]"), r = *(*tok)->TokenToId("[R]"),
                hi = *(*tok)->TokenToId("hi");
  EXPECT_EQ(l, 262);  // ids follow the vocabulary, whatever the file says
  const auto encode = [&](const char* s) { return *(*tok)->Encode(s); };
  EXPECT_EQ(encode("  [L]"), std::vector<int32_t>{l});
  EXPECT_EQ(encode("[R] \t"), std::vector<int32_t>{r});
  EXPECT_EQ(encode("hi"), std::vector<int32_t>{hi});
  EXPECT_EQ(encode("hi!"), (std::vector<int32_t>{hi, *(*tok)->TokenToId("!")}));
  EXPECT_NE(encode("chi")[0], hi);  // inside a word: not the token
}

TEST(BpeTokenizerErrorsTest, SplitBehaviorsAsHuggingFaceDocumentsThem) {
  // "the-final--countdown" split on '-'.
  const std::string text = "the-final--countdown";
  std::vector<std::pair<size_t, size_t>> dashes;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-') dashes.emplace_back(i, i + 1);
  }
  const auto pieces = [&](SplitBehavior b, bool invert = false) {
    std::vector<std::string> out;
    for (const auto& [s, e] : SplitPieces(text.size(), dashes, b, invert)) {
      if (s != e) out.push_back(text.substr(s, e - s));
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces(SplitBehavior::kRemoved), (V{"the", "final", "countdown"}));
  EXPECT_EQ(pieces(SplitBehavior::kIsolated), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(pieces(SplitBehavior::kMergedWithPrevious), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(pieces(SplitBehavior::kMergedWithNext), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(pieces(SplitBehavior::kContiguous), (V{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(pieces(SplitBehavior::kRemoved, true), (V{"-", "-", "-"}));
}

TEST(BpeTokenizerErrorsTest, MutatedFilesNeverCrash) {
  const std::string valid = ValidTokenizer().dump();
  std::mt19937 rng(11);
  int loaded = 0;
  for (int n = 0; n < 3000; ++n) {
    std::string text = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          text.erase(at, 1 + rng() % 8);
          break;
        default:
          text.insert(at, 1, "{}[]\",:0a\\"[rng() % 10]);
          break;
      }
    }
    StatusOr<std::unique_ptr<BpeTokenizer>> t = Load(text);
    if (!t.ok()) continue;
    ++loaded;
    std::string input(rng() % 40, '\0');
    for (char& c : input) c = static_cast<char>(rng() % 256);
    StatusOr<std::vector<int32_t>> ids = (*t)->Encode(input);
    if (ids.ok()) (*t)->Decode(*ids);
  }
  EXPECT_GT(loaded, 0);
}

}  // namespace
}  // namespace kdnas
