#!/usr/bin/env bash
# Crash test: kill -9 the controller in the middle of a synthetic search,
# restart it on the same data directory, finish the job, and check that no
# acknowledged result was lost and no trial was counted twice.
# With STORE=postgres, the store is a real PostgreSQL server started here and
# two controllers share it on one address: the leader is killed and the
# standby takes over (a new standby is started each time); the time from the
# kill to the new leader serving is printed as the failover time.
# Usage: [STORE=postgres] controller_crash_test.sh KDNAS_CONTROLLER KDNAS_WORKER KDNAS_CLI [KILLS]
set -euo pipefail
CONTROLLER="$1"; WORKER="$2"; CLI="$3"; KILLS="${4:-2}"; STORE="${STORE:-sqlite}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -n "${CTL:-}" ] && kill -9 "$CTL" 2>/dev/null || true
  [ -n "${STANDBY:-}" ] && kill -9 "$STANDBY" 2>/dev/null || true
  [ -n "${PG_CTL:-}" ] && $AS "$PG_CTL" -D "$DIR/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
PORT=$(( 20000 + RANDOM % 20000 ))
export KDNAS_ADDR="127.0.0.1:$PORT"

STORE_FLAGS=()
if [ "$STORE" = postgres ]; then
  # A PostgreSQL cluster of our own, run as the postgres user when we are root.
  BIN=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
  PG_CTL="$BIN/pg_ctl"; AS=""
  mkdir -p "$DIR/pg"
  if [ "$(id -u)" = 0 ]; then chown postgres "$DIR" "$DIR/pg"; AS="runuser -u postgres --"; fi
  $AS "$BIN/initdb" -D "$DIR/pg/data" -A trust -U kdnas >"$DIR/initdb.log" 2>&1
  # A random port can be taken by a test running beside this one: try others,
  # and show the server's own reason if none works.
  for attempt in 1 2 3 4 5; do
    PG_PORT=$(( 40000 + RANDOM % 20000 ))
    $AS "$PG_CTL" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w \
      -o "-k $DIR/pg -c listen_addresses=127.0.0.1 -p $PG_PORT" start >/dev/null && break
    if [ "$attempt" = 5 ]; then echo "PostgreSQL did not start:"; cat "$DIR/pg/server.log"; exit 1; fi
  done
  STORE_FLAGS=(--store "postgresql://kdnas@127.0.0.1:$PG_PORT/postgres")
fi

launch_controller() {  # LOG: starts one controller in the background
  "$CONTROLLER" --listen "$KDNAS_ADDR" --data-dir "$DIR/data" "${STORE_FLAGS[@]}" --lease-ttl-ms 3000 \
    --heartbeat-interval-ms 200 --metrics-listen= >>"$1" 2>&1 &
}
start_controller() {
  launch_controller "$DIR/controller.log"
  CTL=$!
  for _ in $(seq 100); do "$CLI" jobs >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "controller did not start"; cat "$DIR/controller.log"; exit 1
}
start_standby() {
  STANDBY_LOG="$DIR/standby-$1.log"
  launch_controller "$STANDBY_LOG"
  STANDBY=$!
  for _ in $(seq 100); do grep -q standby "$STANDBY_LOG" && return 0; sleep 0.05; done
  echo "the second controller is not a standby"; cat "$STANDBY_LOG"; exit 1
}

start_controller
if [ "$STORE" = postgres ]; then start_standby 1; fi
FAILOVER_MS=()
for i in 1 2; do
  "$WORKER" serve --synthetic --synthetic-ms 150 --controller "$KDNAS_ADDR" --cache-dir "$DIR/w$i" \
    --wait-ms 300 --max-idle-polls 20 >"$DIR/w$i.log" 2>&1 &
  PIDS+=($!)
done
"$ROOT/tests/fixtures/tiny_teacher.sh" "$WORKER" "$DIR/teacher.pt"
cat >"$DIR/job.yaml" <<JOB
display_name: crash
data: {text: {path: $ROOT/data/tinyshakespeare.txt}}
teacher: {model: {path: $DIR/teacher.pt}}
space:
  parameters:
    - {name: num_layers, integer_range: {min: 1, max: 4}}
    - {name: d_model, discrete: {values: [32, 64, 96, 128]}}
    - {name: weight_bits, discrete: {values: [16, 8, 4, 3, 2]}}
budget: {max_trials: 30}
seed: 7
JOB
"$CLI" submit "$DIR/job.yaml" --no-upload >/dev/null

# Finished trials: multi-fidelity (on by default) stops some of them early.
done_trials() { "$CLI" status 1 --json | /usr/bin/python3 -c 'import json,sys; p=json.load(sys.stdin).get("progress",{}); print(int(p.get("trials_succeeded",0)) + int(p.get("trials_stopped",0)))'; }
for k in $(seq "$KILLS"); do
  target=$(( k * 30 / (KILLS + 1) ))
  for _ in $(seq 300); do [ "$(done_trials)" -ge "$target" ] && break; sleep 0.05; done
  killed_at=$(date +%s%N)
  kill -9 "$CTL"; wait "$CTL" 2>/dev/null || true
  echo "killed the controller after $(grep -c 'delivered lease' "$DIR"/w*.log | awk -F: '{s+=$2} END {print s}') acknowledged reports"
  if [ "$STORE" = postgres ]; then
    # The standby takes over by itself; a new standby waits behind it.
    for _ in $(seq 400); do grep -q "serving port=" "$STANDBY_LOG" && break; sleep 0.01; done
    grep -q "serving port=" "$STANDBY_LOG" || { echo "the standby did not take over"; cat "$STANDBY_LOG"; exit 1; }
    FAILOVER_MS+=($(( ($(date +%s%N) - killed_at) / 1000000 )))
    echo "the standby leads after ${FAILOVER_MS[-1]} ms"
    CTL=$STANDBY
    start_standby $(( k + 1 ))
  else
    sleep 0.5
    restart_at=$(date +%s%N)  # a supervisor restarting it at once
    start_controller
    FAILOVER_MS+=($(( ($(date +%s%N) - restart_at) / 1000000 )))
    echo "the restarted controller serves after ${FAILOVER_MS[-1]} ms"
  fi
done

for _ in $(seq 600); do
  state=$("$CLI" status 1 --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
  [ "$state" != "JOB_STATE_RUNNING" ] && break
  sleep 0.1
done
for p in "${PIDS[@]}"; do wait "$p" || true; done
PIDS=()

"$CLI" status 1 --json >"$DIR/job.json"
"$CLI" trials 1 --json >"$DIR/trials.json"
cat "$DIR"/w*.log >"$DIR/workers.log"
/usr/bin/python3 - "$DIR/job.json" "$DIR/trials.json" "$DIR/workers.log" <<'PY'
import json, re, sys
job = json.load(open(sys.argv[1]))
trials = json.load(open(sys.argv[2])).get("trials", [])
log = open(sys.argv[3]).read()
progress = job["progress"]
# Multi-fidelity (on by default) stops some trials early: they finish too.
finished_states = ("TRIAL_STATE_SUCCEEDED", "TRIAL_STATE_STOPPED")
succeeded = [t for t in trials if t["state"] == "TRIAL_STATE_SUCCEEDED"]
finished = [t for t in trials if t["state"] in finished_states]
# Trials only: teacher shards are delivered too.
trial_lines = "\n".join(l for l in log.splitlines() if "teacher-shards" not in l)
acked = set(re.findall(r"delivered lease .*?\blease=(\S+) state=TRIAL_STATE_SUCCEEDED", trial_lines))
errors = []
if job["state"] != "JOB_STATE_SUCCEEDED": errors.append(f"job ended {job['state']}")
done = int(progress.get("trials_succeeded", 0)) + int(progress.get("trials_stopped", 0))
if done != 30: errors.append(f"{done} succeeded or stopped, want 30")
if len(finished) != 30: errors.append(f"{len(finished)} SUCCEEDED or STOPPED trials listed, want 30")
if not succeeded: errors.append("no trial succeeded")
# Every acknowledged success is a distinct succeeded trial: none lost.
if len(acked) != len(succeeded): errors.append(f"{len(acked)} acknowledged successes vs {len(succeeded)} succeeded trials")
# Worker-seconds are counted once per trial, stopped and failed ones included.
total = sum(t.get("metrics", {}).get("worker_seconds", 0) for t in trials)
used = progress.get("worker_seconds_used", 0)
if abs(total - used) > 1e-6 * max(1, total): errors.append(f"worker-seconds used {used} != sum over trials {total}")
for t in trials:
    if int(t.get("attempts", 0)) > 3: errors.append(f"{t['name']} ran {t['attempts']} attempts")
keys = [t["candidate_key"] for t in trials if t["state"] != "TRIAL_STATE_REJECTED"]
if len(keys) != len(set(keys)): errors.append("a candidate was trained twice")
print(f"crash test: {len(succeeded)} succeeded, {len(finished) - len(succeeded)} stopped, "
      f"{len(acked)} acknowledged, worker-seconds {used:.3f}")
if errors:
    print("FAILED:\n  " + "\n  ".join(errors)); sys.exit(1)
PY
if [ "$STORE" = postgres ]; then
  # Fail-stop: a leader whose lock session is killed must exit (status 3).
  $AS psql -q -h 127.0.0.1 -p "$PG_PORT" -U kdnas -d postgres -c \
    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = 4202613" \
    >/dev/null
  status=0
  for _ in $(seq 100); do kill -0 "$CTL" 2>/dev/null || break; sleep 0.05; done
  wait "$CTL" || status=$?
  [ "$status" = 3 ] || { echo "the leader did not stop after losing its lock (status $status)"; exit 1; }
  echo "the leader exited after losing its lock"
fi
echo "{\"bench\":\"failover\",\"store\":\"$STORE\",\"kills\":$KILLS,\"failover_ms\":[$(IFS=,; echo "${FAILOVER_MS[*]}")]}"
echo "controller crash test passed ($STORE)"
