// GPT-2's byte-level alphabet: each of the 256 byte values stands for one
// printable code point (the printable Latin-1 bytes for themselves, the
// others for U+0100..U+0143 in byte order), so any byte string becomes a
// string of visible characters that a BPE vocabulary can hold ("Ġ" is the
// space). Hugging Face's ByteLevel pre-tokenizer and decoder use this map.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kdnas {

// The code point byte `b` stands for.
char32_t ByteLevelCodePoint(uint8_t b);
// The byte that code point `cp` stands for, if it is in the alphabet.
std::optional<uint8_t> ByteLevelByte(char32_t cp);
// The UTF-8 form of the character byte `b` stands for (1 or 2 bytes).
std::string_view ByteLevelChar(uint8_t b);

// Appends the byte-level form of `bytes`, byte by byte (any bytes, valid
// UTF-8 or not).
void AppendByteLevel(std::string_view bytes, std::string* out);

// Appends what Hugging Face's ByteLevel decoder makes of one token: the
// bytes its characters stand for when every character is in the alphabet,
// else the token's own UTF-8 (an added token such as "<|im start|>" with a
// real space). Unlike Hugging Face, no U+FFFD replacement is made for
// invalid UTF-8 in the result: the bytes come back as they went in.
void AppendByteLevelDecoded(std::string_view token, std::string* out);

}  // namespace kdnas
