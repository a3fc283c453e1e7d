// Writes safetensors files as Hugging Face's Rust library does
// (safetensors/src/tensor.rs, `prepare`): tensors sorted by descending dtype
// (the order of SafetensorsDtype) then by name, laid out back to back from
// data offset 0; a compact JSON header ("__metadata__" first, then the
// tensors in that order, each {"dtype", "shape", "data_offsets"}) padded with
// spaces to a multiple of 8 bytes. SafetensorsFile reads what it writes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "formats/safetensors.h"
#include "search/status.h"

namespace kdnas {

struct SafetensorsEntry {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::kF32;
  std::vector<int64_t> shape;
  std::string bytes;  // little-endian elements, row-major
};

// The whole file. INVALID_ARGUMENT naming the tensor when its bytes do not
// match shape x dtype, or a name repeats (or is "__metadata__").
StatusOr<std::string> SerializeSafetensors(std::vector<SafetensorsEntry> tensors,
                                           const std::map<std::string, std::string>& metadata = {});

// float32 values as F32, F16 (round to nearest even) or BF16 (round to
// nearest even, as torch's .to(torch.bfloat16)) bytes.
std::string EncodeFloats(const std::vector<float>& values, SafetensorsDtype dtype);

}  // namespace kdnas
