// Leveled, structured logging for every kdnas binary, on spdlog: one line per
// event on stderr, as text or as one JSON object per line. A line has a time
// (UTC), a level, a fixed message and key=value fields; a line about a job,
// trial or worker carries them as the fields job, trial and worker:
//
//   LogInfo("trial leased", {{"job", "jobs/1"}, {"trial", "jobs/1/trials/3"},
//                            {"worker", "host-12"}, {"attempt", 1}});
//
// text: 2025-06-01T10:00:00.123Z INFO  trial leased job=jobs/1 trial=jobs/1/trials/3 ...
// json: {"time":"2025-06-01T10:00:00.123Z","level":"info","message":"trial leased",...}
//
// In text a value with a space, quote, '=', backslash or control character
// (and a message with a control character) is written as a JSON string, so
// every entry is one line. The JSON is written by nlohmann-json (invalid
// UTF-8 is replaced by U+FFFD). Thread-safe. The header does not expose
// spdlog.
#pragma once

#include <concepts>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kdnas {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };
enum class LogFormat { kText, kJson };

// One key=value of a line. Keys are short literals; "time", "level" and
// "message" are the line's own (a field of that name becomes e.g. "message_").
class LogField {
 public:
  LogField(std::string_view key, std::string_view value) : key_(key), value_(std::string(value)) {}
  LogField(std::string_view key, const std::string& value) : key_(key), value_(value) {}
  LogField(std::string_view key, const char* value) : key_(key), value_(std::string(value)) {}
  LogField(std::string_view key, bool value) : key_(key), value_(value) {}
  LogField(std::string_view key, double value) : key_(key), value_(value) {}
  template <std::integral T>
  requires(!std::same_as<T, bool>) LogField(std::string_view key, T value)
      : key_(key), value_(static_cast<int64_t>(value)) {}

  std::string_view key() const { return key_; }
  const std::variant<std::string, int64_t, double, bool>& value() const { return value_; }

 private:
  std::string_view key_;
  std::variant<std::string, int64_t, double, bool> value_;
};
using LogFields = std::vector<LogField>;

// The context of a line about a trial: job (from the trial's name
// "jobs/{job}/trials/{id}"), trial and worker, each left out when empty,
// then `more`. For a teacher shard ("jobs/{job}/teacher-shards/{i}") the
// second field is `shard`.
LogFields TrialFields(std::string_view trial, std::string_view worker, LogFields more = {});

// Sets the level below which lines are dropped and the format, for the whole
// process. Lines go to `out` (tests) or, when it is null, to stderr. Before
// the first call: info, text, stderr.
void ConfigureLogging(LogLevel level, LogFormat format, std::ostream* out = nullptr);
LogLevel CurrentLogLevel();
inline bool LogEnabled(LogLevel level) { return level >= CurrentLogLevel(); }

// Writes one line if `level` is enabled. Build costly fields only when
// LogEnabled(level).
void Log(LogLevel level, std::string_view message, const LogFields& fields = {});
inline void LogTrace(std::string_view m, const LogFields& f = {}) { Log(LogLevel::kTrace, m, f); }
inline void LogDebug(std::string_view m, const LogFields& f = {}) { Log(LogLevel::kDebug, m, f); }
inline void LogInfo(std::string_view m, const LogFields& f = {}) { Log(LogLevel::kInfo, m, f); }
inline void LogWarn(std::string_view m, const LogFields& f = {}) { Log(LogLevel::kWarn, m, f); }
inline void LogError(std::string_view m, const LogFields& f = {}) { Log(LogLevel::kError, m, f); }

// "trace", "debug", "info", "warn" (or "warning"), "error", "off"; false for
// anything else.
bool ParseLogLevel(std::string_view text, LogLevel* level);
// "text" or "json".
bool ParseLogFormat(std::string_view text, LogFormat* format);

}  // namespace kdnas
