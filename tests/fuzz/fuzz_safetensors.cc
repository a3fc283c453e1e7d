// libFuzzer target: the safetensors header and the checkpoint index. The
// input is read as a whole safetensors file (and as its first bytes of a
// larger file), the tensors of a file that validates are converted to float32
// from the input's bytes, and the input is read as a
// model.safetensors.index.json. Nothing may crash, hang or leak, and no
// offset the reader accepted may point outside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "formats/safetensors.h"
#include "formats/safetensors_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto file_size = static_cast<int64_t>(size);
  auto file = kdnas::SafetensorsFile::Parse(bytes, file_size);
  if (file.ok()) {
    for (const kdnas::SafetensorsTensor& t : file->tensors()) {
      if (t.begin_offset < file->data_offset() || t.end_offset > file_size ||
          t.begin_offset > t.end_offset)
        std::abort();
      const std::string_view raw =
          bytes.substr(static_cast<size_t>(t.begin_offset), static_cast<size_t>(t.size_bytes()));
      auto values = kdnas::SafetensorsToFloat32(t.dtype, raw);
      if (values.ok() && static_cast<int64_t>(values->size()) != t.num_elements) std::abort();
    }
  }
  // The same bytes as the header of a file that goes on: the data section
  // must then be covered exactly, which the tail never is by chance.
  (void)kdnas::SafetensorsFile::Parse(bytes, file_size + 1000);
  (void)kdnas::ParseSafetensorsIndex(bytes);
  return 0;
}
