#include "formats/added_vocabulary.h"

#include <algorithm>

#include "formats/regex.h"
#include "formats/utf8.h"

namespace kdnas {
namespace {

// Rust regex's Unicode \w (Alphabetic, marks, Nd, Pc, Join_Control), which
// Hugging Face's single_word check uses, on one character.
bool IsWordChar(std::string_view ch) {
  static const StatusOr<Regex> kWord =
      Regex::FromOniguruma(R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}])");
  if (!kWord.ok()) return false;
  std::vector<std::pair<size_t, size_t>> found;
  return kWord->Find(ch, &found).ok() && !found.empty();
}

// The last character of text[0, end) (one byte if it is not valid UTF-8).
std::string_view LastChar(std::string_view text, size_t end) {
  for (size_t k = 2; k <= 4 && k <= end; ++k) {
    char32_t cp;
    if (DecodeUtf8(text, end - k, &cp) == k) return text.substr(end - k, k);
  }
  return text.substr(end - 1, 1);
}

std::string_view FirstChar(std::string_view text, size_t start) {
  char32_t cp;
  const size_t len = DecodeUtf8(text, start, &cp);
  return text.substr(start, len == 0 ? 1 : len);
}

bool IsSpace(std::string_view ch) {
  char32_t cp;
  return DecodeUtf8(ch, 0, &cp) == ch.size() && IsUnicodeWhiteSpace(cp);
}

}  // namespace

void AddedVocabulary::Matcher::Insert(std::string_view pattern, int32_t id) {
  int32_t node = 0;
  for (char c : pattern) {
    const auto b = static_cast<uint8_t>(c);
    auto& children = nodes[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(b, int32_t{0}),
                               [](const auto& x, const auto& y) { return x.first < y.first; });
    if (it != children.end() && it->first == b) {
      node = it->second;
    } else {
      const auto child = static_cast<int32_t>(nodes.size());
      children.insert(it, {b, child});
      nodes.emplace_back();
      node = child;
    }
  }
  nodes[node].id = id;
  if (!pattern.empty()) first_byte[static_cast<uint8_t>(pattern[0])] = true;
}

std::pair<size_t, int32_t> AddedVocabulary::Matcher::Longest(std::string_view text,
                                                             size_t pos) const {
  std::pair<size_t, int32_t> best{0, -1};
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto b = static_cast<uint8_t>(text[i]);
    const auto& children = nodes[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(b, int32_t{0}),
                               [](const auto& x, const auto& y) { return x.first < y.first; });
    if (it == children.end() || it->first != b) break;
    node = it->second;
    if (nodes[node].id >= 0) best = {i + 1 - pos, nodes[node].id};
  }
  return best;
}

Status AddedVocabulary::Add(const AddedToken& token, std::optional<int32_t> model_id,
                            const Normalizer& normalizer) {
  if (token.content.empty()) return Status::Ok();
  const auto known = by_content_.find(token.content);
  if (known != by_content_.end()) {
    const auto it = by_id_.find(known->second);
    if (it != by_id_.end() && it->second == token) return Status::Ok();
  }
  int32_t id;
  if (known != by_content_.end()) {
    id = known->second;
  } else if (model_id) {
    id = *model_id;
  } else {
    if (next_id_ >= 0x7FFFFFFF) return InvalidArgument("added_tokens: too many tokens");
    id = static_cast<int32_t>(next_id_++);
  }
  if (token.normalized && !normalizer.identity()) {
    std::string normalized;
    KDNAS_RETURN_IF_ERROR(normalizer.Normalize(token.content, &normalized));
    if (normalized != token.content) normalized_content_[id] = std::move(normalized);
  }
  by_content_[token.content] = id;
  by_id_[id] = token;
  return Status::Ok();
}

void AddedVocabulary::Build() {
  raw_ = Matcher();
  normalized_ = Matcher();
  for (const auto& [id, token] : by_id_) {
    if (token.normalized) {
      const auto n = normalized_content_.find(id);
      normalized_.Insert(n == normalized_content_.end() ? token.content : n->second, id);
    } else {
      raw_.Insert(token.content, id);
    }
  }
}

Status AddedVocabulary::Split(std::string_view text, bool normalized,
                              std::vector<Segment>* out) const {
  const Matcher& m = matcher(normalized);
  size_t done = 0;  // text before this is in `out`
  size_t pos = 0;
  while (pos < text.size()) {
    if (!m.first_byte[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    const auto [length, id] = m.Longest(text, pos);
    if (length == 0) {
      ++pos;
      continue;
    }
    size_t start = pos;
    size_t stop = pos + length;
    pos = stop;
    const AddedToken& token = by_id_.at(id);
    if (token.single_word) {
      const bool space_before = start == 0 || !IsWordChar(LastChar(text, start));
      const bool space_after = stop == text.size() || !IsWordChar(FirstChar(text, stop));
      if (!space_before || !space_after) continue;
    }
    if (token.lstrip) {
      size_t s = start;
      while (s > 0) {
        const std::string_view ch = LastChar(text, s);
        if (!IsSpace(ch)) break;
        s -= ch.size();
      }
      start = std::max(s, done);
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        const std::string_view ch = FirstChar(text, stop);
        if (!IsSpace(ch)) break;
        stop += ch.size();
      }
      pos = stop;
    }
    if (done < start) out->push_back({done, start, -1});
    out->push_back({start, stop, id});
    done = stop;
  }
  if (done < text.size()) out->push_back({done, text.size(), -1});
  return Status::Ok();
}

std::optional<int32_t> AddedVocabulary::IdOf(std::string_view content) const {
  const auto it = by_content_.find(std::string(content));
  if (it == by_content_.end()) return std::nullopt;
  return it->second;
}

const std::string* AddedVocabulary::DecodedContent(int32_t id) const {
  const auto n = normalized_content_.find(id);
  if (n != normalized_content_.end()) return &n->second;
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second.content;
}

int32_t AddedVocabulary::max_id() const {
  int32_t max = -1;
  for (const auto& [id, token] : by_id_) max = std::max(max, id);
  return max;
}

}  // namespace kdnas
