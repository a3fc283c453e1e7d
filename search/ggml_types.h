// The ggml tensor types kdnas writes into GGUF files, as llama.cpp numbers
// and lays them out (ggml/include/ggml.h, ggml/src/ggml-common.h): each
// quantized type stores a row as blocks of `block_elements` values in
// `block_bytes` bytes. One table (GgmlTypeInfo) holds every fact about a type
// that the cost model, the quantizers and the GGUF writer and reader use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kdnas {

// Values are ggml's own enum ggml_type numbers (what a GGUF file stores).
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kBF16 = 30,
};

struct GgmlTypeInfo {
  GgmlType type;
  std::string_view name;  // lower case, as in weight_format: "q4_k", "f16"
  int block_elements;     // values per block (1 for the float types)
  int block_bytes;        // bytes per block
  bool quantized;
  // The bits a weight is stored in, without block scales: what weight_bits
  // and embedding_bits a weight_format implies (32 for f32, 5 for q5_*).
  int nominal_bits;
};

// Every type above, in enum order.
const std::vector<GgmlTypeInfo>& GgmlTypes();
// The entry of a type; null for a number kdnas does not write.
const GgmlTypeInfo* FindGgmlType(uint32_t type);
const GgmlTypeInfo& GgmlTypeOf(GgmlType type);
// By name ("q4_k", case-insensitive; "Q4_K" too); nullopt if unknown.
std::optional<GgmlType> ParseGgmlType(std::string_view name);
std::string_view GgmlTypeName(GgmlType type);

// Bytes of a row of `elements` values; -1 when the type's block does not
// divide the row.
int64_t GgmlRowBytes(GgmlType type, int64_t elements);

// The type llama.cpp's quantizer stores a tensor of `type` whose rows are
// `cols` values long (src/llama-quant.cpp, tensor_type_fallback): `type` when
// its block divides the row; else q2_k, q3_k -> q4_0, q4_k -> q5_0,
// q5_k -> q5_1, q6_k -> q8_0; and f16 when even that block does not divide.
GgmlType GgmlFallbackType(GgmlType type, int64_t cols);

}  // namespace kdnas
