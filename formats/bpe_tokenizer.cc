#include "formats/bpe_tokenizer.h"

#include <algorithm>

#include "formats/byte_level.h"
#include "formats/tokenizer_config.h"
#include "formats/utf8.h"

namespace kdnas {

BpeTokenizer::BpeTokenizer(Parts parts)
    : model_(std::move(parts.model)),
      normalizer_(std::move(parts.normalizer)),
      pre_tokenizer_(std::move(parts.pre_tokenizer)),
      added_(std::move(parts.added)),
      byte_level_decoder_(parts.byte_level_decoder),
      bos_to_add_(parts.bos_to_add),
      eos_id_(parts.eos_id) {
  // Every byte has an encoding that decodes back to it only when a
  // ByteLevel step maps all text, the vocabulary holds all 256 byte-level
  // characters, and the decoder maps them back.
  bool all_bytes = pre_tokenizer_.byte_level() && byte_level_decoder_;
  for (int b = 0; b < 256 && all_bytes; ++b) {
    all_bytes = model_->IdOf(ByteLevelChar(static_cast<uint8_t>(b))).has_value();
  }
  byte_level_ = all_bytes;
}

Status BpeTokenizer::ResolveSpecialIds(const TokenizerConfig& config,
                                       std::optional<int32_t> template_bos, Parts* parts) {
  const auto id_of = [&](const char* key) -> StatusOr<std::optional<int32_t>> {
    const auto it = config.named.find(key);
    if (it == config.named.end()) return std::optional<int32_t>();
    std::optional<int32_t> id = parts->added.IdOf(it->second);
    if (!id) id = parts->model->IdOf(it->second);
    if (!id) {
      return InvalidArgument(config.named_in.at(key) + ": " + key + " \"" + it->second +
                             "\" is not in the vocabulary");
    }
    return id;
  };
  KDNAS_ASSIGN_OR_RETURN(parts->eos_id, id_of("eos_token"));
  if (!config.add_bos_token.has_value()) {
    parts->bos_to_add = template_bos;
  } else if (*config.add_bos_token) {
    KDNAS_ASSIGN_OR_RETURN(parts->bos_to_add, id_of("bos_token"));
    if (!parts->bos_to_add) {
      return InvalidArgument(
          "tokenizer_config.json: add_bos_token is true but no bos_token is named");
    }
  } else {
    parts->bos_to_add = std::nullopt;
  }
  return Status::Ok();
}

int BpeTokenizer::vocab_size() const { return std::max(model_->max_id(), added_.max_id()) + 1; }

std::optional<int32_t> BpeTokenizer::TokenToId(std::string_view token) const {
  if (std::optional<int32_t> id = added_.IdOf(token)) return id;
  return model_->IdOf(token);
}

StatusOr<std::vector<int32_t>> BpeTokenizer::Encode(std::string_view text) const {
  if (!byte_level_) {
    const size_t bad = FirstInvalidUtf8(text);
    if (bad != std::string_view::npos) {
      return InvalidArgument("text: invalid UTF-8 at byte " + std::to_string(bad) +
                             " (this tokenizer is not byte-level)");
    }
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  std::vector<AddedVocabulary::Segment> segments;
  if (added_.has_tokens(/*normalized=*/false)) {
    KDNAS_RETURN_IF_ERROR(added_.Split(text, false, &segments));
  } else if (!text.empty()) {
    segments.push_back({0, text.size(), -1});
  }
  for (const AddedVocabulary::Segment& s : segments) {
    if (s.id >= 0) {
      ids.push_back(s.id);
    } else {
      KDNAS_RETURN_IF_ERROR(EncodeText(text.substr(s.start, s.end - s.start), &ids));
    }
  }
  return ids;
}

// One stretch of text between raw added tokens.
Status BpeTokenizer::EncodeText(std::string_view text, std::vector<int32_t>* ids) const {
  std::string normalized_storage;
  std::string_view normalized = text;
  if (!normalizer_.identity()) {
    KDNAS_RETURN_IF_ERROR(normalizer_.Normalize(text, &normalized_storage));
    normalized = normalized_storage;
  }
  const auto to_model = [&](std::string_view piece) { model_->Tokenize(piece, ids); };
  if (!added_.has_tokens(/*normalized=*/true)) return pre_tokenizer_.Run(normalized, to_model);
  std::vector<AddedVocabulary::Segment> segments;
  KDNAS_RETURN_IF_ERROR(added_.Split(normalized, true, &segments));
  for (const AddedVocabulary::Segment& s : segments) {
    if (s.id >= 0) {
      ids->push_back(s.id);
    } else {
      KDNAS_RETURN_IF_ERROR(
          pre_tokenizer_.Run(normalized.substr(s.start, s.end - s.start), to_model));
    }
  }
  return Status::Ok();
}

std::string BpeTokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string out;
  bool first = true;
  for (int32_t id : ids) {
    const std::string* token = added_.DecodedContent(id);
    if (token == nullptr) token = model_->TokenOf(id);
    if (token == nullptr) continue;
    if (byte_level_decoder_) {
      AppendByteLevelDecoded(*token, &out);
    } else {
      if (!first) out.push_back(' ');  // HF joins tokens with spaces without a decoder
      out.append(*token);
    }
    first = false;
  }
  return out;
}

}  // namespace kdnas
