#include "formats/sentencepiece_normalizer.h"

#include <cstring>
#include <utility>

#include "search/tokenizer.h"

namespace kdnas {
namespace {

// libsentencepiece keeps the first 32 matches of a rule lookup.
constexpr size_t kMaxRuleMatches = 32;
constexpr std::string_view kReplacementCharacter = "\xef\xbf\xbd";

// A Darts-clone double-array unit.
bool HasLeaf(uint32_t unit) { return ((unit >> 8) & 1) == 1; }
uint32_t Value(uint32_t unit) { return unit & ((1U << 31) - 1); }
uint32_t Label(uint32_t unit) { return unit & ((1U << 31) | 0xFF); }
uint32_t Offset(uint32_t unit) { return (unit >> 10) << ((unit & (1U << 9)) >> 6); }

}  // namespace

StatusOr<SentencePieceNormalizer> SentencePieceNormalizer::Create(SentencePieceNormalizerSpec spec,
                                                                  bool treat_whitespace_as_suffix,
                                                                  PieceTrie user_defined,
                                                                  const std::string& what) {
  SentencePieceNormalizer n;
  n.spec_ = std::move(spec);
  n.treat_whitespace_as_suffix_ = treat_whitespace_as_suffix;
  n.user_defined_ = std::move(user_defined);
  n.what_ = what;
  const std::string_view blob = n.spec_.precompiled_charsmap;
  if (!blob.empty()) {
    // <trie size: uint32 little-endian><double array><outputs>
    uint32_t trie_bytes = 0;
    if (blob.size() <= 4) return InvalidArgument(what + ": the normalization rules are broken");
    for (int i = 3; i >= 0; --i) trie_bytes = (trie_bytes << 8) | static_cast<uint8_t>(blob[i]);
    if (trie_bytes >= blob.size() - 4 + 1 || trie_bytes % 4 != 0 || trie_bytes == 0) {
      return InvalidArgument(what + ": the normalization rules are broken (trie of " +
                             std::to_string(trie_bytes) + " bytes in a map of " +
                             std::to_string(blob.size()) + ")");
    }
    n.units_.resize(trie_bytes / 4);
    for (size_t u = 0; u < n.units_.size(); ++u) {
      uint32_t v = 0;
      for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(blob[4 + u * 4 + i]);
      n.units_[u] = v;
    }
    n.outputs_ = blob.substr(4 + trie_bytes);
  }
  return n;
}

Status SentencePieceNormalizer::NormalizePrefix(std::string_view input, std::string_view* out,
                                                size_t* consumed) const {
  if (!user_defined_.empty()) {
    const size_t length = user_defined_.LongestPrefix(input);
    if (length > 0) {
      *out = input.substr(0, length);
      *consumed = length;
      return Status::Ok();
    }
  }
  size_t longest_length = 0;
  uint32_t longest_value = 0;
  if (!units_.empty()) {
    // Darts-clone's commonPrefixSearch, bounds-checked.
    size_t matches = 0;
    size_t node = Offset(units_[0]);
    for (size_t i = 0; i < input.size(); ++i) {
      const auto c = static_cast<unsigned char>(input[i]);
      node ^= c;
      if (node >= units_.size()) break;
      const uint32_t unit = units_[node];
      if (Label(unit) != c) break;
      node ^= Offset(unit);
      if (HasLeaf(unit)) {
        if (node >= units_.size()) break;
        if (matches < kMaxRuleMatches && (longest_length == 0 || i + 1 > longest_length)) {
          longest_length = i + 1;
          longest_value = Value(units_[node]);
        }
        ++matches;
      }
    }
  }
  if (longest_length > 0) {
    if (longest_value >= outputs_.size()) {
      return InvalidArgument(what_ + ": a normalization rule points outside the rule table");
    }
    const std::string_view rest = outputs_.substr(longest_value);
    *out = rest.substr(0, strnlen(rest.data(), rest.size()));
    *consumed = longest_length;
    return Status::Ok();
  }
  size_t pos = 0;
  uint32_t cp = 0;
  if (DecodeUtf8(input, &pos, &cp)) {
    *out = input.substr(0, pos);
    *consumed = pos;
  } else {
    *out = kReplacementCharacter;
    *consumed = 1;
  }
  return Status::Ok();
}

StatusOr<std::string> SentencePieceNormalizer::Normalize(std::string_view input,
                                                         bool add_dummy_prefix) const {
  std::string normalized;
  if (input.empty()) return normalized;
  std::string_view piece;
  size_t consumed = 0;
  if (spec_.remove_extra_whitespaces) {  // leading whitespace
    while (!input.empty()) {
      KDNAS_RETURN_IF_ERROR(NormalizePrefix(input, &piece, &consumed));
      if (piece != " ") break;
      input.remove_prefix(consumed);
    }
  }
  if (input.empty()) return normalized;
  normalized.reserve(input.size() * 3);
  const std::string_view space = spec_.escape_whitespaces ? kSentencePieceSpace : " ";
  if (!treat_whitespace_as_suffix_ && add_dummy_prefix) normalized.append(space);
  bool is_prev_space = spec_.remove_extra_whitespaces;
  while (!input.empty()) {
    KDNAS_RETURN_IF_ERROR(NormalizePrefix(input, &piece, &consumed));
    while (is_prev_space && !piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
    if (!piece.empty()) {
      for (char c : piece) {
        if (c == ' ' && spec_.escape_whitespaces) {
          normalized.append(kSentencePieceSpace);
        } else {
          normalized.push_back(c);
        }
      }
      is_prev_space = piece.back() == ' ';
    }
    input.remove_prefix(consumed);
    if (!spec_.remove_extra_whitespaces) is_prev_space = false;
  }
  if (spec_.remove_extra_whitespaces) {  // trailing whitespace
    while (normalized.size() >= space.size() &&
           std::string_view(normalized).substr(normalized.size() - space.size()) == space) {
      normalized.resize(normalized.size() - space.size());
    }
  }
  if (treat_whitespace_as_suffix_ && add_dummy_prefix) normalized.append(space);
  return normalized;
}

}  // namespace kdnas
