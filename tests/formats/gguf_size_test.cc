// The cost model's GGUF size (formats/gguf_size.h) against the layout of the
// whole file (GgufModelFileBytes with the tokenizer's metadata itself), for
// tokenizers whose metadata ends at different offsets within an alignment.
#include "formats/gguf_size.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "formats/gguf_architecture.h"
#include "formats/gguf_tokenizer.h"

namespace kdnas {
namespace {

std::string Corpus() {
  std::ifstream in("data/tinyshakespeare.txt", std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Candidate Student(FamilyKind kind, const std::string& weight_format, int d_model) {
  Candidate c;
  c.architecture.d_model = d_model;
  c.architecture.d_ff = 3 * d_model;
  c.architecture.family.kind = kind;
  if (kind != FamilyKind::kGpt2) {
    c.architecture.num_kv_heads = 2;
    c.architecture.layers = {{4, 512, 2}, {4, 256, 1}, {2, 768, 1}, {4, 512, 2}};
  }
  c.compression.gguf.weight = ParseGgmlType(weight_format);
  c.compression.gguf.output = GgmlType::kQ6_K;
  return c;
}

TEST(GgufSize, TheStudentSizeIsTheWholeFileLaidOut) {
  const std::string corpus = Corpus();
  for (int length : {20000, 50000, 1000000}) {
    for (TokenizerKind kind : {TokenizerKind::kChar, TokenizerKind::kByte}) {
      auto own = Tokenizer::Build(corpus.substr(0, static_cast<size_t>(length)), kind);
      ASSERT_TRUE(own.ok());
      const JobTokenizer tokenizer(*own);
      auto metadata = GgufTokenizerMetadata(tokenizer);
      ASSERT_TRUE(metadata.ok()) << metadata.status().ToString();
      auto metadata_bytes = GgufMetadataBytes(*metadata);
      ASSERT_TRUE(metadata_bytes.ok());
      for (const Candidate& c :
           {Student(FamilyKind::kGpt2, "q4_k", 256), Student(FamilyKind::kGpt2, "f32", 96),
            Student(FamilyKind::kLlama, "q3_k", 256), Student(FamilyKind::kQwen2, "q8_0", 128)}) {
        SCOPED_TRACE(std::string(FamilyKindName(c.architecture.family.kind)) + " " +
                     GgufFormatsText(c.compression.gguf));
        auto whole =
            GgufModelFileBytes(c.architecture, tokenizer.vocab_size(),
                               GgufWeightTypesOf(c.compression.gguf), kGgufStudentName, *metadata);
        ASSERT_TRUE(whole.ok()) << whole.status().ToString();
        auto sized = GgufStudentFileBytes(c, tokenizer.vocab_size(), *metadata_bytes);
        ASSERT_TRUE(sized.ok()) << sized.status().ToString();
        EXPECT_EQ(*sized, *whole);
        EXPECT_EQ(GgufStudentSizer(tokenizer.vocab_size(), *metadata_bytes)(c), *whole);
      }
    }
  }
}

TEST(GgufSize, WhatLlamaCppCannotRunHasNoSize) {
  Candidate c = Student(FamilyKind::kGpt2, "q4_0", 128);
  c.architecture.layers = {{4, 512, 0}, {4, 256, 0}, {4, 512, 0}, {4, 512, 0}};
  EXPECT_EQ(GgufStudentFileBytes(c, 65, 1000).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(GgufStudentSizer(65, 1000)(c), -1);
  EXPECT_EQ(GgufStudentFileBytes(Candidate(), 65, 1000).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kdnas
