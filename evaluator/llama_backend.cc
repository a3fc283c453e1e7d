#include "evaluator/llama_backend.h"

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <utility>

#include "ggml-backend.h"
#include "llama.h"

#ifndef KDNAS_LLAMA_CPP_LIB_DIR
#error "KDNAS_LLAMA_CPP_LIB_DIR must name the directory of llama.cpp's prebuilt libraries"
#endif

namespace kdnas {
namespace {

constexpr size_t kKeptLines = 16;

// The warning and error lines of llama.cpp's log, numbered from process start.
struct LogKeeper {
  std::mutex mu;
  std::deque<std::pair<uint64_t, std::string>> lines;  // (number, text), oldest first
  uint64_t next_line = 0;
  std::string partial;  // the line being assembled from pieces
  ggml_log_level partial_level = GGML_LOG_LEVEL_NONE;
  bool echo = false;
};

LogKeeper& Keeper() {
  static LogKeeper* keeper = new LogKeeper();  // never destroyed: llama.cpp may log at exit
  return *keeper;
}

void OnLog(ggml_log_level level, const char* text, void* user_data) {
  auto* keeper = static_cast<LogKeeper*>(user_data);
  std::lock_guard<std::mutex> lock(keeper->mu);
  if (keeper->echo) std::fputs(text, stderr);
  if (level != GGML_LOG_LEVEL_CONT && keeper->partial.empty()) keeper->partial_level = level;
  for (const char* c = text; *c != '\0'; ++c) {
    if (*c != '\n') {
      keeper->partial.push_back(*c);
      continue;
    }
    if (keeper->partial_level >= GGML_LOG_LEVEL_WARN && !keeper->partial.empty()) {
      keeper->lines.emplace_back(keeper->next_line++, std::move(keeper->partial));
      if (keeper->lines.size() > kKeptLines) keeper->lines.pop_front();
    }
    keeper->partial.clear();
  }
}

Status Init() {
  LogKeeper& keeper = Keeper();
  const char* echo = std::getenv("KDNAS_LLAMA_CPP_LOG");
  keeper.echo = echo != nullptr && *echo != '\0';
  llama_log_set(OnLog, &keeper);  // also sets ggml's log callback
  const std::string dir = LlamaLibDir();
  ggml_backend_load_all_from_path(dir.c_str());
  if (ggml_backend_dev_count() == 0) {
    return FailedPrecondition("llama.cpp: no backend could be loaded from '" + dir +
                              "' (set KDNAS_LLAMA_CPP_LIB_DIR to the directory of "
                              "libggml-cpu-*.so)");
  }
  // After the backends are registered, so it does not look for them elsewhere.
  llama_backend_init();
  return Status::Ok();
}

}  // namespace

std::string LlamaLibDir() {
  const char* dir = std::getenv("KDNAS_LLAMA_CPP_LIB_DIR");
  return dir != nullptr && *dir != '\0' ? dir : KDNAS_LLAMA_CPP_LIB_DIR;
}

Status InitLlamaBackend() {
  static const Status* status = new Status(Init());
  return *status;
}

std::string LlamaRuntimeDescription() {
  std::string info = llama_print_system_info();
  while (!info.empty() && (info.back() == ' ' || info.back() == '|')) info.pop_back();
  return std::string("llama.cpp ") + llama_version() + " (" + info + ")";
}

LlamaLogMark::LlamaLogMark() {
  LogKeeper& keeper = Keeper();
  std::lock_guard<std::mutex> lock(keeper.mu);
  first_line_ = keeper.next_line;
}

std::string LlamaLogMark::ErrorLines(int max_lines, std::string_view skip) const {
  LogKeeper& keeper = Keeper();
  std::lock_guard<std::mutex> lock(keeper.mu);
  std::string out;
  int taken = 0;
  for (auto it = keeper.lines.rbegin(); it != keeper.lines.rend() && taken < max_lines; ++it) {
    if (it->first < first_line_) break;
    if (!skip.empty() && it->second.find(skip) != std::string::npos) continue;
    out = it->second + (out.empty() ? "" : "; " + out);
    ++taken;
  }
  return out.empty() ? "no error logged" : out;
}

}  // namespace kdnas
