// JSON parsing for the readers in formats/ (internal to kdnas_formats): a
// document whose objects repeat a key is refused, where nlohmann::json::parse
// would silently keep the last value. Parse errors come back as DATA_LOSS, no
// exception leaves this file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "search/status.h"

namespace kdnas {

// Where a key appears twice: `key`, in the object reached from the root
// through `path` (empty for the top-level object).
struct DuplicateJsonKey {
  std::vector<std::string> path;
  std::string key;
};

// Parses `text` (no comments, nothing but whitespace after the value).
// DATA_LOSS "not valid JSON: ..." on a syntax error (UTF-8 is checked too).
// If an object repeats a key, the parse succeeds but *duplicate is set to the
// first repetition (and `found_duplicate` to true) so the caller can word the
// error for its format.
StatusOr<nlohmann::json> ParseJsonFindingDuplicates(std::string_view text, bool* found_duplicate,
                                                    DuplicateJsonKey* duplicate);

// `s` quoted and escaped as a JSON string (ASCII only, invalid UTF-8
// replaced), cut to about 120 characters: safe to put in an error message.
std::string QuoteForMessage(std::string_view s);

// "an array", "a number", ...: the JSON type of `value`, for messages.
std::string JsonTypeForMessage(const nlohmann::json& value);

}  // namespace kdnas
