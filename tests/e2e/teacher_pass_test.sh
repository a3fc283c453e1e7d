#!/usr/bin/env bash
# The shared teacher pass through real processes: a job's shards are computed
# by LibTorch workers before its trials; a worker killed (kill -9) while it
# computes a shard loses only that shard, which another worker computes again;
# the trials train on the shards and are evaluated against the held-out
# shard; a second job with the same teacher and
# corpus reuses every shard and computes none.
# Usage: teacher_pass_test.sh KDNAS_CONTROLLER KDNAS_WORKER KDNAS_CLI
set -euo pipefail
CONTROLLER="$1"; WORKER="$2"; CLI="$3"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$ROOT/tests/e2e/processes.sh"

# A teacher wide enough that a shard takes seconds (its quality does not matter).
"$WORKER" train-teacher --data "$ROOT/data/tinyshakespeare.txt" --out "$DIR/teacher.pt" --layers 4 \
  --d-model 256 --heads 4 --context 64 --steps 2 --batch 2 --eval-tokens 256 --threads 1 --quiet
"$CONTROLLER" --listen "$KDNAS_ADDR" --data-dir "$DIR/data" --lease-ttl-ms 2000 \
  --heartbeat-interval-ms 200 --metrics-listen= >"$DIR/controller.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do "$CLI" jobs >/dev/null 2>&1 && break; sleep 0.1; done

cat >"$DIR/job.yaml" <<JOB
data: {text: {path: $ROOT/data/tinyshakespeare.txt}}
teacher: {model: {path: $DIR/teacher.pt}}
space:
  base:
    architecture: {num_layers: 1, d_model: 32, num_heads: 2, context_length: 32}
  parameters:
    - {name: weight_bits, discrete: {values: [8, 4]}}
budget: {max_trials: 2, train_steps: 120, batch_size: 8, eval_tokens: 2048}
teacher_pass: {steps_per_shard: 30}
strategy: {multi_fidelity: {enabled: false}}
seed: 3
JOB
"$CLI" submit "$DIR/job.yaml" >/dev/null
"$CLI" status jobs/1 | grep -q "teacher pass: 0 of 5 shards done, 0.0 worker-seconds; trials wait for it" ||
  { "$CLI" status jobs/1; exit 1; }

# The first worker is killed while it computes its first shard.
"$WORKER" serve --threads 1 --cache-dir "$DIR/w1" --wait-ms 500 >"$DIR/w1.log" 2>&1 &
VICTIM=$!
for _ in $(seq 200); do grep -q "running teacher shard" "$DIR/w1.log" && break; sleep 0.05; done
grep -q "running teacher shard" "$DIR/w1.log" || { cat "$DIR/w1.log"; exit 1; }
sleep 0.5
kill -9 "$VICTIM"; wait "$VICTIM" 2>/dev/null || true
if grep -q "delivered lease" "$DIR/w1.log"; then
  echo "the shard finished before the worker was killed: make it longer"; exit 1
fi
for i in 2 3; do
  "$WORKER" serve --threads 1 --cache-dir "$DIR/w$i" --wait-ms 500 >"$DIR/w$i.log" 2>&1 &
  PIDS+=($!)
done
timeout 240 "$CLI" watch jobs/1 >"$DIR/watch1.log" || { cat "$DIR/watch1.log" "$DIR"/w*.log; exit 1; }
grep -q "SUCCEEDED (trial budget reached" "$DIR/watch1.log" || { cat "$DIR/watch1.log"; exit 1; }
grep -q "teacher pass: 5 of 5 shards done" "$DIR/watch1.log" || { cat "$DIR/watch1.log"; exit 1; }

# The killed worker's shard expired and was computed again, by another
# worker; every shard finished exactly once.
grep "teacher shard lease expired" "$DIR/controller.log" | grep -q "job=jobs/1 shard=0" ||
  { cat "$DIR/controller.log"; exit 1; }
grep "teacher shard leased" "$DIR/controller.log" | grep "shard=0 " | grep -q "attempt=2" ||
  { cat "$DIR/controller.log"; exit 1; }
test "$(grep -c "teacher shard finished job=jobs/1" "$DIR/controller.log")" = 5 ||
  { grep "teacher shard" "$DIR/controller.log"; exit 1; }
# The trials read the teacher's outputs from the pass, the held-out windows'
# too: no worker ran the teacher on them.
test "$(cat "$DIR"/w2.log "$DIR"/w3.log | grep -c "teacher outputs from the teacher pass job=jobs/1 shards=5 .*held_out_contexts=1")" = 2 ||
  { cat "$DIR"/w2.log "$DIR"/w3.log; exit 1; }
if grep -q "held-out teacher outputs computed" "$DIR"/w2.log "$DIR"/w3.log; then
  echo "a worker ran the teacher on the held-out windows"; exit 1
fi

# A second job with the same teacher and corpus computes no shard.
"$CLI" submit "$DIR/job.yaml" >/dev/null
"$CLI" status jobs/2 | grep -q "teacher pass: 5 of 5 shards done (5 reused)" || { "$CLI" status jobs/2; exit 1; }
timeout 240 "$CLI" watch jobs/2 >"$DIR/watch2.log" || { cat "$DIR/watch2.log"; exit 1; }
grep -q "SUCCEEDED (trial budget reached" "$DIR/watch2.log" || { cat "$DIR/watch2.log"; exit 1; }
if grep -q "teacher shard leased job=jobs/2" "$DIR/controller.log"; then
  echo "the second job computed shards"; exit 1
fi
test "$(cat "$DIR"/w2.log "$DIR"/w3.log | grep -c "teacher outputs from the teacher pass job=jobs/2 shards=5")" = 2
echo "teacher pass: a killed worker lost one shard, and a second job reused all five"
