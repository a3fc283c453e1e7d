#!/usr/bin/env bash
# Load: 256 synthetic workers for 10 minutes against SQLite; p99 per RPC and RSS over time.
set -euo pipefail
cd "$(dirname "$0")/../.."
B="${KDNAS_BUILD_DIR:-build}"
exec "$B/tests/bench/load_bench" --controller-bin "$B/server/kdnas-controller" --workers 256 --seconds 600 "$@"
