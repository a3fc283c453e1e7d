#include "workers/worker_info.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <string>

namespace kdnas {
namespace {

TEST(WorkerInfo, DescribesThisMachine) {
  WorkerInfo info = DescribeWorker();
  EXPECT_FALSE(info.hostname.empty());
  EXPECT_GE(info.threads, 1);
  // The version of the LibTorch headers this was built against...
  EXPECT_EQ(info.torch_version, std::to_string(TORCH_VERSION_MAJOR) + "." +
                                    std::to_string(TORCH_VERSION_MINOR) + "." +
                                    std::to_string(TORCH_VERSION_PATCH));
  // ...which is the one the loaded library reports in its build settings.
  const std::string config = at::show_config();
  EXPECT_NE(config.find("TORCH_VERSION=" + info.torch_version + ","), std::string::npos) << config;
  std::string text = FormatWorkerInfo(info);
  EXPECT_NE(text.find("torch: " + info.torch_version + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("blas: "), std::string::npos);
}

}  // namespace
}  // namespace kdnas
