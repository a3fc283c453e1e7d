#include "formats/gguf_reader.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <numeric>
#include <set>
#include <utility>

namespace kdnas {
namespace {

namespace fs = std::filesystem;

// `s` in double quotes, safe for a message: bytes outside printable ASCII
// as \xNN, cut after 64 bytes.
std::string Quote(std::string_view s) {
  constexpr size_t kMaxBytes = 64;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMaxBytes; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (s.size() > kMaxBytes) out += "...";
  return out + "\"";
}

std::string N(uint64_t n) { return std::to_string(n); }

// The file's bytes in order, from memory or from a stream, never past the
// size it was given.
class Input {
 public:
  explicit Input(std::string_view bytes)
      : bytes_(bytes), size_(static_cast<int64_t>(bytes.size())) {}
  Input(std::istream* in, int64_t size) : in_(in), size_(size) {}

  int64_t size() const { return size_; }
  int64_t position() const { return position_; }
  int64_t remaining() const { return size_ - position_; }

  // False, reading nothing, if fewer than `n` bytes remain (or the stream fails).
  bool Read(char* out, int64_t n) {
    if (n < 0 || n > remaining()) return false;
    if (in_ != nullptr) {
      in_->read(out, static_cast<std::streamsize>(n));
      if (in_->gcount() != static_cast<std::streamsize>(n)) return false;
    } else if (n > 0) {
      std::memcpy(out, bytes_.data() + position_, static_cast<size_t>(n));
    }
    position_ += n;
    return true;
  }

 private:
  std::string_view bytes_;
  std::istream* in_ = nullptr;
  int64_t size_ = 0;
  int64_t position_ = 0;
};

uint64_t LoadLE(const char* p, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

template <typename T>
T Decode(const char* p) {
  if constexpr (std::is_same_v<T, bool>) {
    return p[0] != 0;  // as llama.cpp: any non-zero byte is true
  } else if constexpr (std::is_same_v<T, float>) {
    return std::bit_cast<float>(static_cast<uint32_t>(LoadLE(p, 4)));
  } else if constexpr (std::is_same_v<T, double>) {
    return std::bit_cast<double>(LoadLE(p, 8));
  } else {
    return static_cast<T>(LoadLE(p, sizeof(T)));
  }
}

bool KnownValueType(uint32_t type) {
  return type <= static_cast<uint32_t>(GgufValueType::kFloat64);
}

class Parser {
 public:
  explicit Parser(Input* in) : in_(*in) {}

  StatusOr<GgufFile> Parse();

 private:
  Status Truncated(const std::string& what, int64_t needed) const {
    return DataLoss("GGUF: the file ends in " + what + ": it needs " + N(needed) +
                    " bytes at offset " + N(in_.position()) + " but " + N(in_.remaining()) +
                    " remain");
  }
  Status Bytes(char* out, int64_t n, const std::string& what) {
    return in_.Read(out, n) ? Status::Ok() : Truncated(what, n);
  }
  StatusOr<uint64_t> Uint(int width, const std::string& what) {
    char buf[8];
    KDNAS_RETURN_IF_ERROR(Bytes(buf, width, what));
    return LoadLE(buf, width);
  }
  StatusOr<std::string> String(const std::string& what) {
    KDNAS_ASSIGN_OR_RETURN(const uint64_t length, Uint(8, "the length of " + what));
    if (length > static_cast<uint64_t>(in_.remaining())) {
      return DataLoss("GGUF: " + what + ": string length " + N(length) +
                      " runs past the end of the file (" + N(in_.remaining()) + " bytes remain)");
    }
    std::string s(static_cast<size_t>(length), '\0');
    KDNAS_RETURN_IF_ERROR(Bytes(s.data(), static_cast<int64_t>(length), what));
    return s;
  }
  // `count` elements of `element_size` bytes at least must fit in the file.
  Status CheckCount(uint64_t count, int64_t element_size, const std::string& what) const {
    if (count > static_cast<uint64_t>(in_.remaining() / element_size)) {
      return DataLoss("GGUF: " + what + " is " + N(count) + ", but the " + N(in_.remaining()) +
                      " bytes that remain hold at most " + N(in_.remaining() / element_size));
    }
    return Status::Ok();
  }

  template <typename T>
  StatusOr<GgufValue> Scalars(bool array, uint64_t count, const std::string& what);
  StatusOr<GgufValue> Strings(bool array, uint64_t count, const std::string& what);
  StatusOr<GgufValue> Value(uint32_t type, bool array, uint64_t count, const std::string& what);
  Status KeyValue(uint64_t i);
  Status Alignment();
  Status TensorInfo(uint64_t i);
  Status Spans(int64_t header_end);

  Input& in_;
  uint64_t n_tensors_ = 0;
  GgufFile file_;
  std::set<std::string, std::less<>> keys_, names_;
};

template <typename T>
StatusOr<GgufValue> Parser::Scalars(bool array, uint64_t count, const std::string& what) {
  constexpr int64_t kSize = std::is_same_v<T, bool> ? 1 : sizeof(T);
  if (array) KDNAS_RETURN_IF_ERROR(CheckCount(count, kSize, "the element count of " + what));
  std::string raw(static_cast<size_t>(count * kSize), '\0');
  KDNAS_RETURN_IF_ERROR(Bytes(raw.data(), static_cast<int64_t>(raw.size()), what));
  if (!array) return GgufValue(std::in_place_type<T>, Decode<T>(raw.data()));
  std::vector<T> values(static_cast<size_t>(count));
  for (size_t i = 0; i < values.size(); ++i) values[i] = Decode<T>(raw.data() + i * kSize);
  return GgufValue(std::move(values));
}

StatusOr<GgufValue> Parser::Strings(bool array, uint64_t count, const std::string& what) {
  if (!array) {
    KDNAS_ASSIGN_OR_RETURN(std::string s, String(what));
    return GgufValue(std::move(s));
  }
  KDNAS_RETURN_IF_ERROR(CheckCount(count, 8, "the element count of " + what));
  // Grown as the strings are read, not sized by the count: a std::string
  // takes 4 times the 8 bytes of an empty one in the file.
  std::vector<std::string> values;
  values.reserve(static_cast<size_t>(std::min<uint64_t>(count, 1 << 16)));
  for (uint64_t i = 0; i < count; ++i) {
    KDNAS_ASSIGN_OR_RETURN(std::string s, String(what + " element " + N(i)));
    values.push_back(std::move(s));
  }
  return GgufValue(std::move(values));
}

StatusOr<GgufValue> Parser::Value(uint32_t type, bool array, uint64_t count,
                                  const std::string& what) {
  switch (static_cast<GgufValueType>(type)) {
    case GgufValueType::kUint8:
      return Scalars<uint8_t>(array, count, what);
    case GgufValueType::kInt8:
      return Scalars<int8_t>(array, count, what);
    case GgufValueType::kUint16:
      return Scalars<uint16_t>(array, count, what);
    case GgufValueType::kInt16:
      return Scalars<int16_t>(array, count, what);
    case GgufValueType::kUint32:
      return Scalars<uint32_t>(array, count, what);
    case GgufValueType::kInt32:
      return Scalars<int32_t>(array, count, what);
    case GgufValueType::kFloat32:
      return Scalars<float>(array, count, what);
    case GgufValueType::kBool:
      return Scalars<bool>(array, count, what);
    case GgufValueType::kString:
      return Strings(array, count, what);
    case GgufValueType::kUint64:
      return Scalars<uint64_t>(array, count, what);
    case GgufValueType::kInt64:
      return Scalars<int64_t>(array, count, what);
    case GgufValueType::kFloat64:
      return Scalars<double>(array, count, what);
    case GgufValueType::kArray:
      break;
  }
  return Internal("GGUF: " + what + ": value type " + N(type) + " reached the decoder");
}

Status Parser::KeyValue(uint64_t i) {
  KDNAS_ASSIGN_OR_RETURN(std::string key, String("metadata key " + N(i)));
  if (key.empty()) return DataLoss("GGUF: metadata key " + N(i) + " is empty");
  const std::string what = "metadata " + Quote(key);
  if (keys_.count(key) != 0) return DataLoss("GGUF: " + what + ": the key repeats");
  KDNAS_ASSIGN_OR_RETURN(uint32_t type, Uint(4, "the value type of " + what));
  const bool array = type == static_cast<uint32_t>(GgufValueType::kArray);
  uint64_t count = 1;
  if (array) {
    KDNAS_ASSIGN_OR_RETURN(type, Uint(4, "the element type of " + what));
    if (type == static_cast<uint32_t>(GgufValueType::kArray)) {
      return DataLoss("GGUF: " + what + ": an array of arrays, which llama.cpp does not read");
    }
    KDNAS_ASSIGN_OR_RETURN(count, Uint(8, "the element count of " + what));
  }
  if (!KnownValueType(type)) {
    return DataLoss("GGUF: " + what + ": unknown value type " + N(type) + " (gguf has 0 to 12)");
  }
  KDNAS_ASSIGN_OR_RETURN(GgufValue value, Value(type, array, count, what));
  keys_.insert(key);
  file_.metadata.push_back({std::move(key), std::move(value)});
  return Status::Ok();
}

Status Parser::Alignment() {
  const GgufValue* value = file_.FindMetadata(kGgufAlignmentKey);
  if (value == nullptr) return Status::Ok();
  const std::string what = "GGUF: metadata " + Quote(kGgufAlignmentKey) + ": ";
  const uint32_t* alignment = std::get_if<uint32_t>(value);
  if (alignment == nullptr) {
    return DataLoss(what + "must be a u32, not " +
                    std::string(GgufValueTypeName(GgufTypeOf(*value))));
  }
  if (*alignment == 0 || (*alignment & (*alignment - 1)) != 0) {
    return DataLoss(what + N(*alignment) + " is not a power of two");
  }
  file_.alignment = *alignment;
  return Status::Ok();
}

Status Parser::TensorInfo(uint64_t i) {
  GgufTensorInfo t;
  KDNAS_ASSIGN_OR_RETURN(t.name, String("the name of tensor " + N(i)));
  std::string what = "GGUF: tensor " + N(i) + " " + Quote(t.name) + ": ";
  if (t.name.empty()) {
    return DataLoss("GGUF: tensor " + N(i) + " (of n_tensors " + N(n_tensors_) +
                    "): the name is empty");
  }
  if (t.name.size() > static_cast<size_t>(kGgufMaxTensorNameBytes)) {
    return DataLoss(what + "the name is " + N(t.name.size()) + " bytes, more than the " +
                    N(kGgufMaxTensorNameBytes) + " llama.cpp reads");
  }
  if (names_.count(t.name) != 0) return DataLoss(what + "the name repeats");
  what = "GGUF: tensor " + Quote(t.name) + ": ";
  const std::string field = "the header of tensor " + Quote(t.name);
  KDNAS_ASSIGN_OR_RETURN(const uint32_t n_dims, Uint(4, field));
  if (n_dims > static_cast<uint32_t>(kGgufMaxDims)) {
    return DataLoss(what + "n_dims is " + N(n_dims) + ", more than " + N(kGgufMaxDims));
  }
  for (uint32_t d = 0; d < n_dims; ++d) {
    KDNAS_ASSIGN_OR_RETURN(const uint64_t ne, Uint(8, field));
    const auto dim = static_cast<int64_t>(ne);
    if (dim <= 0) {
      return DataLoss(what + "dimension " + N(d) + " is " + std::to_string(dim) + ", not positive");
    }
    t.shape.push_back(dim);
  }
  KDNAS_ASSIGN_OR_RETURN(const uint32_t type, Uint(4, field));
  const GgmlTypeInfo* info = FindGgmlType(type);
  if (info == nullptr) return DataLoss(what + "unknown ggml type " + N(type));
  t.type = info->type;
  if (GgufTensorBytes(t.type, t.shape) < 0) {
    const int64_t row = t.shape.empty() ? 1 : t.shape[0];
    if (row % info->block_elements != 0) {
      return DataLoss(what + "a row of " + std::to_string(row) +
                      " values is not a whole number of " + std::string(info->name) +
                      " blocks of " + N(info->block_elements));
    }
    return DataLoss(what + "its size in bytes overflows 64 bits");
  }
  KDNAS_ASSIGN_OR_RETURN(t.offset, Uint(8, field));
  names_.insert(t.name);
  file_.tensors.push_back(std::move(t));
  return Status::Ok();
}

Status Parser::Spans(int64_t header_end) {
  const int64_t file_size = in_.size();
  const int64_t data_size = std::max<int64_t>(file_size - file_.data_offset, 0);
  int64_t end = header_end;  // the last byte the header accounts for
  for (const GgufTensorInfo& t : file_.tensors) {
    const std::string what = "GGUF: tensor " + Quote(t.name) + ": ";
    if (t.offset % file_.alignment != 0) {
      return DataLoss(what + "offset " + N(t.offset) + " is not a multiple of the alignment " +
                      N(file_.alignment));
    }
    const int64_t size = GgufFile::TensorSize(t);
    if (t.offset > static_cast<uint64_t>(data_size) ||
        size > data_size - static_cast<int64_t>(t.offset)) {
      return DataLoss(what + "its " + N(size) + " bytes at data offset " + N(t.offset) +
                      " run past the end of the file (the data section has " + N(data_size) +
                      " bytes)");
    }
    end = std::max(end, file_.TensorBegin(t) + size);
  }
  std::vector<size_t> order(file_.tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return file_.tensors[a].offset < file_.tensors[b].offset;
  });
  for (size_t k = 1; k < order.size(); ++k) {
    const GgufTensorInfo& a = file_.tensors[order[k - 1]];
    const GgufTensorInfo& b = file_.tensors[order[k]];
    const uint64_t a_end = a.offset + static_cast<uint64_t>(GgufFile::TensorSize(a));
    if (a_end > b.offset) {
      return DataLoss("GGUF: tensors " + Quote(a.name) + " and " + Quote(b.name) +
                      " overlap: data offsets [" + N(a.offset) + ", " + N(a_end) + ") and [" +
                      N(b.offset) + ", ...)");
    }
  }
  const int64_t padded_end = GgufAlignUp(end, file_.alignment);
  if (file_size > padded_end) {
    return DataLoss("GGUF: " + N(file_size - padded_end) + " bytes follow the " +
                    (file_.tensors.empty() ? "header" : "last tensor") +
                    " and its padding; is n_tensors (" + N(file_.tensors.size()) + ") right?");
  }
  return Status::Ok();
}

StatusOr<GgufFile> Parser::Parse() {
  file_.file_size_bytes = in_.size();
  char magic[4];
  if (!in_.Read(magic, 4)) {
    return DataLoss("GGUF: the file is " + N(in_.size()) + " bytes, too short for the magic");
  }
  if (std::string_view(magic, 4) != kGgufMagic) {
    return DataLoss("GGUF: bad magic " + Quote(std::string_view(magic, 4)) +
                    ", a GGUF file starts with \"GGUF\"");
  }
  KDNAS_ASSIGN_OR_RETURN(file_.version, Uint(4, "the version"));
  if (file_.version != 2 && file_.version != 3) {
    if (file_.version != 0 && (file_.version & 0xffff) == 0) {
      return DataLoss("GGUF: version " + N(file_.version) +
                      " is a small number byte-swapped: a big-endian file, which kdnas does not "
                      "read");
    }
    return DataLoss("GGUF: version " + N(file_.version) + " is not supported (2 and 3 are)");
  }
  KDNAS_ASSIGN_OR_RETURN(n_tensors_, Uint(8, "n_tensors"));
  KDNAS_ASSIGN_OR_RETURN(const uint64_t n_kv, Uint(8, "n_kv"));
  // The smallest key-value: a 1-byte key, its type and a 1-byte value. The
  // smallest tensor info: an empty name, n_dims 0, the type and the offset.
  KDNAS_RETURN_IF_ERROR(CheckCount(n_kv, 8 + 1 + 4 + 1, "n_kv"));
  for (uint64_t i = 0; i < n_kv; ++i) KDNAS_RETURN_IF_ERROR(KeyValue(i));
  KDNAS_RETURN_IF_ERROR(Alignment());
  KDNAS_RETURN_IF_ERROR(CheckCount(n_tensors_, 8 + 4 + 4 + 8, "n_tensors"));
  for (uint64_t i = 0; i < n_tensors_; ++i) KDNAS_RETURN_IF_ERROR(TensorInfo(i));
  const int64_t header_end = in_.position();
  file_.data_offset = GgufAlignUp(header_end, file_.alignment);
  KDNAS_RETURN_IF_ERROR(Spans(header_end));
  return std::move(file_);
}

}  // namespace

const GgufValue* GgufFile::FindMetadata(std::string_view key) const {
  for (const GgufKeyValue& kv : metadata)
    if (kv.key == key) return &kv.value;
  return nullptr;
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  for (const GgufTensorInfo& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

StatusOr<std::string_view> GgufFile::TensorBytes(std::string_view file_bytes,
                                                 std::string_view name) const {
  const GgufTensorInfo* t = FindTensor(name);
  if (t == nullptr) return NotFound("GGUF: no tensor " + Quote(name));
  if (static_cast<int64_t>(file_bytes.size()) != file_size_bytes) {
    return InvalidArgument("GGUF: the buffer is " + N(file_bytes.size()) +
                           " bytes, the parsed file " + N(file_size_bytes));
  }
  return file_bytes.substr(static_cast<size_t>(TensorBegin(*t)),
                           static_cast<size_t>(TensorSize(*t)));
}

StatusOr<std::string> GgufFile::ReadTensorBytes(const std::string& path,
                                                std::string_view name) const {
  const GgufTensorInfo* t = FindTensor(name);
  if (t == nullptr) return NotFound(path + ": GGUF: no tensor " + Quote(name));
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open");
  std::string bytes(static_cast<size_t>(TensorSize(*t)), '\0');
  in.seekg(TensorBegin(*t));
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in || in.gcount() != static_cast<std::streamsize>(bytes.size())) {
    return DataLoss(path + ": GGUF: tensor " + Quote(name) + ": the file ends before its " +
                    N(bytes.size()) + " bytes at offset " + N(TensorBegin(*t)));
  }
  return bytes;
}

StatusOr<GgufFile> ParseGguf(std::string_view file_bytes) {
  Input in(file_bytes);
  return Parser(&in).Parse();
}

StatusOr<GgufFile> ReadGgufFile(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  std::ifstream stream(path, std::ios::binary);
  if (ec || !stream) return NotFound(path + ": cannot open" + (ec ? ": " + ec.message() : ""));
  Input in(&stream, static_cast<int64_t>(size));
  StatusOr<GgufFile> file = Parser(&in).Parse();
  if (!file.ok()) return Status(file.status().code(), path + ": " + file.status().message());
  return file;
}

}  // namespace kdnas
