// tokenizer.json's "normalizer": null (none), NFC (Qwen2), or a Sequence of
// those. NFC is libunistring's u8_normalize. Anything else is refused with
// INVALID_ARGUMENT naming the key.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "formats/json_util.h"
#include "search/status.h"

namespace kdnas {

class Normalizer {
 public:
  static StatusOr<Normalizer> FromJson(const nlohmann::json& value, const JsonPath& at);

  // True when Normalize changes nothing (no normalizer).
  bool identity() const { return !nfc_; }

  // Appends the normalized form of `text` to *out. Invalid UTF-8 (byte-level
  // tokenizers only) is kept byte for byte, and each valid stretch between
  // invalid bytes is normalized on its own.
  Status Normalize(std::string_view text, std::string* out) const;

 private:
  static Status Add(const nlohmann::json& value, const JsonPath& at, int depth, Normalizer* n);

  bool nfc_ = false;
};

}  // namespace kdnas
