// tokenizer.json's "pre_tokenizer": how text is cut into the pieces that the
// BPE model splits on its own (no token spans two pieces). Supported, as
// Hugging Face's tokenizers library runs them:
//   - ByteLevel {add_prefix_space, use_regex}: a space is put before each
//     piece that does not start with one, the piece is cut with GPT-2's
//     regex when use_regex, and every byte becomes its byte-level character
//     (formats/byte_level.h); later steps and the model see those characters;
//   - Split {pattern: {Regex|String}, behavior, invert}: behavior Removed,
//     Isolated, MergedWithPrevious, MergedWithNext or Contiguous;
//   - Digits {individual_digits}: numeric characters (\p{N}) cut out one by
//     one, or in runs;
//   - Sequence {pretokenizers}: each in turn.
// Other types are refused with INVALID_ARGUMENT naming the key.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "formats/json_util.h"
#include "formats/regex.h"
#include "search/status.h"

namespace kdnas {

// GPT-2's pre-tokenizer regex, which ByteLevel uses when use_regex.
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

class PreTokenizer {
 public:
  using Emit = std::function<void(std::string_view piece)>;

  // `value` is tokenizer.json's "pre_tokenizer" (null: the text is one piece).
  static StatusOr<PreTokenizer> FromJson(const nlohmann::json& value, const JsonPath& at);
  // GPT-2's: ByteLevel with its regex, as transformers builds it for a
  // vocab.json + merges.txt checkpoint.
  static StatusOr<PreTokenizer> ByteLevel(bool add_prefix_space);

  // True when a ByteLevel step maps every byte: the model sees byte-level
  // characters only.
  bool byte_level() const;

  // Calls `emit` with each non-empty piece of `text`, in order. `text` may
  // hold invalid UTF-8 (byte-level tokenizers): regexes never match those
  // bytes, so they stay between matches, and ByteLevel maps them like any.
  Status Run(std::string_view text, const Emit& emit) const;

 private:
  struct Step {
    enum class Kind { kSplit, kByteLevel, kDigits } kind = Kind::kSplit;
    std::optional<Regex> regex;  // Split's pattern; ByteLevel's if use_regex; Digits' \p{N}
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
    bool add_prefix_space = false;
  };

  static Status AddSteps(const nlohmann::json& value, const JsonPath& at, int depth,
                         std::vector<Step>* steps);
  Status RunFrom(size_t step, std::string_view piece, const Emit& emit) const;

  std::vector<Step> steps_;
};

// The pieces of `text` given the matches of a pattern in it, as Hugging
// Face's NormalizedString::split makes them for `behavior` (empty pieces
// included; callers drop them). `invert` swaps matches and non-matches.
std::vector<std::pair<size_t, size_t>> SplitPieces(
    size_t text_size, const std::vector<std::pair<size_t, size_t>>& matches, SplitBehavior behavior,
    bool invert);

}  // namespace kdnas
