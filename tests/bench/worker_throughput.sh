#!/usr/bin/env bash
# Worker throughput: kdnas distillation (shared teacher-output cache) vs a PyTorch 1.13 eager KD loop.
# Usage: deploy/bench.sh worker_throughput [--steps N] [--threads N] [--teacher-steps N] [--chunk N]
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=300
THREADS=2
TEACHER_STEPS=600
CHUNK=10
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) STEPS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --teacher-steps) TEACHER_STEPS="$2"; shift 2 ;;
    --chunk) CHUNK="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
BUILD="${KDNAS_BUILD_DIR:-build}"
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "training the teacher (4 layers, d_model 128, $TEACHER_STEPS steps)..." >&2
"$BUILD/workers/kdnas-worker" train-teacher --out "$OUT/teacher.pt" --steps "$TEACHER_STEPS" \
  --threads "$THREADS" --quiet >&2
echo "6 students x $STEPS steps (batch 12, context 64, $THREADS threads): kdnas and the PyTorch" \
  "$(/usr/bin/python3 -c 'import torch; print(torch.__version__)') eager loop alternate every $CHUNK steps..." >&2
"$BUILD/tests/bench/worker_throughput_bench" --teacher "$OUT/teacher.pt" --out "$OUT" --steps "$STEPS" \
  --threads "$THREADS" --chunk "$CHUNK" --peer tests/bench/worker_throughput_torch.py >"$OUT/bench.json"
/usr/bin/python3 tests/bench/worker_throughput_report.py "$OUT/bench.json" "$LOAD_START"
