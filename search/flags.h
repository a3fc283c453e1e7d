// A small command-line flag parser shared by every kdnas binary (search/ is
// the std-only base library that all of them link). Flags are --name=value or
// --name value; booleans are --name, --name=true|false or --no-name. "--"
// ends the flags. Each binary documents every flag through Help().
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "search/status.h"

namespace kdnas {

class FlagSet {
 public:
  // usage: the first lines of --help, e.g. "kdnas-worker run-candidate [flags]".
  explicit FlagSet(std::string usage);

  void String(const std::string& name, std::string* value, const std::string& help);
  void Int(const std::string& name, int64_t* value, const std::string& help);
  void Int(const std::string& name, int* value, const std::string& help);
  void Double(const std::string& name, double* value, const std::string& help);
  void Bool(const std::string& name, bool* value, const std::string& help);

  // Parses args (without the program name). Positional arguments go to
  // positional(). --help sets help_requested() and returns OK. An unknown
  // flag or a malformed value is INVALID_ARGUMENT naming the flag.
  Status Parse(const std::vector<std::string>& args);
  Status Parse(int argc, char** argv, int first = 1);

  bool help_requested() const { return help_requested_; }
  const std::vector<std::string>& positional() const { return positional_; }
  // Names of the flags given explicitly on the command line.
  bool WasSet(const std::string& name) const;
  // Usage, then one line per flag with its default and help.
  std::string Help() const;

 private:
  struct Flag {
    std::string name;
    std::string help;
    std::string default_text;
    bool is_bool = false;
    std::function<Status(const std::string&)> set;
  };
  const Flag* Find(const std::string& name) const;

  std::string usage_;
  std::vector<Flag> flags_;
  std::vector<std::string> positional_;
  std::vector<std::string> set_names_;
  bool help_requested_ = false;
};

// Parses sizes such as "400KB", "1.5 MiB", "2000000" into bytes. Units: B,
// KB/MB/GB (powers of 1000), KiB/MiB/GiB (powers of 1024), case-insensitive.
StatusOr<int64_t> ParseByteSize(const std::string& text);

}  // namespace kdnas
