/* Prints, for every Unicode scalar value, the general category that the
 * system's PCRE2 gives it, as "hex gc" lines. Used by gen_onig_unicode.sh. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>

static const char* kCategories[] = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl",
                                    "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc",
                                    "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Co"};
enum { kCount = sizeof(kCategories) / sizeof(kCategories[0]) };

static int Utf8(unsigned c, unsigned char* out) {
  if (c < 0x80) { out[0] = (unsigned char)c; return 1; }
  if (c < 0x800) { out[0] = 0xC0 | (c >> 6); out[1] = 0x80 | (c & 63); return 2; }
  if (c < 0x10000) {
    out[0] = 0xE0 | (c >> 12); out[1] = 0x80 | ((c >> 6) & 63); out[2] = 0x80 | (c & 63);
    return 3;
  }
  out[0] = 0xF0 | (c >> 18); out[1] = 0x80 | ((c >> 12) & 63);
  out[2] = 0x80 | ((c >> 6) & 63); out[3] = 0x80 | (c & 63);
  return 4;
}

int main(void) {
  pcre2_code* re[kCount];
  for (int i = 0; i < kCount; i++) {
    char pattern[16];
    int error;
    PCRE2_SIZE offset;
    snprintf(pattern, sizeof pattern, "\\p{%s}", kCategories[i]);
    re[i] = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &error, &offset, NULL);
    if (re[i] == NULL) return 1;
  }
  pcre2_match_data* md = pcre2_match_data_create(1, NULL);
  for (unsigned c = 0; c <= 0x10FFFF; c++) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    unsigned char bytes[4];
    int n = Utf8(c, bytes);
    const char* gc = "Cn";
    for (int i = 0; i < kCount; i++) {
      if (pcre2_match(re[i], bytes, n, 0, 0, md, NULL) > 0) { gc = kCategories[i]; break; }
    }
    printf("%x %s\n", c, gc);
  }
  return 0;
}
