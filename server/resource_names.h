// The resource names of the API ("jobs/{id}", "jobs/{id}/trials/{id}") and
// the ids inside them, for the controller's core.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

#include "kdnas/v1/trial.pb.h"

namespace kdnas {

inline std::string JobName(int64_t id) { return "jobs/" + std::to_string(id); }

// The id of "jobs/{id}", or -1 for any other shape.
inline int64_t JobIdOf(const std::string& name) {
  if (name.rfind("jobs/", 0) != 0) return -1;
  char* end = nullptr;
  const std::string digits = name.substr(5);
  const long long id = std::strtoll(digits.c_str(), &end, 10);
  return digits.empty() || *end != '\0' ? -1 : id;
}

// The trial id of a trial the core named ("jobs/{job}/trials/{id}").
inline int64_t TrialIdOf(const v1::Trial& trial) {
  return std::stoll(trial.name().substr(trial.name().rfind('/') + 1));
}

}  // namespace kdnas
