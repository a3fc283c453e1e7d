// BpeTokenizer against Hugging Face's tokenizers library, token for token:
// small tokenizers are trained at test time on the bundled corpus by the
// reference itself (tests/formats/bpe_reference.js), configured like GPT-2,
// Llama-3, Qwen2 and SmolLM, and both encode a corpus slice, its lines and
// hard strings.
#include "formats/bpe_tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/formats/reference_runner.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;
using testing::ReadFileOrEmpty;

// Strings that have broken tokenizers: scripts, marks, emoji sequences,
// digits, whitespace, contractions, normalization forms.
const std::vector<std::string> kHardStrings = {
    "",
    " ",
    "Hello, world!",
    "😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇫🇷🇩🇪 "
    "🧑🏿‍🚀",
    "中文分词测试：我们今天去北京大学图书馆看书。東京は日本の首都です。한국어",
    "مَرْحَبًا بِكُمْ فِي عَالَمِ اللُّغَةِ العَرَبِيَّةِ",
    "नमस्ते दुनिया, यह एक परीक्षण है। क्षत्रिय",
    "1 12 123 1234 12345 1234567 3.14159 1,000,000 ٣٤٥ ४२ ①②③ ½",
    "a1b22c333d4444",
    "    leading and trailing spaces    ",
    "tabs\tand\t\ttabs\t",
    "\n\n\n",
    "  \n ",
    "line one\r\nline two\rline three\n",
    "trailing space ",
    "a  b   c    d",
    "\u00a0non-breaking\u00a0space\u2003em space\u3000ideographic\u180emongolian",
    "DON'T we'Ll I'M you'RE they've she'd it's O'Neil 'tis ''",
    "don\u2019t \u017fs \u212a",
    "e\u0301 caf\u00e9 cafe\u0301 \u00c5ngstr\u00f6m A\u030angstro\u0308m \u1e9b\u0323",
    "\u0000\u0001\u001f\u007f control",
    "\U0001F600\U0010FFFD\U000E0001 planes \uFFFD\uFEFF",
    "Ꙭ Ᲊᲊ ꟋꟌ new letters",
    "ROMEO: ROMEOS xROMEO ROMEO! (ROMEO)",
    "<mask> a  <mask>b <sep>  c <sep>\n",
    "ﬁ ﬂ ＡＢＣ １２３",
    "https://example.com/path?q=1&r=2#frag",
    "x = [1, 2, 3]; y = {'a': 1}  # comment",
    "ALL CAPS SHOUTING and lowercase whispering",
};

struct Family {
  const char* name;
  bool vocab_and_merges;  // gpt2_files: vocab.json + merges.txt
  const char* reference;  // the tokenizer.json the reference runs
  bool round_trips;       // Decode(Encode(s)) == s
};

const Family kFamilies[] = {
    {"gpt2", false, "gpt2/tokenizer.json", true},
    {"gpt2_prefix", false, "gpt2_prefix/tokenizer.json", false},
    {"gpt2_files", true, "gpt2_files/reference.json", true},
    {"llama3", false, "llama3/tokenizer.json", true},
    {"qwen2", false, "qwen2/tokenizer.json", false},
    {"smollm", false, "smollm/tokenizer.json", true},
};

class BpeReferenceTest : public ::testing::TestWithParam<Family> {
 protected:
  static void SetUpTestSuite() {
    missing_ = new std::string(testing::ReferenceMissing());
    if (!missing_->empty()) return;
    dir_ = new fs::path(fs::temp_directory_path() / ("kdnas_bpe_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    std::string log;
    const int status = testing::RunReference(
        {"make", testing::SourceDir() + "/data/tinyshakespeare.txt",
         testing::SourceDir() + "/tests/formats/bpe_training_extra.txt", dir_->string()},
        &log);
    if (status != 0) *missing_ = "bpe_reference.js make failed: " + log;
  }
  static void TearDownTestSuite() {
    if (dir_ != nullptr) fs::remove_all(*dir_);
    delete dir_;
    delete missing_;
    dir_ = nullptr;
  }

  static std::unique_ptr<BpeTokenizer> Load(const Family& family) {
    const fs::path d = *dir_ / (family.vocab_and_merges ? "gpt2_files" : family.name);
    TokenizerFiles files;
    for (const char* name :
         {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"}) {
      if (fs::exists(d / name)) files[name] = ReadFileOrEmpty(d / name);
    }
    if (family.vocab_and_merges) files.erase("tokenizer.json");
    StatusOr<std::unique_ptr<BpeTokenizer>> t = family.vocab_and_merges
                                                    ? BpeTokenizer::FromVocabAndMerges(files)
                                                    : BpeTokenizer::FromTokenizerJson(files);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(*t) : nullptr;
  }

  // The reference's {ids, ids_special, decoded} for each input, and its
  // throughput on inputs[0].
  static nlohmann::json Reference(const Family& family, const std::vector<std::string>& inputs) {
    const fs::path in = *dir_ / (std::string(family.name) + "_in.json");
    const fs::path out = *dir_ / (std::string(family.name) + "_out.json");
    testing::WriteFile(in, nlohmann::json(inputs).dump());
    std::string log;
    const int status = testing::RunReference(
        {"encode", (*dir_ / family.reference).string(), in.string(), out.string()}, &log);
    EXPECT_EQ(status, 0) << log;
    return nlohmann::json::parse(ReadFileOrEmpty(out), nullptr, false);
  }

  static std::string* missing_;
  static fs::path* dir_;
};

std::string* BpeReferenceTest::missing_ = nullptr;
fs::path* BpeReferenceTest::dir_ = nullptr;

// What Rust's String::from_utf8_lossy makes of `bytes` (Hugging Face's
// decode ends with it; Decode keeps the bytes): each maximal invalid subpart
// becomes U+FFFD.
std::string Lossy(const std::string& bytes) {
  std::string out;
  size_t i = 0;
  const auto at = [&](size_t k) { return static_cast<uint8_t>(bytes[k]); };
  while (i < bytes.size()) {
    const uint8_t b = at(i);
    size_t len = b < 0x80                   ? 1
                 : (b >= 0xC2 && b <= 0xDF) ? 2
                 : (b >= 0xE0 && b <= 0xEF) ? 3
                 : (b >= 0xF0 && b <= 0xF4) ? 4
                                            : 0;
    size_t valid = len == 0 ? 0 : 1;  // bytes of a valid prefix
    for (size_t k = 1; k < len && i + k < bytes.size(); ++k) {
      const uint8_t c = at(i + k);
      uint8_t lo = 0x80, hi = 0xBF;
      if (k == 1 && b == 0xE0) lo = 0xA0;
      if (k == 1 && b == 0xED) hi = 0x9F;
      if (k == 1 && b == 0xF0) lo = 0x90;
      if (k == 1 && b == 0xF4) hi = 0x8F;
      if (c < lo || c > hi) break;
      ++valid;
    }
    if (len != 0 && valid == len) {
      out.append(bytes, i, len);
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      i += std::max<size_t>(valid, 1);
    }
  }
  return out;
}

std::string Ids(const std::vector<int32_t>& ids, size_t from, size_t count) {
  std::string s;
  for (size_t i = from; i < ids.size() && i < from + count; ++i) s += std::to_string(ids[i]) + " ";
  return s;
}

TEST_P(BpeReferenceTest, EncodesAsHuggingFaceDoes) {
  if (!missing_->empty()) GTEST_FAIL() << *missing_;
  const Family& family = GetParam();
  std::unique_ptr<BpeTokenizer> tokenizer = Load(family);
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_TRUE(tokenizer->byte_level());

  // The whole corpus first (it is timed), then its first 2,000 lines one by
  // one, hard strings, and every added token alone and inside text.
  const std::string corpus = ReadFileOrEmpty(testing::SourceDir() + "/data/tinyshakespeare.txt");
  ASSERT_GT(corpus.size(), 1000000u);
  std::vector<std::string> inputs = {corpus};
  size_t start = 0;
  for (int line = 0; line < 2000; ++line) {
    const size_t end = corpus.find('\n', start);
    if (end == std::string::npos) break;
    inputs.push_back(corpus.substr(start, end - start + 1));
    start = end + 1;
  }
  inputs.insert(inputs.end(), kHardStrings.begin(), kHardStrings.end());
  for (const char* special :
       {"<|endoftext|>", "<|begin_of_text|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>",
        "<|reserved_special_token_1|>", "café", "cafe\u0301", "<mask>", "<sep>"}) {
    const std::string s = special;
    inputs.push_back(s);
    inputs.push_back("Before " + s + "after, and " + s + s + " twice; " + s + "\n");
    inputs.push_back("  " + s + "  ");
    inputs.push_back("<|" + s);
  }
  inputs.push_back("<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n");

  const nlohmann::json reference = Reference(family, inputs);
  ASSERT_TRUE(reference.is_object());
  const nlohmann::json& results = reference["results"];
  ASSERT_EQ(results.size(), inputs.size());
  int mismatches = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string& text = inputs[i];
    StatusOr<std::vector<int32_t>> ids = tokenizer->Encode(text);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    const auto expected = results[i]["ids"].get<std::vector<int32_t>>();
    if (*ids != expected) {
      size_t at = 0;
      while (at < ids->size() && at < expected.size() && (*ids)[at] == expected[at]) ++at;
      const size_t from = at < 5 ? 0 : at - 5;
      ADD_FAILURE() << family.name << ": input " << i << " (" << text.size() << " bytes: \""
                    << text.substr(0, 80) << "\") differs at token " << at
                    << "\n  ours: " << Ids(*ids, from, 12)
                    << "\n  HF:   " << Ids(expected, from, 12) << "\n  ours decode: \""
                    << tokenizer->Decode(std::vector<int32_t>(
                           ids->begin() + from, ids->begin() + std::min(ids->size(), from + 12)))
                    << "\"";
      if (++mismatches >= 10) break;
      continue;
    }
    // add_special_tokens=True is bos_to_add() and the same ids.
    std::vector<int32_t> with_bos;
    if (tokenizer->bos_to_add()) with_bos.push_back(*tokenizer->bos_to_add());
    with_bos.insert(with_bos.end(), ids->begin(), ids->end());
    EXPECT_EQ(with_bos, results[i]["ids_special"].get<std::vector<int32_t>>()) << "input " << i;
    const std::string decoded = tokenizer->Decode(*ids);
    EXPECT_TRUE(Lossy(decoded) == results[i]["decoded"].get<std::string>())
        << "input " << i << " decodes to \"" << decoded.substr(0, 80) << "\"";
    // The text comes back, but for NFC (Qwen2), the added prefix space, and
    // the spaces that lstrip and rstrip tokens take in.
    const bool strips =
        text.find("<mask>") != std::string::npos || text.find("<sep>") != std::string::npos;
    if (family.round_trips && !(strips && std::string(family.name) == "smollm")) {
      EXPECT_TRUE(decoded == text)
          << "input " << i << " decodes to \"" << decoded.substr(0, 80) << "\"";
    }
  }
  EXPECT_EQ(mismatches, 0);

  // Throughput on the corpus (informational).
  const auto begin = std::chrono::steady_clock::now();
  constexpr int kRuns = 3;
  for (int r = 0; r < kRuns; ++r) ASSERT_TRUE(tokenizer->Encode(inputs[0]).ok());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  std::printf(
      "[ throughput ] %s: kdnas %.1f MB/s, Hugging Face tokenizers %.1f MB/s (%.1f MB corpus)\n",
      family.name, inputs[0].size() * kRuns / 1e6 / seconds, reference["mb_per_s"].get<double>(),
      inputs[0].size() / 1e6);
}

TEST_P(BpeReferenceTest, AnyBytesRoundTrip) {
  if (!missing_->empty()) GTEST_FAIL() << *missing_;
  std::unique_ptr<BpeTokenizer> tokenizer = Load(GetParam());
  ASSERT_NE(tokenizer, nullptr);
  std::mt19937 rng(7);
  for (int n = 0; n < 200; ++n) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 256);
    if (n % 2 == 0) bytes = "Hello \xff\xfe world \xe2\x82 <|endoftext|>\xc0\x80" + bytes;
    StatusOr<std::vector<int32_t>> ids = tokenizer->Encode(bytes);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    if (GetParam().round_trips) {
      EXPECT_EQ(tokenizer->Decode(*ids), bytes);
    }
    for (int32_t id : *ids) {
      EXPECT_GE(id, 0);
      EXPECT_LT(id, tokenizer->vocab_size());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, BpeReferenceTest, ::testing::ValuesIn(kFamilies),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace kdnas
