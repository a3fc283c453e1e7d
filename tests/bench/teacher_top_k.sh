#!/usr/bin/env bash
# Top-k teacher outputs: the quality cost of keeping k = 16..128 log-probabilities per token against full ones.
set -euo pipefail
cd "$(dirname "$0")/../.."
B="${KDNAS_BUILD_DIR:-build}"
# A byte-level teacher (vocabulary 256): the largest vocabulary kdnas trains a teacher on here.
TEACHER="kdnas-data/teacher/teacher-byte.pt"
mkdir -p "$(dirname "$TEACHER")"
if [ ! -f "$TEACHER" ]; then
  "$B/workers/kdnas-worker" train-teacher --data data/tinyshakespeare.txt --tokenizer byte \
    --out "$TEACHER" --quiet
fi
exec /usr/bin/python3 tests/bench/teacher_top_k.py "$B" "$PWD/$TEACHER" "$@"
