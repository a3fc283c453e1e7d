#include "search/candidate.h"

namespace kdnas {

NofM PatternNofM(SparsityPattern pattern) {
  switch (pattern) {
    case SparsityPattern::k2of4: return {2, 4};
    case SparsityPattern::k1of4: return {1, 4};
    case SparsityPattern::kUnstructured: break;
  }
  return {0, 0};
}

}  // namespace kdnas
