// libFuzzer target: the tokenizer section of an artifact (and the
// kdnas/tokenizer.bin of a TorchScript student), which a worker or the
// controller reads from a file it did not write: kdnas's char/byte form, or
// an imported tokenizer's tar. Nothing may crash, hang or leak; a form that
// parses must be exactly the bytes kdnas writes for it, and its tokenizer
// must encode text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "formats/job_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto tokenizer = kdnas::JobTokenizer::Deserialize(bytes);
  if (!tokenizer.ok()) return 0;
  if (tokenizer->serialized() != bytes) std::abort();
  auto ids = tokenizer->Encode("ROMEO: a b\n");
  if (ids.ok()) {
    for (int32_t id : *ids) {
      if (id < 0 || id >= tokenizer->vocab_size()) std::abort();
    }
    (void)tokenizer->Decode(*ids);
  }
  return 0;
}
