// The float conversions, the legacy 32-value blocks and the row functions;
// the k-quants are in ggml_kquants.cc.
#include "formats/ggml_quants.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

#include "formats/ggml_blocks.h"

namespace kdnas {
namespace {

// Rounds away the low `shift` bits of `bits` to nearest, ties to even.
uint32_t RoundShiftRightEven(uint32_t bits, int shift) {
  const uint32_t half_minus_one = (1u << (shift - 1)) - 1;
  const uint32_t odd = (bits >> shift) & 1u;
  return (bits + half_minus_one + odd) >> shift;
}

}  // namespace

uint16_t FloatToHalf(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (magnitude >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds to infinity
  if (magnitude >= 0x38800000u) {
    // A normal half (>= 2^-14): rebias the exponent (127 -> 15) and round
    // the 13 mantissa bits a half drops; a carry rounds up into the exponent.
    return sign | static_cast<uint16_t>(RoundShiftRightEven(magnitude - (112u << 23), 13));
  }
  // A subnormal half: the value in units of 2^-24, rounded to nearest even.
  // Below 2^-25 (a float exponent under 102) that is 0.
  const int exponent = static_cast<int>(magnitude >> 23);
  if (exponent < 102) return sign;
  const uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
  return sign | static_cast<uint16_t>(RoundShiftRightEven(mantissa, 126 - exponent));
}

uint16_t FloatToBFloat16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  return static_cast<uint16_t>(RoundShiftRightEven(bits, 16));
}

// ---------------------------------------------------------------- q4_0, q5_0

namespace {

// The value of the largest magnitude (the first, on a tie): the symmetric
// types map it to the most negative level.
float SignedAbsMax(const float* x, int n) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

struct MinMax {
  float min = FLT_MAX;
  float max = -FLT_MAX;
};

MinMax RangeOf(const float* x, int n) {
  MinMax r;
  for (int j = 0; j < n; ++j) {
    if (x[j] < r.min) r.min = x[j];
    if (x[j] > r.max) r.max = x[j];
  }
  return r;
}

float Inverse(float d) { return d ? 1.0f / d : 0.0f; }

// Levels of q4_0 and q4_1: truncated after adding `offset` (8.5 or 0.5),
// capped at 15 (ggml: MIN(15, (int8_t)(v + offset))).
uint8_t NibbleLevel(float scaled, float offset) {
  const int8_t level = static_cast<int8_t>(static_cast<int>(scaled + offset));
  return static_cast<uint8_t>(std::min<int>(15, level));
}

// Packs 32 five-bit levels: low nibbles as q4_0, fifth bits into `qh`.
void PackFiveBitLevels(const uint8_t* levels, uint8_t* qs, uint8_t* qh) {
  uint32_t high_bits = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>((levels[j] & 0x0f) | ((levels[j + 16] & 0x0f) << 4));
    high_bits |= ((levels[j] & 0x10u) >> 4) << j;
    high_bits |= ((levels[j + 16] & 0x10u) >> 4) << (j + 16);
  }
  std::memcpy(qh, &high_bits, sizeof(high_bits));
}

// The five-bit level of value j (0..31) of a q5 block.
int FiveBitLevel(const uint8_t* qs, const uint8_t* qh, int j) {
  uint32_t high_bits;
  std::memcpy(&high_bits, qh, sizeof(high_bits));
  const int nibble = j < 16 ? (qs[j] & 0x0f) : (qs[j - 16] >> 4);
  return nibble | static_cast<int>(((high_bits >> j) & 1u) << 4);
}

}  // namespace

void QuantizeBlock(const float* x, BlockQ4_0* block) {
  const float d = SignedAbsMax(x, 32) / -8;
  const float id = Inverse(d);
  block->d = FloatToHalf(d);
  for (int j = 0; j < 16; ++j) {
    const uint8_t low = NibbleLevel(x[j] * id, 8.5f);
    const uint8_t high = NibbleLevel(x[j + 16] * id, 8.5f);
    block->qs[j] = static_cast<uint8_t>(low | (high << 4));
  }
}

void DequantizeBlock(const BlockQ4_0& block, float* y) {
  const float d = HalfToFloat(block.d);
  for (int j = 0; j < 16; ++j) {
    y[j] = ((block.qs[j] & 0x0f) - 8) * d;
    y[j + 16] = ((block.qs[j] >> 4) - 8) * d;
  }
}

void QuantizeBlock(const float* x, BlockQ5_0* block) {
  const float d = SignedAbsMax(x, 32) / -16;
  const float id = Inverse(d);
  block->d = FloatToHalf(d);
  uint8_t levels[32];
  for (int j = 0; j < 32; ++j) {
    const int8_t level = static_cast<int8_t>(static_cast<int>(x[j] * id + 16.5f));
    levels[j] = static_cast<uint8_t>(std::min<int>(31, level));
  }
  PackFiveBitLevels(levels, block->qs, block->qh);
}

void DequantizeBlock(const BlockQ5_0& block, float* y) {
  const float d = HalfToFloat(block.d);
  for (int j = 0; j < 32; ++j) y[j] = (FiveBitLevel(block.qs, block.qh, j) - 16) * d;
}

// ---------------------------------------------------------------- q4_1, q5_1

void QuantizeBlock(const float* x, BlockQ4_1* block) {
  const MinMax r = RangeOf(x, 32);
  const float d = (r.max - r.min) / 15;
  const float id = Inverse(d);
  block->d = FloatToHalf(d);
  block->m = FloatToHalf(r.min);
  for (int j = 0; j < 16; ++j) {
    const uint8_t low = NibbleLevel((x[j] - r.min) * id, 0.5f);
    const uint8_t high = NibbleLevel((x[j + 16] - r.min) * id, 0.5f);
    block->qs[j] = static_cast<uint8_t>(low | (high << 4));
  }
}

void DequantizeBlock(const BlockQ4_1& block, float* y) {
  const float d = HalfToFloat(block.d);
  const float m = HalfToFloat(block.m);
  for (int j = 0; j < 16; ++j) {
    y[j] = (block.qs[j] & 0x0f) * d + m;
    y[j + 16] = (block.qs[j] >> 4) * d + m;
  }
}

void QuantizeBlock(const float* x, BlockQ5_1* block) {
  const MinMax r = RangeOf(x, 32);
  const float d = (r.max - r.min) / 31;
  const float id = Inverse(d);
  block->d = FloatToHalf(d);
  block->m = FloatToHalf(r.min);
  uint8_t levels[32];  // not capped: (max - min) * id + 0.5 stays below 32
  for (int j = 0; j < 32; ++j)
    levels[j] = static_cast<uint8_t>(static_cast<int>((x[j] - r.min) * id + 0.5f));
  PackFiveBitLevels(levels, block->qs, block->qh);
}

void DequantizeBlock(const BlockQ5_1& block, float* y) {
  const float d = HalfToFloat(block.d);
  const float m = HalfToFloat(block.m);
  for (int j = 0; j < 32; ++j) y[j] = FiveBitLevel(block.qs, block.qh, j) * d + m;
}

// ---------------------------------------------------------------------- q8_0

void QuantizeBlock(const float* x, BlockQ8_0* block) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = amax > std::fabs(x[j]) ? amax : std::fabs(x[j]);
  const float d = amax / 127;
  const float id = Inverse(d);
  block->d = FloatToHalf(d);
  // roundf: halves away from zero.
  for (int j = 0; j < 32; ++j)
    block->qs[j] = static_cast<int8_t>(static_cast<int>(std::round(x[j] * id)));
}

void DequantizeBlock(const BlockQ8_0& block, float* y) {
  const float d = HalfToFloat(block.d);
  for (int j = 0; j < 32; ++j) y[j] = block.qs[j] * d;
}

// ---------------------------------------------------------------------- rows

namespace {

// Blocks are copied through a local struct: a row's bytes need not be
// aligned for the blocks' u16 fields.
template <typename Block>
void QuantizeBlocks(const float* src, int64_t n, uint8_t* dst) {
  for (int64_t i = 0; i < n / Block::kElements; ++i) {
    Block block{};
    QuantizeBlock(src + i * Block::kElements, &block);
    std::memcpy(dst + i * sizeof(Block), &block, sizeof(Block));
  }
}

template <typename Block>
void DequantizeBlocks(const uint8_t* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n / Block::kElements; ++i) {
    Block block;
    std::memcpy(&block, src + i * sizeof(Block), sizeof(Block));
    DequantizeBlock(block, dst + i * Block::kElements);
  }
}

template <uint16_t (*Narrow)(float)>
void NarrowFloats(const float* src, int64_t n, uint8_t* dst) {
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t bits = Narrow(src[i]);
    std::memcpy(dst + 2 * i, &bits, 2);
  }
}

template <float (*Widen)(uint16_t)>
void WidenFloats(const uint8_t* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t bits;
    std::memcpy(&bits, src + 2 * i, 2);
    dst[i] = Widen(bits);
  }
}

}  // namespace

void QuantizeRow(GgmlType type, const float* src, int64_t n, uint8_t* dst) {
  assert(GgmlRowBytes(type, n) >= 0);
  switch (type) {
    case GgmlType::kF32:
      std::memmove(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::kF16:
      return NarrowFloats<FloatToHalf>(src, n, dst);
    case GgmlType::kBF16:
      return NarrowFloats<FloatToBFloat16>(src, n, dst);
    case GgmlType::kQ4_0:
      return QuantizeBlocks<BlockQ4_0>(src, n, dst);
    case GgmlType::kQ4_1:
      return QuantizeBlocks<BlockQ4_1>(src, n, dst);
    case GgmlType::kQ5_0:
      return QuantizeBlocks<BlockQ5_0>(src, n, dst);
    case GgmlType::kQ5_1:
      return QuantizeBlocks<BlockQ5_1>(src, n, dst);
    case GgmlType::kQ8_0:
      return QuantizeBlocks<BlockQ8_0>(src, n, dst);
    case GgmlType::kQ2_K:
      return QuantizeBlocks<BlockQ2_K>(src, n, dst);
    case GgmlType::kQ3_K:
      return QuantizeBlocks<BlockQ3_K>(src, n, dst);
    case GgmlType::kQ4_K:
      return QuantizeBlocks<BlockQ4_K>(src, n, dst);
    case GgmlType::kQ5_K:
      return QuantizeBlocks<BlockQ5_K>(src, n, dst);
    case GgmlType::kQ6_K:
      return QuantizeBlocks<BlockQ6_K>(src, n, dst);
  }
}

void DequantizeRow(GgmlType type, const uint8_t* src, int64_t n, float* dst) {
  assert(GgmlRowBytes(type, n) >= 0);
  switch (type) {
    case GgmlType::kF32:
      std::memmove(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::kF16:
      return WidenFloats<HalfToFloat>(src, n, dst);
    case GgmlType::kBF16:
      return WidenFloats<BFloat16ToFloat>(src, n, dst);
    case GgmlType::kQ4_0:
      return DequantizeBlocks<BlockQ4_0>(src, n, dst);
    case GgmlType::kQ4_1:
      return DequantizeBlocks<BlockQ4_1>(src, n, dst);
    case GgmlType::kQ5_0:
      return DequantizeBlocks<BlockQ5_0>(src, n, dst);
    case GgmlType::kQ5_1:
      return DequantizeBlocks<BlockQ5_1>(src, n, dst);
    case GgmlType::kQ8_0:
      return DequantizeBlocks<BlockQ8_0>(src, n, dst);
    case GgmlType::kQ2_K:
      return DequantizeBlocks<BlockQ2_K>(src, n, dst);
    case GgmlType::kQ3_K:
      return DequantizeBlocks<BlockQ3_K>(src, n, dst);
    case GgmlType::kQ4_K:
      return DequantizeBlocks<BlockQ4_K>(src, n, dst);
    case GgmlType::kQ5_K:
      return DequantizeBlocks<BlockQ5_K>(src, n, dst);
    case GgmlType::kQ6_K:
      return DequantizeBlocks<BlockQ6_K>(src, n, dst);
  }
}

void FakeQuantizeRow(GgmlType type, const float* src, int64_t n, float* dst) {
  std::vector<uint8_t> row(static_cast<size_t>(GgmlRowBytes(type, n)));
  QuantizeRow(type, src, n, row.data());
  DequantizeRow(type, row.data(), n, dst);
}

}  // namespace kdnas
