#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, runs ctest, then the
# sanitizer and fuzzing stage (deploy/sanitize.sh; skip it with
# KDNAS_SKIP_SANITIZE=1). Exits non-zero on any failure. A second run with
# nothing changed rebuilds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
bash deploy/build.sh
status=0
(cd "${KDNAS_BUILD_DIR:-build}" && ctest --output-on-failure --parallel "$(nproc)" "$@") || status=$?
if [ "${KDNAS_SKIP_SANITIZE:-0}" != 1 ]; then
  bash deploy/sanitize.sh || status=$?
fi
exit "$status"
