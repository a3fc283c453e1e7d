#include "formats/onig_pattern.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

namespace kdnas {
namespace {

// Code points whose general category differs between the reference's
// Oniguruma and the system's PCRE2.
struct CategoryDiff {
  char32_t first;
  char32_t last;
  const char* onig;
  const char* pcre2;
};
constexpr CategoryDiff kDiffs[] = {
#include "formats/onig_unicode.inc"
};

// A general-category class: its two-letter categories, and PCRE2's name for
// the whole (for \P{..} inside a class).
struct Category {
  std::vector<std::string> parts;
  std::string pcre2_name;
};

std::string Normalized(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == ' ' || c == '_' || c == '-') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

std::optional<Category> LookUpCategory(std::string_view raw) {
  struct Entry {
    const char* names[3];
    const char* pcre2_name;
    const char* parts;
  };
  static const Entry kEntries[] = {
      {{"l", "letter", nullptr}, "L", "Lu Ll Lt Lm Lo"},
      {{"l&", "lc", "casedletter"}, "L&", "Lu Ll Lt"},
      {{"lu", "uppercaseletter", nullptr}, "Lu", "Lu"},
      {{"ll", "lowercaseletter", nullptr}, "Ll", "Ll"},
      {{"lt", "titlecaseletter", nullptr}, "Lt", "Lt"},
      {{"lm", "modifierletter", nullptr}, "Lm", "Lm"},
      {{"lo", "otherletter", nullptr}, "Lo", "Lo"},
      {{"m", "mark", "combiningmark"}, "M", "Mn Mc Me"},
      {{"mn", "nonspacingmark", nullptr}, "Mn", "Mn"},
      {{"mc", "spacingmark", nullptr}, "Mc", "Mc"},
      {{"me", "enclosingmark", nullptr}, "Me", "Me"},
      {{"n", "number", nullptr}, "N", "Nd Nl No"},
      {{"nd", "decimalnumber", nullptr}, "Nd", "Nd"},
      {{"nl", "letternumber", nullptr}, "Nl", "Nl"},
      {{"no", "othernumber", nullptr}, "No", "No"},
      {{"p", "punctuation", nullptr}, "P", "Pc Pd Ps Pe Pi Pf Po"},
      {{"pc", "connectorpunctuation", nullptr}, "Pc", "Pc"},
      {{"pd", "dashpunctuation", nullptr}, "Pd", "Pd"},
      {{"ps", "openpunctuation", nullptr}, "Ps", "Ps"},
      {{"pe", "closepunctuation", nullptr}, "Pe", "Pe"},
      {{"pi", "initialpunctuation", nullptr}, "Pi", "Pi"},
      {{"pf", "finalpunctuation", nullptr}, "Pf", "Pf"},
      {{"po", "otherpunctuation", nullptr}, "Po", "Po"},
      {{"s", "symbol", nullptr}, "S", "Sm Sc Sk So"},
      {{"sm", "mathsymbol", nullptr}, "Sm", "Sm"},
      {{"sc", "currencysymbol", nullptr}, "Sc", "Sc"},
      {{"sk", "modifiersymbol", nullptr}, "Sk", "Sk"},
      {{"so", "othersymbol", nullptr}, "So", "So"},
      {{"z", "separator", nullptr}, "Z", "Zs Zl Zp"},
      {{"zs", "spaceseparator", nullptr}, "Zs", "Zs"},
      {{"zl", "lineseparator", nullptr}, "Zl", "Zl"},
      {{"zp", "paragraphseparator", nullptr}, "Zp", "Zp"},
      {{"c", "other", nullptr}, "C", "Cc Cf Cs Co Cn"},
      {{"cc", "control", nullptr}, "Cc", "Cc"},
      {{"cf", "format", nullptr}, "Cf", "Cf"},
      {{"cs", "surrogate", nullptr}, "Cs", "Cs"},
      {{"co", "privateuse", nullptr}, "Co", "Co"},
      {{"cn", "unassigned", nullptr}, "Cn", "Cn"},
  };
  const std::string name = Normalized(raw);
  for (const Entry& e : kEntries) {
    for (const char* n : e.names) {
      if (n == nullptr || name != n) continue;
      Category category;
      category.pcre2_name = e.pcre2_name;
      std::string parts = e.parts;
      for (size_t start = 0; start < parts.size(); start += 3) {
        category.parts.push_back(parts.substr(start, 2));
      }
      return category;
    }
  }
  return std::nullopt;
}

bool In(const std::vector<std::string>& parts, const char* gc) {
  for (const std::string& p : parts) {
    if (p == gc) return true;
  }
  return false;
}

std::string Hex(char32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\x{%X}", static_cast<unsigned>(cp));
  return buf;
}

std::string Range(char32_t first, char32_t last) {
  return first == last ? Hex(first) : Hex(first) + "-" + Hex(last);
}

// The body of a PCRE2 class (no brackets) for `parts` as Oniguruma has them,
// and the ranges that PCRE2 has in them but Oniguruma does not.
struct ClassBody {
  std::string body;
  std::string removed;
};

ClassBody CategoryBody(const std::vector<std::string>& parts, std::string_view pcre2_base) {
  ClassBody out;
  out.body = pcre2_base;
  for (const CategoryDiff& d : kDiffs) {
    const bool onig = In(parts, d.onig);
    const bool pcre2 = In(parts, d.pcre2);
    if (onig && !pcre2) out.body += Range(d.first, d.last);
    if (pcre2 && !onig) out.removed += Range(d.first, d.last);
  }
  return out;
}

std::string PropertyEscapes(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += "\\p{" + p + "}";
  return out;
}

// Oniguruma's \s: Unicode White_Space.
constexpr const char* kSpaceBody =
    "\\x{9}-\\x{D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
    "\\x{205F}\\x{3000}";
// Its complement, as ranges (usable inside a class).
constexpr const char* kNonSpaceBody =
    "\\x{0}-\\x{8}\\x{E}-\\x{1F}\\x{21}-\\x{84}\\x{86}-\\x{9F}\\x{A1}-\\x{167F}\\x{1681}-\\x{1FFF}"
    "\\x{200B}-\\x{2027}\\x{202A}-\\x{202E}\\x{2030}-\\x{205E}\\x{2060}-\\x{2FFF}"
    "\\x{3001}-\\x{D7FF}\\x{E000}-\\x{10FFFF}";

// Oniguruma's \w: Alphabetic, marks, decimal digits, connector punctuation,
// and the Latin-1 digits and fractions its byte table counts as word.
ClassBody WordBody() {
  static const std::vector<std::string> kWordParts = {"Lu", "Ll", "Lt", "Lm", "Lo",
                                                      "Mn", "Mc", "Me", "Nd", "Pc"};
  return CategoryBody(kWordParts,
                      "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{B2}\\x{B3}\\x{B9}\\x{BC}-\\x{BE}");
}

class Translator {
 public:
  explicit Translator(std::string_view pattern) : p_(pattern) {}

  StatusOr<std::string> Run() {
    while (i_ < p_.size()) {
      const char c = p_[i_];
      if (c == '\\') {
        KDNAS_RETURN_IF_ERROR(Escape());
      } else if (in_class_) {
        KDNAS_RETURN_IF_ERROR(ClassChar());
      } else if (c == '[') {
        in_class_ = true;
        out_ += '[';
        ++i_;
        if (i_ < p_.size() && p_[i_] == '^') {
          out_ += '^';
          ++i_;
        }
        if (i_ < p_.size() && p_[i_] == ']') {  // a leading ']' is literal
          out_ += "\\]";
          ++i_;
        }
      } else if (c == '(' && i_ + 1 < p_.size() && p_[i_ + 1] == '?') {
        Group();
      } else {
        out_ += c;
        ++i_;
      }
    }
    return out_;
  }

 private:
  Status Refuse(const std::string& what) const {
    return InvalidArgument(what + " at offset " + std::to_string(i_) +
                           " is not supported (kdnas runs patterns on PCRE2)");
  }

  Status ClassChar() {
    const char c = p_[i_];
    const char next = i_ + 1 < p_.size() ? p_[i_ + 1] : '\0';
    if (c == '[') return Refuse(next == ':' ? "a POSIX bracket [:...:]" : "a nested class");
    if (c == '&' && next == '&') return Refuse("class intersection &&");
    if (c == ']') in_class_ = false;
    out_ += c;
    ++i_;
    return Status::Ok();
  }

  // (?imx-imx) and (?imx-imx:...): Oniguruma's m is PCRE2's s.
  void Group() {
    size_t j = i_ + 2;
    while (j < p_.size() && std::strchr("imx-", p_[j]) != nullptr && p_[j] != '\0') ++j;
    if (j > i_ + 2 && j < p_.size() && (p_[j] == ')' || p_[j] == ':')) {
      out_ += "(?";
      for (size_t k = i_ + 2; k < j; ++k) out_ += p_[k] == 'm' ? 's' : p_[k];
      i_ = j;
      return;
    }
    out_ += "(?";
    i_ += 2;
  }

  // Emits a class given its body: [body] outside a class, body inside.
  Status EmitClass(const ClassBody& cls, bool negated, const std::string& pcre2_negated) {
    if (in_class_) {
      if (!negated) {
        if (!cls.removed.empty()) return Refuse("this property inside a class");
        out_ += cls.body;
        return Status::Ok();
      }
      if (pcre2_negated.empty()) return Refuse("this negated property inside a class");
      out_ += pcre2_negated;
      return Status::Ok();
    }
    if (!negated) {
      out_ += cls.removed.empty() ? "[" + cls.body + "]"
                                  : "(?:(?![" + cls.removed + "])[" + cls.body + "])";
    } else {
      out_ += cls.removed.empty() ? "[^" + cls.body + "]"
                                  : "(?:[^" + cls.body + "]|[" + cls.removed + "])";
    }
    return Status::Ok();
  }

  Status Property(char e) {
    const size_t start = i_;
    std::string name;
    i_ += 2;
    if (i_ < p_.size() && p_[i_] == '{') {
      const size_t close = p_.find('}', i_);
      if (close == std::string_view::npos) return Refuse("an unterminated \\p{");
      name = std::string(p_.substr(i_ + 1, close - i_ - 1));
      i_ = close + 1;
    } else {
      // Oniguruma's syntax has no \pL: the escape is a literal p (or P).
      out_ += e;
      return Status::Ok();
    }
    bool negated = e == 'P';
    if (!name.empty() && name[0] == '^') {
      negated = !negated;
      name.erase(0, 1);
    }
    const std::optional<Category> category = LookUpCategory(name);
    if (!category) {  // a script or binary property: PCRE2's own table
      out_ += p_.substr(start, i_ - start);
      return Status::Ok();
    }
    const ClassBody cls = CategoryBody(category->parts, PropertyEscapes(category->parts));
    const bool same = cls.body == PropertyEscapes(category->parts) && cls.removed.empty();
    return EmitClass(cls, negated, same ? "\\P{" + category->pcre2_name + "}" : "");
  }

  Status Escape() {
    if (i_ + 1 >= p_.size()) {
      out_ += '\\';
      ++i_;
      return Status::Ok();
    }
    const char e = p_[i_ + 1];
    switch (e) {
      case 'p':
      case 'P':
        return Property(e);
      case 's':
      case 'S':
        i_ += 2;
        if (in_class_) {
          out_ += e == 's' ? kSpaceBody : kNonSpaceBody;
        } else {
          out_ += std::string(e == 's' ? "[" : "[^") + kSpaceBody + "]";
        }
        return Status::Ok();
      case 'd':
      case 'D': {
        i_ += 2;
        const std::vector<std::string> nd = {"Nd"};
        const ClassBody cls = CategoryBody(nd, "\\p{Nd}");
        return EmitClass(cls, e == 'D', "");
      }
      case 'w':
      case 'W':
        i_ += 2;
        return EmitClass(WordBody(), e == 'W', "");
      case 'b':
      case 'B': {
        if (in_class_) return Refuse("\\b inside a class");
        i_ += 2;
        const std::string w = "[" + WordBody().body + "]";
        out_ += e == 'b' ? "(?:(?<=" + w + ")(?!" + w + ")|(?<!" + w + ")(?=" + w + "))"
                         : "(?:(?<=" + w + ")(?=" + w + ")|(?<!" + w + ")(?!" + w + "))";
        return Status::Ok();
      }
      case 'h':
      case 'H':
        i_ += 2;
        if (in_class_) {
          if (e == 'H') return Refuse("\\H inside a class");
          out_ += "0-9a-fA-F";
        } else {
          out_ += e == 'h' ? "[0-9a-fA-F]" : "[^0-9a-fA-F]";
        }
        return Status::Ok();
      case 'v':
        i_ += 2;
        out_ += "\\x{B}";
        return Status::Ok();
      case 'u': {
        const std::string_view hex = p_.substr(i_ + 2, 4);
        bool ok = hex.size() == 4;
        for (char h : hex) ok = ok && std::isxdigit(static_cast<unsigned char>(h));
        if (!ok) return Refuse("\\u without four hex digits");
        out_ += "\\x{" + std::string(hex) + "}";
        i_ += 6;
        return Status::Ok();
      }
      default: {
        // Copies the escape whole: \x{..}, \xHH, or backslash and one
        // (possibly multi-byte) character.
        size_t len = 2;
        if (e == 'x' && i_ + 2 < p_.size() && p_[i_ + 2] == '{') {
          const size_t close = p_.find('}', i_);
          len = close == std::string_view::npos ? p_.size() - i_ : close - i_ + 1;
        } else {
          const auto lead = static_cast<unsigned char>(e);
          if (lead >= 0xC0) len += lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1;
        }
        len = std::min(len, p_.size() - i_);
        out_ += p_.substr(i_, len);
        i_ += len;
        return Status::Ok();
      }
    }
  }

  std::string_view p_;
  size_t i_ = 0;
  bool in_class_ = false;
  std::string out_;
};

}  // namespace

StatusOr<std::string> OnigToPcre2Pattern(std::string_view pattern) {
  return Translator(pattern).Run();
}

}  // namespace kdnas
