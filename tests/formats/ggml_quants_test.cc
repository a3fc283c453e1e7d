// kdnas's ggml quantizers against llama.cpp's own: the reference functions
// exported by the prebuilt libggml-base.so of node-llama-cpp (deploy/npm,
// the same release as deploy/npm/llama.cpp), which this test links. Every
// row must quantize to the same bytes and dequantize to the same floats.
#include "formats/ggml_quants.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "formats/ggml_blocks.h"

// llama.cpp's C functions (ggml/src/ggml-quants.h, ggml/include/ggml.h);
// blocks as void*, ggml_fp16_t and ggml_bf16_t as their uint16_t bits.
extern "C" {
void quantize_row_q4_0_ref(const float* x, void* y, int64_t k);
void quantize_row_q4_1_ref(const float* x, void* y, int64_t k);
void quantize_row_q5_0_ref(const float* x, void* y, int64_t k);
void quantize_row_q5_1_ref(const float* x, void* y, int64_t k);
void quantize_row_q8_0_ref(const float* x, void* y, int64_t k);
void quantize_row_q2_K_ref(const float* x, void* y, int64_t k);
void quantize_row_q3_K_ref(const float* x, void* y, int64_t k);
void quantize_row_q4_K_ref(const float* x, void* y, int64_t k);
void quantize_row_q5_K_ref(const float* x, void* y, int64_t k);
void quantize_row_q6_K_ref(const float* x, void* y, int64_t k);
void dequantize_row_q4_0(const void* x, float* y, int64_t k);
void dequantize_row_q4_1(const void* x, float* y, int64_t k);
void dequantize_row_q5_0(const void* x, float* y, int64_t k);
void dequantize_row_q5_1(const void* x, float* y, int64_t k);
void dequantize_row_q8_0(const void* x, float* y, int64_t k);
void dequantize_row_q2_K(const void* x, float* y, int64_t k);
void dequantize_row_q3_K(const void* x, float* y, int64_t k);
void dequantize_row_q4_K(const void* x, float* y, int64_t k);
void dequantize_row_q5_K(const void* x, float* y, int64_t k);
void dequantize_row_q6_K(const void* x, float* y, int64_t k);
void ggml_fp32_to_fp16_row(const float* x, uint16_t* y, int64_t n);
void ggml_fp16_to_fp32_row(const uint16_t* x, float* y, int64_t n);
void ggml_fp32_to_bf16_row_ref(const float* x, uint16_t* y, int64_t n);
void ggml_fp32_to_bf16_row(const float* x, uint16_t* y, int64_t n);
void ggml_bf16_to_fp32_row(const uint16_t* x, float* y, int64_t n);
}

namespace kdnas {
namespace {

using QuantizeFn = void (*)(const float*, void*, int64_t);
using DequantizeFn = void (*)(const void*, float*, int64_t);

struct Reference {
  GgmlType type;
  QuantizeFn quantize;
  DequantizeFn dequantize;
};

void CopyF32(const float* x, void* y, int64_t n) { std::memcpy(y, x, n * sizeof(float)); }
void CopyF32Back(const void* x, float* y, int64_t n) { std::memcpy(y, x, n * sizeof(float)); }
void ToF16(const float* x, void* y, int64_t n) {
  ggml_fp32_to_fp16_row(x, static_cast<uint16_t*>(y), n);
}
void FromF16(const void* x, float* y, int64_t n) {
  ggml_fp16_to_fp32_row(static_cast<const uint16_t*>(x), y, n);
}
void ToBF16(const float* x, void* y, int64_t n) {
  ggml_fp32_to_bf16_row_ref(x, static_cast<uint16_t*>(y), n);
}
void FromBF16(const void* x, float* y, int64_t n) {
  ggml_bf16_to_fp32_row(static_cast<const uint16_t*>(x), y, n);
}

const Reference kReferences[] = {
    {GgmlType::kF32, CopyF32, CopyF32Back},
    {GgmlType::kF16, ToF16, FromF16},
    {GgmlType::kBF16, ToBF16, FromBF16},
    {GgmlType::kQ4_0, quantize_row_q4_0_ref, dequantize_row_q4_0},
    {GgmlType::kQ4_1, quantize_row_q4_1_ref, dequantize_row_q4_1},
    {GgmlType::kQ5_0, quantize_row_q5_0_ref, dequantize_row_q5_0},
    {GgmlType::kQ5_1, quantize_row_q5_1_ref, dequantize_row_q5_1},
    {GgmlType::kQ8_0, quantize_row_q8_0_ref, dequantize_row_q8_0},
    {GgmlType::kQ2_K, quantize_row_q2_K_ref, dequantize_row_q2_K},
    {GgmlType::kQ3_K, quantize_row_q3_K_ref, dequantize_row_q3_K},
    {GgmlType::kQ4_K, quantize_row_q4_K_ref, dequantize_row_q4_K},
    {GgmlType::kQ5_K, quantize_row_q5_K_ref, dequantize_row_q5_K},
    {GgmlType::kQ6_K, quantize_row_q6_K_ref, dequantize_row_q6_K},
};

void PrintTo(const Reference& reference, std::ostream* os) { *os << GgmlTypeName(reference.type); }

struct Row {
  std::string name;
  std::vector<float> values;
};

// Rows of `n` values in shapes that reach the quantizers' branches (ties,
// all-zero sub-blocks, one sign only, scales that underflow or overflow
// fp16), each at magnitudes from 1e-30 to 1e6.
std::vector<Row> TestRows(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  std::uniform_int_distribution<int64_t> position(0, n - 1);
  std::uniform_int_distribution<int> exponent(-6, 2);
  float sub_block_scale = 1;
  auto make = [&](auto value) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[i] = value(i);
    return v;
  };
  std::vector<Row> shapes = {
      {"normal", make([&](int64_t) { return normal(rng); })},
      {"uniform", make([&](int64_t) { return uniform(rng); })},
      {"positive", make([&](int64_t) { return std::fabs(uniform(rng)); })},
      {"negative", make([&](int64_t) { return -std::fabs(uniform(rng)); })},
      {"offset", make([&](int64_t) { return 3.f + 0.5f * normal(rng); })},
      {"outliers", make([&](int64_t) {
         const float x = normal(rng);
         return uniform(rng) > 0.98f ? 60.f * x : x;
       })},
      {"heavy_tail",
       make([&](int64_t) { return normal(rng) / (0.05f + std::fabs(uniform(rng))); })},
      {"sparse", make([&](int64_t) { return uniform(rng) > 0.4f ? 0.f : normal(rng); })},
      {"grid",
       make([&](int64_t) { return static_cast<float>(static_cast<int>(8 * uniform(rng))) / 4; })},
      {"constant", make([&](int64_t) { return 0.7f; })},
      {"sub_block_magnitudes", make([&](int64_t i) {
         // Each 16 values ~10^(-6..2): many sub-block scales quantize to 0.
         if (i % 16 == 0) sub_block_scale = std::pow(10.f, static_cast<float>(exponent(rng)));
         return sub_block_scale * normal(rng);
       })},
  };
  std::vector<float> single(static_cast<size_t>(n), 0.f);
  single[position(rng)] = -1.3f;
  shapes.push_back({"single_nonzero", single});
  std::vector<float> per_block(static_cast<size_t>(n), 0.f);
  for (int64_t b = 0; b < n; b += 32) per_block[b + position(rng) % 32] = normal(rng);
  shapes.push_back({"one_per_32", per_block});

  std::vector<Row> rows = {{"zeros", std::vector<float>(static_cast<size_t>(n), 0.f)},
                           {"negative_zeros", std::vector<float>(static_cast<size_t>(n), -0.f)}};
  for (float magnitude : {1.f, 1e-30f, 1e-12f, 1e-7f, 1e-3f, 1e2f, 1e4f, 1e6f}) {
    for (const Row& shape : shapes) {
      char label[32];
      std::snprintf(label, sizeof(label), "*%g", magnitude);
      Row row{shape.name + label, shape.values};
      for (float& v : row.values) v *= magnitude;
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

// Floats equal bit for bit, or both NaN (whose payloads the two builds need
// not agree on: ggml quiets a signaling NaN half when it widens it).
bool SameFloat(float a, float b) {
  return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b) ||
         (std::isnan(a) && std::isnan(b));
}

// The first index where the floats differ, or -1.
int64_t FirstFloatDifference(const std::vector<float>& a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (!SameFloat(a[i], b[i])) return static_cast<int64_t>(i);
  return -1;
}

int64_t FirstByteDifference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return static_cast<int64_t>(i);
  return -1;
}

class GgmlQuantsTest : public ::testing::TestWithParam<Reference> {
 protected:
  GgmlType type() const { return GetParam().type; }
  int block() const { return GgmlTypeOf(type()).block_elements; }
  std::vector<int64_t> RowLengths() const {
    if (block() == kGgmlSuperBlock) return {256, 1024};
    return {32, 96, 256, 1024};
  }
  std::vector<uint8_t> Ours(const std::vector<float>& x) const {
    std::vector<uint8_t> bytes(GgmlRowBytes(type(), static_cast<int64_t>(x.size())));
    QuantizeRow(type(), x.data(), static_cast<int64_t>(x.size()), bytes.data());
    return bytes;
  }
  std::vector<uint8_t> Theirs(const std::vector<float>& x) const {
    std::vector<uint8_t> bytes(GgmlRowBytes(type(), static_cast<int64_t>(x.size())));
    GetParam().quantize(x.data(), bytes.data(), static_cast<int64_t>(x.size()));
    return bytes;
  }
  std::vector<float> OurValues(const std::vector<uint8_t>& bytes, int64_t n) const {
    std::vector<float> y(static_cast<size_t>(n));
    DequantizeRow(type(), bytes.data(), n, y.data());
    return y;
  }
  std::vector<float> TheirValues(const std::vector<uint8_t>& bytes, int64_t n) const {
    std::vector<float> y(static_cast<size_t>(n));
    GetParam().dequantize(bytes.data(), y.data(), n);
    return y;
  }
};

TEST_P(GgmlQuantsTest, QuantizeRowMatchesLlamaCpp) {
  int checked = 0;
  for (int64_t n : RowLengths()) {
    for (const Row& row : TestRows(n, static_cast<uint32_t>(n))) {
      const std::vector<uint8_t> ours = Ours(row.values);
      const std::vector<uint8_t> theirs = Theirs(row.values);
      const int64_t at = FirstByteDifference(ours, theirs);
      ASSERT_EQ(at, -1) << GgmlTypeName(type()) << " row " << row.name << " (" << n
                        << " values): byte " << at << " of block "
                        << at / GgmlTypeOf(type()).block_bytes << " is " << int{ours[at]}
                        << ", llama.cpp writes " << int{theirs[at]};
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

TEST_P(GgmlQuantsTest, DequantizeRowMatchesLlamaCpp) {
  for (int64_t n : RowLengths()) {
    for (const Row& row : TestRows(n, static_cast<uint32_t>(n) + 7)) {
      const std::vector<uint8_t> bytes = Theirs(row.values);
      const int64_t at = FirstFloatDifference(OurValues(bytes, n), TheirValues(bytes, n));
      ASSERT_EQ(at, -1) << GgmlTypeName(type()) << " row " << row.name << ": value " << at;
    }
  }
  // Arbitrary bytes: every bit pattern of levels, scales and mins.
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int trial = 0; trial < 50; ++trial) {
    const int64_t n = 1024;
    std::vector<uint8_t> bytes(GgmlRowBytes(type(), n));
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(byte(rng));
    const int64_t at = FirstFloatDifference(OurValues(bytes, n), TheirValues(bytes, n));
    ASSERT_EQ(at, -1) << GgmlTypeName(type()) << " random bytes " << trial << ": value " << at;
  }
}

TEST_P(GgmlQuantsTest, FakeQuantizeRowIsTheRoundTrip) {
  for (int64_t n : RowLengths()) {
    for (const Row& row : TestRows(n, static_cast<uint32_t>(n) + 13)) {
      std::vector<float> fake(static_cast<size_t>(n));
      FakeQuantizeRow(type(), row.values.data(), n, fake.data());
      EXPECT_EQ(FirstFloatDifference(fake, OurValues(Ours(row.values), n)), -1)
          << GgmlTypeName(type()) << " row " << row.name;
      ASSERT_EQ(FirstFloatDifference(fake, TheirValues(Theirs(row.values), n)), -1)
          << GgmlTypeName(type()) << " row " << row.name;
      std::vector<float> in_place = row.values;
      FakeQuantizeRow(type(), in_place.data(), n, in_place.data());
      EXPECT_EQ(FirstFloatDifference(in_place, fake), -1) << "in place, row " << row.name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, GgmlQuantsTest, ::testing::ValuesIn(kReferences),
                         [](const ::testing::TestParamInfo<Reference>& info) {
                           return std::string(GgmlTypeName(info.param.type));
                         });

TEST(GgmlQuantsTest, EveryGgmlTypeHasAReference) {
  EXPECT_EQ(GgmlTypes().size(), std::size(kReferences));
}

// Floats from a sweep of bit patterns, and for every pair of adjacent finite
// halves their midpoint (a tie) and its neighbours.
std::vector<float> HalfConversionCases() {
  std::vector<float> cases;
  for (uint64_t bits = 0; bits <= 0xffffffffu; bits += 4093)
    cases.push_back(std::bit_cast<float>(static_cast<uint32_t>(bits)));
  for (uint16_t h = 0; h < 0x7c00; ++h) {
    const float mid = (HalfToFloat(h) + HalfToFloat(static_cast<uint16_t>(h + 1))) / 2;
    for (float v : {mid, std::nextafter(mid, 0.f), std::nextafter(mid, INFINITY)}) {
      cases.push_back(v);
      cases.push_back(-v);
    }
  }
  for (float v : {65504.f, 65519.99f, 65520.f, 1e30f, INFINITY, NAN, 5.96e-8f, 2.98e-8f, 1e-45f})
    cases.push_back(v);
  return cases;
}

TEST(GgmlFloatConversionTest, FloatToHalfMatchesGgml) {
  const std::vector<float> cases = HalfConversionCases();
  std::vector<uint16_t> theirs(cases.size());
  ggml_fp32_to_fp16_row(cases.data(), theirs.data(), static_cast<int64_t>(cases.size()));
  for (size_t i = 0; i < cases.size(); ++i)
    ASSERT_EQ(FloatToHalf(cases[i]), theirs[i])
        << "float bits 0x" << std::hex << std::bit_cast<uint32_t>(cases[i]);
}

TEST(GgmlFloatConversionTest, FloatToBFloat16MatchesGgml) {
  std::vector<float> cases = HalfConversionCases();
  for (uint32_t top = 0; top < 0x10000; ++top) {  // bfloat16 ties: low half 0x8000
    cases.push_back(std::bit_cast<float>((top << 16) | 0x8000u));
    cases.push_back(std::bit_cast<float>((top << 16) | 0x7fffu));
  }
  std::vector<uint16_t> theirs(cases.size()), theirs_row(cases.size());
  ggml_fp32_to_bf16_row_ref(cases.data(), theirs.data(), static_cast<int64_t>(cases.size()));
  ggml_fp32_to_bf16_row(cases.data(), theirs_row.data(), static_cast<int64_t>(cases.size()));
  for (size_t i = 0; i < cases.size(); ++i) {
    ASSERT_EQ(FloatToBFloat16(cases[i]), theirs[i])
        << "float bits 0x" << std::hex << std::bit_cast<uint32_t>(cases[i]);
    ASSERT_EQ(theirs_row[i], theirs[i]);
  }
}

TEST(GgmlFloatConversionTest, EveryHalfAndBFloat16WidensAsGgml) {
  std::vector<uint16_t> all(0x10000);
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> theirs(all.size());
  ggml_fp16_to_fp32_row(all.data(), theirs.data(), static_cast<int64_t>(all.size()));
  for (uint16_t h : all)
    ASSERT_TRUE(SameFloat(HalfToFloat(h), theirs[h])) << "half 0x" << std::hex << h;
  ggml_bf16_to_fp32_row(all.data(), theirs.data(), static_cast<int64_t>(all.size()));
  for (uint16_t h : all)
    ASSERT_TRUE(SameFloat(BFloat16ToFloat(h), theirs[h])) << "bf16 0x" << std::hex << h;
}

}  // namespace
}  // namespace kdnas
