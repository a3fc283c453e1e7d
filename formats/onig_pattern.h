// Hugging Face runs a tokenizer.json's Split regexes (and ByteLevel's
// GPT-2 regex) on Oniguruma, in its default (Ruby-like) syntax; kdnas runs
// them on PCRE2 in UTF + UCP mode. This file rewrites an Oniguruma pattern
// into a PCRE2 pattern that matches the same strings:
//   - \s, \S: Oniguruma's 25 White_Space code points (PCRE2's \s adds
//     U+180E), written out as ranges;
//   - \p{..}, \P{..}, \d, \D, \w, \W, \b, \B: the reference's Oniguruma has
//     Unicode 16 and Debian 12's PCRE2 10.42 Unicode 14, so the code points
//     assigned since (formats/onig_unicode.inc, generated from the reference)
//     are added to, or taken out of, each general-category class. \w is
//     Oniguruma's word (Alphabetic, marks, Nd, Pc, ²³¹¼½¾); \b, \B are built
//     on it;
//   - \h, \H: Oniguruma's hex digit; \v: U+000B; \uHHHH: \x{HHHH}; \pL (no
//     braces) a literal p, as in Oniguruma;
//   - (?m): Oniguruma's dot-all, PCRE2's (?s).
// The pattern is compiled with PCRE2_MULTILINE (Oniguruma's ^ and $ are line
// anchors) and LF newlines ('.' excludes only \n in both).
// Refused (INVALID_ARGUMENT, naming the construct and its offset): nested
// classes and && (Oniguruma class algebra), POSIX brackets [:alpha:], and a
// negated category inside a class where the Unicode versions differ.
// Script properties (\p{Han}) are passed through: they may differ from the
// reference on code points assigned after Unicode 14.
#pragma once

#include <string>
#include <string_view>

#include "search/status.h"

namespace kdnas {

StatusOr<std::string> OnigToPcre2Pattern(std::string_view pattern);

}  // namespace kdnas
