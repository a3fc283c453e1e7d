// What the linear-algebra kernels of this process can do: which BLAS library
// is loaded and the matmul peak it reaches. Benchmarks print both, because
// without OpenBLAS Debian's LibTorch falls back to the reference BLAS and runs
// about 36x slower.
#pragma once

#include <string>

namespace kdnas {

// The shared library that provides BLAS in this process, from /proc/self/maps
// (e.g. ".../openblas-openmp/libblas.so.3"), or "unknown".
std::string LoadedBlasLibrary();

// True if the loaded BLAS is an optimized one (OpenBLAS, MKL, BLIS).
bool BlasIsOptimized();

// Best fp32 GFLOP/s of an n x n by n x n matmul over `repeats` timed runs,
// with the current number of intra-op threads.
double MeasureMatmulGflops(int n = 512, int repeats = 5);

}  // namespace kdnas
