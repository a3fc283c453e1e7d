// libFuzzer target: the BPE tokenizer. An input starting with '{' is read as
// tokenizer.json (and, when it loads, encodes itself as text); any other is
// text for two fixed byte-level tokenizers (GPT-2's regex; Llama-3's Split
// pattern with NFC and added tokens), which must give it back from Decode.
// Nothing may crash, hang or leak, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "formats/bpe_tokenizer.h"
#include "formats/byte_level.h"

namespace {

// A byte-level tokenizer with the 256 byte characters and a few merges.
std::unique_ptr<kdnas::BpeTokenizer> Fixed(const std::string& normalizer,
                                           const std::string& pre_tokenizer) {
  std::string vocab;
  for (int b = 0; b < 256; ++b) {
    std::string c(kdnas::ByteLevelChar(static_cast<uint8_t>(b)));
    if (c == "\"" || c == "\\") c = "\\" + c;
    vocab += "\"" + c + "\": " + std::to_string(b) + ", ";
  }
  vocab += R"("Ġt": 256, "he": 257, "Ġthe": 258, "in": 259)";
  const std::string json = R"({"version": "1.0", "normalizer": )" + normalizer +
                           R"(, "pre_tokenizer": )" + pre_tokenizer + R"(,
    "added_tokens": [{"id": 260, "content": "<|s|>", "special": true, "normalized": false},
                     {"id": 261, "content": "<n>", "normalized": true}],
    "decoder": {"type": "ByteLevel"}, "post_processor": null,
    "model": {"type": "BPE", "ignore_merges": true, "vocab": {)" +
                           vocab + R"(}, "merges": ["Ġ t", "h e", "Ġt he", "i n"]}})";
  auto t = kdnas::BpeTokenizer::FromTokenizerJson({{"tokenizer.json", json}});
  if (!t.ok()) std::abort();
  return std::move(*t);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  if (!bytes.empty() && bytes[0] == '{') {
    auto t = kdnas::BpeTokenizer::FromTokenizerJson({{"tokenizer.json", bytes}});
    if (t.ok()) {
      auto ids = (*t)->Encode(bytes.substr(0, 4096));
      if (ids.ok()) (void)(*t)->Decode(*ids);
    }
    return 0;
  }
  static const auto gpt2 =
      Fixed("null", R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": true})");
  static const auto llama3 =
      Fixed(R"({"type": "NFC"})",
            R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex":
         "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
         "behavior": "Isolated", "invert": false},
         {"type": "ByteLevel", "add_prefix_space": true, "use_regex": false}]})");
  auto ids = gpt2->Encode(bytes);
  if (!ids.ok() || gpt2->Decode(*ids) != bytes) std::abort();
  ids = llama3->Encode(bytes);
  if (!ids.ok()) std::abort();
  (void)llama3->Decode(*ids);
  return 0;
}
