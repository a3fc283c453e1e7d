#!/usr/bin/env bash
# Configures (once) and builds kdnas into ${KDNAS_BUILD_DIR:-build}.
#   bash deploy/build.sh                 # everything, tests and benchmarks included
#   bash deploy/build.sh TARGET...       # only these targets (e.g. kdnas-controller kdnas-worker kdnas)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${KDNAS_BUILD_DIR:-build}"
GENERATOR=()
if command -v ninja >/dev/null 2>&1; then GENERATOR=(-G Ninja); fi
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release
fi
TARGETS=()
for t in "$@"; do TARGETS+=(--target "$t"); done
cmake --build "$BUILD_DIR" --parallel "$(nproc)" "${TARGETS[@]}"
