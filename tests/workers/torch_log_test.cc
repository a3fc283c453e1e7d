// LibTorch's warnings on the thread that routed them land in the kdnas log.
#include "workers/torch_log.h"

#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <sstream>

#include "log/log.h"

namespace kdnas {
namespace {

TEST(TorchLog, WarningsBecomeLogLines) {
  std::ostringstream out;
  ConfigureLogging(LogLevel::kInfo, LogFormat::kText, &out);
  RouteTorchWarnings();
  TORCH_WARN("a warning from LibTorch");
  const std::string text = out.str();
  EXPECT_NE(text.find("WARN  a warning from LibTorch component=torch source="), std::string::npos)
      << text;
  EXPECT_NE(text.find("torch_log_test.cc:"), std::string::npos) << text;
  out.str("");
  ConfigureLogging(LogLevel::kError, LogFormat::kText, &out);
  TORCH_WARN("filtered");
  EXPECT_EQ(out.str(), "");
  ConfigureLogging(LogLevel::kInfo, LogFormat::kText);
}

}  // namespace
}  // namespace kdnas
