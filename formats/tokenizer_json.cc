// BpeTokenizer::FromTokenizerJson: reading tokenizer.json (the format of
// Hugging Face's tokenizers library, version "1.0").
#include <string>

#include "formats/bpe_tokenizer.h"
#include "formats/json_util.h"
#include "formats/tokenizer_config.h"

namespace kdnas {
namespace {

constexpr int kMaxSequenceDepth = 8;
const char kFile[] = "tokenizer.json";

Status Unsupported(const JsonPath& at, const std::string& what) { return at.Error(what); }

// An optional string that must be absent, null or empty.
Status RequireEmptyString(const nlohmann::json& model, const char* key, const JsonPath& at) {
  KDNAS_ASSIGN_OR_RETURN(std::optional<std::string> value, GetOptionalString(model, key, at));
  if (value && !value->empty()) {
    return Unsupported(at.Key(key), "\"" + *value +
                                        "\" is not supported (kdnas reads byte-level "
                                        "BPE, which has none)");
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<BpeModel>> ReadModel(const nlohmann::json& root, const JsonPath& root_at) {
  const JsonPath at = root_at.Key("model");
  const nlohmann::json* model = Find(root, "model");
  if (model == nullptr || !model->is_object()) return at.Error("is missing or not an object");
  KDNAS_ASSIGN_OR_RETURN(std::optional<std::string> type, GetOptionalString(*model, "type", at));
  if (type && *type != "BPE") {
    return at.Key("type").Error("\"" + *type + "\" is not supported (kdnas reads BPE)");
  }
  if (const nlohmann::json* dropout = Find(*model, "dropout");
      dropout != nullptr && !dropout->is_null()) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0) {
      return at.Key("dropout").Error("must be null (BPE dropout is not supported)");
    }
  }
  KDNAS_ASSIGN_OR_RETURN(std::optional<bool> byte_fallback,
                         GetOptionalBool(*model, "byte_fallback", at));
  if (byte_fallback.value_or(false)) {
    return at.Key("byte_fallback").Error("true is not supported (kdnas reads byte-level BPE)");
  }
  KDNAS_RETURN_IF_ERROR(RequireEmptyString(*model, "continuing_subword_prefix", at));
  KDNAS_RETURN_IF_ERROR(RequireEmptyString(*model, "end_of_word_suffix", at));

  BpeModelOptions options;
  KDNAS_ASSIGN_OR_RETURN(options.unk_token, GetOptionalString(*model, "unk_token", at));
  KDNAS_ASSIGN_OR_RETURN(std::optional<bool> fuse_unk, GetOptionalBool(*model, "fuse_unk", at));
  options.fuse_unk = fuse_unk.value_or(false);
  KDNAS_ASSIGN_OR_RETURN(std::optional<bool> ignore_merges,
                         GetOptionalBool(*model, "ignore_merges", at));
  options.ignore_merges = ignore_merges.value_or(false);

  const nlohmann::json* vocab = Find(*model, "vocab");
  if (vocab == nullptr || !vocab->is_object())
    return at.Key("vocab").Error("is missing or not an object");
  std::unordered_map<std::string, int32_t> tokens;
  tokens.reserve(vocab->size());
  for (const auto& [token, id] : vocab->items()) {
    KDNAS_ASSIGN_OR_RETURN(tokens[token], AsTokenId(id, at.Key("vocab").Key(token)));
  }

  const JsonPath merges_at = at.Key("merges");
  const nlohmann::json* merges = Find(*model, "merges");
  if (merges == nullptr || !merges->is_array())
    return merges_at.Error("is missing or not an array");
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(merges->size());
  for (size_t i = 0; i < merges->size(); ++i) {
    const nlohmann::json& m = (*merges)[i];
    if (m.is_string()) {  // the legacy "a b" form
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        return merges_at.Index(i).Error("\"" + s + "\" is not two tokens separated by a space");
      }
      pairs.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      pairs.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      return merges_at.Index(i).Error("is not \"a b\" or [\"a\", \"b\"]");
    }
  }
  return BpeModel::Create(std::move(tokens), pairs, std::move(options), at.Name());
}

Status ReadAddedTokens(const nlohmann::json& root, const JsonPath& root_at,
                       const Normalizer& normalizer, const BpeModel& model,
                       AddedVocabulary* added) {
  const JsonPath at = root_at.Key("added_tokens");
  const nlohmann::json* list = Find(root, "added_tokens");
  if (list == nullptr || list->is_null()) return Status::Ok();
  if (!list->is_array()) return at.Error("is not an array");
  for (size_t i = 0; i < list->size(); ++i) {
    const nlohmann::json& t = (*list)[i];
    const JsonPath t_at = at.Index(i);
    if (!t.is_object()) return t_at.Error("is not an object");
    AddedToken token;
    KDNAS_ASSIGN_OR_RETURN(token.content, GetString(t, "content", t_at));
    const auto flag = [&](const char* key, bool fallback, bool* out) -> Status {
      KDNAS_ASSIGN_OR_RETURN(std::optional<bool> v, GetOptionalBool(t, key, t_at));
      *out = v.value_or(fallback);
      return Status::Ok();
    };
    KDNAS_RETURN_IF_ERROR(flag("special", false, &token.special));
    KDNAS_RETURN_IF_ERROR(flag("single_word", false, &token.single_word));
    KDNAS_RETURN_IF_ERROR(flag("lstrip", false, &token.lstrip));
    KDNAS_RETURN_IF_ERROR(flag("rstrip", false, &token.rstrip));
    KDNAS_RETURN_IF_ERROR(flag("normalized", !token.special, &token.normalized));
    KDNAS_RETURN_IF_ERROR(added->Add(token, model.IdOf(token.content), normalizer));
  }
  added->Build();
  return Status::Ok();
}

// The BOS that a post-processor puts before the sequence (nullopt for none).
Status ReadPostProcessor(const nlohmann::json& value, const JsonPath& at, int depth,
                         std::optional<int32_t>* bos) {
  if (value.is_null()) return Status::Ok();
  if (!value.is_object()) return at.Error("is not an object");
  KDNAS_ASSIGN_OR_RETURN(std::string type, GetString(value, "type", at));
  if (type == "ByteLevel") return Status::Ok();  // offsets only
  if (type == "Sequence") {
    if (depth >= kMaxSequenceDepth) return at.Error("nests Sequences too deeply");
    const nlohmann::json* list = Find(value, "processors");
    if (list == nullptr || !list->is_array()) return at.Key("processors").Error("is not an array");
    for (size_t i = 0; i < list->size(); ++i) {
      KDNAS_RETURN_IF_ERROR(
          ReadPostProcessor((*list)[i], at.Key("processors").Index(i), depth + 1, bos));
    }
    return Status::Ok();
  }
  if (type != "TemplateProcessing") {
    return at.Key("type").Error("\"" + type +
                                "\" is not supported (kdnas reads TemplateProcessing, ByteLevel "
                                "and Sequence post-processors)");
  }
  const JsonPath single_at = at.Key("single");
  const nlohmann::json* single = Find(value, "single");
  if (single == nullptr || !single->is_array()) return single_at.Error("is not an array");
  const nlohmann::json* special = Find(value, "special_tokens");
  std::vector<int32_t> before;
  bool seen_sequence = false;
  for (size_t i = 0; i < single->size(); ++i) {
    const nlohmann::json& piece = (*single)[i];
    const JsonPath piece_at = single_at.Index(i);
    if (Find(piece, "Sequence") != nullptr) {
      seen_sequence = true;
      continue;
    }
    const nlohmann::json* token = Find(piece, "SpecialToken");
    if (token == nullptr) return piece_at.Error("is not a Sequence or a SpecialToken");
    KDNAS_ASSIGN_OR_RETURN(std::string name, GetString(*token, "id", piece_at.Key("SpecialToken")));
    const nlohmann::json* entry = special == nullptr ? nullptr : Find(*special, name);
    const nlohmann::json* ids = entry == nullptr ? nullptr : Find(*entry, "ids");
    if (ids == nullptr || !ids->is_array()) {
      return at.Key("special_tokens").Error("has no ids for \"" + name + "\"");
    }
    if (seen_sequence && !ids->empty()) {
      return piece_at.Error("puts \"" + name +
                            "\" after $A; kdnas supports special tokens before the sequence only");
    }
    for (size_t k = 0; k < ids->size(); ++k) {
      KDNAS_ASSIGN_OR_RETURN(int32_t id,
                             AsTokenId((*ids)[k], at.Key("special_tokens").Key(name).Index(k)));
      before.push_back(id);
    }
  }
  if (before.size() > 1 || (bos->has_value() && !before.empty())) {
    return single_at.Error("adds more than one token before $A; kdnas supports one BOS");
  }
  if (!before.empty()) *bos = before[0];
  return Status::Ok();
}

Status ReadDecoder(const nlohmann::json& root, const JsonPath& root_at, bool* byte_level) {
  const JsonPath at = root_at.Key("decoder");
  const nlohmann::json* decoder = Find(root, "decoder");
  *byte_level = false;
  if (decoder == nullptr || decoder->is_null()) return Status::Ok();
  if (!decoder->is_object()) return at.Error("is not an object");
  KDNAS_ASSIGN_OR_RETURN(std::string type, GetString(*decoder, "type", at));
  if (type != "ByteLevel") {
    return at.Key("type").Error("\"" + type + "\" is not supported (kdnas reads ByteLevel)");
  }
  *byte_level = true;
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::FromTokenizerJson(
    const TokenizerFiles& files) {
  const auto file = files.find(kFile);
  if (file == files.end())
    return NotFound("tokenizer.json: no such file among the tokenizer files");
  KDNAS_ASSIGN_OR_RETURN(nlohmann::json root, ParseJsonFile(file->second, kFile));
  const JsonPath at{kFile, ""};
  if (!root.is_object()) return at.Error("is not a JSON object");
  KDNAS_ASSIGN_OR_RETURN(std::optional<std::string> version,
                         GetOptionalString(root, "version", at));
  if (version && *version != "1.0") {
    return at.Key("version").Error("\"" + *version + "\" is not supported (kdnas reads 1.0)");
  }

  Parts parts;
  KDNAS_ASSIGN_OR_RETURN(parts.model, ReadModel(root, at));
  const nlohmann::json null_value;
  const nlohmann::json* normalizer = Find(root, "normalizer");
  KDNAS_ASSIGN_OR_RETURN(
      parts.normalizer,
      Normalizer::FromJson(normalizer ? *normalizer : null_value, at.Key("normalizer")));
  const nlohmann::json* pre = Find(root, "pre_tokenizer");
  KDNAS_ASSIGN_OR_RETURN(parts.pre_tokenizer,
                         PreTokenizer::FromJson(pre ? *pre : null_value, at.Key("pre_tokenizer")));
  parts.added = AddedVocabulary(parts.model->size());
  KDNAS_RETURN_IF_ERROR(ReadAddedTokens(root, at, parts.normalizer, *parts.model, &parts.added));
  KDNAS_RETURN_IF_ERROR(ReadDecoder(root, at, &parts.byte_level_decoder));
  std::optional<int32_t> template_bos;
  const nlohmann::json* post = Find(root, "post_processor");
  KDNAS_RETURN_IF_ERROR(
      ReadPostProcessor(post ? *post : null_value, at.Key("post_processor"), 0, &template_bos));

  KDNAS_ASSIGN_OR_RETURN(TokenizerConfig config, ReadTokenizerConfig(files));
  KDNAS_RETURN_IF_ERROR(ResolveSpecialIds(config, template_bos, &parts));
  return std::unique_ptr<BpeTokenizer>(new BpeTokenizer(std::move(parts)));
}

}  // namespace kdnas
