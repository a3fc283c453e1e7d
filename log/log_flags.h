// --log-level and --log-format on a binary's FlagSet, shared by every kdnas
// binary and worker command:
//
//   FlagSet flags("kdnas-controller [flags]");
//   LogFlags log_flags(flags);           // registers the two flags
//   ... flags.Parse(argc, argv) ...
//   if (Status s = log_flags.Apply(); !s.ok()) { ...usage error... }
#pragma once

#include <string>

#include "search/flags.h"
#include "search/status.h"

namespace kdnas {

class LogFlags {
 public:
  explicit LogFlags(FlagSet& flags);
  LogFlags(const LogFlags&) = delete;
  LogFlags& operator=(const LogFlags&) = delete;

  // Configures logging (to stderr) from the parsed flags; INVALID_ARGUMENT
  // naming the flag for an unknown level or format.
  Status Apply() const;

 private:
  std::string level_ = "info";
  std::string format_ = "text";
};

}  // namespace kdnas
