#include "formats/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>

#include "formats/onig_pattern.h"
#include "formats/utf8.h"

namespace kdnas {

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

namespace {

std::string Pcre2Message(int error) {
  PCRE2_UCHAR buffer[256];
  if (pcre2_get_error_message(error, buffer, sizeof buffer) < 0)
    return "error " + std::to_string(error);
  return reinterpret_cast<const char*>(buffer);
}

// Per-thread match state: one ovector pair is all Find reads, so one match
// data serves every pattern; the JIT stack is larger than PCRE2's 32 KiB
// default for long runs of one class.
struct ThreadState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  ThreadState() {
    if (stack != nullptr) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~ThreadState() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(data);
  }
};

ThreadState& State() {
  thread_local ThreadState state;
  return state;
}

}  // namespace

StatusOr<Regex> Regex::FromOniguruma(std::string_view pattern) { return Compile(pattern, false); }

StatusOr<Regex> Regex::FromLiteral(std::string_view literal) { return Compile(literal, true); }

StatusOr<Regex> Regex::Compile(std::string_view pattern, bool literal) {
  std::string translated;
  if (literal) {
    translated = std::string(pattern);
  } else {
    KDNAS_ASSIGN_OR_RETURN(translated, OnigToPcre2Pattern(pattern));
  }
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  pcre2_set_newline(context, PCRE2_NEWLINE_LF);
  pcre2_set_bsr(context, PCRE2_BSR_UNICODE);
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE;
  if (literal) options |= PCRE2_LITERAL;
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()),
                                   translated.size(), options, &error, &offset, context);
  pcre2_compile_context_free(context);
  if (code == nullptr) {
    // Offsets refer to the translated pattern; name it when it differs.
    std::string message = Pcre2Message(error) + " at offset " + std::to_string(offset);
    if (translated != pattern) message += " of the PCRE2 form \"" + translated + "\"";
    return InvalidArgument(message);
  }
  auto compiled = std::make_shared<Code>();
  compiled->code = code;
  compiled->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return Regex(std::move(compiled));
}

Status Regex::Find(std::string_view text, std::vector<std::pair<size_t, size_t>>* matches) const {
  matches->clear();
  ThreadState& state = State();
  if (state.data == nullptr || state.context == nullptr) {
    return ResourceExhausted("regex: no memory for match data");
  }
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t search_from = 0;
  bool have_last = false;
  size_t last_end = 0;
  while (search_from <= text.size()) {
    const int rc = code_->jit ? pcre2_jit_match(code_->code, subject, text.size(), search_from, 0,
                                                state.data, state.context)
                              : pcre2_match(code_->code, subject, text.size(), search_from, 0,
                                            state.data, state.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) return ResourceExhausted("regex: " + Pcre2Message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
    const size_t start = ovector[0];
    const size_t end = ovector[1];
    if (start == end && have_last && last_end == end) {
      // Skip one character (one byte if invalid UTF-8 starts there).
      if (search_from >= text.size()) break;
      char32_t cp;
      const size_t len = DecodeUtf8(text, search_from, &cp);
      search_from += len == 0 ? 1 : len;
      continue;
    }
    matches->emplace_back(start, end);
    search_from = end;
    have_last = true;
    last_end = end;
  }
  return Status::Ok();
}

}  // namespace kdnas
