// Helpers shared by the worker tests: temporary directories, raw tensor files
// and running /usr/bin/python3 (Debian's python3-torch 1.13) on a script.
#pragma once

#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace kdnas::testing {

inline std::string MakeTempDir(const std::string& tag) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / ("kdnas-" + tag + "-XXXXXX")).string();
  char* dir = mkdtemp(pattern.data());
  return dir ? std::string(dir) : std::string();
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Raw little-endian bytes of a contiguous tensor.
inline void WriteRaw(const std::string& path, const torch::Tensor& t) {
  auto c = t.contiguous();
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(c.data_ptr()),
            static_cast<std::streamsize>(c.numel() * c.element_size()));
}

struct PythonResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `script` with /usr/bin/python3 and the given arguments.
inline PythonResult RunPython(const std::string& script, const std::string& args = "") {
  std::string dir = MakeTempDir("py");
  std::string path = dir + "/script.py";
  WriteFile(path, script);
  std::string cmd = "OMP_NUM_THREADS=1 /usr/bin/python3 " + path + " " + args + " 2>&1";
  PythonResult result;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::filesystem::remove_all(dir);
  return result;
}

// The shipped corpus.
inline std::string Shakespeare() { return ReadFile("data/tinyshakespeare.txt"); }

}  // namespace kdnas::testing
