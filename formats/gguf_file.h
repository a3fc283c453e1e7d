// The model of a GGUF file (version 3) that formats/gguf_writer.h writes and
// formats/gguf_reader.h reads, as llama.cpp defines it (ggml/include/gguf.h,
// ggml/src/gguf.cpp; gguf-py/gguf/gguf_writer.py). Every number is little
// endian:
//
//   "GGUF"  u32 version  u64 n_tensors  u64 n_kv
//   n_kv x      { string key, u32 value type, value }
//   n_tensors x { string name, u32 n_dims, n_dims x i64 ne, u32 ggml type, u64 offset }
//   zeros to the alignment, then the data section: each tensor's bytes at its
//   offset (relative to the data section, a multiple of the alignment),
//   followed by zeros to the alignment.
//
// A string is a u64 byte length and the bytes (no terminator). An array value
// is u32 element type, u64 count, the elements. A bool is one byte. The
// alignment is the u32 value of "general.alignment", 32 without it.
#pragma once

#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "search/ggml_types.h"

namespace kdnas {

inline constexpr std::string_view kGgufMagic = "GGUF";
inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr std::string_view kGgufAlignmentKey = "general.alignment";
// ggml's GGML_MAX_DIMS, and GGML_MAX_NAME (64) less the terminator:
// llama.cpp refuses a tensor name of 64 bytes or more.
inline constexpr int kGgufMaxDims = 4;
inline constexpr int kGgufMaxTensorNameBytes = 63;

// gguf's enum gguf_type: how a metadata value is stored.
enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// A metadata value: a scalar, a string, or an array of one of those (GGUF has
// arrays of arrays; llama.cpp does not read them, and neither does kdnas).
// The alternatives are the GgufValueType order without kArray, then the same
// as arrays, so GgufTypeOf below is arithmetic on index().
using GgufValue = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                               std::string, uint64_t, int64_t, double, std::vector<uint8_t>,
                               std::vector<int8_t>, std::vector<uint16_t>, std::vector<int16_t>,
                               std::vector<uint32_t>, std::vector<int32_t>, std::vector<float>,
                               std::vector<bool>, std::vector<std::string>, std::vector<uint64_t>,
                               std::vector<int64_t>, std::vector<double>>;
static_assert(std::variant_size_v<GgufValue> == 24);

inline constexpr size_t kGgufScalarAlternatives = 12;

inline bool GgufIsArray(const GgufValue& value) { return value.index() >= kGgufScalarAlternatives; }

// The type of a scalar; of an array's elements.
inline GgufValueType GgufElementTypeOf(const GgufValue& value) {
  const size_t i = value.index() % kGgufScalarAlternatives;
  return static_cast<GgufValueType>(i < 9 ? i : i + 1);  // skip kArray
}

// The type the file stores first: kArray for an array.
inline GgufValueType GgufTypeOf(const GgufValue& value) {
  return GgufIsArray(value) ? GgufValueType::kArray : GgufElementTypeOf(value);
}

// "u32", "str", "arr": llama.cpp's gguf_type_name. "?" for other numbers.
inline std::string_view GgufValueTypeName(GgufValueType type) {
  constexpr std::string_view kNames[] = {"u8",   "i8",  "u16", "i16", "u32", "i32", "f32",
                                         "bool", "str", "arr", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(type);
  return i < std::size(kNames) ? kNames[i] : "?";
}

struct GgufKeyValue {
  std::string key;
  GgufValue value;

  bool operator==(const GgufKeyValue& other) const = default;
};

// In file order; keys are unique.
using GgufMetadata = std::vector<GgufKeyValue>;

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> shape;  // ggml order: ne[0] is the row length; empty for a scalar
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;  // relative to the data section

  bool operator==(const GgufTensorInfo& other) const = default;
};

// Bytes of a tensor of `type` and ggml-order `shape`: the row bytes of
// shape[0] times the other dimensions. -1 when a dimension is not positive,
// the type's block does not divide shape[0], or the size overflows int64.
inline int64_t GgufTensorBytes(GgmlType type, const std::vector<int64_t>& shape) {
  // No type stores more than 4 bytes a value, so a row below this fits.
  if (!shape.empty() && shape[0] > INT64_MAX / 4) return -1;
  int64_t bytes = GgmlRowBytes(type, shape.empty() ? 1 : shape[0]);
  if (bytes < 0) return -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] <= 0) return -1;
    if (i > 0 && __builtin_mul_overflow(bytes, shape[i], &bytes)) return -1;
  }
  return bytes;
}

// `n` rounded up to a multiple of `alignment` (a power of two), as GGML_PAD.
inline int64_t GgufAlignUp(int64_t n, uint32_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

}  // namespace kdnas
