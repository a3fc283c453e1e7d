#include "search/flags.h"

#include <CLI/CLI.hpp>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <type_traits>

namespace kdnas {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Accepts a value only if CLI11 can convert it to T (and, for a double, to a
// finite one), so that a bad value reads "--name: 'x' is not an integer".
template <typename T>
CLI::Validator ConvertsTo(const std::string& what) {
  return CLI::Validator(
      [what](std::string& text) -> std::string {
        T value{};
        if (!CLI::detail::lexical_cast(text, value)) return "'" + text + "' is not " + what;
        if constexpr (std::is_floating_point_v<T>) {
          if (!std::isfinite(value)) return "'" + text + "' is not a finite number";
        }
        return "";
      },
      "");
}

// The boolean spellings --name=VALUE accepts (CLI11 alone would read "2x" as true).
CLI::Validator IsBoolean() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        for (const char* word : {"true", "false", "1", "0", "yes", "no", "on", "off"}) {
          if (Lower(text) == word) return "";
        }
        return "'" + text + "' is not true or false";
      },
      "");
}

template <typename T>
void AddValue(CLI::App& app, const std::string& name, T* value, const std::string& help,
              const std::string& default_text, const std::string& what) {
  app.add_option("--" + name, *value, help)
      ->default_str(default_text)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->check(ConvertsTo<T>(what));
}

}  // namespace

FlagSet::FlagSet(std::string usage) : usage_(std::move(usage)), app_(std::make_unique<CLI::App>()) {
  app_->set_help_flag();  // --help is a flag like any other: Parse never exits or throws
  app_->add_flag("-h,--help,--h", help_requested_, "Show this help.");
  app_->add_option("positional", positional_);
  app_->allow_extras();  // unknown flags are collected and reported by Parse
}

FlagSet::~FlagSet() = default;

void FlagSet::String(const std::string& name, std::string* value, const std::string& help) {
  app_->add_option("--" + name, *value, help)
      ->default_str("\"" + *value + "\"")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

void FlagSet::Int(const std::string& name, int64_t* value, const std::string& help) {
  AddValue(*app_, name, value, help, std::to_string(*value), "an integer");
}

void FlagSet::Int(const std::string& name, int* value, const std::string& help) {
  AddValue(*app_, name, value, help, std::to_string(*value), "a 32-bit integer");
}

void FlagSet::Double(const std::string& name, double* value, const std::string& help) {
  std::ostringstream def;
  def << *value;
  AddValue(*app_, name, value, help, def.str(), "a number");
}

void FlagSet::Bool(const std::string& name, bool* value, const std::string& help) {
  app_->add_flag("--" + name + ",!--no-" + name, *value, help)
      ->default_str(*value ? "true" : "false")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->check(IsBoolean());
}

bool FlagSet::WasSet(const std::string& name) const {
  const CLI::Option* option = app_->get_option_no_throw("--" + name);
  return option != nullptr && option->count() > 0;
}

Status FlagSet::Parse(int argc, char** argv, int first) {
  std::vector<std::string> args;
  for (int i = first; i < argc; ++i) args.emplace_back(argv[i]);
  return Parse(args);
}

Status FlagSet::Parse(const std::vector<std::string>& args) {
  // CLI11 takes the arguments last first, and reads "--name=" as "--name" followed by a
  // value in the next argument: an empty value goes in as its own argument instead.
  std::vector<std::string> reversed;
  for (auto arg = args.rbegin(); arg != args.rend(); ++arg) {
    const bool empty_value = arg->size() > 3 && arg->rfind("--", 0) == 0 && arg->back() == '=';
    const CLI::Option* option =
        empty_value ? app_->get_option_no_throw(arg->substr(0, arg->size() - 1)) : nullptr;
    if (option == nullptr) {
      reversed.push_back(*arg);
    } else if (option->get_expected_min() == 0) {
      return InvalidArgument(option->get_name() + ": '' is not true or false");
    } else {
      reversed.push_back("");
      reversed.push_back(arg->substr(0, arg->size() - 1));
    }
  }
  try {
    app_->parse(reversed);
  } catch (const CLI::ArgumentMismatch& e) {
    std::string what = e.what();  // "--name: 1 required TEXT missing"
    return InvalidArgument(what.substr(0, what.find(':')) + " needs a value");
  } catch (const CLI::Error& e) {
    return InvalidArgument(e.what());  // "--name: 'x' is not an integer"
  }
  for (const std::string& extra : app_->remaining()) {
    if (extra == "--") continue;  // CLI11 keeps the separator among the extras
    return InvalidArgument("unknown flag " + extra.substr(0, extra.find('=')) + " (see --help)");
  }
  return Status::Ok();
}

std::string FlagSet::Help() const {
  std::ostringstream out;
  out << usage_ << "\n";
  auto flags = app_->get_options(
      [](const CLI::Option* o) { return o->nonpositional() && o->get_name() != "--help"; });
  if (!flags.empty()) out << "\nFlags:\n";
  for (const CLI::Option* f : flags) {
    out << "  " << f->get_name() << (f->get_expected_min() == 0 ? "" : "=VALUE") << "\n      "
        << f->get_description() << " (default " << f->get_default_str() << ")\n";
  }
  out << "  --help\n      Show this help.\n";
  return out.str();
}

StatusOr<int64_t> ParseByteSize(const std::string& input) {
  std::string text = Trim(input);
  size_t pos = 0;
  while (pos < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[pos])) || text[pos] == '.')) {
    ++pos;
  }
  std::string number = text.substr(0, pos);
  std::string unit = Lower(Trim(text.substr(pos)));
  if (number.empty())
    return InvalidArgument("size '" + input + "': expected a number such as 400KB");
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size()) {
    return InvalidArgument("size '" + input + "': '" + number + "' is not a number");
  }
  double scale = 0;
  if (unit.empty() || unit == "b")
    scale = 1;
  else if (unit == "kb" || unit == "k")
    scale = 1e3;
  else if (unit == "mb" || unit == "m")
    scale = 1e6;
  else if (unit == "gb" || unit == "g")
    scale = 1e9;
  else if (unit == "kib")
    scale = 1024.0;
  else if (unit == "mib")
    scale = 1024.0 * 1024;
  else if (unit == "gib")
    scale = 1024.0 * 1024 * 1024;
  else
    return InvalidArgument("size '" + input + "': unknown unit '" + unit +
                           "' (use B, KB, MB, GB, KiB, MiB or GiB)");
  double bytes = value * scale;
  if (!std::isfinite(bytes) || bytes > 9.0e18)
    return InvalidArgument("size '" + input + "' is too large");
  return static_cast<int64_t>(std::llround(bytes));
}

}  // namespace kdnas
