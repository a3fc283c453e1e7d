#include "log/log_flags.h"

#include "log/log.h"

namespace kdnas {

LogFlags::LogFlags(FlagSet& flags) {
  flags.String(
      "log-level", &level_,
      "Log lines at this level and above on stderr: trace, debug, info, warn, error, off.");
  flags.String("log-format", &format_,
               "Log format: text (time level message key=value...) or json (one object a line).");
}

Status LogFlags::Apply() const {
  LogLevel level;
  LogFormat format;
  if (!ParseLogLevel(level_, &level))
    return InvalidArgument("--log-level: '" + level_ +
                           "' is not trace, debug, info, warn, error or off");
  if (!ParseLogFormat(format_, &format))
    return InvalidArgument("--log-format: '" + format_ + "' is not text or json");
  ConfigureLogging(level, format);
  return Status::Ok();
}

}  // namespace kdnas
