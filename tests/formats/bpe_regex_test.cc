// The PCRE2 form of tokenizer regexes (formats/onig_pattern.h, regex.h)
// against Oniguruma as Hugging Face's tokenizers runs it: every Unicode
// scalar value for the character classes of real patterns, and the rules of
// match iteration and the refusals.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/onig_pattern.h"
#include "formats/pre_tokenizer.h"
#include "formats/regex.h"
#include "formats/utf8.h"
#include "tests/formats/reference_runner.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;
using Ranges = std::vector<std::pair<char32_t, char32_t>>;

// The code points `pattern` (one character a match) matches, as ranges.
Ranges OurClass(const std::string& pattern) {
  StatusOr<Regex> regex = Regex::FromOniguruma(pattern);
  EXPECT_TRUE(regex.ok()) << pattern << ": " << regex.status().ToString();
  if (!regex.ok()) return {};
  std::string all;
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    if (c < 0xD800 || c > 0xDFFF) AppendUtf8(c, &all);
  }
  std::vector<std::pair<size_t, size_t>> found;
  EXPECT_TRUE(regex->Find(all, &found).ok());
  Ranges ranges;
  for (const auto& [start, end] : found) {
    for (size_t i = start; i < end;) {
      char32_t cp;
      i += DecodeUtf8(all, i, &cp);
      if (!ranges.empty() && ranges.back().second + 1 == cp) {
        ranges.back().second = cp;
      } else {
        ranges.emplace_back(cp, cp);
      }
    }
  }
  return ranges;
}

std::string Describe(const Ranges& ours, const Ranges& theirs) {
  const auto contains = [](const Ranges& r, char32_t c) {
    for (const auto& [a, b] : r) {
      if (c >= a && c <= b) return true;
    }
    return false;
  };
  std::string s;
  int shown = 0;
  for (char32_t c = 0; c <= 0x10FFFF && shown < 12; ++c) {
    if (contains(ours, c) != contains(theirs, c)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "U+%04X(%s) ", static_cast<unsigned>(c),
                    contains(ours, c) ? "ours" : "onig");
      s += buf;
      ++shown;
    }
  }
  return s;
}

TEST(BpeRegexTest, ClassesMatchOnigurumaOnEveryCodePoint) {
  const std::string missing = testing::ReferenceMissing();
  if (!missing.empty()) GTEST_FAIL() << missing;
  const std::vector<std::string> patterns = {R"(\s)",
                                             R"(\S)",
                                             R"(\p{L})",
                                             R"(\p{N})",
                                             R"([^\s\p{L}\p{N}])",
                                             R"([^\r\n\p{L}\p{N}])",
                                             R"(\w)",
                                             R"(\W)",
                                             R"(\d)",
                                             R"(\p{Lu})",
                                             R"(\p{Ll})",
                                             R"(\p{Lo})",
                                             R"(\p{M})",
                                             R"(\p{Mc})",
                                             R"(\P{L})",
                                             R"(\P{N})",
                                             R"(\p{P})",
                                             R"(\p{S})",
                                             R"(\p{Z})",
                                             R"(\p{C})",
                                             R"(\h)",
                                             R"(.)",
                                             R"((?i:s))",
                                             R"((?i:k))",
                                             R"([\s\p{Lu}])",
                                             R"(\p{Letter})",
                                             R"(\pN)",
                                             R"([^\S\r\n])"};
  const fs::path dir = fs::temp_directory_path() / ("kdnas_classes_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  testing::WriteFile(dir / "patterns.json", nlohmann::json(patterns).dump());
  std::string log;
  ASSERT_EQ(
      testing::RunReference(
          {"classes", (dir / "patterns.json").string(), (dir / "classes.json").string()}, &log),
      0)
      << log;
  const nlohmann::json reference =
      nlohmann::json::parse(testing::ReadFileOrEmpty(dir / "classes.json"), nullptr, false);
  fs::remove_all(dir);
  ASSERT_EQ(reference.size(), patterns.size());
  for (size_t i = 0; i < patterns.size(); ++i) {
    Ranges theirs;
    for (const auto& r : reference[i])
      theirs.emplace_back(r[0].get<char32_t>(), r[1].get<char32_t>());
    const Ranges ours = OurClass(patterns[i]);
    EXPECT_TRUE(ours == theirs) << patterns[i] << " differs: " << Describe(ours, theirs);
  }
}

std::vector<std::pair<size_t, size_t>> Matches(const std::string& pattern, std::string_view text) {
  StatusOr<Regex> regex = Regex::FromOniguruma(pattern);
  EXPECT_TRUE(regex.ok()) << regex.status().ToString();
  std::vector<std::pair<size_t, size_t>> found;
  if (regex.ok()) {
    EXPECT_TRUE(regex->Find(text, &found).ok());
  }
  return found;
}

TEST(BpeRegexTest, EmptyMatchesFollowTheOnigCrate) {
  using V = std::vector<std::pair<size_t, size_t>>;
  // An empty match right after the previous match is skipped.
  EXPECT_EQ(Matches("a*", "baab"), (V{{0, 0}, {1, 3}, {4, 4}}));
  EXPECT_EQ(Matches("", "abc"), (V{{0, 0}, {1, 1}, {2, 2}, {3, 3}}));
  EXPECT_EQ(Matches("(?=a)", "bab"), (V{{1, 1}}));
}

TEST(BpeRegexTest, AnchorsAndFlagsAreOniguruma) {
  using V = std::vector<std::pair<size_t, size_t>>;
  EXPECT_EQ(Matches("^a", "a\na\ra"), (V{{0, 1}, {2, 3}}));  // ^ after \n only
  EXPECT_EQ(Matches("(?m:a.b)", "a\nb"), (V{{0, 3}}));       // Oniguruma's m is dot-all
  EXPECT_EQ(Matches(R"(\u0041)", "xA"), (V{{1, 2}}));
  EXPECT_EQ(Matches(R"(\bab\b)", "ab cab ab"), (V{{0, 2}, {7, 9}}));
}

TEST(BpeRegexTest, InvalidUtf8IsNeverMatched) {
  using V = std::vector<std::pair<size_t, size_t>>;
  EXPECT_EQ(Matches(R"(\S+)",
                    "ab\xff"
                    "cd"),
            (V{{0, 2}, {3, 5}}));
  EXPECT_EQ(Matches(std::string(kGpt2Pattern), "\xe2\x82 x"), (V{{2, 4}}));
}

TEST(BpeRegexTest, RefusesWhatItCannotTranslate) {
  for (const char* pattern : {"[a[b]]", "[a&&b]", "[[:alpha:]]", R"([^\P{L}])", R"([\p{Mn}])"}) {
    StatusOr<std::string> translated = OnigToPcre2Pattern(pattern);
    EXPECT_FALSE(translated.ok()) << pattern;
    if (!translated.ok()) {
      EXPECT_EQ(translated.status().code(), StatusCode::kInvalidArgument);
    }
  }
  StatusOr<Regex> bad = Regex::FromOniguruma("(unclosed");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("missing closing parenthesis"), std::string::npos)
      << bad.status().message();
}

TEST(BpeRegexTest, ExplosiveBacktrackingIsAnErrorNotAHang) {
  StatusOr<Regex> regex = Regex::FromOniguruma("(a+)+$");
  ASSERT_TRUE(regex.ok());
  std::vector<std::pair<size_t, size_t>> found;
  const Status status = regex->Find(std::string(4000, 'a') + "!", &found);
  // PCRE2's JIT may find the failure fast; without JIT the match limit stops it.
  if (!status.ok()) {
    EXPECT_EQ(status.code(), StatusCode::kResourceExhausted);
  }
}

}  // namespace
}  // namespace kdnas
