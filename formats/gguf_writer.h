// Writes GGUF files byte for byte as llama.cpp's gguf_write_to_file does
// (ggml/src/gguf.cpp): the metadata in insertion order, the tensor infos in
// insertion order, zeros to the alignment, then each tensor's bytes followed
// by zeros to the alignment, so every offset is the previous one plus the
// previous tensor's padded size. The one difference: a shape is written as
// given, where llama.cpp drops trailing dimensions of 1 (as gguf-py does not).
//
// The layout is a pure function of the metadata and the tensor list
// (LayoutGguf), which the writer itself uses, so GgufFileBytes predicts the
// size of a file to the byte without writing it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/gguf_file.h"
#include "search/status.h"

namespace kdnas {

struct GgufLayout {
  uint32_t alignment = kGgufDefaultAlignment;  // general.alignment, or the default
  int64_t header_bytes = 0;                    // magic to the last tensor info, unpadded
  int64_t data_offset = 0;                     // header_bytes rounded up to the alignment
  std::vector<GgufTensorInfo> tensors;         // in the given order, offsets set
  int64_t file_size_bytes = 0;                 // data_offset + each tensor's bytes rounded up
};

// Validates the metadata and the tensors (their `offset` is ignored) and lays
// them out. INVALID_ARGUMENT naming the key or tensor for: an empty or
// repeated key; a general.alignment that is not a u32 power of two; an empty,
// repeated or too long (> kGgufMaxTensorNameBytes) tensor name; more than
// kGgufMaxDims dimensions, or one that is not positive; a row (shape[0])
// that is not a whole number of the type's blocks.
StatusOr<GgufLayout> LayoutGguf(const GgufMetadata& metadata, std::vector<GgufTensorInfo> tensors);

// The exact size in bytes of the file GgufWriter writes for this metadata and
// these tensors (offsets ignored), or the error LayoutGguf gives.
StatusOr<int64_t> GgufFileBytes(const GgufMetadata& metadata,
                                const std::vector<GgufTensorInfo>& tensors);

// Collects metadata and tensors, then writes the file.
//
//   GgufWriter w;
//   KDNAS_RETURN_IF_ERROR(w.AddMetadata("general.architecture", std::string("llama")));
//   KDNAS_RETURN_IF_ERROR(w.AddTensor("token_embd.weight", {4096, 32000}, GgmlType::kQ4_K, bytes));
//   KDNAS_RETURN_IF_ERROR(w.WriteFile("model.gguf"));
class GgufWriter {
 public:
  // Produces a tensor's bytes while the file is written, one tensor at a
  // time, so a model need not be held in memory twice. It may be called once
  // per write.
  using BytesSource = std::function<StatusOr<std::string>()>;

  // INVALID_ARGUMENT for an empty or repeated key, or a general.alignment
  // that is not a u32 power of two. Setting general.alignment (before or after
  // the tensors) sets the alignment of the file.
  Status AddMetadata(std::string key, GgufValue value);

  // `shape` in ggml order (row length first); `bytes` the tensor's data,
  // already quantized: exactly GgufTensorBytes(type, shape) bytes.
  // INVALID_ARGUMENT naming the tensor otherwise, or for a name that is empty,
  // too long or taken, or a shape LayoutGguf refuses.
  Status AddTensor(std::string name, std::vector<int64_t> shape, GgmlType type, std::string bytes);
  // The same, with the bytes produced by `source` when the file is written;
  // the write fails (INVALID_ARGUMENT) if they are not the size the shape says.
  Status AddTensor(std::string name, std::vector<int64_t> shape, GgmlType type, BytesSource source);

  const GgufMetadata& metadata() const { return metadata_; }
  // Where everything will be written: the tensors' offsets, the file size.
  StatusOr<GgufLayout> Layout() const;

  // Writes `path` through a temporary file beside it (path + ".tmp") renamed
  // over it, so `path` is either the whole file or untouched. UNAVAILABLE if
  // the file cannot be written; a source's error as it is.
  Status WriteFile(const std::string& path) const;
  // The whole file in memory (tests, small files).
  StatusOr<std::string> WriteString() const;

 private:
  struct Tensor {
    std::string bytes;
    BytesSource source;  // when set, produces `bytes` at write time
  };

  // CheckTensor (LayoutGguf's rules) and a name not taken yet.
  Status CheckNewTensor(const GgufTensorInfo& info) const;
  // Writes the file through `put`, which returns false when the output fails.
  Status Write(const std::function<bool(std::string_view)>& put) const;

  GgufMetadata metadata_;
  std::vector<GgufTensorInfo> infos_;
  std::vector<Tensor> tensors_;  // parallel to infos_
};

}  // namespace kdnas
