#include "search/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "search/little_endian.h"

namespace kdnas {

bool DecodeUtf8(std::string_view text, size_t* pos, uint32_t* code_point) {
  const size_t i = *pos;
  if (i >= text.size()) return false;
  const uint8_t b0 = static_cast<uint8_t>(text[i]);
  int len = 0;
  uint32_t cp = 0;
  if (b0 < 0x80) {
    len = 1;
    cp = b0;
  } else if ((b0 & 0xe0) == 0xc0) {
    len = 2;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return false;
  }
  if (i + len > text.size()) return false;
  for (int k = 1; k < len; ++k) {
    const uint8_t b = static_cast<uint8_t>(text[i + k]);
    if ((b & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3f);
  }
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
  *pos = i + len;
  *code_point = cp;
  return true;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

StatusOr<Tokenizer> Tokenizer::Build(std::string_view text, TokenizerKind kind,
                                     const std::string& what) {
  if (text.empty()) return InvalidArgument(what + ": is empty; a UTF-8 text corpus is needed");
  std::set<uint32_t> seen;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t at = pos;
    uint32_t cp = 0;
    if (!DecodeUtf8(text, &pos, &cp)) {
      return InvalidArgument(what + ": invalid UTF-8 at byte " + std::to_string(at) +
                             "; this looks like a binary file, not UTF-8 text");
    }
    if (cp == 0) {
      return InvalidArgument(what + ": NUL byte at offset " + std::to_string(at) +
                             "; this looks like a binary file, not UTF-8 text");
    }
    seen.insert(cp);
  }
  if (seen.size() < 2) {
    return InvalidArgument(what + ": has only " + std::to_string(seen.size()) +
                           " distinct symbol; at least 2 are needed");
  }
  Tokenizer t;
  t.kind_ = kind;
  if (kind == TokenizerKind::kChar) t.symbols_.assign(seen.begin(), seen.end());
  t.Index();
  return t;
}

StatusOr<Tokenizer> Tokenizer::Deserialize(std::string_view bytes) {
  if (bytes.size() < 5)
    return DataLoss("tokenizer: truncated (" + std::to_string(bytes.size()) + " bytes)");
  const uint8_t kind = static_cast<uint8_t>(bytes[0]);
  const uint32_t vocab = GetU32(bytes, 1);
  Tokenizer t;
  if (kind == 1) {
    if (vocab != 256)
      return DataLoss("tokenizer: byte kind with vocab_size " + std::to_string(vocab));
    if (bytes.size() != 5) return DataLoss("tokenizer: trailing bytes after a byte tokenizer");
    t.kind_ = TokenizerKind::kByte;
    t.Index();
    return t;
  }
  if (kind != 0) return DataLoss("tokenizer: unknown kind " + std::to_string(kind));
  if (vocab < 2 || vocab > 0x110000)
    return DataLoss("tokenizer: vocab_size " + std::to_string(vocab));
  size_t pos = 5;
  t.kind_ = TokenizerKind::kChar;
  t.symbols_.reserve(vocab);
  for (uint32_t id = 0; id < vocab; ++id) {
    if (pos >= bytes.size()) return DataLoss("tokenizer: truncated at token " + std::to_string(id));
    const uint8_t len = static_cast<uint8_t>(bytes[pos++]);
    if (len < 1 || len > 4 || pos + len > bytes.size()) {
      return DataLoss("tokenizer: bad symbol length at token " + std::to_string(id));
    }
    std::string_view sym = bytes.substr(pos, len);
    size_t p = 0;
    uint32_t cp = 0;
    if (!DecodeUtf8(sym, &p, &cp) || p != len) {
      return DataLoss("tokenizer: token " + std::to_string(id) + " is not one UTF-8 code point");
    }
    if (!t.symbols_.empty() && cp <= t.symbols_.back()) {
      return DataLoss("tokenizer: symbols not in increasing order at token " + std::to_string(id));
    }
    t.symbols_.push_back(cp);
    pos += len;
  }
  if (pos != bytes.size()) return DataLoss("tokenizer: trailing bytes after the last symbol");
  t.Index();
  return t;
}

void Tokenizer::Index() {
  ids_.clear();
  for (size_t i = 0; i < symbols_.size(); ++i) ids_[symbols_[i]] = static_cast<int32_t>(i);
}

std::string Tokenizer::Serialize() const {
  std::string out;
  out.push_back(static_cast<char>(kind_ == TokenizerKind::kByte ? 1 : 0));
  PutU32(static_cast<uint32_t>(vocab_size()), &out);
  if (kind_ == TokenizerKind::kChar) {
    for (uint32_t cp : symbols_) {
      std::string s;
      AppendUtf8(cp, &s);
      out.push_back(static_cast<char>(s.size()));
      out += s;
    }
  }
  return out;
}

int64_t Tokenizer::serialized_bytes() const { return static_cast<int64_t>(Serialize().size()); }

StatusOr<std::vector<int32_t>> Tokenizer::Encode(std::string_view text) const {
  std::vector<int32_t> ids;
  if (kind_ == TokenizerKind::kByte) {
    ids.reserve(text.size());
    for (char c : text) ids.push_back(static_cast<uint8_t>(c));
    return ids;
  }
  ids.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t at = pos;
    uint32_t cp = 0;
    if (!DecodeUtf8(text, &pos, &cp)) {
      return InvalidArgument("invalid UTF-8 at byte " + std::to_string(at));
    }
    auto it = ids_.find(cp);
    if (it == ids_.end()) {
      std::string sym;
      AppendUtf8(cp, &sym);
      char hex[16];
      std::snprintf(hex, sizeof(hex), "U+%04X", cp);
      return InvalidArgument("symbol '" + sym + "' (" + hex + ") at byte " + std::to_string(at) +
                             " is not in the tokenizer's vocabulary of " +
                             std::to_string(vocab_size()));
    }
    ids.push_back(it->second);
  }
  return ids;
}

std::string Tokenizer::Symbol(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return "";
  if (kind_ == TokenizerKind::kByte) return std::string(1, static_cast<char>(id));
  std::string s;
  AppendUtf8(symbols_[id], &s);
  return s;
}

std::string Tokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) {
      AppendUtf8(0xfffd, &out);
    } else {
      out += Symbol(id);
    }
  }
  return out;
}

}  // namespace kdnas
