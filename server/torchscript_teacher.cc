// InspectTorchScriptTeacher (server/teacher_inputs.h): a kdnas teacher file.
#include <google/protobuf/util/json_util.h>

#include <filesystem>

#include "formats/job_tokenizer.h"
#include "formats/torchscript_archive.h"
#include "server/job_files.h"
#include "server/teacher_inputs.h"

namespace kdnas {
namespace {

// The extra files kdnas writes into a teacher (workers/torchscript_export.h).
constexpr char kTokenizerFile[] = "kdnas/tokenizer.bin";
constexpr char kArchitectureFile[] = "kdnas/architecture.json";

}  // namespace

StatusOr<TeacherInputs> InspectTorchScriptTeacher(const v1::FileRef& ref, const BlobStore& blobs) {
  const std::string field = JobFileField(ref, "spec.teacher.model");
  KDNAS_ASSIGN_OR_RETURN(std::string path, ResolveJobFile(ref, "spec.teacher.model", blobs));
  auto extras = ReadTorchScriptExtraFiles(path, {kTokenizerFile, kArchitectureFile});
  if (!extras.ok()) return InvalidArgument(field + ": " + extras.status().message());
  auto bytes = extras->find(kTokenizerFile);
  if (bytes == extras->end()) {
    return InvalidArgument(field + ": " + path + " has no " + kTokenizerFile +
                           " extra file: a kdnas teacher embeds its tokenizer (kdnas-worker "
                           "train-teacher writes one; from Python, torch.jit.save(m, f, "
                           "_extra_files={'" +
                           kTokenizerFile + "': ...}))");
  }
  // kdnas's char/byte tokenizer, or, for a student of an imported teacher,
  // that teacher's tokenizer files.
  auto tokenizer = JobTokenizer::Deserialize(bytes->second);
  if (!tokenizer.ok()) {
    return InvalidArgument(field + ": " + path + ": " + kTokenizerFile + ": " +
                           tokenizer.status().message());
  }
  v1::TeacherInfo info;
  std::error_code ec;
  info.set_size_bytes(static_cast<int64_t>(std::filesystem::file_size(path, ec)));
  auto architecture = extras->find(kArchitectureFile);
  if (architecture != extras->end()) {
    google::protobuf::util::JsonParseOptions options;
    auto parsed = google::protobuf::util::JsonStringToMessage(architecture->second,
                                                              info.mutable_architecture(), options);
    if (!parsed.ok()) {
      return InvalidArgument(field + ": " + path + ": " + kArchitectureFile +
                             " is not a kdnas.v1.Architecture: " + std::string(parsed.message()));
    }
    // A student of an imported Llama is itself a Llama: its students are too.
    *info.mutable_student_family() = info.architecture().family();
    info.set_inheritable(true);
  }
  return TeacherInputs{std::move(*tokenizer), std::move(info)};
}

}  // namespace kdnas
