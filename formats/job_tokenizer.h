// The one tokenizer of a job, as the controller and the workers both see it:
// kdnas's own char or byte tokenizer (search/tokenizer.h), or the tokenizer
// of an imported Hugging Face teacher (formats/hf_tokenizer.h). It encodes
// the corpus, gives the model's vocabulary size (the logits' width), says
// whether each window starts with BOS, and has one serialized form, the
// bytes every artifact of the job carries (docs/artifact-format.md,
// "Tokenizer"): the cost model counts exactly those bytes in size_bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/text_tokenizer.h"
#include "search/status.h"
#include "search/tokenizer.h"

namespace kdnas {

class JobTokenizer {
 public:
  enum class Kind { kChar, kByte, kBpe, kSentencePiece };

  explicit JobTokenizer(Tokenizer kdnas);
  // A checkpoint's tokenizer (LoadHfTokenizer on `files`) for a model of
  // `model_vocab_size` logits. INVALID_ARGUMENT when the tokenizer cannot
  // be loaded or produces ids >= model_vocab_size.
  static StatusOr<JobTokenizer> FromHfFiles(const TokenizerFiles& files, int model_vocab_size);
  // Parses what serialized() returned; DATA_LOSS when malformed.
  static StatusOr<JobTokenizer> Deserialize(std::string_view bytes);

  Kind kind() const { return kind_; }
  // The model's vocabulary: the logits' width. For an imported teacher
  // config.json's vocab_size, which may exceed the tokenizer's ids.
  int vocab_size() const { return vocab_size_; }
  // The corpus's ids, without BOS/EOS (HF: add_special_tokens=False).
  StatusOr<std::vector<int32_t>> Encode(std::string_view text) const;
  std::string Decode(const std::vector<int32_t>& ids) const;
  // The id each window starts with, when the tokenizer adds one.
  std::optional<int32_t> bos_to_add() const;
  // The imported tokenizer's end-of-sequence id, when it names one.
  std::optional<int32_t> eos_id() const;
  // True when any bytes can be encoded (invalid UTF-8 included).
  bool byte_level() const;

  // The form every artifact stores: kdnas's Tokenizer::Serialize(), or for
  // an imported tokenizer u8 2, u32 little-endian vocab_size, then an
  // uncompressed tar of the files the tokenizer was read from.
  const std::string& serialized() const { return serialized_; }
  int64_t serialized_bytes() const { return static_cast<int64_t>(serialized_.size()); }
  // kdnas's own tokenizer; null for an imported one.
  const Tokenizer* kdnas() const { return kdnas_ ? &*kdnas_ : nullptr; }
  // The files an imported tokenizer was read from (empty for kdnas's).
  const TokenizerFiles& files() const { return files_; }
  // What was loaded: "char", "byte", or the checkpoint file it came from
  // ("tokenizer.json", "tokenizer.model", "vocab.json + merges.txt").
  const std::string& source() const { return source_; }
  // Why a tokenizer.json was not used; empty otherwise.
  const std::string& passed_over() const { return passed_over_; }

 private:
  JobTokenizer() = default;

  Kind kind_ = Kind::kChar;
  int vocab_size_ = 0;
  std::optional<Tokenizer> kdnas_;
  std::shared_ptr<const TextTokenizer> imported_;
  TokenizerFiles files_;
  std::string serialized_;
  std::string source_;
  std::string passed_over_;
};

// "char", "byte", "bpe", "sentencepiece".
const char* KindName(JobTokenizer::Kind kind);

}  // namespace kdnas
