// The logging library: both formats, escaping, level filtering and the
// --log-level / --log-format flags.
#include "log/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "log/log_flags.h"

namespace kdnas {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { ConfigureLogging(LogLevel::kInfo, LogFormat::kText); }
  std::ostringstream out_;
};

const char kAwkward[] = "say \"hi\"\\path\nnext line\ttab caf\xc3\xa9 \xe2\x9c\x93";

// A line with the context fields (through TrialFields) and a value of each type.
void LogALease(bool duplicate) {
  LogInfo("trial leased",
          TrialFields("jobs/1/trials/3", "host-12",
                      {{"attempt", 2}, {"val_loss", 1.5}, {"duplicate", duplicate}}));
}

TEST_F(LogTest, TextIsOneLineWithTimeLevelMessageAndFields) {
  ConfigureLogging(LogLevel::kInfo, LogFormat::kText, &out_);
  LogALease(false);
  LogWarn("trial failed", {{"reason", kAwkward}, {"empty", ""}});
  auto lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  EXPECT_TRUE(std::regex_match(
      lines[0], std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  trial leased )"
                           R"(job=jobs/1 trial=jobs/1/trials/3 worker=host-12 attempt=2 )"
                           R"(val_loss=1.5 duplicate=false)")))
      << lines[0];
  // Values that are not plain are JSON strings: still one line, readable back.
  const std::string prefix = "WARN  trial failed reason=";
  const size_t at = lines[1].find(prefix);
  ASSERT_NE(at, std::string::npos) << lines[1];
  const size_t end = lines[1].rfind(" empty=");
  ASSERT_NE(end, std::string::npos) << lines[1];
  EXPECT_EQ(nlohmann::json::parse(lines[1].substr(at + prefix.size(), end - at - prefix.size())),
            kAwkward);
  EXPECT_EQ(lines[1].substr(end), " empty=\"\"");
}

TEST_F(LogTest, AMessageWithAControlCharacterIsQuotedInText) {
  ConfigureLogging(LogLevel::kInfo, LogFormat::kText, &out_);
  LogError("two\nlines");
  auto lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("ERROR \"two\\nlines\""), std::string::npos) << lines[0];
}

TEST_F(LogTest, JsonIsOneValidObjectPerLine) {
  ConfigureLogging(LogLevel::kInfo, LogFormat::kJson, &out_);
  LogALease(true);
  LogError(kAwkward, {{"reason", kAwkward}, {"bad_utf8", "ab\xff\xfe"}, {"message", "mine"}});
  auto lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  auto a = nlohmann::json::parse(lines[0]);
  EXPECT_TRUE(std::regex_match(a["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  EXPECT_EQ(a["level"], "info");
  EXPECT_EQ(a["message"], "trial leased");
  EXPECT_EQ(a["job"], "jobs/1");
  EXPECT_EQ(a["trial"], "jobs/1/trials/3");
  EXPECT_EQ(a["worker"], "host-12");
  EXPECT_EQ(a["attempt"], 2);
  EXPECT_EQ(a["val_loss"], 1.5);
  EXPECT_EQ(a["duplicate"], true);
  EXPECT_EQ(lines[0].rfind(R"({"time":)", 0), 0u) << lines[0];
  auto b = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(b["level"], "error");
  EXPECT_EQ(b["message"], kAwkward);
  EXPECT_EQ(b["reason"], kAwkward);
  EXPECT_EQ(b["bad_utf8"], "ab\xef\xbf\xbd\xef\xbf\xbd");  // U+FFFD for each bad byte
  EXPECT_EQ(b["message_"], "mine");                        // the line's own keys stay its own
}

TEST_F(LogTest, LinesBelowTheLevelAreDropped) {
  ConfigureLogging(LogLevel::kWarn, LogFormat::kText, &out_);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  LogTrace("t");
  LogDebug("d");
  LogInfo("i");
  LogWarn("w");
  LogError("e");
  auto lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  EXPECT_NE(lines[0].find("WARN  w"), std::string::npos);
  EXPECT_NE(lines[1].find("ERROR e"), std::string::npos);
  out_.str("");
  ConfigureLogging(LogLevel::kTrace, LogFormat::kText, &out_);
  LogTrace("t");
  EXPECT_NE(out_.str().find("TRACE t"), std::string::npos);
  out_.str("");
  ConfigureLogging(LogLevel::kOff, LogFormat::kText, &out_);
  LogError("e");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(LogTest, TrialFieldsLeaveOutWhatIsNotKnown) {
  ConfigureLogging(LogLevel::kInfo, LogFormat::kText, &out_);
  LogInfo("worker lost", TrialFields("", "w1", {{"unseen_ms", 61000}}));
  LogInfo("delivered lease", TrialFields("", "", {{"lease", "abc"}}));
  auto lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].substr(lines[0].find("INFO")), "INFO  worker lost worker=w1 unseen_ms=61000");
  EXPECT_EQ(lines[1].substr(lines[1].find("INFO")), "INFO  delivered lease lease=abc");
}

TEST_F(LogTest, FlagsConfigureTheLevelAndRefuseUnknownValues) {
  {
    FlagSet flags("test");
    LogFlags log_flags(flags);
    EXPECT_NE(flags.Help().find("--log-level"), std::string::npos);
    EXPECT_NE(flags.Help().find("--log-format"), std::string::npos);
    ASSERT_TRUE(flags.Parse({"--log-level", "warning", "--log-format=json"}).ok());
    ASSERT_TRUE(log_flags.Apply().ok());
    EXPECT_EQ(CurrentLogLevel(), LogLevel::kWarn);
  }
  {
    FlagSet flags("test");
    LogFlags log_flags(flags);
    ASSERT_TRUE(flags.Parse({"--log-level=loud"}).ok());
    Status s = log_flags.Apply();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("--log-level"), std::string::npos) << s.message();
  }
  {
    FlagSet flags("test");
    LogFlags log_flags(flags);
    ASSERT_TRUE(flags.Parse({"--log-format=xml"}).ok());
    EXPECT_NE(log_flags.Apply().message().find("--log-format"), std::string::npos);
  }
  LogLevel level;
  for (const char* name : {"trace", "debug", "info", "warn", "error", "off"})
    EXPECT_TRUE(ParseLogLevel(name, &level)) << name;
  EXPECT_FALSE(ParseLogLevel("INFO", &level));
}

}  // namespace
}  // namespace kdnas
