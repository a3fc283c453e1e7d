#!/usr/bin/env bash
# Teacher-weight inheritance: loss of the same students from scratch and inherited, at equal steps.
set -euo pipefail
cd "$(dirname "$0")/../.."
B="${KDNAS_BUILD_DIR:-build}"
TEACHER="kdnas-data/teacher/teacher.pt"
LLAMA_TEACHER="kdnas-data/teacher/teacher-llama.pt"
mkdir -p "$(dirname "$TEACHER")"
if [ ! -f "$TEACHER" ]; then
  "$B/workers/kdnas-worker" train-teacher --data data/tinyshakespeare.txt --out "$TEACHER" --quiet
fi
if [ ! -f "$LLAMA_TEACHER" ]; then  # the same shape with Llama blocks and 2 KV heads
  "$B/workers/kdnas-worker" train-teacher --data data/tinyshakespeare.txt --out "$LLAMA_TEACHER" \
    --family llama --kv-heads 2 --quiet
fi
exec /usr/bin/python3 tests/bench/inheritance.py "$B" "$PWD/$TEACHER" "$PWD/$LLAMA_TEACHER" "$@"
