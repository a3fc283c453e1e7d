#include "evaluator/blas_probe.h"

#include <gtest/gtest.h>

namespace kdnas {
namespace {

TEST(BlasProbe, FindsTheLoadedBlas) {
  std::string lib = LoadedBlasLibrary();
  EXPECT_NE(lib, "unknown");
  // deploy/install-deps.sh installs OpenBLAS; the reference BLAS is 36x slower.
  EXPECT_TRUE(BlasIsOptimized()) << "loaded BLAS: " << lib;
}

TEST(BlasProbe, MeasuresAPlausibleMatmulRate) {
  double gflops = MeasureMatmulGflops(256, 3);
  EXPECT_GT(gflops, 0.1);
  EXPECT_LT(gflops, 1e5);
}

}  // namespace
}  // namespace kdnas
