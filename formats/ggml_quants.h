// Rows of ggml tensors as llama.cpp writes and reads them: the reference
// quantizers of ggml-quants.c (quantize_row_<type>_ref, which llama.cpp's
// quantizer uses without an importance matrix) and its dequantizers, bit for
// bit, in plain C++ (the block layouts are in formats/ggml_blocks.h).
//
// Bit-exact means the same float operations in the same order; this holds
// when the compiler does not fuse a * b + c into an FMA (kdnas builds for
// generic x86-64, as llama.cpp's libggml-base is; tests/formats/
// ggml_quants_test.cc compares against that library).
#pragma once

#include <cstdint>

#include "formats/safetensors.h"  // HalfToFloat, BFloat16ToFloat: the exact widenings
#include "search/ggml_types.h"

namespace kdnas {

// IEEE binary16 bits of `value`, rounded to nearest even, as ggml's
// ggml_compute_fp32_to_fp16 (and F16C) converts: beyond the largest half it
// gives infinity, every NaN becomes the quiet NaN 0x7e00 (with its sign).
uint16_t FloatToHalf(float value);

// bfloat16 bits of `value`, rounded to nearest even, subnormals kept; a NaN
// keeps its top bits and is made quiet (ggml_compute_fp32_to_bf16).
uint16_t FloatToBFloat16(float value);

// Quantizes `n` floats (n a multiple of the type's block) into ggml's block
// layout, exactly as llama.cpp's quantize_row_<type>_ref does; `dst` receives
// GgmlRowBytes(type, n) bytes. F32, F16 and BF16 are stored as their
// little-endian values (F16 and BF16 rounded to nearest even).
void QuantizeRow(GgmlType type, const float* src, int64_t n, uint8_t* dst);

// The `n` values of a row of `type` at `src` (GgmlRowBytes(type, n) bytes),
// exactly as ggml's dequantize_row_<type> (and ggml_fp16_to_fp32_row,
// ggml_bf16_to_fp32_row) computes them.
void DequantizeRow(GgmlType type, const uint8_t* src, int64_t n, float* dst);

// What a weight becomes after a round trip: DequantizeRow(QuantizeRow(x)).
// `dst` may be `src`.
void FakeQuantizeRow(GgmlType type, const float* src, int64_t n, float* dst);

}  // namespace kdnas
