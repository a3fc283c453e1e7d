#!/usr/bin/env bash
# A teacher of SmolLM2-135M's shape: kdnas distillation with one shared teacher pass against PyTorch KD loops, cache bytes, and a two-worker search with and without the shared pass.
# Usage: deploy/bench.sh hf_teacher [--steps N] [--batch N] [--context N] [--layers 2,3,4]
#          [--threads N] [--chunk N] [--search-steps N] [--search-trials N] [--skip-search]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
STEPS=20 BATCH=8 CONTEXT=128 LAYERS=2,3,4 THREADS=2 CHUNK=5
SEARCH_STEPS=16 SEARCH_TRIALS=2 SKIP_SEARCH=0
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) STEPS="$2"; shift 2 ;;
    --batch) BATCH="$2"; shift 2 ;;
    --context) CONTEXT="$2"; shift 2 ;;
    --layers) LAYERS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --chunk) CHUNK="$2"; shift 2 ;;
    --search-steps) SEARCH_STEPS="$2"; shift 2 ;;
    --search-trials) SEARCH_TRIALS="$2"; shift 2 ;;
    --skip-search) SKIP_SEARCH=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
B="${KDNAS_BUILD_DIR:-build}"
B="$(cd "$B" && pwd)"
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
OUT=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$OUT"
}
trap cleanup EXIT

# Random weights in SmolLM2-135M's shape (30 layers, d_model 576, 9 heads, 3 KV
# heads, FFN 1536, vocabulary 49,152, tied embeddings; BF16, 269 MB) with a
# byte-level BPE tokenizer trained on the corpus; cached.
TEACHER="$ROOT/kdnas-data/hf-teacher-smollm2-135m"
if [ ! -f "$TEACHER/model.safetensors" ]; then
  echo "writing the teacher checkpoint into $TEACHER..." >&2
  rm -rf "$TEACHER"
  /usr/bin/python3 tests/fixtures/make_hf_teacher.py llama "$TEACHER" BF16 --variant smollm2-135m
fi

echo "students of $LAYERS layers at d_model 576: $STEPS steps of $BATCH windows of $CONTEXT tokens," \
  "$THREADS threads; kdnas (teacher pass once) and two PyTorch $(/usr/bin/python3 -c \
  'import torch; print(torch.__version__)') loops alternate every $CHUNK steps..." >&2
OMP_NUM_THREADS="$THREADS" "$B/tests/bench/hf_teacher_bench" --teacher-dir "$TEACHER" --out "$OUT" \
  --steps "$STEPS" --batch "$BATCH" --context "$CONTEXT" --layers "$LAYERS" --threads "$THREADS" \
  --chunk "$CHUNK" >"$OUT/bench.json"

# A small search with two workers (one thread each), once with the shared
# teacher pass and once with each worker computing the teacher's outputs
# itself (teacher_pass.per_worker); a fresh controller and workers each time.
search() {  # search MODE: writes the seconds from submission to the end of the job to $OUT/search-MODE/seconds
  local mode="$1" dir="$OUT/search-$1" port=$(( 20000 + RANDOM % 20000 ))
  mkdir -p "$dir"
  "$B/server/kdnas-controller" --listen "127.0.0.1:$port" --data-dir "$dir/controller" \
    --metrics-listen= >"$dir/controller.log" 2>&1 &
  PIDS+=($!)
  export KDNAS_ADDR="127.0.0.1:$port"
  for i in 1 2; do
    OMP_NUM_THREADS=1 "$B/workers/kdnas-worker" serve --controller "$KDNAS_ADDR" --threads 1 \
      --cache-dir "$dir/worker-$i" --measure-latency=false >"$dir/worker-$i.log" 2>&1 &
    PIDS+=($!)
  done
  for _ in $(seq 100); do "$B/server/cli/kdnas" jobs >/dev/null 2>&1 && break; sleep 0.1; done
  local per_worker=false
  [ "$mode" = per-worker ] && per_worker=true
  cat >"$dir/job.yaml" <<JOB
display_name: hf-teacher-bench-$mode
data: {text: {path: $ROOT/data/tinyshakespeare.txt}, window_length: $CONTEXT}
teacher: {hf: {path: $TEACHER}}
space:
  base:
    architecture: {num_layers: 2, d_model: 576, num_heads: 9, num_kv_heads: 3, d_ff: 1536, context_length: $CONTEXT}
    compression: {weight_bits: 8, group_size: 32, embedding_bits: 8}
    distillation: {temperature: 2.0, alpha: 0.5, init: scratch}
  parameters:
    - {name: num_layers, discrete: {values: [1, 2]}}
    - {name: weight_bits, discrete: {values: [8, 4]}}
teacher_pass: {per_worker: $per_worker}
budget: {max_trials: $SEARCH_TRIALS, train_steps: $SEARCH_STEPS, batch_size: 4, eval_tokens: 1024}
seed: 1
JOB
  local start job
  job=$(cd "$dir" && "$B/server/cli/kdnas" submit job.yaml --json |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')
  start=$(date +%s.%N)
  "$B/server/cli/kdnas" watch "$job" >"$dir/watch.log" 2>&1 || true
  local end
  end=$(date +%s.%N)
  "$B/server/cli/kdnas" status "$job" --json >"$dir/status.json"
  grep -q "SUCCEEDED" "$dir/watch.log" || { cat "$dir/watch.log" "$dir"/worker-*.log >&2; exit 1; }
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  /usr/bin/python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$start" "$end" \
    >"$dir/seconds"
}
SHARED_SECONDS=-1 PER_WORKER_SECONDS=-1
if [ "$SKIP_SEARCH" = 0 ]; then
  echo "a search of $SEARCH_TRIALS trials x $SEARCH_STEPS steps on two workers, shared teacher pass..." >&2
  search shared
  SHARED_SECONDS=$(cat "$OUT/search-shared/seconds")
  echo "... and with each worker computing the teacher's outputs itself (per_worker)..." >&2
  search per-worker
  PER_WORKER_SECONDS=$(cat "$OUT/search-per-worker/seconds")
fi
/usr/bin/python3 tests/bench/hf_teacher_report.py "$OUT" "$LOAD_START" "$SHARED_SECONDS" "$PER_WORKER_SECONDS"
