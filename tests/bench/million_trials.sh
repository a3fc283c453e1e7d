#!/usr/bin/env bash
# One job of a million trials: search-loop cost per trial at 10k, 100k and 1M trials.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec "${KDNAS_BUILD_DIR:-build}/tests/bench/million_trials_bench" "$@"
