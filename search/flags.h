// The command-line flags of every kdnas binary, parsed by CLI11 behind this
// small interface (no CLI11 type appears here). Flags are --name=value or
// --name value; booleans are --name, --name=true|false (also 1/0, yes/no,
// on/off) or --no-name. Arguments that are not flags, and everything after
// "--", are positional; a negative number is a value, any other argument
// that starts with '-' is a flag. Each binary documents every flag through
// Help().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "search/status.h"

namespace CLI {
class App;
}

namespace kdnas {

class FlagSet {
 public:
  // usage: the first lines of --help, e.g. "kdnas-worker run-candidate [flags]".
  explicit FlagSet(std::string usage);
  ~FlagSet();
  FlagSet(const FlagSet&) = delete;
  FlagSet& operator=(const FlagSet&) = delete;

  void String(const std::string& name, std::string* value, const std::string& help);
  void Int(const std::string& name, int64_t* value, const std::string& help);
  void Int(const std::string& name, int* value, const std::string& help);
  void Double(const std::string& name, double* value, const std::string& help);
  void Bool(const std::string& name, bool* value, const std::string& help);

  // Parses args (without the program name). Positional arguments go to
  // positional(). --help (or -h) sets help_requested() and returns OK. An
  // unknown flag, a missing or malformed value (a non-finite double, an int
  // out of range) is INVALID_ARGUMENT naming the flag. Given twice, the last
  // value wins.
  Status Parse(const std::vector<std::string>& args);
  Status Parse(int argc, char** argv, int first = 1);

  bool help_requested() const { return help_requested_; }
  const std::vector<std::string>& positional() const { return positional_; }
  // Whether the flag `name` (without "--") was given on the command line.
  bool WasSet(const std::string& name) const;
  // Usage, then every flag with its default and help.
  std::string Help() const;

 private:
  std::string usage_;
  std::unique_ptr<CLI::App> app_;
  std::vector<std::string> positional_;
  bool help_requested_ = false;
};

// Parses sizes such as "400KB", "1.5 MiB", "2000000" into bytes. Units: B,
// KB/MB/GB (powers of 1000), KiB/MiB/GiB (powers of 1024), case-insensitive.
StatusOr<int64_t> ParseByteSize(const std::string& text);

}  // namespace kdnas
