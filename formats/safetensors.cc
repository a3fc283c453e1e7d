#include "formats/safetensors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <filesystem>
#include <fstream>

#include "formats/strict_json.h"

namespace kdnas {
namespace {

using Json = nlohmann::json;

struct DtypeInfo {
  SafetensorsDtype dtype;
  std::string_view name;
  int bits;
};

// In enum order, so kDtypes[static_cast<int>(d)].dtype == d.
constexpr std::array<DtypeInfo, 22> kDtypes = {{
    {SafetensorsDtype::kBool, "BOOL", 8},
    {SafetensorsDtype::kF4, "F4", 4},
    {SafetensorsDtype::kF6E2M3, "F6_E2M3", 6},
    {SafetensorsDtype::kF6E3M2, "F6_E3M2", 6},
    {SafetensorsDtype::kU8, "U8", 8},
    {SafetensorsDtype::kI8, "I8", 8},
    {SafetensorsDtype::kF8E5M2, "F8_E5M2", 8},
    {SafetensorsDtype::kF8E4M3, "F8_E4M3", 8},
    {SafetensorsDtype::kF8E8M0, "F8_E8M0", 8},
    {SafetensorsDtype::kF8E4M3Fnuz, "F8_E4M3FNUZ", 8},
    {SafetensorsDtype::kF8E5M2Fnuz, "F8_E5M2FNUZ", 8},
    {SafetensorsDtype::kI16, "I16", 16},
    {SafetensorsDtype::kU16, "U16", 16},
    {SafetensorsDtype::kF16, "F16", 16},
    {SafetensorsDtype::kBF16, "BF16", 16},
    {SafetensorsDtype::kI32, "I32", 32},
    {SafetensorsDtype::kU32, "U32", 32},
    {SafetensorsDtype::kF32, "F32", 32},
    {SafetensorsDtype::kC64, "C64", 64},
    {SafetensorsDtype::kF64, "F64", 64},
    {SafetensorsDtype::kI64, "I64", 64},
    {SafetensorsDtype::kU64, "U64", 64},
}};

constexpr bool DtypeTableInEnumOrder() {
  for (size_t i = 0; i < kDtypes.size(); ++i)
    if (static_cast<size_t>(kDtypes[i].dtype) != i) return false;
  return true;
}
static_assert(DtypeTableInEnumOrder());
static_assert(static_cast<size_t>(SafetensorsDtype::kU64) + 1 == kDtypes.size());

uint64_t LoadLE(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::string T(const std::string& name) { return "tensor " + QuoteForMessage(name) + ": "; }

// "[begin, end)". Appended piecewise: GCC 12 warns (-Wrestrict, a false
// positive) about "[" + std::to_string(...).
std::string Span(uint64_t begin, uint64_t end) {
  std::string s = "[";
  s.append(std::to_string(begin)).append(", ").append(std::to_string(end)).append(")");
  return s;
}

// A JSON integer >= 0 and < 2^63 (so it fits every int64 it is stored in).
bool AsIndex(const Json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
  } else if (v.is_number_integer() && v.get<int64_t>() == 0) {
    *out = 0;  // "-0"
  } else {
    return false;
  }
  return *out <= static_cast<uint64_t>(INT64_MAX);
}

// The header length announced by the first 8 bytes, checked against the
// limit and the file size.
StatusOr<uint64_t> HeaderLength(std::string_view prefix, int64_t file_size) {
  if (file_size < 8 || prefix.size() < 8) {
    return DataLoss("the file is " + std::to_string(std::max<int64_t>(file_size, 0)) +
                    " bytes, shorter than the 8-byte header length");
  }
  const uint64_t n = LoadLE(prefix.data(), 8);
  if (n > static_cast<uint64_t>(SafetensorsFile::kMaxHeaderBytes)) {
    return DataLoss("the header length is " + std::to_string(n) + " bytes, more than the " +
                    std::to_string(SafetensorsFile::kMaxHeaderBytes) + " a header may have");
  }
  if (n > static_cast<uint64_t>(file_size - 8)) {
    return DataLoss("the header length is " + std::to_string(n) + " bytes but only " +
                    std::to_string(file_size - 8) + " follow the length in the file");
  }
  return n;
}

Status ParseTensor(const std::string& name, const Json& entry, uint64_t data_size,
                   SafetensorsTensor* t, uint64_t* begin, uint64_t* end) {
  t->name = name;
  if (!entry.is_object())
    return DataLoss(T(name) + "its entry is " + JsonTypeForMessage(entry) + ", not an object");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(field)) return DataLoss(T(name) + "no \"" + field + "\"");

  const Json& dtype = entry["dtype"];
  if (!dtype.is_string())
    return DataLoss(T(name) + "\"dtype\" is " + JsonTypeForMessage(dtype) + ", not a string");
  if (!ParseSafetensorsDtype(dtype.get_ref<const std::string&>(), &t->dtype))
    return DataLoss(T(name) + "unknown dtype " +
                    QuoteForMessage(dtype.get_ref<const std::string&>()));

  const Json& shape = entry["shape"];
  if (!shape.is_array())
    return DataLoss(T(name) + "\"shape\" is " + JsonTypeForMessage(shape) + ", not a list");
  // Overflow is checked at every step, as the Rust library does (so a shape
  // such as [2^40, 2^40, 0] is refused although it has no elements).
  uint64_t elements = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    uint64_t dim = 0;
    if (!AsIndex(shape[i], &dim)) {
      return DataLoss(T(name) + "shape[" + std::to_string(i) + "] is " + shape[i].dump() +
                      ", not an integer in [0, 2^63)");
    }
    t->shape.push_back(static_cast<int64_t>(dim));
    if (__builtin_mul_overflow(elements, dim, &elements))
      return DataLoss(T(name) + "the number of elements of shape " + shape.dump() +
                      " overflows 64 bits");
  }
  uint64_t bits = 0;
  if (__builtin_mul_overflow(elements, static_cast<uint64_t>(SafetensorsDtypeBits(t->dtype)),
                             &bits) ||
      elements > static_cast<uint64_t>(INT64_MAX)) {
    return DataLoss(T(name) + "the size of shape " + shape.dump() + " of " +
                    std::string(SafetensorsDtypeName(t->dtype)) + " overflows 64 bits");
  }
  if (bits % 8 != 0) {
    return DataLoss(T(name) + std::to_string(elements) + " elements of " +
                    std::string(SafetensorsDtypeName(t->dtype)) +
                    " are not a whole number of bytes");
  }
  t->num_elements = static_cast<int64_t>(elements);

  const Json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !AsIndex(offsets[0], begin) ||
      !AsIndex(offsets[1], end)) {
    return DataLoss(T(name) + "\"data_offsets\" is " + offsets.dump().substr(0, 120) +
                    ", not [begin, end] with integers in [0, 2^63)");
  }
  if (*end < *begin)
    return DataLoss(T(name) + "data_offsets end " + std::to_string(*end) + " < begin " +
                    std::to_string(*begin));
  if (*end - *begin != bits / 8) {
    return DataLoss(T(name) + "shape " + shape.dump() + " of " +
                    std::string(SafetensorsDtypeName(t->dtype)) + " is " +
                    std::to_string(bits / 8) + " bytes but data_offsets " + Span(*begin, *end) +
                    " hold " + std::to_string(*end - *begin));
  }
  if (*end > data_size) {
    return DataLoss(T(name) + "data_offsets " + Span(*begin, *end) +
                    " end past the data section (" + std::to_string(data_size) + " bytes)");
  }
  return Status::Ok();
}

}  // namespace

std::string_view SafetensorsDtypeName(SafetensorsDtype dtype) {
  return kDtypes[static_cast<size_t>(dtype)].name;
}

bool ParseSafetensorsDtype(std::string_view name, SafetensorsDtype* dtype) {
  for (const DtypeInfo& d : kDtypes) {
    if (d.name == name) {
      *dtype = d.dtype;
      return true;
    }
  }
  return false;
}

int SafetensorsDtypeBits(SafetensorsDtype dtype) {
  return kDtypes[static_cast<size_t>(dtype)].bits;
}

StatusOr<SafetensorsFile> SafetensorsFile::Parse(std::string_view prefix, int64_t file_size) {
  KDNAS_ASSIGN_OR_RETURN(const uint64_t n, HeaderLength(prefix, file_size));
  if (prefix.size() - 8 < n) {
    return InvalidArgument("the header is " + std::to_string(n) + " bytes but only " +
                           std::to_string(prefix.size() - 8) + " were given");
  }
  const std::string_view header = prefix.substr(8, n);
  const uint64_t data_size = static_cast<uint64_t>(file_size) - 8 - n;

  bool found_duplicate = false;
  DuplicateJsonKey duplicate;
  auto parsed = ParseJsonFindingDuplicates(header, &found_duplicate, &duplicate);
  if (!parsed.ok()) return DataLoss("the header is " + parsed.status().message());
  const Json& root = *parsed;
  if (!root.is_object())
    return DataLoss("the header is " + JsonTypeForMessage(root) + ", not a JSON object");
  if (found_duplicate) {
    if (duplicate.path.empty())
      return DataLoss(T(duplicate.key) + "the name appears twice in the header");
    return DataLoss((duplicate.path[0] == "__metadata__" ? std::string("__metadata__: ")
                                                         : T(duplicate.path[0])) +
                    "the key " + QuoteForMessage(duplicate.key) + " appears twice");
  }

  SafetensorsFile file;
  file.file_size_bytes_ = file_size;
  file.header_size_bytes_ = static_cast<int64_t>(n);
  for (const auto& [name, entry] : root.items()) {
    if (name == "__metadata__") {
      if (entry.is_null()) continue;  // serde reads null as "no metadata"
      if (!entry.is_object())
        return DataLoss("__metadata__ is " + JsonTypeForMessage(entry) + ", not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) {
          return DataLoss("__metadata__: the value of " + QuoteForMessage(key) + " is " +
                          JsonTypeForMessage(value) + ", not a string");
        }
        file.metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    SafetensorsTensor t;
    uint64_t begin = 0, end = 0;
    KDNAS_RETURN_IF_ERROR(ParseTensor(name, entry, data_size, &t, &begin, &end));
    t.begin_offset = static_cast<int64_t>(8 + n + begin);
    t.end_offset = static_cast<int64_t>(8 + n + end);
    file.tensors_.push_back(std::move(t));
  }

  // The tensors must tile the data section: sorted by offset, each starts
  // where the previous one ends, and the last ends at the end of the file.
  std::sort(file.tensors_.begin(), file.tensors_.end(), [](const auto& a, const auto& b) {
    return std::tie(a.begin_offset, a.end_offset, a.name) <
           std::tie(b.begin_offset, b.end_offset, b.name);
  });
  int64_t expected = file.data_offset();
  const SafetensorsTensor* previous = nullptr;
  for (const SafetensorsTensor& t : file.tensors_) {
    const auto rel = [&](int64_t offset) {
      return static_cast<uint64_t>(offset - file.data_offset());
    };
    if (t.begin_offset < expected) {
      return DataLoss(T(t.name) + "data_offsets " + Span(rel(t.begin_offset), rel(t.end_offset)) +
                      " overlap those of tensor " + QuoteForMessage(previous->name) + " " +
                      Span(rel(previous->begin_offset), rel(previous->end_offset)));
    }
    if (t.begin_offset > expected) {
      return DataLoss(T(t.name) + "data_offsets " + Span(rel(t.begin_offset), rel(t.end_offset)) +
                      " leave a gap of " + std::to_string(t.begin_offset - expected) +
                      " bytes after " +
                      (previous ? "tensor " + QuoteForMessage(previous->name) : "the header") +
                      " (the tensors must cover the data section without gaps)");
    }
    expected = t.end_offset;
    previous = &t;
  }
  if (expected != file_size) {
    return DataLoss("the data section has " + std::to_string(file_size - expected) +
                    " bytes after " +
                    (previous ? "the last tensor, " + QuoteForMessage(previous->name)
                              : "the header, which names no tensor") +
                    " (the tensors must cover the data section exactly)");
  }
  for (size_t i = 0; i < file.tensors_.size(); ++i) file.index_[file.tensors_[i].name] = i;
  return file;
}

StatusOr<SafetensorsFile> SafetensorsFile::Open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return NotFound(path + ": no such file");
  const auto size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) return DataLoss(path + ": cannot be read");
  const int64_t file_size = static_cast<int64_t>(size);
  const auto with_path = [&](const Status& s) {
    return Status(s.code(), path + ": " + s.message());
  };

  std::string prefix(static_cast<size_t>(std::min<int64_t>(file_size, 8)), '\0');
  if (!in.read(prefix.data(), static_cast<std::streamsize>(prefix.size())))
    return DataLoss(path + ": cannot read the header length");
  auto n = HeaderLength(prefix, file_size);
  if (!n.ok()) return with_path(n.status());
  prefix.resize(8 + *n);
  if (!in.read(prefix.data() + 8, static_cast<std::streamsize>(*n)))
    return DataLoss(path + ": cannot read the " + std::to_string(*n) + "-byte header");
  auto file = Parse(prefix, file_size);
  if (!file.ok()) return with_path(file.status());
  file->path_ = path;
  return file;
}

const SafetensorsTensor* SafetensorsFile::Find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

StatusOr<std::string> SafetensorsFile::ReadTensorBytes(std::string_view name) const {
  const SafetensorsTensor* t = Find(name);
  if (t == nullptr) return NotFound(path_ + ": no tensor " + QuoteForMessage(name));
  if (path_.empty())
    return FailedPrecondition("tensor " + QuoteForMessage(name) +
                              ": parsed from memory, no file to read");
  std::error_code ec;
  const auto size = std::filesystem::file_size(path_, ec);
  if (ec || static_cast<int64_t>(size) < t->end_offset) {
    return DataLoss(path_ + ": " + T(t->name) + "the file is now shorter than its header says (" +
                    std::to_string(t->end_offset) + " bytes)");
  }
  std::ifstream in(path_, std::ios::binary);
  std::string bytes(static_cast<size_t>(t->size_bytes()), '\0');
  if (!in.seekg(t->begin_offset) ||
      !in.read(bytes.data(), static_cast<std::streamsize>(bytes.size())))
    return DataLoss(path_ + ": " + T(t->name) + "cannot read its " + std::to_string(bytes.size()) +
                    " bytes");
  return bytes;
}

StatusOr<std::vector<float>> SafetensorsFile::ReadFloat32(std::string_view name) const {
  KDNAS_ASSIGN_OR_RETURN(const std::string bytes, ReadTensorBytes(name));
  auto values = SafetensorsToFloat32(Find(name)->dtype, bytes);
  if (!values.ok())
    return Status(values.status().code(),
                  path_ + ": " + T(std::string(name)) + values.status().message());
  return values;
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float32.
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31)
    return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
  return std::bit_cast<float>(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
}

float BFloat16ToFloat(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

StatusOr<std::vector<float>> SafetensorsToFloat32(SafetensorsDtype dtype, std::string_view raw) {
  if (dtype != SafetensorsDtype::kF32 && dtype != SafetensorsDtype::kF16 &&
      dtype != SafetensorsDtype::kBF16) {
    return InvalidArgument("dtype " + std::string(SafetensorsDtypeName(dtype)) +
                           " is not converted to float32 (only F32, F16 and BF16 are)");
  }
  const size_t width = static_cast<size_t>(SafetensorsDtypeBits(dtype) / 8);
  if (raw.size() % width != 0) {
    return InvalidArgument(std::to_string(raw.size()) + " bytes are not a whole number of " +
                           std::string(SafetensorsDtypeName(dtype)) + " elements");
  }
  std::vector<float> out(raw.size() / width);
  for (size_t i = 0; i < out.size(); ++i) {
    const uint64_t v = LoadLE(raw.data() + i * width, static_cast<int>(width));
    switch (dtype) {
      case SafetensorsDtype::kF32:
        out[i] = std::bit_cast<float>(static_cast<uint32_t>(v));
        break;
      case SafetensorsDtype::kF16:
        out[i] = HalfToFloat(static_cast<uint16_t>(v));
        break;
      default:
        out[i] = BFloat16ToFloat(static_cast<uint16_t>(v));
        break;
    }
  }
  return out;
}

}  // namespace kdnas
