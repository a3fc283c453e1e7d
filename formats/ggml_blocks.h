// ggml's quantized blocks (llama.cpp ggml/src/ggml-common.h), one plain
// struct per type, laid out byte for byte as a GGUF file stores them, each
// with its reference quantizer and dequantizer beside it (the algorithms of
// ggml-quants.c's quantize_row_<type>_ref and dequantize_row_<type>, bit for
// bit). Scales are IEEE binary16 bit patterns (FloatToHalf, HalfToFloat).
//
// The legacy types hold 32 values a block; the k-quants ("_K") hold a
// super-block of 256 values made of sub-blocks of 16 or 32 whose own scales
// are quantized against the super-block's.
#pragma once

#include <bit>
#include <cstdint>

#include "search/ggml_types.h"

namespace kdnas {

static_assert(std::endian::native == std::endian::little,
              "ggml blocks are little-endian; so is every host kdnas builds for");

inline constexpr int kGgmlLegacyBlock = 32;  // QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0
inline constexpr int kGgmlSuperBlock = 256;  // QK_K
inline constexpr int kGgmlKScaleBytes = 12;  // K_SCALE_SIZE: 8 scales + 8 mins of 6 bits

// value = (q - 8) * d, q in [0, 16).
struct BlockQ4_0 {
  static constexpr GgmlType kType = GgmlType::kQ4_0;
  static constexpr int kElements = kGgmlLegacyBlock;
  uint16_t d;
  uint8_t qs[16];  // nibbles: low = value j, high = value j + 16
};
static_assert(sizeof(BlockQ4_0) == 2 + 32 / 2);

// value = q * d + m, q in [0, 16).
struct BlockQ4_1 {
  static constexpr GgmlType kType = GgmlType::kQ4_1;
  static constexpr int kElements = kGgmlLegacyBlock;
  uint16_t d;
  uint16_t m;
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_1) == 2 * 2 + 32 / 2);

// value = (q - 16) * d, q in [0, 32): the low 4 bits in qs as in q4_0, the
// fifth bit of value j in bit j of the little-endian u32 qh.
struct BlockQ5_0 {
  static constexpr GgmlType kType = GgmlType::kQ5_0;
  static constexpr int kElements = kGgmlLegacyBlock;
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_0) == 2 + 4 + 32 / 2);

// value = q * d + m, q in [0, 32), bits as in q5_0.
struct BlockQ5_1 {
  static constexpr GgmlType kType = GgmlType::kQ5_1;
  static constexpr int kElements = kGgmlLegacyBlock;
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_1) == 2 * 2 + 4 + 32 / 2);

// value = q * d, q in [-127, 127].
struct BlockQ8_0 {
  static constexpr GgmlType kType = GgmlType::kQ8_0;
  static constexpr int kElements = kGgmlLegacyBlock;
  uint16_t d;
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 2 + 32);

// 16 sub-blocks of 16: value = d * (scales & 15) * q - dmin * (scales >> 4),
// q in [0, 4). qs byte 32 * h + l holds, from its low bits up, the values
// 128 * h + l, + 32, + 64, + 96.
struct BlockQ2_K {
  static constexpr GgmlType kType = GgmlType::kQ2_K;
  static constexpr int kElements = kGgmlSuperBlock;
  uint8_t scales[16];  // low nibble: scale, high nibble: min
  uint8_t qs[64];
  uint16_t d;
  uint16_t dmin;
};
static_assert(sizeof(BlockQ2_K) == 256 / 16 + 256 / 4 + 2 * 2);

// 16 sub-blocks of 16: value = d * (scale - 32) * (q - 4), q in [0, 8): the
// low 2 bits packed as in q2_K, the third bit of value v in bit v / 32 of
// hmask[v % 32]. The 6-bit scales: low nibbles in scales[0..8) (j < 8 low,
// j >= 8 high nibble of j - 8), the top 2 bits of scale j in bits 2 * (j / 4)
// of scales[8 + j % 4].
struct BlockQ3_K {
  static constexpr GgmlType kType = GgmlType::kQ3_K;
  static constexpr int kElements = kGgmlSuperBlock;
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];
  uint16_t d;
};
static_assert(sizeof(BlockQ3_K) == 256 / 8 + 256 / 4 + 12 + 2);

// 8 sub-blocks of 32: value = d * scale * q - dmin * min, q in [0, 16), the
// 6-bit scales and mins packed as get_scale_min_k4 reads them. qs byte
// 32 * h + l: low nibble value 64 * h + l, high nibble value 64 * h + l + 32.
struct BlockQ4_K {
  static constexpr GgmlType kType = GgmlType::kQ4_K;
  static constexpr int kElements = kGgmlSuperBlock;
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kGgmlKScaleBytes];
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ4_K) == 2 * 2 + kGgmlKScaleBytes + 256 / 2);

// As q4_K with q in [0, 32): the fifth bit of value 64 * h + l in bit 2 * h
// of qh[l], of value 64 * h + l + 32 in bit 2 * h + 1.
struct BlockQ5_K {
  static constexpr GgmlType kType = GgmlType::kQ5_K;
  static constexpr int kElements = kGgmlSuperBlock;
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kGgmlKScaleBytes];
  uint8_t qh[32];
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ5_K) == 2 * 2 + kGgmlKScaleBytes + 256 / 8 + 256 / 2);

// 16 sub-blocks of 16: value = d * scales[v / 16] * (q - 32), q in [0, 64).
// In each half h of 128 values, ql[64 * h + l] holds values l (low nibble)
// and l + 64 (high), ql[64 * h + l + 32] values l + 32 and l + 96, and
// qh[32 * h + l] their top 2 bits (l, l + 32, l + 64, l + 96 from bit 0 up).
struct BlockQ6_K {
  static constexpr GgmlType kType = GgmlType::kQ6_K;
  static constexpr int kElements = kGgmlSuperBlock;
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 256 / 2 + 256 / 4 + 256 / 16 + 2);

// The reference quantizers: `x` holds Block::kElements values.
void QuantizeBlock(const float* x, BlockQ4_0* block);
void QuantizeBlock(const float* x, BlockQ4_1* block);
void QuantizeBlock(const float* x, BlockQ5_0* block);
void QuantizeBlock(const float* x, BlockQ5_1* block);
void QuantizeBlock(const float* x, BlockQ8_0* block);
void QuantizeBlock(const float* x, BlockQ2_K* block);
void QuantizeBlock(const float* x, BlockQ3_K* block);
void QuantizeBlock(const float* x, BlockQ4_K* block);
void QuantizeBlock(const float* x, BlockQ5_K* block);
void QuantizeBlock(const float* x, BlockQ6_K* block);

// The dequantizers: writes Block::kElements values to `y`.
void DequantizeBlock(const BlockQ4_0& block, float* y);
void DequantizeBlock(const BlockQ4_1& block, float* y);
void DequantizeBlock(const BlockQ5_0& block, float* y);
void DequantizeBlock(const BlockQ5_1& block, float* y);
void DequantizeBlock(const BlockQ8_0& block, float* y);
void DequantizeBlock(const BlockQ2_K& block, float* y);
void DequantizeBlock(const BlockQ3_K& block, float* y);
void DequantizeBlock(const BlockQ4_K& block, float* y);
void DequantizeBlock(const BlockQ5_K& block, float* y);
void DequantizeBlock(const BlockQ6_K& block, float* y);

}  // namespace kdnas
