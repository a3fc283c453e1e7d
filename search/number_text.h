// Numbers in messages and candidate keys: six significant digits, and -0
// written as 0 so that equal values read the same.
#pragma once

#include <cstdio>
#include <string>

namespace kdnas {

inline std::string NumberText(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v == 0 ? 0.0 : v);
  return buf;
}

}  // namespace kdnas
