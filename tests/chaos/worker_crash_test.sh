#!/usr/bin/env bash
# Worker crashes: kill -9 workers at random during a synthetic search (their
# expired leases bring the trials back), and a worker that finishes a trial
# while the controller is down keeps it in its spool and reports it after
# both restart. No result may be lost or counted twice.
# Usage: worker_crash_test.sh KDNAS_CONTROLLER KDNAS_WORKER KDNAS_CLI
set -euo pipefail
CONTROLLER="$1"; WORKER="$2"; CLI="$3"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR=$(mktemp -d)
declare -A WORKERS=()
CTL=""
cleanup() {
  for p in "${!WORKERS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -n "$CTL" ] && kill -9 "$CTL" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
export KDNAS_ADDR="127.0.0.1:$(( 20000 + RANDOM % 20000 ))"
start_controller() {
  "$CONTROLLER" --listen "$KDNAS_ADDR" --data-dir "$DIR/data" --lease-ttl-ms 2000 --heartbeat-interval-ms 200 \
    --metrics-listen= >>"$DIR/controller.log" 2>&1 &
  CTL=$!
  for _ in $(seq 100); do "$CLI" jobs >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "controller did not start"; exit 1
}
start_worker() {  # start_worker CACHE_DIR
  "$WORKER" serve --synthetic --synthetic-ms 600 --cache-dir "$1" --wait-ms 300 --max-idle-polls 15 \
    >>"$1.log" 2>&1 &
  WORKERS[$!]="$1"
}
succeeded() { "$CLI" status 1 --json | /usr/bin/python3 -c 'import json,sys; print(int(json.load(sys.stdin)["progress"].get("trials_succeeded",0)))'; }

# Enough trials that the job is still running when the controller is taken
# down below (3 workers finish about 5 a second).
TRIALS=60
start_controller
"$ROOT/tests/fixtures/tiny_teacher.sh" "$WORKER" "$DIR/teacher.pt"
cat >"$DIR/job.yaml" <<JOB
data: {text: {path: $ROOT/data/tinyshakespeare.txt}}
teacher: {model: {path: $DIR/teacher.pt}}
space:
  parameters:
    - {name: num_layers, integer_range: {min: 1, max: 4}}
    - {name: d_model, discrete: {values: [32, 64, 96, 128]}}
    - {name: weight_bits, discrete: {values: [16, 8, 4, 3, 2]}}
budget: {max_trials: $TRIALS, max_attempts: 8}
seed: 11
JOB
"$CLI" submit "$DIR/job.yaml" --no-upload >/dev/null
n=0
for _ in 1 2 3; do n=$((n + 1)); start_worker "$DIR/w$n"; done

# kill -9 a random worker five times, starting a fresh one each time.
for round in 1 2 3 4 5; do
  sleep 1.2
  victims=("${!WORKERS[@]}")
  victim=${victims[$((RANDOM % ${#victims[@]}))]}
  kill -9 "$victim" 2>/dev/null || true
  wait "$victim" 2>/dev/null || true
  unset "WORKERS[$victim]"
  n=$((n + 1)); start_worker "$DIR/w$n"
done
echo "killed five workers at random"

# The spool: take the controller down while a live worker holds a lease, let
# the workers finish into their spools, stop them, restart everything on the
# same dirs. (A killed worker's trial stays RUNNING until its lease expires,
# so only trials leased by the workers still alive count.)
live_leases() {
  "$CLI" trials 1 --json | /usr/bin/python3 -c '
import json, sys
live = set(sys.argv[1:])
print(sum(1 for t in json.load(sys.stdin).get("trials", [])
          if t["state"] == "TRIAL_STATE_RUNNING" and t.get("worker_id", t.get("workerId")) in live))' \
    $(for p in "${!WORKERS[@]}"; do echo "$(hostname)-$p"; done)  # the default worker id
}
for _ in $(seq 100); do [ "$(live_leases)" -gt 0 ] && break; sleep 0.05; done
leased=$(live_leases)
kill -9 "$CTL"; wait "$CTL" 2>/dev/null || true
echo "controller killed while live workers held $leased lease(s)"
[ "$leased" -gt 0 ] || { echo "FAILED: no live worker held a lease when the controller went down"; exit 1; }
sleep 1.5
for p in "${!WORKERS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${!WORKERS[@]}"; do wait "$p" 2>/dev/null || true; done
caches=("${WORKERS[@]}")
# Count only the spools of the workers restarted below: a worker killed with -9
# in the middle of a report leaves its entry in a cache nobody serves again
# (its lease expires and the trial runs again), so it is not a lost result.
spooled=0
for c in "${caches[@]}"; do
  [ -d "$c" ] || continue  # a worker that never held a lease has no cache yet
  spooled=$((spooled + $(find "$c" -path '*/spool/*/report.pb' | wc -l)))
done
echo "controller down: $spooled finished result(s) waiting in the spools of the workers restarted"
WORKERS=()
start_controller
for c in "${caches[@]}"; do start_worker "$c"; done

for _ in $(seq 600); do
  state=$("$CLI" status 1 --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
  [ "$state" != "JOB_STATE_RUNNING" ] && break
  sleep 0.1
done
"$CLI" status 1 --json >"$DIR/job.json"
"$CLI" trials 1 --json >"$DIR/trials.json"
cat "$DIR"/w*.log >"$DIR/workers.log"
/usr/bin/python3 - "$DIR/job.json" "$DIR/trials.json" "$DIR/workers.log" "$spooled" "$TRIALS" "$leased" <<'PY'
import json, re, sys
job = json.load(open(sys.argv[1])); trials = json.load(open(sys.argv[2])).get("trials", [])
log = open(sys.argv[3]).read(); spooled = int(sys.argv[4]); want = int(sys.argv[5])
leased = int(sys.argv[6])
# Finished trials: multi-fidelity (on by default) stops some of them early.
ok = [t for t in trials if t["state"] in ("TRIAL_STATE_SUCCEEDED", "TRIAL_STATE_STOPPED")]
retried = [t for t in trials if int(t.get("attempts", 1)) > 1]
used = job["progress"].get("worker_seconds_used", 0)
total = sum(t.get("metrics", {}).get("worker_seconds", 0) for t in trials)
delivered = sum(int(n) for n in re.findall(r"delivered spooled reports .*?\bcount=(\d+)", log))
errors = []
if job["state"] != "JOB_STATE_SUCCEEDED": errors.append(f"job ended {job['state']}")
if len(ok) != want:
    others = [f"{t['name']} {t['state']} after {t.get('attempts', 1)} attempt(s): {t.get('state_message', '')}"
              for t in trials if t not in ok]
    errors.append(f"{len(ok)} succeeded or stopped of {len(trials)} trials, want {want}; the others: {others}; "
                  f"the job ended: {job.get('state_message', '')}")
if not any(t["state"] == "TRIAL_STATE_SUCCEEDED" for t in trials): errors.append("no trial succeeded")
if not retried: errors.append("no expired lease brought a trial back")
if abs(used - total) > 1e-6 * max(1, total): errors.append(f"worker-seconds {used} != {total}: counted twice")
if any(int(t.get("attempts", 1)) > 8 for t in trials): errors.append("a trial ran past max_attempts")
if spooled == 0: errors.append(f"nothing spooled, though {leased} live worker(s) held a lease when the controller went down")
if delivered < spooled: errors.append(f"{spooled} spooled, {delivered} delivered after the restart")
print(f"worker crash test: {len(ok)} succeeded or stopped, {len(retried)} retried after a worker died, "
      f"{spooled} spooled while the controller was down, {delivered} delivered from spools after the restart")
if errors:
    print("FAILED:\n  " + "\n  ".join(errors))
    print("the workers' spool and report lines:")
    for line in log.splitlines():
        if re.search(r"spool|refused|delivered", line): print("  " + line)
    sys.exit(1)
PY
echo "worker crash test passed"
