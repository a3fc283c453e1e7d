#!/usr/bin/env bash
# Builds llama.cpp's own command-line tools that the prebuilt libraries of
# deploy/npm do not give (llama-quantize, llama-imatrix), from the llama.cpp
# source of the same release (deploy/npm/llama.cpp, checked out by
# deploy/install-deps.sh), once: CPU only, static, with ccache. Prints the
# directory holding them.
#   bash deploy/llama_tools.sh            # llama-quantize llama-imatrix
#   bash deploy/llama_tools.sh TARGET...  # other llama.cpp targets
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="deploy/npm/llama.cpp"
BUILD="$SRC/build-kdnas-tools"
if [ ! -f "$SRC/CMakeLists.txt" ]; then
  echo "llama_tools: no llama.cpp source in $SRC (run bash deploy/install-deps.sh)" >&2
  exit 1
fi
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(llama-quantize llama-imatrix)
LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DGGML_NATIVE=ON -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF "${LAUNCHER[@]}" >&2
fi
ARGS=()
for t in "${TARGETS[@]}"; do ARGS+=(--target "$t"); done
cmake --build "$BUILD" --parallel "$(nproc)" "${ARGS[@]}" >&2
echo "$PWD/$BUILD/bin"
