// A compiled pattern of a tokenizer.json (Split's Regex or String, the
// ByteLevel regex) and the matches Hugging Face finds with it. Regexes are
// Oniguruma patterns, rewritten for PCRE2 (formats/onig_pattern.h) and
// compiled in UTF + UCP mode, JIT-compiled when PCRE2 has a JIT. Invalid
// UTF-8 in the subject (possible for byte-level tokenizers only) is never
// matched by any part of a pattern (PCRE2_MATCH_INVALID_UTF): such bytes fall
// between matches. Thread-safe: Find may be called from several threads.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "search/status.h"

namespace kdnas {

class Regex {
 public:
  // An Oniguruma pattern. INVALID_ARGUMENT with PCRE2's message and offset
  // when it does not compile, or uses what onig_pattern.h refuses.
  static StatusOr<Regex> FromOniguruma(std::string_view pattern);
  // A literal string (Split's {"String": ...}).
  static StatusOr<Regex> FromLiteral(std::string_view literal);

  // The non-overlapping matches in `text`, as [start, end) byte offsets, in
  // the order and with the empty-match rule of the onig crate's find_iter
  // (an empty match right where the previous one ended is skipped, and the
  // search resumes one character on). Errors: RESOURCE_EXHAUSTED when PCRE2
  // hits its match or depth limit (a pattern that backtracks explosively).
  Status Find(std::string_view text, std::vector<std::pair<size_t, size_t>>* matches) const;

 private:
  struct Code;
  explicit Regex(std::shared_ptr<const Code> code) : code_(std::move(code)) {}
  static StatusOr<Regex> Compile(std::string_view pattern, bool literal);

  std::shared_ptr<const Code> code_;
};

}  // namespace kdnas
