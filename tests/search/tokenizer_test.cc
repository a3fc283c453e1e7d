#include "search/tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace kdnas {
namespace {

TEST(Tokenizer, CharKindSortsCodePointsAndRoundTrips) {
  auto t = Tokenizer::Build("héllo wörld\n", TokenizerKind::kChar);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  // Distinct: '\n' ' ' d e h l o r w é ö (10)
  EXPECT_EQ(t->vocab_size(), 10);
  EXPECT_EQ(t->Symbol(0), "\n");
  EXPECT_EQ(t->Symbol(1), " ");
  EXPECT_EQ(t->Symbol(8), "é");
  EXPECT_EQ(t->Symbol(9), "ö");
  auto ids = t->Encode("hé wörld");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(t->Decode(*ids), "hé wörld");
}

TEST(Tokenizer, SerializedFormMatchesTheDocument) {
  auto t = Tokenizer::Build("ba€", TokenizerKind::kChar);
  ASSERT_TRUE(t.ok());
  std::string s = t->Serialize();
  // u8 kind 0, u32 vocab 3, then (1,'a') (1,'b') (3, E2 82 AC).
  const std::string expected(
      "\x00\x03\x00\x00\x00\x01"
      "a"
      "\x01"
      "b"
      "\x03\xe2\x82\xac",
      13);
  EXPECT_EQ(s, expected);
  EXPECT_EQ(t->serialized_bytes(), 5 + 2 + 2 + 4);
  auto back = Tokenizer::Deserialize(s);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == *t);
}

TEST(Tokenizer, ByteKindHas256TokensAndFiveBytes) {
  auto t = Tokenizer::Build("any text ü", TokenizerKind::kByte);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->vocab_size(), 256);
  EXPECT_EQ(t->Serialize(), std::string("\x01\x00\x01\x00\x00", 5));
  auto ids = t->Encode("ü");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{0xc3, 0xbc}));
  EXPECT_EQ(t->Decode(*ids), "ü");
  auto back = Tokenizer::Deserialize(t->Serialize());
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == *t);
}

TEST(Tokenizer, RejectsEmptyBinaryAndTrivialText) {
  auto empty = Tokenizer::Build("", TokenizerKind::kChar, "data/x.txt");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("data/x.txt: is empty"), std::string::npos);

  auto nul = Tokenizer::Build(std::string("ab\0cd", 5), TokenizerKind::kChar);
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(nul.status().message().find("binary"), std::string::npos);

  auto bad = Tokenizer::Build("ab\xff\xfe", TokenizerKind::kByte);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("invalid UTF-8 at byte 2"), std::string::npos);

  auto one = Tokenizer::Build("aaaa", TokenizerKind::kChar);
  ASSERT_FALSE(one.ok());
}

TEST(Tokenizer, EncodeNamesUnknownSymbols) {
  auto t = Tokenizer::Build("abc", TokenizerKind::kChar);
  ASSERT_TRUE(t.ok());
  auto ids = t->Encode("abz");
  ASSERT_FALSE(ids.ok());
  EXPECT_NE(ids.status().message().find("'z'"), std::string::npos);
  EXPECT_NE(ids.status().message().find("at byte 2"), std::string::npos);
}

TEST(Tokenizer, DeserializeRejectsCorruptInput) {
  auto t = Tokenizer::Build("abc", TokenizerKind::kChar);
  ASSERT_TRUE(t.ok());
  std::string s = t->Serialize();
  EXPECT_FALSE(Tokenizer::Deserialize(s.substr(0, 4)).ok());
  EXPECT_FALSE(Tokenizer::Deserialize(s.substr(0, s.size() - 1)).ok());
  EXPECT_FALSE(Tokenizer::Deserialize(s + "x").ok());
  std::string unsorted = s;
  std::swap(unsorted[6], unsorted[8]);  // 'a' and 'b'
  EXPECT_FALSE(Tokenizer::Deserialize(unsorted).ok());
  std::string kind = s;
  kind[0] = 7;
  EXPECT_EQ(Tokenizer::Deserialize(kind).status().code(), StatusCode::kDataLoss);
  std::string len = s;
  len[5] = 9;
  EXPECT_FALSE(Tokenizer::Deserialize(len).ok());
}

TEST(Tokenizer, ShippedCorpusHas65Symbols) {
  std::ifstream in("data/tinyshakespeare.txt", std::ios::binary);
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  auto t = Tokenizer::Build(ss.str(), TokenizerKind::kChar);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->vocab_size(), 65);
  EXPECT_EQ(t->serialized_bytes(), 5 + 65 * 2);
  auto ids = t->Encode(ss.str());
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), ss.str().size());
}

}  // namespace
}  // namespace kdnas
