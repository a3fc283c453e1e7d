#include "search/candidate.h"

namespace kdnas {

const char* FamilyKindName(FamilyKind kind) {
  switch (kind) {
    case FamilyKind::kGpt2:
      return "gpt2";
    case FamilyKind::kLlama:
      return "llama";
    case FamilyKind::kQwen2:
      return "qwen2";
  }
  return "unknown";
}

NofM PatternNofM(SparsityPattern pattern) {
  switch (pattern) {
    case SparsityPattern::k2of4:
      return {2, 4};
    case SparsityPattern::k1of4:
      return {1, 4};
    case SparsityPattern::kUnstructured:
      break;
  }
  return {0, 0};
}

}  // namespace kdnas
