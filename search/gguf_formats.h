// llama.cpp's quantization types as a student's compression settings
// (weight_format and its per-class overrides, docs/gguf.md), and their
// names as the API, the CLI and the search space spell them.
#pragma once

#include <optional>
#include <string>

#include "search/ggml_types.h"
#include "search/status.h"

namespace kdnas {

// llama.cpp's quantization types as compression settings: the ggml type
// each class of the student's matrices is trained in (fake quantization on
// that type's own grid) and stored in, in the student's GGUF file. No
// `weight`: kdnas's own group-wise formats (weight_bits, group_size,
// embedding_bits). An override left unset follows `weight`. Norms and biases
// are always F32 and GPT-2's positions F16 (F32 in an all-F32 file), as
// llama-quantize stores them.
struct GgufFormats {
  std::optional<GgmlType> weight;  // weight_format
  std::optional<GgmlType>
      attention;                // attention_format: q, k, v (GPT-2: qkv) and the output projection
  std::optional<GgmlType> ffn;  // ffn_format: the MLP's matrices
  std::optional<GgmlType>
      embedding;                   // embedding_format: the token embedding (and the head when tied)
  std::optional<GgmlType> output;  // output_format: an untied output head

  bool set() const { return weight.has_value(); }
  bool any_override() const { return attention || ffn || embedding || output; }
  // Each class's type (the override, else weight_format); only when set().
  GgmlType attention_type() const { return attention.value_or(*weight); }
  GgmlType ffn_type() const { return ffn.value_or(*weight); }
  GgmlType embedding_type() const { return embedding.value_or(*weight); }
  GgmlType output_type() const { return output.value_or(*weight); }
  bool operator==(const GgufFormats&) const = default;
};

// The formats as named in the API ("q4_k", llama.cpp's "Q4_K" too; an empty
// override follows weight_format; an empty or "kdnas" weight_format is
// kdnas's own formats), and the field names errors use.
struct GgufFormatNames {
  std::string weight_format, attention_format, ffn_format, embedding_format, output_format;
};
struct GgufFormatFields {
  std::string weight_format = "weight_format", attention_format = "attention_format",
              ffn_format = "ffn_format", embedding_format = "embedding_format",
              output_format = "output_format";
};

// INVALID_ARGUMENT naming the field for a name that is not one of llama.cpp's
// types kdnas writes (f32 f16 bf16 q8_0 q6_k q5_0 q5_1 q5_k q4_0 q4_1 q4_k
// q3_k q2_k).
StatusOr<GgufFormats> ParseGgufFormats(const GgufFormatNames& names,
                                       const GgufFormatFields& fields = {});
// The inverse: canonical lower-case names, empty for what is unset.
GgufFormatNames GgufFormatNamesOf(const GgufFormats& formats);
// "q4_k", "q4_k attention=q6_k output=q8_0"; "" when unset.
std::string GgufFormatsText(const GgufFormats& formats);

}  // namespace kdnas
