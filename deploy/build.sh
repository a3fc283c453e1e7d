#!/usr/bin/env bash
# Configures (once) and builds kdnas into ${KDNAS_BUILD_DIR:-build}.
#   bash deploy/build.sh                 # everything, tests and benchmarks included
#   bash deploy/build.sh TARGET...       # only these targets (e.g. kdnas-controller kdnas-worker kdnas)
# Extra CMake options for the first configure go in KDNAS_CMAKE_ARGS, e.g.
# KDNAS_CMAKE_ARGS=-DKDNAS_WORKER=OFF for the controller and CLI without LibTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${KDNAS_BUILD_DIR:-build}"
# Paths relative to the source tree in the compiler cache: clones, and build
# trees at the same depth (build/, build-controller-only/), share its entries.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
GENERATOR=()
if command -v ninja >/dev/null 2>&1; then GENERATOR=(-G Ninja); fi
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  # shellcheck disable=SC2086  # KDNAS_CMAKE_ARGS holds several words
  cmake -S . -B "$BUILD_DIR" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release ${KDNAS_CMAKE_ARGS:-}
fi
TARGETS=()
for t in "$@"; do TARGETS+=(--target "$t"); done
cmake --build "$BUILD_DIR" --parallel "$(nproc)" "${TARGETS[@]}"
