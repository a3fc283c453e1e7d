#include "server/job_inputs.h"

#include <fstream>
#include <sstream>

#include "formats/gguf_size.h"
#include "formats/utf8.h"
#include "proto/tokenizer_kind_name.h"
#include "search/tokenizer.h"
#include "server/job_files.h"
#include "server/teacher_inputs.h"

namespace kdnas {
namespace {

v1::TokenizerKind ProtoKind(JobTokenizer::Kind kind) {
  switch (kind) {
    case JobTokenizer::Kind::kChar:
      return v1::TOKENIZER_KIND_CHAR;
    case JobTokenizer::Kind::kByte:
      return v1::TOKENIZER_KIND_BYTE;
    case JobTokenizer::Kind::kBpe:
      return v1::TOKENIZER_KIND_BPE;
    case JobTokenizer::Kind::kSentencePiece:
      return v1::TOKENIZER_KIND_SENTENCEPIECE;
  }
  return v1::TOKENIZER_KIND_CHAR;
}

// "the teacher's bpe tokenizer (tokenizer.json, vocabulary 300)".
std::string Describe(const JobTokenizer& tokenizer) {
  std::string what = "the teacher's " + std::string(KindName(tokenizer.kind())) + " tokenizer (";
  if (tokenizer.kdnas() == nullptr) what += tokenizer.source() + ", ";
  return what + "vocabulary " + std::to_string(tokenizer.vocab_size()) + ")";
}

// The checks the workers' corpus makes before encoding, `what` naming the
// field and file. kdnas's tokenizers refuse an empty corpus, NUL bytes and
// invalid UTF-8 (Tokenizer::Build); an imported one refuses an empty corpus,
// and invalid UTF-8 unless it is byte-level.
Status CheckCorpus(const std::string& corpus, const JobTokenizer& tokenizer,
                   const std::string& what) {
  if (tokenizer.kdnas() != nullptr) {
    return Tokenizer::Build(corpus, tokenizer.kdnas()->kind(), what).status();
  }
  if (corpus.empty()) return InvalidArgument(what + ": is empty; a UTF-8 text corpus is needed");
  const size_t invalid = tokenizer.byte_level() ? std::string::npos : FirstInvalidUtf8(corpus);
  if (invalid != std::string::npos) {
    return InvalidArgument(what + ": invalid UTF-8 at byte " + std::to_string(invalid) + "; " +
                           Describe(tokenizer) + " encodes UTF-8 text only");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<JobInputs> InspectJobInputs(const v1::JobSpec& spec, const BlobStore& blobs) {
  KDNAS_ASSIGN_OR_RETURN(TeacherInputs teacher,
                         spec.teacher().has_hf()
                             ? InspectHfTeacher(spec.teacher().hf(), blobs)
                             : InspectTorchScriptTeacher(spec.teacher().model(), blobs));
  const JobTokenizer& tokenizer = teacher.tokenizer;
  const v1::TokenizerKind kind = ProtoKind(tokenizer.kind());
  if (spec.data().has_tokenizer() && spec.data().tokenizer() != kind) {
    return InvalidArgument("spec.data.tokenizer: " + TokenizerKindName(spec.data().tokenizer()) +
                           " differs from " + Describe(tokenizer) +
                           "; a job uses the teacher's tokenizer: leave data.tokenizer unset");
  }
  const std::string field = JobFileField(spec.data().text(), "spec.data.text");
  KDNAS_ASSIGN_OR_RETURN(std::string path,
                         ResolveJobFile(spec.data().text(), "spec.data.text", blobs));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  const std::string corpus = text.str();
  KDNAS_RETURN_IF_ERROR(CheckCorpus(corpus, tokenizer, field + ": " + path));
  auto tokens = tokenizer.Encode(corpus);
  if (!tokens.ok()) {
    return InvalidArgument(field + ": " + path + " cannot be encoded by " + Describe(tokenizer) +
                           ": " + tokens.status().message());
  }
  JobInputs inputs;
  inputs.data.set_vocab_size(tokenizer.vocab_size());
  inputs.data.set_tokenizer_bytes(tokenizer.serialized_bytes());
  StatusOr<int64_t> gguf_bytes = GgufTokenizerMetadataBytes(tokenizer);
  if (gguf_bytes.ok()) {
    inputs.data.set_gguf_tokenizer_bytes(*gguf_bytes);
  } else {
    inputs.data.set_gguf_unavailable(gguf_bytes.status().message());
  }
  inputs.data.set_text_bytes(static_cast<int64_t>(corpus.size()));
  inputs.data.set_tokenizer(kind);
  inputs.data.set_text_tokens(static_cast<int64_t>(tokens->size()));
  inputs.teacher = std::move(teacher.info);
  return inputs;
}

ModelContext ModelContextOf(const v1::DataInfo& data) {
  ModelContext context{data.vocab_size(), data.tokenizer_bytes()};
  if (data.gguf_unavailable().empty())
    context.gguf_file_bytes = GgufStudentSizer(data.vocab_size(), data.gguf_tokenizer_bytes());
  return context;
}

}  // namespace kdnas
