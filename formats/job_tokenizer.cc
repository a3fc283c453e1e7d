#include "formats/job_tokenizer.h"

#include "formats/hf_tokenizer.h"
#include "formats/tar_archive.h"
#include "search/little_endian.h"

namespace kdnas {
namespace {

// The first byte of the serialized form: kdnas's kinds are 0 and 1
// (search/tokenizer.h).
constexpr uint8_t kImportedTag = 2;
constexpr char kImportedWhat[] = "tokenizer (imported)";

}  // namespace

const char* KindName(JobTokenizer::Kind kind) {
  switch (kind) {
    case JobTokenizer::Kind::kChar:
      return "char";
    case JobTokenizer::Kind::kByte:
      return "byte";
    case JobTokenizer::Kind::kBpe:
      return "bpe";
    case JobTokenizer::Kind::kSentencePiece:
      return "sentencepiece";
  }
  return "unknown";
}

JobTokenizer::JobTokenizer(Tokenizer kdnas)
    : kind_(kdnas.kind() == TokenizerKind::kByte ? Kind::kByte : Kind::kChar),
      vocab_size_(kdnas.vocab_size()),
      serialized_(kdnas.Serialize()),
      source_(KindName(kind_)) {
  kdnas_ = std::move(kdnas);
}

StatusOr<JobTokenizer> JobTokenizer::FromHfFiles(const TokenizerFiles& files,
                                                 int model_vocab_size) {
  KDNAS_ASSIGN_OR_RETURN(HfTokenizer loaded, LoadHfTokenizer(files));
  if (loaded.tokenizer->vocab_size() > model_vocab_size) {
    return InvalidArgument("config.json: vocab_size " + std::to_string(model_vocab_size) +
                           " is smaller than the tokenizer's " +
                           std::to_string(loaded.tokenizer->vocab_size()) + " ids (" +
                           loaded.source + ")");
  }
  JobTokenizer t;
  t.kind_ = loaded.tokenizer->kind() == "sentencepiece" ? Kind::kSentencePiece : Kind::kBpe;
  t.vocab_size_ = model_vocab_size;
  for (const auto& name : loaded.files_read) t.files_[name] = files.at(name);
  KDNAS_ASSIGN_OR_RETURN(std::string tar, TarOfFiles(t.files_));
  t.serialized_.push_back(static_cast<char>(kImportedTag));
  PutU32(static_cast<uint32_t>(model_vocab_size), &t.serialized_);
  t.serialized_ += tar;
  t.imported_ = std::move(loaded.tokenizer);
  t.source_ = loaded.source;
  t.passed_over_ = loaded.passed_over;
  return t;
}

StatusOr<JobTokenizer> JobTokenizer::Deserialize(std::string_view bytes) {
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) != kImportedTag) {
    KDNAS_ASSIGN_OR_RETURN(Tokenizer kdnas, Tokenizer::Deserialize(bytes));
    return JobTokenizer(std::move(kdnas));
  }
  if (bytes.size() < 5) return DataLoss(std::string(kImportedWhat) + ": truncated");
  const uint32_t vocab = GetU32(bytes, 1);
  if (vocab < 2 || vocab > (1u << 24)) {
    return DataLoss(std::string(kImportedWhat) + ": vocab_size " + std::to_string(vocab));
  }
  KDNAS_ASSIGN_OR_RETURN(auto files, FilesOfTar(bytes.substr(5), kImportedWhat));
  auto t = FromHfFiles(files, static_cast<int>(vocab));
  if (!t.ok()) return DataLoss(std::string(kImportedWhat) + ": " + t.status().message());
  if (t->serialized_ != bytes) {
    return DataLoss(std::string(kImportedWhat) +
                    ": its tar is not the one kdnas writes for its files (extra files or "
                    "another layout)");
  }
  return t;
}

StatusOr<std::vector<int32_t>> JobTokenizer::Encode(std::string_view text) const {
  return kdnas_ ? kdnas_->Encode(text) : imported_->Encode(text);
}

std::string JobTokenizer::Decode(const std::vector<int32_t>& ids) const {
  return kdnas_ ? kdnas_->Decode(ids) : imported_->Decode(ids);
}

std::optional<int32_t> JobTokenizer::bos_to_add() const {
  return kdnas_ ? std::nullopt : imported_->bos_to_add();
}

std::optional<int32_t> JobTokenizer::eos_id() const {
  return kdnas_ ? std::nullopt : imported_->eos_id();
}

bool JobTokenizer::byte_level() const {
  return kdnas_ ? kind_ == Kind::kByte : imported_->byte_level();
}

}  // namespace kdnas
