#include "formats/utf8.h"

#include <cstdint>

#include "search/tokenizer.h"

namespace kdnas {

// The decoding and encoding are search/tokenizer.h's (one implementation of
// what valid UTF-8 is); these adapt them to the tokenizers' char32_t loops.
size_t DecodeUtf8(std::string_view text, size_t i, char32_t* cp) {
  size_t pos = i;
  uint32_t value = 0;
  if (!DecodeUtf8(text, &pos, &value)) {
    *cp = static_cast<uint8_t>(text[i]);
    return 0;
  }
  *cp = value;
  return pos - i;
}

size_t FirstInvalidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (static_cast<uint8_t>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t cp;
    const size_t len = DecodeUtf8(text, i, &cp);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

void AppendUtf8(char32_t cp, std::string* out) { AppendUtf8(static_cast<uint32_t>(cp), out); }

bool IsUnicodeWhiteSpace(char32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

}  // namespace kdnas
