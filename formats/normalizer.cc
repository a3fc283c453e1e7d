#include "formats/normalizer.h"

#include <uninorm.h>

#include <cstdint>
#include <cstdlib>

#include "formats/utf8.h"

namespace kdnas {
namespace {

constexpr int kMaxSequenceDepth = 8;

// NFC of valid UTF-8.
Status AppendNfc(std::string_view text, std::string* out) {
  if (text.empty()) return Status::Ok();
  bool ascii = true;
  for (char c : text) ascii = ascii && static_cast<uint8_t>(c) < 0x80;
  if (ascii) {  // NFC leaves ASCII alone
    out->append(text);
    return Status::Ok();
  }
  size_t length = 0;
  uint8_t* result = u8_normalize(UNINORM_NFC, reinterpret_cast<const uint8_t*>(text.data()),
                                 text.size(), nullptr, &length);
  if (result == nullptr) return ResourceExhausted("normalizer: NFC failed");
  out->append(reinterpret_cast<const char*>(result), length);
  std::free(result);
  return Status::Ok();
}

}  // namespace

StatusOr<Normalizer> Normalizer::FromJson(const nlohmann::json& value, const JsonPath& at) {
  Normalizer n;
  if (!value.is_null()) KDNAS_RETURN_IF_ERROR(Add(value, at, 0, &n));
  return n;
}

Status Normalizer::Add(const nlohmann::json& value, const JsonPath& at, int depth, Normalizer* n) {
  if (!value.is_object()) return at.Error("is not an object");
  KDNAS_ASSIGN_OR_RETURN(std::string type, GetString(value, "type", at));
  if (type == "NFC") {
    n->nfc_ = true;  // NFC twice is NFC once
    return Status::Ok();
  }
  if (type == "Sequence") {
    if (depth >= kMaxSequenceDepth) return at.Error("nests Sequences too deeply");
    const nlohmann::json* list = Find(value, "normalizers");
    if (list == nullptr || !list->is_array()) return at.Key("normalizers").Error("is not an array");
    for (size_t i = 0; i < list->size(); ++i) {
      KDNAS_RETURN_IF_ERROR(Add((*list)[i], at.Key("normalizers").Index(i), depth + 1, n));
    }
    return Status::Ok();
  }
  return at.Key("type").Error("\"" + type +
                              "\" is not supported (kdnas reads NFC and Sequence normalizers)");
}

Status Normalizer::Normalize(std::string_view text, std::string* out) const {
  if (!nfc_) {
    out->append(text);
    return Status::Ok();
  }
  size_t start = 0;
  while (start < text.size()) {
    const size_t bad = FirstInvalidUtf8(text.substr(start));
    if (bad == std::string_view::npos) return AppendNfc(text.substr(start), out);
    KDNAS_RETURN_IF_ERROR(AppendNfc(text.substr(start, bad), out));
    out->push_back(text[start + bad]);
    start += bad + 1;
  }
  return Status::Ok();
}

}  // namespace kdnas
