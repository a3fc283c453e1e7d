// A safetensors file, read without LibTorch: the header is parsed and
// validated on Open, the tensor bytes are read only on request, so the
// controller can check a multi-gigabyte checkpoint by reading its header.
//
// The format (huggingface/safetensors): a little-endian u64 N, N bytes of
// UTF-8 JSON (the header), then the data section. The header maps each tensor
// name to {"dtype", "shape", "data_offsets": [begin, end]} with offsets
// relative to the data section, plus an optional "__metadata__" object of
// strings. What this reader enforces is listed in docs/hf-checkpoints.md;
// it accepts what the Rust library accepts, except duplicate keys.
//
// Errors: every defect of the file's content is DATA_LOSS, with a message that
// names the tensor ("tensor \"w\": ..."). Open prefixes the message with the
// path; Parse does not (its caller knows where the bytes came from).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "search/status.h"

namespace kdnas {

// Every dtype of the safetensors specification, in the Rust library's order
// (increasing alignment; its writer lays tensors out in the reverse order).
enum class SafetensorsDtype {
  kBool,
  kF4,
  kF6E2M3,
  kF6E3M2,
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kF8E8M0,
  kF8E4M3Fnuz,
  kF8E5M2Fnuz,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kC64,
  kF64,
  kI64,
  kU64,
};

// The header spelling: "F32", "BF16", "F8_E4M3", ...
std::string_view SafetensorsDtypeName(SafetensorsDtype dtype);
// The dtype spelled `name`; false if the specification has no such dtype.
bool ParseSafetensorsDtype(std::string_view name, SafetensorsDtype* dtype);
// Bits per element: 4 for F4, 6 for the F6 types, 8 for BOOL, 64 for C64, ...
int SafetensorsDtypeBits(SafetensorsDtype dtype);

struct SafetensorsTensor {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::kF32;
  std::vector<int64_t> shape;  // empty for a scalar
  int64_t num_elements = 1;
  // Absolute offsets in the file: the bytes are [begin_offset, end_offset).
  int64_t begin_offset = 0;
  int64_t end_offset = 0;

  int64_t size_bytes() const { return end_offset - begin_offset; }
};

class SafetensorsFile {
 public:
  // Headers longer than this are refused, as the Rust library does.
  static constexpr int64_t kMaxHeaderBytes = 100'000'000;

  // Reads and validates the header of the file at `path`, not the tensors.
  // NOT_FOUND if there is no such file, DATA_LOSS for any defect.
  static StatusOr<SafetensorsFile> Open(const std::string& path);

  // Validates a header held in memory: `prefix` is the file's first bytes,
  // at least the 8-byte length and the header it announces (the whole file
  // does too), and `file_size` the size of the whole file. For fuzzers and
  // for files read some other way; the result has no path to read from.
  static StatusOr<SafetensorsFile> Parse(std::string_view prefix, int64_t file_size);

  // In file order (by begin_offset; ties, which are empty tensors, by name).
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  // The tensor called `name`, or nullptr.
  const SafetensorsTensor* Find(std::string_view name) const;
  // "__metadata__", empty when the header has none.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  const std::string& path() const { return path_; }  // empty after Parse
  int64_t file_size_bytes() const { return file_size_bytes_; }
  int64_t header_size_bytes() const { return header_size_bytes_; }  // N, padding included
  int64_t data_offset() const { return 8 + header_size_bytes_; }

  // The raw little-endian bytes of a tensor, read from path(). NOT_FOUND for
  // an unknown name, FAILED_PRECONDITION without a path (after Parse),
  // DATA_LOSS if the file is no longer as long as the header says.
  StatusOr<std::string> ReadTensorBytes(std::string_view name) const;
  // The tensor's values as float32, converted exactly from F32, F16 and
  // BF16. INVALID_ARGUMENT for other dtypes.
  StatusOr<std::vector<float>> ReadFloat32(std::string_view name) const;

 private:
  std::string path_;
  int64_t file_size_bytes_ = 0;
  int64_t header_size_bytes_ = 0;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

// Converts the raw bytes of a tensor (`raw`, exactly its size_bytes) to
// float32, the reference conversion ReadFloat32 uses. INVALID_ARGUMENT for
// dtypes other than F32, F16 and BF16, or a size that is not a whole number
// of elements.
StatusOr<std::vector<float>> SafetensorsToFloat32(SafetensorsDtype dtype, std::string_view raw);

// IEEE 754 binary16 and bfloat16 to float32, exact for every input (NaNs stay
// NaNs, subnormals are kept).
float HalfToFloat(uint16_t bits);
float BFloat16ToFloat(uint16_t bits);

}  // namespace kdnas
