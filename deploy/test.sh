#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, runs ctest.
# Exits non-zero on any failure. A second run with nothing changed rebuilds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
bash deploy/build.sh
cd "${KDNAS_BUILD_DIR:-build}"
ctest --output-on-failure --parallel "$(nproc)" "$@"
