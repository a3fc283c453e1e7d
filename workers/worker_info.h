// What this worker process runs on, printed by `kdnas-worker info` and sent to
// the controller so users can see why a worker is slow.
#pragma once

#include <string>

namespace kdnas {

struct WorkerInfo {
  std::string hostname;
  int threads = 0;              // LibTorch intra-op threads
  std::string blas_library;     // loaded BLAS shared library
  bool blas_optimized = false;  // OpenBLAS/MKL/BLIS rather than the reference BLAS
  std::string torch_version;
};

WorkerInfo DescribeWorker();
std::string FormatWorkerInfo(const WorkerInfo& info);

}  // namespace kdnas
