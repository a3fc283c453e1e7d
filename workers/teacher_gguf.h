// The job's teacher as llama.cpp runs it: an F16 GGUF file of its weights as
// they run (TeacherAsGpt), written once per job on a worker into a
// temporary directory removed with the object, and its llama.cpp latency at
// each shape a student is measured at (docs/metrics.md: a trial's
// compression_ratio and speedup are against it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "formats/job_tokenizer.h"
#include "search/status.h"
#include "workers/llama_latency.h"
#include "workers/teacher.h"

namespace kdnas {

class TeacherGguf {
 public:
  // FAILED_PRECONDITION with the reason for a teacher that is not a kdnas
  // Gpt (TeacherAsGpt) or that llama.cpp cannot run (GgufModelTensors).
  static StatusOr<std::unique_ptr<TeacherGguf>> Write(Teacher& teacher,
                                                      const JobTokenizer& tokenizer);
  ~TeacherGguf();
  TeacherGguf(const TeacherGguf&) = delete;
  TeacherGguf& operator=(const TeacherGguf&) = delete;

  const std::string& path() const { return path_; }
  int64_t file_bytes() const { return file_bytes_; }
  // MeasureLlamaLatency of the file, once per shape and options (thread-safe).
  StatusOr<LlamaLatency> Latency(LlamaLatencyShape shape, const LlamaLatencyOptions& options);

 private:
  TeacherGguf(std::string dir, std::string path, int64_t file_bytes)
      : dir_(std::move(dir)), path_(std::move(path)), file_bytes_(file_bytes) {}

  std::string dir_, path_;
  int64_t file_bytes_ = 0;
  std::mutex mu_;
  std::map<std::tuple<int, int, int, int>, LlamaLatency> measured_;
};

}  // namespace kdnas
