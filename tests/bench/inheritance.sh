#!/usr/bin/env bash
# Teacher-weight inheritance: loss of the same students from scratch and inherited, at equal steps.
set -euo pipefail
cd "$(dirname "$0")/../.."
B="${KDNAS_BUILD_DIR:-build}"
TEACHER="kdnas-data/teacher/teacher.pt"
if [ ! -f "$TEACHER" ]; then
  mkdir -p "$(dirname "$TEACHER")"
  "$B/workers/kdnas-worker" train-teacher --data data/tinyshakespeare.txt --out "$TEACHER" --quiet
fi
exec /usr/bin/python3 tests/bench/inheritance.py "$B" "$PWD/$TEACHER" "$@"
