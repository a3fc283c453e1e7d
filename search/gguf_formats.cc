#include "search/gguf_formats.h"

namespace kdnas {
namespace {

StatusOr<std::optional<GgmlType>> ParseFormat(const std::string& name, const std::string& field,
                                              bool kdnas_allowed) {
  if (name.empty() || (kdnas_allowed && name == "kdnas")) return std::optional<GgmlType>();
  if (auto type = ParseGgmlType(name)) return std::optional<GgmlType>(*type);
  std::string known = kdnas_allowed ? "kdnas" : "";
  for (const GgmlTypeInfo& t : GgmlTypes())
    known += (known.empty() ? "" : ", ") + std::string(t.name);
  return InvalidArgument(field + ": '" + name + "' is not one of " +
                         (kdnas_allowed ? "kdnas's formats or " : "") + "llama.cpp's types (" +
                         known + ")");
}

std::string NameOf(const std::optional<GgmlType>& type) {
  return type ? std::string(GgmlTypeName(*type)) : std::string();
}

}  // namespace

StatusOr<GgufFormats> ParseGgufFormats(const GgufFormatNames& names,
                                       const GgufFormatFields& fields) {
  GgufFormats f;
  KDNAS_ASSIGN_OR_RETURN(f.weight, ParseFormat(names.weight_format, fields.weight_format, true));
  KDNAS_ASSIGN_OR_RETURN(f.attention,
                         ParseFormat(names.attention_format, fields.attention_format, false));
  KDNAS_ASSIGN_OR_RETURN(f.ffn, ParseFormat(names.ffn_format, fields.ffn_format, false));
  KDNAS_ASSIGN_OR_RETURN(f.embedding,
                         ParseFormat(names.embedding_format, fields.embedding_format, false));
  KDNAS_ASSIGN_OR_RETURN(f.output, ParseFormat(names.output_format, fields.output_format, false));
  return f;
}

GgufFormatNames GgufFormatNamesOf(const GgufFormats& f) {
  return {NameOf(f.weight), NameOf(f.attention), NameOf(f.ffn), NameOf(f.embedding),
          NameOf(f.output)};
}

std::string GgufFormatsText(const GgufFormats& f) {
  std::string text = NameOf(f.weight);
  const std::pair<const char*, const std::optional<GgmlType>*> overrides[] = {
      {"attention", &f.attention},
      {"ffn", &f.ffn},
      {"embedding", &f.embedding},
      {"output", &f.output}};
  for (const auto& [name, type] : overrides)
    if (*type) text += std::string(" ") + name + "=" + NameOf(*type);
  return text;
}

}  // namespace kdnas
