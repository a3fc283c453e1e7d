// Reading untrusted JSON files (tokenizer.json, tokenizer_config.json,
// vocab.json) without exceptions or crashes: parsing with a nesting bound,
// and typed look-ups whose errors name the file and the key path
// ("tokenizer.json: model.vocab: not an object").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "search/status.h"

namespace kdnas {

// Objects and arrays nested deeper than this are refused (parsers and
// destructors recurse).
inline constexpr int kMaxJsonDepth = 64;

// INVALID_ARGUMENT "<file>: not JSON: ..." for text that does not parse,
// nests deeper than kMaxJsonDepth, or is not valid UTF-8.
StatusOr<nlohmann::json> ParseJsonFile(std::string_view text, const std::string& file);

// Where a value sits, for error messages: the file and the key path.
struct JsonPath {
  std::string file;
  std::string path;  // "model.vocab", "" for the root

  JsonPath Key(std::string_view key) const;
  JsonPath Index(size_t i) const;
  // "tokenizer.json: model.type" (or "tokenizer.json" at the root).
  std::string Name() const;
  Status Error(std::string_view what) const;
};

// Typed look-ups of obj[key]. "Optional" ones return nullopt when the key is
// absent or null; the others refuse that. All refuse a value of another type.
StatusOr<std::string> GetString(const nlohmann::json& obj, std::string_view key,
                                const JsonPath& at);
StatusOr<std::optional<std::string>> GetOptionalString(const nlohmann::json& obj,
                                                       std::string_view key, const JsonPath& at);
StatusOr<std::optional<bool>> GetOptionalBool(const nlohmann::json& obj, std::string_view key,
                                              const JsonPath& at);
// A token id: an integer in [0, 2^31 - 1) (so that vocab_size() fits an int).
StatusOr<int32_t> AsTokenId(const nlohmann::json& value, const JsonPath& at);
// obj[key], or nullptr when obj is not an object or has no such key.
const nlohmann::json* Find(const nlohmann::json& obj, std::string_view key);

}  // namespace kdnas
