#!/usr/bin/env bash
# The kdnas quickstart: installs, builds, trains the demo teacher (cached in
# ./kdnas-data/teacher), starts a controller and two workers on localhost,
# runs the demo search (examples/demo.yaml), shows its progress and frontier,
# compares it with the teacher rounded to the same llama.cpp types, pulls the
# best student under a size budget as TorchScript and as a GGUF file, samples
# from it in PyTorch and in llama.cpp, measures it against the teacher's F16
# GGUF with llama.cpp, and shuts everything down.
#
#   bash deploy/quickstart.sh [--max-trials N] [--train-steps N] [--max-size 400KB] [--port 50051]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

MAX_TRIALS=""
TRAIN_STEPS=""
MAX_SIZE="400KB"
PORT=50051
while [ $# -gt 0 ]; do
  case "$1" in
    --max-trials) MAX_TRIALS="$2"; shift 2 ;;
    --train-steps) TRAIN_STEPS="$2"; shift 2 ;;
    --max-size) MAX_SIZE="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "quickstart: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
START=$(date +%s)

step "Installing dependencies and building"
bash deploy/install-deps.sh
bash deploy/build.sh kdnas-controller kdnas-worker kdnas >/dev/null
BIN="$ROOT/build"
KDNAS="$BIN/server/cli/kdnas"
WORKER="$BIN/workers/kdnas-worker"
CONTROLLER="$BIN/server/kdnas-controller"
DATA="$ROOT/kdnas-data"
mkdir -p "$DATA/teacher" "$DATA/logs"

if [ ! -f "$DATA/teacher/teacher.pt" ]; then
  step "Training the demo teacher (4 layers, d_model 128; cached for next time)"
  "$WORKER" train-teacher --data data/tinyshakespeare.txt --out "$DATA/teacher/teacher.pt"
else
  step "Using the cached teacher $DATA/teacher/teacher.pt"
fi

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

step "Starting the controller on 127.0.0.1:$PORT (data in $DATA/controller) and two workers"
"$CONTROLLER" --listen "127.0.0.1:$PORT" --data-dir "$DATA/controller" \
  >"$DATA/logs/controller.log" 2>&1 &
PIDS+=($!)
export KDNAS_ADDR="127.0.0.1:$PORT"
# One LibTorch thread per worker: two workers share the two cores without
# oversubscribing OpenMP (which slows training by an order of magnitude).
for i in 1 2; do
  OMP_NUM_THREADS=1 "$WORKER" serve --controller "$KDNAS_ADDR" --threads 1 --cache-dir "$DATA/worker-$i" \
    >"$DATA/logs/worker-$i.log" 2>&1 &
  PIDS+=($!)
done
for _ in $(seq 100); do "$KDNAS" jobs >/dev/null 2>&1 && break; sleep 0.1; done

step "Submitting examples/demo.yaml"
JOB_FILE="examples/demo.yaml"
if [ -n "$MAX_TRIALS$TRAIN_STEPS" ]; then
  JOB_FILE="$DATA/demo.yaml"
  sed \
      ${MAX_TRIALS:+-e "s/max_trials: .*/max_trials: $MAX_TRIALS/"} \
      ${TRAIN_STEPS:+-e "s/train_steps: .*/train_steps: $TRAIN_STEPS/"} examples/demo.yaml >"$JOB_FILE"
fi
JOB=$("$KDNAS" submit "$JOB_FILE" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')
echo "job: $JOB"

step "Watching $JOB"
"$KDNAS" watch "$JOB"

step "Frontier"
"$KDNAS" frontier "$JOB" --plot "$DATA/frontier.png"

step "The frontier against the teacher itself in each of the space's types (no training), measured by llama.cpp"
"$KDNAS" frontier "$JOB" --json >"$DATA/frontier.json"
/usr/bin/python3 deploy/compare_teacher_types.py "$WORKER" "$DATA/teacher/teacher.pt" data/tinyshakespeare.txt \
  "$DATA/frontier.json" "$DATA/teacher" q8_0 q5_0 q4_1 q4_0 q3_k q2_k || true

step "Best student under $MAX_SIZE"
"$KDNAS" best "$JOB" --max-size "$MAX_SIZE" --out "$DATA/student.pt" --gguf-out "$DATA/student.gguf"

step "Loading the student in PyTorch and sampling from it"
/usr/bin/python3 deploy/load_student.py "$DATA/student.pt"

step "Running the student's GGUF in llama.cpp, against the teacher's F16 GGUF measured the same way"
"$WORKER" llama --gguf "$DATA/student.gguf" --data data/tinyshakespeare.txt --eval-tokens 16384 \
  --prompt "ROMEO:" --tokens 120 --speed-tokens 32 --threads 1 >"$DATA/llama-student.txt"
"$WORKER" llama --gguf "$DATA/teacher/teacher-f16.gguf" --data data/tinyshakespeare.txt --eval-tokens 16384 \
  --speed-tokens 32 --threads 1 >"$DATA/llama-teacher.txt"
/usr/bin/python3 deploy/llama_vs_teacher.py "$DATA/llama-student.txt" "$DATA/student.gguf" \
  "$DATA/llama-teacher.txt" "$DATA/teacher/teacher-f16.gguf"

step "Done in $(( $(date +%s) - START )) s"
echo "frontier plot: $DATA/frontier.png   student: $DATA/student.pt (GGUF: $DATA/student.gguf)   logs: $DATA/logs/"
