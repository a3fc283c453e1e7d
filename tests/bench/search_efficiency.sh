#!/usr/bin/env bash
# Search efficiency on the real task: hypervolume vs worker-seconds, kdnas strategies (+/- multi-fidelity) vs Optuna NSGA-II.
# Usage: deploy/bench.sh search_efficiency [--seeds N] [--budget SECONDS] [--workers N] [--methods a,b]
set -euo pipefail
cd "$(dirname "$0")/../.."
B="${KDNAS_BUILD_DIR:-build}"
TEACHER="kdnas-data/teacher/teacher.pt"
if [ ! -f "$TEACHER" ]; then
  echo "training the demo teacher into $TEACHER..." >&2
  mkdir -p "$(dirname "$TEACHER")"
  "$B/workers/kdnas-worker" train-teacher --data data/tinyshakespeare.txt --out "$TEACHER" --quiet
fi
mkdir -p bench-out
exec /usr/bin/python3 tests/bench/search_efficiency.py "$B" "$PWD/$TEACHER" bench-out "$@"
