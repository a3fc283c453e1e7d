// The short name of a TokenizerKind, as job files, messages and the CLI
// write it: "char", "byte", "bpe", "sentencepiece" (the enum value's name
// without its TOKENIZER_KIND_ prefix, lower-cased). Header-only: the
// controller and the CLI share it and both link only kdnas_proto for it.
#pragma once

#include <cctype>
#include <string>

#include "kdnas/v1/job.pb.h"

namespace kdnas {

inline std::string TokenizerKindName(v1::TokenizerKind kind) {
  const std::string prefix = "TOKENIZER_KIND_";
  std::string name = v1::TokenizerKind_Name(kind);
  if (name.rfind(prefix, 0) == 0) name.erase(0, prefix.size());
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

}  // namespace kdnas
