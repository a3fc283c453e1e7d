#include "workers/worker_info.h"

#include <torch/torch.h>
#include <unistd.h>

#include <sstream>

#include "evaluator/blas_probe.h"

namespace kdnas {

WorkerInfo DescribeWorker() {
  WorkerInfo info;
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) == 0) info.hostname = host;
  info.threads = torch::get_num_threads();
  info.blas_library = LoadedBlasLibrary();
  info.blas_optimized = BlasIsOptimized();
  info.torch_version = TORCH_VERSION;
  return info;
}

std::string FormatWorkerInfo(const WorkerInfo& info) {
  std::ostringstream out;
  out << "hostname: " << info.hostname << "\n"
      << "torch: " << info.torch_version << "\n"
      << "threads: " << info.threads << "\n"
      << "blas: " << info.blas_library << (info.blas_optimized ? "" : "  (WARNING: not optimized; install libopenblas0-openmp)")
      << "\n";
  return out.str();
}

}  // namespace kdnas
