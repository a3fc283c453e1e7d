#include "formats/json_util.h"

#include "formats/utf8.h"

namespace kdnas {
namespace {

// The deepest nesting of objects and arrays outside strings, stopping early
// past the bound.
int NestingDepth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > kMaxJsonDepth) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

StatusOr<nlohmann::json> ParseJsonFile(std::string_view text, const std::string& file) {
  const size_t bad = FirstInvalidUtf8(text);
  if (bad != std::string_view::npos) {
    return InvalidArgument(file + ": not JSON: invalid UTF-8 at byte " + std::to_string(bad));
  }
  if (NestingDepth(text) > kMaxJsonDepth) {
    return InvalidArgument(file + ": not JSON: nested deeper than " +
                           std::to_string(kMaxJsonDepth) + " levels");
  }
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgument(file + ": not JSON");
  return json;
}

JsonPath JsonPath::Key(std::string_view key) const {
  return {file, path.empty() ? std::string(key) : path + "." + std::string(key)};
}

JsonPath JsonPath::Index(size_t i) const { return {file, path + "[" + std::to_string(i) + "]"}; }

std::string JsonPath::Name() const { return path.empty() ? file : file + ": " + path; }

Status JsonPath::Error(std::string_view what) const {
  return InvalidArgument(Name() + " " + std::string(what));
}

const nlohmann::json* Find(const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

StatusOr<std::optional<std::string>> GetOptionalString(const nlohmann::json& obj,
                                                       std::string_view key, const JsonPath& at) {
  const nlohmann::json* v = Find(obj, key);
  if (v == nullptr || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return at.Key(key).Error("is not a string");
  return std::optional<std::string>(v->get<std::string>());
}

StatusOr<std::string> GetString(const nlohmann::json& obj, std::string_view key,
                                const JsonPath& at) {
  KDNAS_ASSIGN_OR_RETURN(std::optional<std::string> s, GetOptionalString(obj, key, at));
  if (!s) return at.Key(key).Error("is missing");
  return *s;
}

StatusOr<std::optional<bool>> GetOptionalBool(const nlohmann::json& obj, std::string_view key,
                                              const JsonPath& at) {
  const nlohmann::json* v = Find(obj, key);
  if (v == nullptr || v->is_null()) return std::optional<bool>();
  if (!v->is_boolean()) return at.Key(key).Error("is not true or false");
  return std::optional<bool>(v->get<bool>());
}

StatusOr<int32_t> AsTokenId(const nlohmann::json& value, const JsonPath& at) {
  if (value.is_number_unsigned()) {
    const uint64_t id = value.get<uint64_t>();
    if (id < 0x7FFFFFFF) return static_cast<int32_t>(id);
  } else if (value.is_number_integer()) {
    const int64_t id = value.get<int64_t>();
    if (id >= 0 && id < 0x7FFFFFFF) return static_cast<int32_t>(id);
  }
  return at.Error("is not a token id (an integer in [0, 2^31 - 1))");
}

}  // namespace kdnas
