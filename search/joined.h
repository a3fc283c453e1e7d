// Names in messages: "a, b, c".
#pragma once

#include <string>
#include <vector>

namespace kdnas {

inline std::string Joined(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : ", ") + w;
  return s;
}

}  // namespace kdnas
