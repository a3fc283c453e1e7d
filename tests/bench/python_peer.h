// A benchmark's Python peer as a child process that answers one JSON line per
// command line (worker_throughput_torch.py, hf_teacher_torch.py), the clock
// of a peer that trains in chunks of steps alongside kdnas, and the raw
// tensor files the peers read.
#pragma once

#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace kdnas {

// A tensor's bytes as they lie in memory (numpy.fromfile reads them back).
inline void WriteRaw(const std::string& path, const torch::Tensor& t) {
  auto c = t.contiguous();
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(c.data_ptr()),
            static_cast<std::streamsize>(c.numel() * c.element_size()));
}

inline double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

class PythonPeer {
 public:
  // Runs /usr/bin/python3 SCRIPT with OMP_NUM_THREADS=threads.
  bool Start(const std::string& script, int threads) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) return false;
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      close(to_child[1]);
      close(from_child[0]);
      setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
      execl("/usr/bin/python3", "python3", script.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    out_ = fdopen(to_child[1], "w");
    in_ = fdopen(from_child[0], "r");
    return out_ && in_;
  }
  // Sends one command and returns its reply line ("" if the peer died).
  std::string Call(const std::string& line) {
    std::fprintf(out_, "%s\n", line.c_str());
    std::fflush(out_);
    char* buf = nullptr;
    size_t cap = 0;
    ssize_t n = getline(&buf, &cap, in_);
    std::string reply = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    free(buf);
    return reply;
  }
  ~PythonPeer() {
    if (out_) {
      std::fprintf(out_, "quit\n");
      std::fclose(out_);
    }
    if (in_) std::fclose(in_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  FILE* in_ = nullptr;
};

// The number after "key": in a flat JSON object, NaN if absent.
inline double JsonNumber(const std::string& json, const std::string& key) {
  auto pos = json.find("\"" + key + "\":");
  if (pos == std::string::npos) return std::nan("");
  return std::strtod(json.c_str() + pos + key.size() + 3, nullptr);
}

inline bool PeerOk(const std::string& reply) { return reply.find("\"ok\"") != std::string::npos; }

// A peer training one student: `run N` commands bring it up to a step, and
// the seconds it reports for them add up.
class PeerClock {
 public:
  explicit PeerClock(PythonPeer* peer) : peer_(peer) {}
  void RunUpTo(int64_t step) {
    if (step <= steps_) return;
    const double secs = JsonNumber(peer_->Call("run " + std::to_string(step - steps_)), "seconds");
    if (std::isnan(secs)) ok_ = false;
    seconds_ += secs;
    steps_ = step;
  }
  double seconds() const { return seconds_; }
  bool ok() const { return ok_; }

 private:
  PythonPeer* peer_;
  int64_t steps_ = 0;
  double seconds_ = 0;
  bool ok_ = true;
};

}  // namespace kdnas
