#include "evaluator/blas_probe.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

namespace kdnas {

std::string LoadedBlasLibrary() {
  // Force LibTorch to load its BLAS before looking.
  (void)torch::mm(torch::ones({2, 2}), torch::ones({2, 2}));
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::string found = "unknown";
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.find("libblas") != std::string::npos || path.find("openblas") != std::string::npos ||
        path.find("libmkl") != std::string::npos || path.find("blis") != std::string::npos) {
      found = path;
      if (path.find("openblas") != std::string::npos) break;
    }
  }
  return found;
}

bool BlasIsOptimized() {
  std::string lib = LoadedBlasLibrary();
  return lib.find("openblas") != std::string::npos || lib.find("mkl") != std::string::npos ||
         lib.find("blis") != std::string::npos;
}

double MeasureMatmulGflops(int n, int repeats) {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({n, n});
  auto b = torch::randn({n, n});
  auto c = torch::mm(a, b);  // warm-up
  double best_seconds = 1e30;
  for (int i = 0; i < std::max(1, repeats); ++i) {
    auto start = std::chrono::steady_clock::now();
    c = torch::mm(a, b);
    auto end = std::chrono::steady_clock::now();
    best_seconds = std::min(best_seconds, std::chrono::duration<double>(end - start).count());
  }
  return 2.0 * n * n * static_cast<double>(n) / best_seconds / 1e9;
}

}  // namespace kdnas
