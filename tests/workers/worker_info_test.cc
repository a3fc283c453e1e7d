#include "workers/worker_info.h"

#include <gtest/gtest.h>

namespace kdnas {
namespace {

TEST(WorkerInfo, DescribesThisMachine) {
  WorkerInfo info = DescribeWorker();
  EXPECT_FALSE(info.hostname.empty());
  EXPECT_GE(info.threads, 1);
  EXPECT_EQ(info.torch_version.substr(0, 4), "1.13");
  std::string text = FormatWorkerInfo(info);
  EXPECT_NE(text.find("blas: "), std::string::npos);
}

}  // namespace
}  // namespace kdnas
