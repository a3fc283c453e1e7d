// The normalizer of a SentencePiece model, as libsentencepiece 0.1.97 runs
// it before the model splits a text: the precompiled character map (a Darts
// double array of rules, e.g. nmt_nfkc; empty for "identity", as in Llama's
// models), the optional removal of extra whitespace, the dummy prefix ("▁"
// before the text) and the escaping of ' ' as U+2581. User-defined symbols
// are copied through unnormalized.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "formats/piece_trie.h"
#include "search/status.h"

namespace kdnas {

// NormalizerSpec of sentencepiece_model.proto (defaults as there).
struct SentencePieceNormalizerSpec {
  std::string name;
  std::string precompiled_charsmap;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

// U+2581 LOWER ONE EIGHTH BLOCK, which stands for ' ' in pieces.
inline constexpr std::string_view kSentencePieceSpace = "\xe2\x96\x81";

class SentencePieceNormalizer {
 public:
  SentencePieceNormalizer() = default;

  // Validates the character map's framing. Errors: INVALID_ARGUMENT
  // "<what>: ...".
  static StatusOr<SentencePieceNormalizer> Create(SentencePieceNormalizerSpec spec,
                                                  bool treat_whitespace_as_suffix,
                                                  PieceTrie user_defined, const std::string& what);

  // The normalized form of `input` (UTF-8; invalid sequences become U+FFFD
  // one byte at a time, as in the library). `add_dummy_prefix` overrides the
  // spec's (Hugging Face's non-legacy Llama tokenizer turns it off).
  // INVALID_ARGUMENT when a rule of the character map points outside it.
  StatusOr<std::string> Normalize(std::string_view input, bool add_dummy_prefix) const;

  const SentencePieceNormalizerSpec& spec() const { return spec_; }

 private:
  // The normalized text of the longest rule or user-defined symbol at the
  // start of `input`, and how many bytes of `input` it consumes.
  Status NormalizePrefix(std::string_view input, std::string_view* out, size_t* consumed) const;

  SentencePieceNormalizerSpec spec_;
  bool treat_whitespace_as_suffix_ = false;
  PieceTrie user_defined_;
  std::string what_;
  // The character map: double-array units and the NUL-separated outputs.
  std::basic_string<uint32_t> units_;
  std::string_view outputs_;  // into spec_.precompiled_charsmap
};

}  // namespace kdnas
