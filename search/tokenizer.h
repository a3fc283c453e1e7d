// The tokenizer saved with every teacher and student (docs/artifact-format.md,
// section "Tokenizer"). Two kinds:
//  - char: one token per Unicode code point that occurs in the corpus, ids in
//    increasing code-point order;
//  - byte: one token per byte value (vocabulary 256), works for any text.
// Pure C++: the controller uses it to size artifacts, the worker to encode.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "search/status.h"

namespace kdnas {

enum class TokenizerKind { kChar = 0, kByte = 1 };

class Tokenizer {
 public:
  // Builds the tokenizer of `text`, a UTF-8 corpus. Errors (INVALID_ARGUMENT,
  // naming `what`, e.g. the file name): empty text, a NUL byte or invalid
  // UTF-8 ("binary file"), fewer than two distinct symbols.
  static StatusOr<Tokenizer> Build(std::string_view text, TokenizerKind kind,
                                   const std::string& what = "text");
  // Parses the serialized form; DATA_LOSS when it is malformed.
  static StatusOr<Tokenizer> Deserialize(std::string_view bytes);

  TokenizerKind kind() const { return kind_; }
  int vocab_size() const {
    return kind_ == TokenizerKind::kByte ? 256 : static_cast<int>(symbols_.size());
  }
  // The serialized form: u8 kind, u32 vocab size, then per char token u8
  // length and its UTF-8 bytes.
  std::string Serialize() const;
  int64_t serialized_bytes() const;

  // Token ids of `text`. INVALID_ARGUMENT (with the byte offset) for invalid
  // UTF-8 or a symbol outside the vocabulary.
  StatusOr<std::vector<int32_t>> Encode(std::string_view text) const;
  // Text of `ids`; ids outside the vocabulary become U+FFFD.
  std::string Decode(const std::vector<int32_t>& ids) const;
  // UTF-8 bytes of one token ("" if out of range).
  std::string Symbol(int32_t id) const;

  bool operator==(const Tokenizer& other) const {
    return kind_ == other.kind_ && symbols_ == other.symbols_;
  }

 private:
  Tokenizer() = default;
  void Index();

  TokenizerKind kind_ = TokenizerKind::kChar;
  std::vector<uint32_t> symbols_;  // code points, increasing (char kind)
  std::unordered_map<uint32_t, int32_t> ids_;
};

// Decodes one UTF-8 code point at text[*pos], advancing *pos. False for an
// invalid sequence (overlong, surrogate, > U+10FFFF, truncated).
bool DecodeUtf8(std::string_view text, size_t* pos, uint32_t* code_point);
// Appends the UTF-8 encoding of code_point.
void AppendUtf8(uint32_t code_point, std::string* out);

}  // namespace kdnas
