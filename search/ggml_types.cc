#include "search/ggml_types.h"

#include <algorithm>
#include <cctype>

namespace kdnas {

const std::vector<GgmlTypeInfo>& GgmlTypes() {
  // Block layouts: ggml-common.h (QK4_0 = QK5_0 = QK8_0 = 32, QK_K = 256).
  static const std::vector<GgmlTypeInfo> types = {
      {GgmlType::kF32, "f32", 1, 4, false, 32},
      {GgmlType::kF16, "f16", 1, 2, false, 16},
      {GgmlType::kQ4_0, "q4_0", 32, 2 + 16, true, 4},             // d, 32 nibbles
      {GgmlType::kQ4_1, "q4_1", 32, 2 + 2 + 16, true, 4},         // d, m, 32 nibbles
      {GgmlType::kQ5_0, "q5_0", 32, 2 + 4 + 16, true, 5},         // d, high bits, nibbles
      {GgmlType::kQ5_1, "q5_1", 32, 2 + 2 + 4 + 16, true, 5},     // d, m, high bits, nibbles
      {GgmlType::kQ8_0, "q8_0", 32, 2 + 32, true, 8},             // d, 32 int8
      {GgmlType::kQ2_K, "q2_k", 256, 16 + 64 + 2 + 2, true, 2},   // scales, 2-bit, d, dmin
      {GgmlType::kQ3_K, "q3_k", 256, 32 + 64 + 12 + 2, true, 3},  // hmask, 2-bit, scales, d
      {GgmlType::kQ4_K, "q4_k", 256, 2 + 2 + 12 + 128, true, 4},  // d, dmin, scales, nibbles
      {GgmlType::kQ5_K, "q5_k", 256, 2 + 2 + 12 + 32 + 128, true, 5},
      {GgmlType::kQ6_K, "q6_k", 256, 128 + 64 + 16 + 2, true, 6},  // low 4, high 2, scales, d
      {GgmlType::kBF16, "bf16", 1, 2, false, 16},
  };
  return types;
}

const GgmlTypeInfo* FindGgmlType(uint32_t type) {
  for (const auto& t : GgmlTypes())
    if (static_cast<uint32_t>(t.type) == type) return &t;
  return nullptr;
}

const GgmlTypeInfo& GgmlTypeOf(GgmlType type) { return *FindGgmlType(static_cast<uint32_t>(type)); }

std::optional<GgmlType> ParseGgmlType(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& t : GgmlTypes())
    if (t.name == lower) return t.type;
  return std::nullopt;
}

std::string_view GgmlTypeName(GgmlType type) { return GgmlTypeOf(type).name; }

int64_t GgmlRowBytes(GgmlType type, int64_t elements) {
  const GgmlTypeInfo& t = GgmlTypeOf(type);
  if (elements < 0 || elements % t.block_elements != 0) return -1;
  return elements / t.block_elements * t.block_bytes;
}

GgmlType GgmlFallbackType(GgmlType type, int64_t cols) {
  if (GgmlRowBytes(type, cols) >= 0) return type;
  GgmlType fallback = type;
  switch (type) {
    case GgmlType::kQ2_K:
    case GgmlType::kQ3_K:
      fallback = GgmlType::kQ4_0;
      break;
    case GgmlType::kQ4_K:
      fallback = GgmlType::kQ5_0;
      break;
    case GgmlType::kQ5_K:
      fallback = GgmlType::kQ5_1;
      break;
    case GgmlType::kQ6_K:
      fallback = GgmlType::kQ8_0;
      break;
    default:
      break;
  }
  return GgmlRowBytes(fallback, cols) >= 0 ? fallback : GgmlType::kF16;
}

}  // namespace kdnas
