#include "search/flags.h"

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <sstream>

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

StatusOr<double> ParseDouble(const std::string& name, const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) {
    return InvalidArgument("--" + name + ": '" + text + "' is not a number");
  }
  return v;
}

StatusOr<int64_t> ParseInt(const std::string& name, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE) {
    return InvalidArgument("--" + name + ": '" + text + "' is not an integer");
  }
  return static_cast<int64_t>(v);
}

}  // namespace

FlagSet::FlagSet(std::string usage) : usage_(std::move(usage)) {}

void FlagSet::String(const std::string& name, std::string* value, const std::string& help) {
  flags_.push_back({name, help, "\"" + *value + "\"", false, [value](const std::string& v) {
                      *value = v;
                      return Status::Ok();
                    }});
}

void FlagSet::Int(const std::string& name, int64_t* value, const std::string& help) {
  flags_.push_back({name, help, std::to_string(*value), false, [name, value](const std::string& v) {
                      auto parsed = ParseInt(name, v);
                      if (!parsed.ok()) return parsed.status();
                      *value = *parsed;
                      return Status::Ok();
                    }});
}

void FlagSet::Int(const std::string& name, int* value, const std::string& help) {
  flags_.push_back({name, help, std::to_string(*value), false, [name, value](const std::string& v) {
                      auto parsed = ParseInt(name, v);
                      if (!parsed.ok()) return parsed.status();
                      if (*parsed < INT32_MIN || *parsed > INT32_MAX) {
                        return InvalidArgument("--" + name + ": " + v + " is out of range");
                      }
                      *value = static_cast<int>(*parsed);
                      return Status::Ok();
                    }});
}

void FlagSet::Double(const std::string& name, double* value, const std::string& help) {
  std::ostringstream def;
  def << *value;
  flags_.push_back({name, help, def.str(), false, [name, value](const std::string& v) {
                      auto parsed = ParseDouble(name, v);
                      if (!parsed.ok()) return parsed.status();
                      *value = *parsed;
                      return Status::Ok();
                    }});
}

void FlagSet::Bool(const std::string& name, bool* value, const std::string& help) {
  flags_.push_back({name, help, *value ? "true" : "false", true,
                    [name, value](const std::string& v) {
                      std::string l = Lower(v);
                      if (l == "true" || l == "1" || l == "yes") {
                        *value = true;
                      } else if (l == "false" || l == "0" || l == "no") {
                        *value = false;
                      } else {
                        return InvalidArgument("--" + name + ": '" + v + "' is not true or false");
                      }
                      return Status::Ok();
                    }});
}

const FlagSet::Flag* FlagSet::Find(const std::string& name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool FlagSet::WasSet(const std::string& name) const {
  for (const auto& n : set_names_) {
    if (n == name) return true;
  }
  return false;
}

Status FlagSet::Parse(int argc, char** argv, int first) {
  std::vector<std::string> args;
  for (int i = first; i < argc; ++i) args.emplace_back(argv[i]);
  return Parse(args);
}

Status FlagSet::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional_.insert(positional_.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      positional_.push_back(arg);
      continue;
    }
    std::string body = arg.substr(2);
    if (body == "help" || body == "h") {
      help_requested_ = true;
      continue;
    }
    std::string name = body;
    std::string value;
    bool has_value = false;
    if (auto eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    const Flag* flag = Find(name);
    if (flag == nullptr && !has_value && name.rfind("no-", 0) == 0) {
      const Flag* negated = Find(name.substr(3));
      if (negated != nullptr && negated->is_bool) {
        KDNAS_RETURN_IF_ERROR(negated->set("false"));
        set_names_.push_back(negated->name);
        continue;
      }
    }
    if (flag == nullptr) return InvalidArgument("unknown flag --" + name + " (see --help)");
    if (!has_value) {
      if (flag->is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return InvalidArgument("--" + name + " needs a value");
      }
    }
    KDNAS_RETURN_IF_ERROR(flag->set(value));
    set_names_.push_back(name);
  }
  return Status::Ok();
}

std::string FlagSet::Help() const {
  std::ostringstream out;
  out << usage_ << "\n";
  if (!flags_.empty()) out << "\nFlags:\n";
  for (const Flag& f : flags_) {
    out << "  --" << f.name << (f.is_bool ? "" : "=VALUE") << "\n      " << f.help
        << " (default " << f.default_text << ")\n";
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
  if (number.empty()) return InvalidArgument("size '" + input + "': expected a number such as 400KB");
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size()) {
    return InvalidArgument("size '" + input + "': '" + number + "' is not a number");
  }
  double scale = 0;
  if (unit.empty() || unit == "b") scale = 1;
  else if (unit == "kb" || unit == "k") scale = 1e3;
  else if (unit == "mb" || unit == "m") scale = 1e6;
  else if (unit == "gb" || unit == "g") scale = 1e9;
  else if (unit == "kib") scale = 1024.0;
  else if (unit == "mib") scale = 1024.0 * 1024;
  else if (unit == "gib") scale = 1024.0 * 1024 * 1024;
  else return InvalidArgument("size '" + input + "': unknown unit '" + unit +
                              "' (use B, KB, MB, GB, KiB, MiB or GiB)");
  double bytes = value * scale;
  if (!std::isfinite(bytes) || bytes > 9.0e18) return InvalidArgument("size '" + input + "' is too large");
  return static_cast<int64_t>(std::llround(bytes));
}

}  // namespace kdnas
