// UTF-8 helpers for the tokenizers: decoding one code point, finding the
// first invalid byte, encoding. Invalid means what Rust's str rejects:
// overlong forms, surrogates, code points above U+10FFFF, truncated
// sequences, stray continuation bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kdnas {

// The length (1-4) of the valid UTF-8 sequence at text[i], storing its code
// point in *cp; 0 when the bytes there are not valid UTF-8 (*cp is then the
// byte itself). i < text.size().
size_t DecodeUtf8(std::string_view text, size_t i, char32_t* cp);

// The offset of the first byte that does not begin a valid UTF-8 sequence,
// or std::string_view::npos when all of `text` is valid.
size_t FirstInvalidUtf8(std::string_view text);

// Appends the UTF-8 form of `cp` (a Unicode scalar value).
void AppendUtf8(char32_t cp, std::string* out);

// Unicode's White_Space property (what Rust's and Oniguruma's \s match):
// U+0009-U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028,
// U+2029, U+202F, U+205F, U+3000.
bool IsUnicodeWhiteSpace(char32_t cp);

}  // namespace kdnas
