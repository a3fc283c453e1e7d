#include "workers/teacher_gguf.h"

#include <filesystem>

#include "workers/gguf_export.h"
#include "workers/inherit.h"

namespace kdnas {

namespace fs = std::filesystem;

StatusOr<std::unique_ptr<TeacherGguf>> TeacherGguf::Write(Teacher& teacher,
                                                          const JobTokenizer& tokenizer) {
  KDNAS_ASSIGN_OR_RETURN(Gpt model, TeacherAsGpt(teacher));
  std::string pattern = (fs::temp_directory_path() / "kdnas-teacher-gguf-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    return Internal("cannot create a directory for the teacher's GGUF file under /tmp");
  const std::string path = pattern + "/teacher-f16.gguf";
  auto written =
      WriteGgufFile(*model, tokenizer, GgufWeightTypes::All(GgmlType::kF16), "kdnas teacher", path);
  if (!written.ok()) {
    std::error_code ec;
    fs::remove_all(pattern, ec);
    return written.status();
  }
  return std::unique_ptr<TeacherGguf>(new TeacherGguf(pattern, path, written->file_bytes));
}

TeacherGguf::~TeacherGguf() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

StatusOr<LlamaLatency> TeacherGguf::Latency(LlamaLatencyShape shape,
                                            const LlamaLatencyOptions& options) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto key =
      std::make_tuple(shape.prompt_tokens, shape.decode_tokens, options.threads, options.repeats);
  auto it = measured_.find(key);
  if (it != measured_.end()) return it->second;
  KDNAS_ASSIGN_OR_RETURN(LlamaLatency latency, MeasureLlamaLatency(path_, shape, options));
  measured_.emplace(key, latency);
  return latency;
}

}  // namespace kdnas
