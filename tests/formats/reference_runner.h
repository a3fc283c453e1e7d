// Runs tests/formats/bpe_reference.js, the reference for the BPE tokenizer
// tests: Hugging Face's tokenizers library from deploy/npm (installed by
// deploy/install-deps.sh). The paths come from CMake (KDNAS_SOURCE_DIR,
// KDNAS_NPM_DIR).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace kdnas::testing {

inline std::string SourceDir() { return KDNAS_SOURCE_DIR; }

inline std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Empty when the reference can run, else why not.
inline std::string ReferenceMissing() {
  const std::filesystem::path modules = KDNAS_NPM_DIR;
  if (!std::filesystem::exists(modules / "tokenizers" / "index.js")) {
    return "the reference is not installed in " + modules.string() +
           " (run bash deploy/install-deps.sh)";
  }
  if (std::system("node --version >/dev/null 2>&1") != 0) return "node is not on PATH";
  return "";
}

// Runs `node bpe_reference.js ARGS...`; returns its exit status (0 = ok),
// with its stderr in *log.
inline int RunReference(const std::vector<std::string>& args, std::string* log) {
  const std::string err =
      std::filesystem::temp_directory_path() / ("kdnas_ref_" + std::to_string(::getpid()) + ".log");
  std::string command = "NODE_PATH='" + std::string(KDNAS_NPM_DIR) + "' node '" + SourceDir() +
                        "/tests/formats/bpe_reference.js'";
  for (const std::string& a : args) command += " '" + a + "'";
  command += " >/dev/null 2>'" + err + "'";
  const int status = std::system(command.c_str());
  *log = ReadFileOrEmpty(err);
  std::filesystem::remove(err);
  return status;
}

}  // namespace kdnas::testing
