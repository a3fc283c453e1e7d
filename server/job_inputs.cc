#include "server/job_inputs.h"

#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "formats/torchscript_archive.h"
#include "search/tokenizer.h"

namespace kdnas {
namespace {

// The extra files kdnas writes into a teacher (workers/torchscript_export.h).
constexpr char kTokenizerFile[] = "kdnas/tokenizer.bin";
constexpr char kArchitectureFile[] = "kdnas/architecture.json";

// The local path of a file of the spec; `field` is e.g. "spec.data.text".
StatusOr<std::string> Resolve(const v1::FileRef& ref, const std::string& field,
                              const BlobStore& blobs) {
  if (ref.source_case() == v1::FileRef::kBlob) {
    auto path = blobs.PathOf(ref.blob());
    if (!path.ok()) {
      return InvalidArgument(field + ".blob: " + path.status().message() +
                             " (upload it with kdnas upload)");
    }
    return *path;
  }
  std::ifstream probe(ref.path(), std::ios::binary);
  if (!probe) {
    return InvalidArgument(field + ".path: the controller cannot read " + ref.path() +
                           " (upload the file with kdnas upload, or submit without --no-upload)");
  }
  return ref.path();
}

std::string FieldOf(const v1::FileRef& ref, const std::string& field) {
  return field + (ref.source_case() == v1::FileRef::kBlob ? ".blob" : ".path");
}

const char* KindName(v1::TokenizerKind kind) {
  return kind == v1::TOKENIZER_KIND_BYTE ? "byte" : "char";
}

struct Teacher {
  Tokenizer tokenizer;
  v1::TeacherInfo info;
};

StatusOr<Teacher> InspectTeacher(const v1::FileRef& ref, const BlobStore& blobs) {
  const std::string field = FieldOf(ref, "spec.teacher.model");
  KDNAS_ASSIGN_OR_RETURN(std::string path, Resolve(ref, "spec.teacher.model", blobs));
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
  auto tokenizer = Tokenizer::Deserialize(bytes->second);
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
    info.set_inheritable(true);
  }
  return Teacher{std::move(*tokenizer), std::move(info)};
}

}  // namespace

StatusOr<JobInputs> InspectJobInputs(const v1::JobSpec& spec, const BlobStore& blobs) {
  KDNAS_ASSIGN_OR_RETURN(Teacher teacher, InspectTeacher(spec.teacher().model(), blobs));
  const auto kind = teacher.tokenizer.kind() == TokenizerKind::kByte ? v1::TOKENIZER_KIND_BYTE
                                                                     : v1::TOKENIZER_KIND_CHAR;
  if (spec.data().has_tokenizer() && spec.data().tokenizer() != kind) {
    return InvalidArgument(std::string("spec.data.tokenizer: ") +
                           KindName(spec.data().tokenizer()) + " differs from the teacher's " +
                           KindName(kind) + " tokenizer (vocabulary " +
                           std::to_string(teacher.tokenizer.vocab_size()) +
                           "); a job uses the teacher's tokenizer: leave data.tokenizer unset");
  }
  const std::string field = FieldOf(spec.data().text(), "spec.data.text");
  KDNAS_ASSIGN_OR_RETURN(std::string path, Resolve(spec.data().text(), "spec.data.text", blobs));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  const std::string corpus = text.str();
  // The checks the workers' corpus makes (empty, NUL bytes, invalid UTF-8).
  auto text_ok = Tokenizer::Build(corpus, teacher.tokenizer.kind(), field + ": " + path);
  if (!text_ok.ok()) return text_ok.status();
  auto tokens = teacher.tokenizer.Encode(corpus);
  if (!tokens.ok()) {
    return InvalidArgument(field + ": " + path + " cannot be encoded by the teacher's " +
                           KindName(kind) + " tokenizer: " + tokens.status().message());
  }
  JobInputs inputs;
  inputs.data.set_vocab_size(teacher.tokenizer.vocab_size());
  inputs.data.set_tokenizer_bytes(teacher.tokenizer.serialized_bytes());
  inputs.data.set_text_bytes(static_cast<int64_t>(corpus.size()));
  inputs.data.set_tokenizer(kind);
  inputs.data.set_text_tokens(static_cast<int64_t>(tokens->size()));
  inputs.teacher = std::move(teacher.info);
  return inputs;
}

}  // namespace kdnas
