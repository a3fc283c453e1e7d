#include "search/ggml_types.h"

#include <gtest/gtest.h>

namespace kdnas {
namespace {

TEST(GgmlTypesTest, RowBytesFollowTheBlockLayouts) {
  EXPECT_EQ(GgmlRowBytes(GgmlType::kF32, 7), 28);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kF16, 7), 14);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kBF16, 7), 14);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ8_0, 64), 2 * 34);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ4_0, 128), 4 * 18);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ4_1, 32), 20);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ5_0, 32), 22);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ5_1, 32), 24);
  // ggml-common.h's static_asserts on block_q*_K.
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ2_K, 256), 84);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ3_K, 256), 110);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ4_K, 512), 2 * 144);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ5_K, 256), 176);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ6_K, 256), 210);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ4_K, 128), -1);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ8_0, 48), -1);
}

TEST(GgmlTypesTest, NamesParseBothCases) {
  EXPECT_EQ(ParseGgmlType("q4_k"), GgmlType::kQ4_K);
  EXPECT_EQ(ParseGgmlType("Q4_K"), GgmlType::kQ4_K);
  EXPECT_EQ(ParseGgmlType("bf16"), GgmlType::kBF16);
  EXPECT_EQ(ParseGgmlType("q4_k_m"), std::nullopt);
  EXPECT_EQ(GgmlTypeName(GgmlType::kQ6_K), "q6_k");
  EXPECT_EQ(FindGgmlType(9), nullptr);  // q8_1: never written to files
  for (const auto& t : GgmlTypes()) EXPECT_EQ(FindGgmlType(static_cast<uint32_t>(t.type)), &t);
}

TEST(GgmlTypesTest, FallbackIsLlamaQuantizes) {
  // Rows of 128: no 256-block type fits, the 32-block ones do.
  EXPECT_EQ(GgmlFallbackType(GgmlType::kQ2_K, 128), GgmlType::kQ4_0);
  EXPECT_EQ(GgmlFallbackType(GgmlType::kQ3_K, 128), GgmlType::kQ4_0);
  EXPECT_EQ(GgmlFallbackType(GgmlType::kQ4_K, 128), GgmlType::kQ5_0);
  EXPECT_EQ(GgmlFallbackType(GgmlType::kQ5_K, 128), GgmlType::kQ5_1);
  EXPECT_EQ(GgmlFallbackType(GgmlType::kQ6_K, 128), GgmlType::kQ8_0);
  EXPECT_EQ(GgmlFallbackType(GgmlType::kQ6_K, 512), GgmlType::kQ6_K);
  // Rows no block divides: f16.
  EXPECT_EQ(GgmlFallbackType(GgmlType::kQ4_K, 100), GgmlType::kF16);
  EXPECT_EQ(GgmlFallbackType(GgmlType::kQ8_0, 100), GgmlType::kF16);
  EXPECT_EQ(GgmlFallbackType(GgmlType::kF32, 100), GgmlType::kF32);
}

}  // namespace
}  // namespace kdnas
