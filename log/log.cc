#include "log/log.h"

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>

namespace kdnas {
namespace {

using Json = nlohmann::ordered_json;

// Our level names (spdlog's own say "warning" and "critical").
constexpr std::array<std::string_view, 6> kLevelNames = {"trace", "debug", "info",
                                                         "warn",  "error", "off"};
constexpr std::array<std::string_view, 6> kTextLevels = {"TRACE", "DEBUG", "INFO ",
                                                         "WARN ", "ERROR", "OFF  "};

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kOff:
      break;
  }
  return spdlog::level::off;
}

LogLevel FromSpdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return LogLevel::kTrace;
    case spdlog::level::debug:
      return LogLevel::kDebug;
    case spdlog::level::info:
      return LogLevel::kInfo;
    case spdlog::level::warn:
      return LogLevel::kWarn;
    case spdlog::level::err:
    case spdlog::level::critical:
      return LogLevel::kError;
    default:
      return LogLevel::kOff;
  }
}

// The %* flag of the patterns: our level name, upper-case and padded in
// text, lower-case in JSON.
class LevelFlag final : public spdlog::custom_flag_formatter {
 public:
  explicit LevelFlag(bool text) : text_(text) {}
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const size_t i = static_cast<size_t>(FromSpdlog(msg.level));
    const std::string_view name = text_ ? kTextLevels[i] : kLevelNames[i];
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelFlag>(text_);
  }

 private:
  bool text_;
};

struct Sink {
  LogFormat format = LogFormat::kText;
  std::shared_ptr<spdlog::logger> logger;
};

std::shared_ptr<const Sink> MakeSink(LogFormat format, std::ostream* out) {
  auto sink = std::make_shared<Sink>();
  sink->format = format;
  spdlog::sink_ptr target;
  if (out != nullptr) {
    target = std::make_shared<spdlog::sinks::ostream_sink_mt>(*out, /*force_flush=*/true);
  } else {
    target = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  const bool text = format == LogFormat::kText;
  formatter->add_flag<LevelFlag>('*', text).set_pattern(
      text ? "%Y-%m-%dT%H:%M:%S.%eZ %* %v" : R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%*",%v})");
  target->set_formatter(std::move(formatter));
  sink->logger = std::make_shared<spdlog::logger>("kdnas", std::move(target));
  sink->logger->set_level(spdlog::level::trace);  // filtered by g_level
  return sink;
}

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

// Never destroyed: gRPC's and LibTorch's threads may still log while the
// process exits.
std::atomic<std::shared_ptr<const Sink>>& CurrentSink() {
  static auto* sink =
      new std::atomic<std::shared_ptr<const Sink>>(MakeSink(LogFormat::kText, nullptr));
  return *sink;
}

std::string JsonString(std::string_view s) {
  return Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Plain text is written as it is; anything else as a JSON string.
bool PlainValue(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= ' ' || c == 0x7f || c == '"' || c == '=' || c == '\\') return false;
  }
  return true;
}

bool PlainMessage(std::string_view s) {
  for (unsigned char c : s) {
    if (c < ' ' || c == 0x7f) return false;
  }
  return true;
}

std::string TextValue(const LogField& f) {
  struct Visitor {
    std::string operator()(const std::string& s) const { return PlainValue(s) ? s : JsonString(s); }
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const { return fmt::format("{}", v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
  };
  return std::visit(Visitor{}, f.value());
}

std::string TextLine(std::string_view message, const LogFields& fields) {
  std::string line = PlainMessage(message) ? std::string(message) : JsonString(message);
  for (const LogField& f : fields) {
    line += ' ';
    line += f.key();
    line += '=';
    line += TextValue(f);
  }
  return line;
}

// The members after "time" and "level": "message":...,"job":... (no braces).
std::string JsonMembers(std::string_view message, const LogFields& fields) {
  Json j = Json::object();
  j["message"] = message;
  for (const LogField& f : fields) {
    std::string key(f.key());
    if (key == "time" || key == "level" || key == "message") key += '_';
    std::visit([&](const auto& v) { j[key] = v; }, f.value());
  }
  const std::string s = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  return s.substr(1, s.size() - 2);
}

}  // namespace

LogFields TrialFields(std::string_view trial, std::string_view worker, LogFields more) {
  LogFields fields;
  if (!trial.empty()) {
    // A trial ("jobs/1/trials/2") or a shard of a teacher pass ("jobs/1/teacher-shards/0").
    const size_t shard = trial.find("/teacher-shards/");
    fields.emplace_back("job", trial.substr(0, std::min(shard, trial.find("/trials/"))));
    fields.emplace_back(shard == std::string_view::npos ? "trial" : "shard", trial);
  }
  if (!worker.empty()) fields.emplace_back("worker", worker);
  fields.insert(fields.end(), more.begin(), more.end());
  return fields;
}

void ConfigureLogging(LogLevel level, LogFormat format, std::ostream* out) {
  CurrentSink().store(MakeSink(format, out));
  g_level = static_cast<int>(level);
}

LogLevel CurrentLogLevel() { return static_cast<LogLevel>(g_level.load()); }

void Log(LogLevel level, std::string_view message, const LogFields& fields) {
  if (level == LogLevel::kOff || !LogEnabled(level)) return;
  std::shared_ptr<const Sink> sink = CurrentSink().load();
  const std::string line =
      sink->format == LogFormat::kText ? TextLine(message, fields) : JsonMembers(message, fields);
  sink->logger->log(ToSpdlog(level), spdlog::string_view_t(line.data(), line.size()));
}

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  for (size_t i = 0; i < kLevelNames.size(); ++i) {
    if (text == kLevelNames[i] || (text == "warning" && kLevelNames[i] == "warn")) {
      *level = static_cast<LogLevel>(i);
      return true;
    }
  }
  return false;
}

bool ParseLogFormat(std::string_view text, LogFormat* format) {
  if (text == "text" || text == "json") {
    *format = text == "text" ? LogFormat::kText : LogFormat::kJson;
    return true;
  }
  return false;
}

}  // namespace kdnas
