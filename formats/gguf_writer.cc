#include "formats/gguf_writer.h"

#include <bit>
#include <filesystem>
#include <fstream>
#include <set>
#include <type_traits>
#include <utility>

namespace kdnas {
namespace {

namespace fs = std::filesystem;

// Built by appending: g++ 12's -Wrestrict misfires on "\"" + std::string(s) at -O3.
std::string Quote(std::string_view s) {
  std::string quoted;
  quoted.reserve(s.size() + 2);
  quoted += '"';
  quoted.append(s);
  quoted += '"';
  return quoted;
}

// The header's bytes, or (with no string) only their count: LayoutGguf counts
// with the same code the writer writes with, so the two cannot disagree.
class HeaderSink {
 public:
  explicit HeaderSink(std::string* out) : out_(out) {}

  int64_t bytes() const { return bytes_; }

  void Raw(const char* data, size_t n) {
    bytes_ += static_cast<int64_t>(n);
    if (out_ != nullptr) out_->append(data, n);
  }
  void Uint(uint64_t v, int width) {
    bytes_ += width;
    if (out_ == nullptr) return;
    for (int i = 0; i < width; ++i) out_->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void U32(uint32_t v) { Uint(v, 4); }
  void U64(uint64_t v) { Uint(v, 8); }
  void String(std::string_view s) {
    U64(s.size());
    Raw(s.data(), s.size());
  }
  template <typename T>
  void Scalar(const T& v) {
    if constexpr (std::is_same_v<T, std::string>) {
      String(v);
    } else if constexpr (std::is_same_v<T, bool>) {
      Uint(v ? 1 : 0, 1);
    } else if constexpr (std::is_same_v<T, float>) {
      U32(std::bit_cast<uint32_t>(v));
    } else if constexpr (std::is_same_v<T, double>) {
      U64(std::bit_cast<uint64_t>(v));
    } else {
      static_assert(std::is_integral_v<T>);
      Uint(static_cast<uint64_t>(static_cast<std::make_unsigned_t<T>>(v)), sizeof(T));
    }
  }

 private:
  std::string* out_;
  int64_t bytes_ = 0;
};

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};

void PutKeyValue(const GgufKeyValue& kv, HeaderSink* sink) {
  sink->String(kv.key);
  sink->U32(static_cast<uint32_t>(GgufTypeOf(kv.value)));
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (IsVector<V>::value) {
          sink->U32(static_cast<uint32_t>(GgufElementTypeOf(kv.value)));
          sink->U64(v.size());
          for (size_t i = 0; i < v.size(); ++i) {
            const typename V::value_type element = v[i];  // std::vector<bool> has no references
            sink->Scalar(element);
          }
        } else {
          sink->Scalar(v);
        }
      },
      kv.value);
}

void PutTensorInfo(const GgufTensorInfo& t, HeaderSink* sink) {
  sink->String(t.name);
  sink->U32(static_cast<uint32_t>(t.shape.size()));
  for (int64_t d : t.shape) sink->U64(static_cast<uint64_t>(d));
  sink->U32(static_cast<uint32_t>(t.type));
  sink->U64(t.offset);
}

// Everything before the padding that starts the data section.
void PutHeader(const GgufMetadata& metadata, const std::vector<GgufTensorInfo>& tensors,
               HeaderSink* sink) {
  sink->Raw(kGgufMagic.data(), kGgufMagic.size());
  sink->U32(kGgufVersion);
  sink->U64(tensors.size());
  sink->U64(metadata.size());
  for (const GgufKeyValue& kv : metadata) PutKeyValue(kv, sink);
  for (const GgufTensorInfo& t : tensors) PutTensorInfo(t, sink);
}

Status CheckKeyValue(const GgufKeyValue& kv) {
  if (kv.key.empty()) return InvalidArgument("GGUF metadata: a key is empty");
  if (kv.key != kGgufAlignmentKey) return Status::Ok();
  const uint32_t* alignment = std::get_if<uint32_t>(&kv.value);
  if (alignment == nullptr) {
    return InvalidArgument("GGUF metadata " + Quote(kv.key) + ": must be a u32, not " +
                           std::string(GgufValueTypeName(GgufTypeOf(kv.value))));
  }
  if (*alignment == 0 || (*alignment & (*alignment - 1)) != 0) {
    return InvalidArgument("GGUF metadata " + Quote(kv.key) + ": " + std::to_string(*alignment) +
                           " is not a power of two");
  }
  return Status::Ok();
}

Status CheckTensor(const GgufTensorInfo& t) {
  const std::string where = "GGUF tensor " + Quote(t.name) + ": ";
  if (t.name.empty()) return InvalidArgument("GGUF tensor: a name is empty");
  if (t.name.size() > static_cast<size_t>(kGgufMaxTensorNameBytes)) {
    return InvalidArgument(where + "the name is " + std::to_string(t.name.size()) +
                           " bytes, more than the " + std::to_string(kGgufMaxTensorNameBytes) +
                           " llama.cpp reads");
  }
  if (t.shape.size() > static_cast<size_t>(kGgufMaxDims)) {
    return InvalidArgument(where + std::to_string(t.shape.size()) + " dimensions, more than " +
                           std::to_string(kGgufMaxDims));
  }
  if (FindGgmlType(static_cast<uint32_t>(t.type)) == nullptr) {
    return InvalidArgument(where + "unknown ggml type " +
                           std::to_string(static_cast<uint32_t>(t.type)));
  }
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (t.shape[i] <= 0) {
      return InvalidArgument(where + "dimension " + std::to_string(i) + " is " +
                             std::to_string(t.shape[i]) + ", not positive");
    }
  }
  if (GgufTensorBytes(t.type, t.shape) < 0) {
    const GgmlTypeInfo& info = GgmlTypeOf(t.type);
    const int64_t row = t.shape.empty() ? 1 : t.shape[0];
    if (row % info.block_elements != 0) {
      return InvalidArgument(where + "a row of " + std::to_string(row) +
                             " values is not a whole number of " + std::string(info.name) +
                             " blocks of " + std::to_string(info.block_elements));
    }
    return InvalidArgument(where + "its size overflows 64 bits");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<GgufLayout> LayoutGguf(const GgufMetadata& metadata, std::vector<GgufTensorInfo> tensors) {
  GgufLayout layout;
  std::set<std::string_view> keys;
  for (const GgufKeyValue& kv : metadata) {
    KDNAS_RETURN_IF_ERROR(CheckKeyValue(kv));
    if (!keys.insert(kv.key).second) {
      return InvalidArgument("GGUF metadata " + Quote(kv.key) + ": the key repeats");
    }
    if (kv.key == kGgufAlignmentKey) layout.alignment = std::get<uint32_t>(kv.value);
  }
  std::set<std::string_view> names;
  int64_t offset = 0;
  for (GgufTensorInfo& t : tensors) {
    KDNAS_RETURN_IF_ERROR(CheckTensor(t));
    if (!names.insert(t.name).second) {
      return InvalidArgument("GGUF tensor " + Quote(t.name) + ": the name repeats");
    }
    t.offset = static_cast<uint64_t>(offset);
    const int64_t padded = GgufAlignUp(GgufTensorBytes(t.type, t.shape), layout.alignment);
    if (__builtin_add_overflow(offset, padded, &offset)) {
      return InvalidArgument("GGUF tensor " + Quote(t.name) + ": the data passes 2^63 bytes");
    }
  }
  HeaderSink counter(nullptr);
  PutHeader(metadata, tensors, &counter);
  layout.header_bytes = counter.bytes();
  layout.data_offset = GgufAlignUp(layout.header_bytes, layout.alignment);
  layout.file_size_bytes = layout.data_offset + offset;
  layout.tensors = std::move(tensors);
  return layout;
}

StatusOr<int64_t> GgufFileBytes(const GgufMetadata& metadata,
                                const std::vector<GgufTensorInfo>& tensors) {
  KDNAS_ASSIGN_OR_RETURN(const GgufLayout layout, LayoutGguf(metadata, tensors));
  return layout.file_size_bytes;
}

Status GgufWriter::AddMetadata(std::string key, GgufValue value) {
  GgufKeyValue kv{std::move(key), std::move(value)};
  KDNAS_RETURN_IF_ERROR(CheckKeyValue(kv));
  for (const GgufKeyValue& existing : metadata_) {
    if (existing.key == kv.key) {
      return InvalidArgument("GGUF metadata " + Quote(kv.key) + ": the key repeats");
    }
  }
  metadata_.push_back(std::move(kv));
  return Status::Ok();
}

Status GgufWriter::CheckNewTensor(const GgufTensorInfo& info) const {
  KDNAS_RETURN_IF_ERROR(CheckTensor(info));
  for (const GgufTensorInfo& existing : infos_) {
    if (existing.name == info.name) {
      return InvalidArgument("GGUF tensor " + Quote(info.name) + ": the name repeats");
    }
  }
  return Status::Ok();
}

Status GgufWriter::AddTensor(std::string name, std::vector<int64_t> shape, GgmlType type,
                             std::string bytes) {
  GgufTensorInfo info{std::move(name), std::move(shape), type, 0};
  KDNAS_RETURN_IF_ERROR(CheckNewTensor(info));
  const int64_t expected = GgufTensorBytes(type, info.shape);
  if (static_cast<int64_t>(bytes.size()) != expected) {
    return InvalidArgument("GGUF tensor " + Quote(info.name) + ": " + std::to_string(bytes.size()) +
                           " bytes, but a " + std::string(GgmlTypeName(type)) +
                           " tensor of this shape has " + std::to_string(expected));
  }
  infos_.push_back(std::move(info));
  tensors_.push_back({std::move(bytes), nullptr});
  return Status::Ok();
}

Status GgufWriter::AddTensor(std::string name, std::vector<int64_t> shape, GgmlType type,
                             BytesSource source) {
  GgufTensorInfo info{std::move(name), std::move(shape), type, 0};
  KDNAS_RETURN_IF_ERROR(CheckNewTensor(info));
  if (!source) return InvalidArgument("GGUF tensor " + Quote(info.name) + ": no bytes source");
  infos_.push_back(std::move(info));
  tensors_.push_back({std::string(), std::move(source)});
  return Status::Ok();
}

StatusOr<GgufLayout> GgufWriter::Layout() const { return LayoutGguf(metadata_, infos_); }

Status GgufWriter::Write(const std::function<bool(std::string_view)>& put) const {
  KDNAS_ASSIGN_OR_RETURN(const GgufLayout layout, Layout());
  std::string header;
  header.reserve(static_cast<size_t>(layout.data_offset));
  HeaderSink sink(&header);
  PutHeader(metadata_, layout.tensors, &sink);
  header.resize(static_cast<size_t>(layout.data_offset), '\0');
  const std::string zeros(layout.alignment, '\0');
  if (!put(header)) return Unavailable("GGUF: cannot write the header");
  int64_t written = layout.data_offset;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const GgufTensorInfo& info = layout.tensors[i];
    const int64_t size = GgufTensorBytes(info.type, info.shape);
    std::string produced;
    if (tensors_[i].source) {
      KDNAS_ASSIGN_OR_RETURN(produced, tensors_[i].source());
      if (static_cast<int64_t>(produced.size()) != size) {
        return InvalidArgument("GGUF tensor " + Quote(info.name) + ": the source gave " +
                               std::to_string(produced.size()) + " bytes, not " +
                               std::to_string(size));
      }
    }
    const std::string& bytes = tensors_[i].source ? produced : tensors_[i].bytes;
    if (written != layout.data_offset + static_cast<int64_t>(info.offset)) {
      return Internal("GGUF tensor " + Quote(info.name) + ": written at the wrong offset");
    }
    const size_t padding = static_cast<size_t>(GgufAlignUp(size, layout.alignment) - size);
    if (!put(bytes) || !put(std::string_view(zeros).substr(0, padding))) {
      return Unavailable("GGUF tensor " + Quote(info.name) + ": cannot write its bytes");
    }
    written += size + static_cast<int64_t>(padding);
  }
  if (written != layout.file_size_bytes) {
    return Internal("GGUF: wrote " + std::to_string(written) + " bytes, the layout says " +
                    std::to_string(layout.file_size_bytes));
  }
  return Status::Ok();
}

StatusOr<std::string> GgufWriter::WriteString() const {
  std::string out;
  KDNAS_RETURN_IF_ERROR(Write([&out](std::string_view bytes) {
    out.append(bytes);
    return true;
  }));
  return out;
}

Status GgufWriter::WriteFile(const std::string& path) const {
  const fs::path tmp = fs::path(path).concat(".tmp");
  Status status;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Unavailable(path + ": cannot create " + tmp.string());
    status = Write([&out](std::string_view bytes) {
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      return static_cast<bool>(out);
    });
    if (status.ok()) {
      out.close();
      if (!out) status = Unavailable("cannot write " + tmp.string());
    }
  }
  std::error_code ec;
  if (status.ok()) {
    fs::rename(tmp, path, ec);
    if (!ec) return Status::Ok();
    status = Unavailable("cannot rename " + tmp.string() + " over it: " + ec.message());
  }
  fs::remove(tmp, ec);
  return Status(status.code(), path + ": " + status.message());
}

}  // namespace kdnas
