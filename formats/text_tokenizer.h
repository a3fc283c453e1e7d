// The tokenizer of a Hugging Face checkpoint, as kdnas uses it: text to ids
// and back, the ids of the special tokens the checkpoint's post-processor
// adds, and whether any byte string can be encoded. Implementations:
// BpeTokenizer (byte-level BPE from tokenizer.json, or vocab.json +
// merges.txt) and SentencePieceTokenizer (tokenizer.model). Pure C++: the
// controller reads it to validate and size a job, the worker to encode.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "search/status.h"

namespace kdnas {

// A checkpoint's tokenizer files by file name ("tokenizer.json",
// "tokenizer_config.json", "vocab.json", "merges.txt", "tokenizer.model",
// "special_tokens_map.json", "generation_config.json"), with their contents.
using TokenizerFiles = std::map<std::string, std::string>;

class TextTokenizer {
 public:
  virtual ~TextTokenizer() = default;

  // "bpe" or "sentencepiece".
  virtual std::string kind() const = 0;
  // One more than the largest id the tokenizer can produce (added tokens
  // included).
  virtual int vocab_size() const = 0;

  // The ids of `text` as Hugging Face's encode(text, add_special_tokens=False)
  // gives them: added tokens in the text are matched first, the rest is
  // normalized, pre-tokenized and split by the model. No BOS/EOS.
  // INVALID_ARGUMENT naming the byte offset for invalid UTF-8 when the
  // tokenizer is not byte-level.
  virtual StatusOr<std::vector<int32_t>> Encode(std::string_view text) const = 0;
  // The text of `ids` (special tokens included as their content).
  virtual std::string Decode(const std::vector<int32_t>& ids) const = 0;

  // The BOS id, when the tokenizer adds one at the start of a sequence (its
  // post-processor, or tokenizer_config.json's add_bos_token).
  virtual std::optional<int32_t> bos_to_add() const = 0;
  // The EOS id, when the checkpoint names an EOS token.
  virtual std::optional<int32_t> eos_id() const = 0;
  // True when every byte string, valid UTF-8 or not, has an encoding that
  // decodes back to it (byte-level BPE). SentencePiece works on Unicode text:
  // byte fallback covers unknown characters, not invalid UTF-8.
  virtual bool byte_level() const = 0;
};

}  // namespace kdnas
