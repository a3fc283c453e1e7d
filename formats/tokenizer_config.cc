#include "formats/tokenizer_config.h"

#include <algorithm>
#include <charconv>

#include "formats/json_util.h"

namespace kdnas {
namespace {

constexpr const char* kNamedTokens[] = {"bos_token", "eos_token", "unk_token", "pad_token"};

// A token given as "content" or {"content": ..., "lstrip": ...}; nullopt for null.
StatusOr<std::optional<AddedToken>> ReadToken(const nlohmann::json& value, const JsonPath& at) {
  if (value.is_null()) return std::optional<AddedToken>();
  AddedToken token;
  token.special = true;
  token.normalized = false;
  if (value.is_string()) {
    token.content = value.get<std::string>();
    return std::optional<AddedToken>(token);
  }
  if (!value.is_object()) return at.Error("is not a string or an AddedToken object");
  KDNAS_ASSIGN_OR_RETURN(token.content, GetString(value, "content", at));
  const auto flag = [&](const char* key, bool* out) -> Status {
    KDNAS_ASSIGN_OR_RETURN(std::optional<bool> v, GetOptionalBool(value, key, at));
    if (v) *out = *v;
    return Status::Ok();
  };
  KDNAS_RETURN_IF_ERROR(flag("special", &token.special));
  KDNAS_RETURN_IF_ERROR(flag("normalized", &token.normalized));
  KDNAS_RETURN_IF_ERROR(flag("lstrip", &token.lstrip));
  KDNAS_RETURN_IF_ERROR(flag("rstrip", &token.rstrip));
  KDNAS_RETURN_IF_ERROR(flag("single_word", &token.single_word));
  return std::optional<AddedToken>(token);
}

Status ReadFile(const std::string& text, const std::string& file, bool is_config,
                TokenizerConfig* config) {
  KDNAS_ASSIGN_OR_RETURN(nlohmann::json json, ParseJsonFile(text, file));
  const JsonPath root{file, ""};
  if (!json.is_object()) return root.Error("is not a JSON object");
  for (const char* key : kNamedTokens) {
    const nlohmann::json* v = Find(json, key);
    if (v == nullptr || config->named.count(key) > 0) continue;
    KDNAS_ASSIGN_OR_RETURN(std::optional<AddedToken> token, ReadToken(*v, root.Key(key)));
    if (token) {
      config->named[key] = token->content;
      config->named_in[key] = file;
    }
  }
  if (const nlohmann::json* list = Find(json, "additional_special_tokens");
      list != nullptr && !list->is_null()) {
    const JsonPath at = root.Key("additional_special_tokens");
    if (!list->is_array()) return at.Error("is not an array");
    for (size_t i = 0; i < list->size(); ++i) {
      KDNAS_ASSIGN_OR_RETURN(std::optional<AddedToken> token, ReadToken((*list)[i], at.Index(i)));
      if (token) config->additional_special.push_back(*token);
    }
  }
  if (!is_config) return Status::Ok();
  KDNAS_ASSIGN_OR_RETURN(config->add_bos_token, GetOptionalBool(json, "add_bos_token", root));
  KDNAS_ASSIGN_OR_RETURN(config->add_prefix_space, GetOptionalBool(json, "add_prefix_space", root));
  if (const nlohmann::json* decoder = Find(json, "added_tokens_decoder");
      decoder != nullptr && !decoder->is_null()) {
    const JsonPath at = root.Key("added_tokens_decoder");
    if (!decoder->is_object()) return at.Error("is not an object");
    for (const auto& [key, value] : decoder->items()) {
      int32_t id = -1;
      const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
      if (ec != std::errc() || end != key.data() + key.size() || id < 0) {
        return at.Key(key).Error("is not keyed by a token id");
      }
      KDNAS_ASSIGN_OR_RETURN(std::optional<AddedToken> token, ReadToken(value, at.Key(key)));
      if (!token || !value.is_object()) return at.Key(key).Error("is not an AddedToken object");
      config->added_tokens_decoder.emplace_back(id, *token);
    }
    std::sort(config->added_tokens_decoder.begin(), config->added_tokens_decoder.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  return Status::Ok();
}

}  // namespace

StatusOr<TokenizerConfig> ReadTokenizerConfig(const TokenizerFiles& files) {
  TokenizerConfig config;
  if (const auto it = files.find("tokenizer_config.json"); it != files.end()) {
    KDNAS_RETURN_IF_ERROR(ReadFile(it->second, "tokenizer_config.json", true, &config));
  }
  if (const auto it = files.find("special_tokens_map.json"); it != files.end()) {
    KDNAS_RETURN_IF_ERROR(ReadFile(it->second, "special_tokens_map.json", false, &config));
  }
  return config;
}

}  // namespace kdnas
