// Reads a protobuf message from YAML (and so from JSON, a subset of YAML),
// walking the message's descriptor so every error names the field path and
// line: "budget.max_trials (line 7): expected an integer, got 'ten'".
// Field names may be snake_case or lowerCamelCase; enum values may be the
// full name (DIRECTION_MAXIMIZE) or its short form (maximize, "2:4").
#pragma once

#include <google/protobuf/message.h>

#include <string>

#include "search/status.h"

namespace kdnas::cli {

// Parses `text` (YAML or JSON) into `message`. `source` names the input in
// errors (a file name).
Status ParseYamlMessage(const std::string& text, const std::string& source,
                        google::protobuf::Message* message);

// Reads and parses a file.
Status LoadYamlMessageFile(const std::string& path, google::protobuf::Message* message);

}  // namespace kdnas::cli
