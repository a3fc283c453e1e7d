// Process-wide llama.cpp setup: its CPU backends, loaded once from the
// prebuilt libraries' directory, and its log, which is kept quiet and whose
// last warning and error lines explain a refused file or a failed decode.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "search/status.h"

namespace kdnas {

// The directory llama.cpp's backends (libggml-cpu-*.so) are loaded from:
// $KDNAS_LLAMA_CPP_LIB_DIR if set, else the one the build was configured with.
std::string LlamaLibDir();

// Routes llama.cpp's log to the line keeper below, loads the backends from
// LlamaLibDir() and initializes llama.cpp, once per process. Every call
// returns the first call's status: FAILED_PRECONDITION if no backend loaded.
// With $KDNAS_LLAMA_CPP_LOG set, llama.cpp's log is also copied to stderr.
Status InitLlamaBackend();

// "llama.cpp <version> (<its system info: backend and CPU features>)".
std::string LlamaRuntimeDescription();

// Marks a point in llama.cpp's log; ErrorLines() returns the last `max_lines`
// warning and error lines logged since, oldest first, joined by "; ", leaving
// out lines that contain `skip` (if not empty), or "no error logged". The log
// is process-wide, so a load in another thread may add its own lines.
class LlamaLogMark {
 public:
  LlamaLogMark();
  std::string ErrorLines(int max_lines = 2, std::string_view skip = {}) const;

 private:
  uint64_t first_line_;
};

}  // namespace kdnas
