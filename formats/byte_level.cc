#include "formats/byte_level.h"

#include <array>

#include "formats/utf8.h"

namespace kdnas {
namespace {

struct Tables {
  std::array<char32_t, 256> code_point{};
  std::array<std::string, 256> utf8;
  // Indexed by code point; the alphabet lies below U+0144.
  std::array<int16_t, 0x144> byte{};

  Tables() {
    byte.fill(-1);
    const auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      code_point[b] = printable(b) ? static_cast<char32_t>(b) : next++;
      AppendUtf8(code_point[b], &utf8[b]);
      byte[code_point[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& GetTables() {
  static const Tables tables;
  return tables;
}

}  // namespace

char32_t ByteLevelCodePoint(uint8_t b) { return GetTables().code_point[b]; }

std::optional<uint8_t> ByteLevelByte(char32_t cp) {
  const Tables& t = GetTables();
  if (cp >= t.byte.size() || t.byte[cp] < 0) return std::nullopt;
  return static_cast<uint8_t>(t.byte[cp]);
}

std::string_view ByteLevelChar(uint8_t b) { return GetTables().utf8[b]; }

void AppendByteLevel(std::string_view bytes, std::string* out) {
  const Tables& t = GetTables();
  out->reserve(out->size() + bytes.size() * 2);
  for (char c : bytes) out->append(t.utf8[static_cast<uint8_t>(c)]);
}

void AppendByteLevelDecoded(std::string_view token, std::string* out) {
  const size_t start = out->size();
  size_t i = 0;
  while (i < token.size()) {
    char32_t cp;
    const size_t len = DecodeUtf8(token, i, &cp);
    const std::optional<uint8_t> b = len == 0 ? std::nullopt : ByteLevelByte(cp);
    if (!b) {
      out->resize(start);
      out->append(token);
      return;
    }
    out->push_back(static_cast<char>(*b));
    i += len;
  }
}

}  // namespace kdnas
