#include "formats/gguf_tokenizer.h"

#include <set>

#include "formats/byte_level.h"

namespace kdnas {
namespace {

constexpr int32_t kNormalToken = 1;  // llama_token_type LLAMA_TOKEN_TYPE_NORMAL

std::string ByteLevel(std::string_view bytes) {
  std::string out;
  AppendByteLevel(bytes, &out);
  return out;
}

GgufMetadata BpeMetadata(std::vector<std::string> tokens, std::vector<std::string> merges) {
  GgufMetadata m;
  const size_t n = tokens.size();
  m.push_back({"tokenizer.ggml.model", std::string("gpt2")});
  m.push_back({"tokenizer.ggml.pre", std::string("gpt-2")});
  m.push_back({"tokenizer.ggml.tokens", std::move(tokens)});
  m.push_back({"tokenizer.ggml.token_type", std::vector<int32_t>(n, kNormalToken)});
  m.push_back({"tokenizer.ggml.merges", std::move(merges)});
  m.push_back({"tokenizer.ggml.add_bos_token", false});
  m.push_back({"tokenizer.ggml.add_eos_token", false});
  return m;
}

}  // namespace

StatusOr<GgufMetadata> GgufTokenizerMetadata(const JobTokenizer& tokenizer) {
  const Tokenizer* own = tokenizer.kdnas();
  if (own == nullptr) {
    return FailedPrecondition(std::string("GGUF: the tokenizer of an imported teacher (") +
                              tokenizer.source() + ") is not written into GGUF files yet");
  }
  std::vector<std::string> tokens;
  std::vector<std::string> merges;
  std::set<std::string> seen_merges;
  for (int32_t id = 0; id < own->vocab_size(); ++id) {
    const std::string bytes = own->kind() == TokenizerKind::kByte
                                  ? std::string(1, static_cast<char>(id))
                                  : own->Symbol(id);
    tokens.push_back(ByteLevel(bytes));
    for (size_t i = 1; i < bytes.size(); ++i) {
      std::string merge = ByteLevel(bytes.substr(0, i)) + " " + ByteLevel(bytes.substr(i, 1));
      if (seen_merges.insert(merge).second) merges.push_back(std::move(merge));
    }
  }
  return BpeMetadata(std::move(tokens), std::move(merges));
}

}  // namespace kdnas
