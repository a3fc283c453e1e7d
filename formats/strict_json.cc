#include "formats/strict_json.h"

#include <set>

namespace kdnas {

StatusOr<nlohmann::json> ParseJsonFindingDuplicates(std::string_view text, bool* found_duplicate,
                                                    DuplicateJsonKey* duplicate) {
  using Json = nlohmann::json;
  *found_duplicate = false;
  // One entry per open object: the keys seen so far and the last of them.
  struct OpenObject {
    std::set<std::string, std::less<>> keys;
    std::string current;
  };
  std::vector<OpenObject> open;  // the path names object keys only, arrays are skipped
  auto callback = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        open.emplace_back();
        break;
      case Json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        OpenObject& top = open.back();
        if (!top.keys.insert(key).second && !*found_duplicate) {
          *found_duplicate = true;
          duplicate->key = key;
          duplicate->path.clear();
          for (size_t i = 0; i + 1 < open.size(); ++i) duplicate->path.push_back(open[i].current);
        }
        top.current = key;
        break;
      }
      case Json::parse_event_t::object_end:
        open.pop_back();
        break;
      default:  // array_start, array_end, value
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const Json::exception& e) {
    return DataLoss(std::string("not valid JSON: ") + e.what());
  }
}

std::string QuoteForMessage(std::string_view s) {
  constexpr size_t kMaxChars = 120;
  std::string quoted =
      nlohmann::json(std::string(s.substr(0, kMaxChars)))
          .dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace);
  if (s.size() > kMaxChars) quoted.insert(quoted.size() - 1, "...");
  return quoted;
}

std::string JsonTypeForMessage(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::number_float:
      return "a floating-point number";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "an integer";
    default:
      return "not a JSON value";
  }
}

}  // namespace kdnas
