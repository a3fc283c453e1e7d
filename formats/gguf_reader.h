// Reads GGUF files (versions 2 and 3, which share one layout; see
// formats/gguf_file.h) without ggml, treating the file as untrusted: every
// count and length is bounded by the bytes that remain before anything is
// allocated, and every tensor is checked before its offset is trusted.
//
// What a file must satisfy, beyond being well formed:
// - the magic is "GGUF" and the version 2 or 3 (a byte-swapped version is
//   named as a big-endian file, which is refused);
// - keys are non-empty and unique, value types known, arrays not nested;
//   general.alignment, if present, is a u32 power of two;
// - tensor names are non-empty, unique and at most kGgufMaxTensorNameBytes; at most
//   kGgufMaxDims dimensions, each positive; the type is one kdnas knows
//   (FindGgmlType) and its block divides the row;
// - each tensor's offset is a multiple of the alignment and its bytes lie
//   within the file; no two tensors overlap;
// - the file ends within one alignment of the last byte the header accounts
//   for (trailing bytes mean the tensor count is wrong).
// llama.cpp further requires the tensors to be back to back in header order
// (each at the previous one's offset plus its padded size); this reader
// accepts any order and any gaps.
//
// Every defect is DATA_LOSS with a message naming the field, the key or the
// tensor ("GGUF tensor \"w\": offset 33 is not a multiple of the alignment
// 32"); ReadGgufFile prefixes it with the path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "formats/gguf_file.h"
#include "search/status.h"

namespace kdnas {

struct GgufFile {
  uint32_t version = kGgufVersion;
  uint32_t alignment = kGgufDefaultAlignment;
  GgufMetadata metadata;                // in file order
  std::vector<GgufTensorInfo> tensors;  // in header order
  int64_t data_offset = 0;              // absolute: the end of the header, aligned
  int64_t file_size_bytes = 0;

  // Linear searches; null when absent.
  const GgufValue* FindMetadata(std::string_view key) const;
  const GgufTensorInfo* FindTensor(std::string_view name) const;

  // The absolute offset of a tensor's first byte, and its size.
  int64_t TensorBegin(const GgufTensorInfo& t) const {
    return data_offset + static_cast<int64_t>(t.offset);
  }
  static int64_t TensorSize(const GgufTensorInfo& t) { return GgufTensorBytes(t.type, t.shape); }

  // A tensor's bytes inside `file_bytes`, the buffer given to ParseGguf
  // (which must outlive the view). NOT_FOUND for an unknown name;
  // INVALID_ARGUMENT if `file_bytes` is not as long as the file.
  StatusOr<std::string_view> TensorBytes(std::string_view file_bytes, std::string_view name) const;
  // A tensor's bytes read from the file at `path` (the one given to
  // ReadGgufFile). NOT_FOUND for an unknown name or file; DATA_LOSS if the
  // file is shorter than it was.
  StatusOr<std::string> ReadTensorBytes(const std::string& path, std::string_view name) const;
};

// Parses and validates a whole file held in memory.
StatusOr<GgufFile> ParseGguf(std::string_view file_bytes);

// Reads and validates the header of the file at `path`, not the tensor data
// (ReadTensorBytes reads a tensor on request). NOT_FOUND if it cannot be
// opened.
StatusOr<GgufFile> ReadGgufFile(const std::string& path);

}  // namespace kdnas
