// InspectHfTeacher (server/teacher_inputs.h): a Hugging Face checkpoint,
// a directory or a tar of one, read from its headers without the weights.
#include "formats/hf_checkpoint.h"
#include "formats/hf_kdnas_architecture.h"
#include "proto/api_convert.h"
#include "server/job_files.h"
#include "server/teacher_inputs.h"

namespace kdnas {
namespace {

// "spec.teacher.hf.path: /ckpt: <what went wrong>". The reader's messages
// that start with the local path (a blob's is the store's) start with the
// name the user gave instead.
Status Refuse(const v1::FileRef& ref, const std::string& path, const Status& status) {
  std::string message = status.message();
  if (message.rfind(path, 0) == 0) {
    message = message.substr(path.size());
  } else {
    message = ": " + message;
  }
  return InvalidArgument(JobFileField(ref, "spec.teacher.hf") + ": " + JobFileName(ref) + message);
}

v1::HfTeacherInfo InfoOf(const HfCheckpointHeaders& headers, const JobTokenizer& tokenizer) {
  const HfModelConfig& c = headers.config;
  v1::HfTeacherInfo info;
  info.set_architecture(c.architecture);
  info.set_family(FamilyName(c.family));
  info.set_num_layers(static_cast<int32_t>(c.num_layers));
  info.set_hidden_size(static_cast<int32_t>(c.hidden_size));
  info.set_num_heads(static_cast<int32_t>(c.num_heads));
  info.set_num_kv_heads(static_cast<int32_t>(c.num_kv_heads));
  info.set_head_dim(static_cast<int32_t>(c.head_dim));
  info.set_intermediate_size(static_cast<int32_t>(c.intermediate_size));
  info.set_vocab_size(static_cast<int32_t>(c.vocab_size));
  info.set_max_position_embeddings(static_cast<int32_t>(c.max_position_embeddings));
  info.set_tie_word_embeddings(c.tie_word_embeddings);
  info.set_parameters(headers.parameters);
  info.set_weight_bytes(headers.weight_bytes);
  info.set_weight_dtype(headers.weight_dtype);
  info.set_tokenizer_source(tokenizer.source());
  info.set_tokenizer_passed_over(tokenizer.passed_over());
  for (const auto& [name, bytes] : tokenizer.files()) info.add_tokenizer_files(name);
  if (auto bos = tokenizer.bos_to_add()) info.set_bos_token_id(*bos);
  return info;
}

}  // namespace

StatusOr<TeacherInputs> InspectHfTeacher(const v1::FileRef& ref, const BlobStore& blobs) {
  KDNAS_ASSIGN_OR_RETURN(std::string path,
                         ResolveJobFile(ref, "spec.teacher.hf", blobs, /*directory_ok=*/true));
  auto headers = ReadHfCheckpointHeaders(path);
  if (!headers.ok()) return Refuse(ref, path, headers.status());
  auto tokenizer =
      JobTokenizer::FromHfFiles(headers->files, static_cast<int>(headers->config.vocab_size));
  if (!tokenizer.ok()) return Refuse(ref, path, tokenizer.status());
  v1::TeacherInfo info;
  info.set_size_bytes(headers->weight_bytes);
  // Every imported teacher is a kdnas Gpt (workers/hf_as_gpt.h) that
  // students inherit from.
  info.set_inheritable(true);
  *info.mutable_architecture() = ArchitectureToProto(KdnasArchitectureOf(headers->config));
  *info.mutable_student_family() = FamilyToProto(StudentFamilyOf(headers->config));
  *info.mutable_hf() = InfoOf(*headers, *tokenizer);
  return TeacherInputs{std::move(*tokenizer), std::move(info)};
}

}  // namespace kdnas
