#include "formats/safetensors_writer.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

namespace kdnas {
namespace {

void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v & 0xff));
  out->push_back(static_cast<char>(v >> 8));
}

// IEEE binary16 of `f`, rounding to nearest even; overflow to infinity.
uint16_t ToHalf(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (x >> 16) & 0x8000;
  const uint32_t exponent = (x >> 23) & 0xff;
  uint32_t mantissa = x & 0x7fffff;
  if (exponent == 0xff) return static_cast<uint16_t>(sign | 0x7c00 | (mantissa ? 0x200 : 0));
  const int e = static_cast<int>(exponent) - 127 + 15;
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign);
    mantissa |= 0x800000;
    const int shift = 14 - e;
    uint32_t half = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1), midpoint = 1u << (shift - 1);
    if (rest > midpoint || (rest == midpoint && (half & 1))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = (static_cast<uint32_t>(e) << 10) | (mantissa >> 13);
  const uint32_t rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) ++half;  // may carry into the exponent
  return static_cast<uint16_t>(sign | half);
}

uint16_t ToBfloat16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((x >> 16) | 0x40);  // NaN
  const uint32_t rounding = 0x7fff + ((x >> 16) & 1);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

}  // namespace

std::string EncodeFloats(const std::vector<float>& values, SafetensorsDtype dtype) {
  std::string out;
  if (dtype == SafetensorsDtype::kF32) {
    out.resize(values.size() * 4);
    for (size_t i = 0; i < values.size(); ++i) {
      const uint32_t v = std::bit_cast<uint32_t>(values[i]);
      for (int b = 0; b < 4; ++b) out[4 * i + b] = static_cast<char>((v >> (8 * b)) & 0xff);
    }
    return out;
  }
  out.reserve(values.size() * 2);
  for (float v : values) PutU16(&out, dtype == SafetensorsDtype::kF16 ? ToHalf(v) : ToBfloat16(v));
  return out;
}

StatusOr<std::string> SerializeSafetensors(std::vector<SafetensorsEntry> tensors,
                                           const std::map<std::string, std::string>& metadata) {
  std::set<std::string> names;
  for (const auto& t : tensors) {
    int64_t elements = 1;
    for (int64_t d : t.shape) elements *= d;
    const int64_t bits = elements * SafetensorsDtypeBits(t.dtype);
    if (bits % 8 != 0 || bits / 8 != static_cast<int64_t>(t.bytes.size())) {
      return InvalidArgument("tensor \"" + t.name + "\": " + std::to_string(t.bytes.size()) +
                             " bytes for " + std::to_string(elements) + " elements of " +
                             std::string(SafetensorsDtypeName(t.dtype)));
    }
    if (t.name == "__metadata__" || !names.insert(t.name).second) {
      return InvalidArgument("tensor \"" + t.name + "\": the name is taken");
    }
  }
  std::stable_sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
    if (a.dtype != b.dtype) return a.dtype > b.dtype;
    return a.name < b.name;
  });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  int64_t offset = 0;
  for (const auto& t : tensors) {
    const int64_t end = offset + static_cast<int64_t>(t.bytes.size());
    header[t.name] = {{"dtype", std::string(SafetensorsDtypeName(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + text.size() + static_cast<size_t>(offset));
  const uint64_t n = text.size();
  for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((n >> (8 * b)) & 0xff));
  out += text;
  for (const auto& t : tensors) out += t.bytes;
  return out;
}

}  // namespace kdnas
