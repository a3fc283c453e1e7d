#!/usr/bin/env bash
# Controller throughput: durable lease+report cycles/s against the ceiling and Optuna 3.1.
# Usage: deploy/bench.sh controller_throughput [--trials N] [--workers K]
set -euo pipefail
cd "$(dirname "$0")/../.."
TRIALS=100000
WORKERS=128
while [ $# -gt 0 ]; do
  case "$1" in
    --trials) TRIALS="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
B="${KDNAS_BUILD_DIR:-build}"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "kdnas-controller: $TRIALS durable lease+report cycles, $WORKERS workers on 4 channels..." >&2
"$B/tests/bench/controller_throughput_bench" kdnas --controller-bin "$B/server/kdnas-controller" \
  --trials "$TRIALS" --heartbeats "$TRIALS" --workers "$WORKERS" 2>/dev/null >"$OUT/kdnas.json"
echo "ceiling: a minimal callback server appending reports to SQLite with group commit..." >&2
"$B/tests/bench/controller_throughput_bench" ceiling --trials "$TRIALS" --workers "$WORKERS" >"$OUT/ceiling.json"
echo "Optuna $(/usr/bin/python3 -c 'import optuna; print(optuna.__version__)') ask/tell (NSGA-II), SQLite and in memory..." >&2
/usr/bin/python3 tests/bench/controller_throughput_optuna.py >"$OUT/optuna.json"
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys, os
d = sys.argv[1]
k = json.load(open(os.path.join(d, "kdnas.json")))
c = json.load(open(os.path.join(d, "ceiling.json")))
o = {r["system"]: r for r in map(json.loads, open(os.path.join(d, "optuna.json")))}
osql, omem = o["optuna-sqlite"]["trials_per_s"], o["optuna-memory"]["trials_per_s"]
print(f"{'system':34} {'cycles/s':>10} {'lease p50/p99 us':>18} {'report p50/p99 us':>18}")
print(f"{'kdnas (nsga2, SQLite, durable)':34} {k['cycles_per_s']:>10.0f} {k['lease_p50_us']:>8.0f}/{k['lease_p99_us']:<9.0f} {k['report_p50_us']:>8.0f}/{k['report_p99_us']:<9.0f}")
print(f"{'ceiling (SQLite group commit only)':34} {c['cycles_per_s']:>10.0f} {c['lease_p50_us']:>8.0f}/{c['lease_p99_us']:<9.0f} {c['report_p50_us']:>8.0f}/{c['report_p99_us']:<9.0f}")
print(f"{'optuna ask/tell, SQLite':34} {osql:>10.1f}")
print(f"{'optuna ask/tell, in memory':34} {omem:>10.1f}")
print(f"\nheartbeats: {k['heartbeats_per_s']:.0f}/s (p50 {k['heartbeat_p50_us']:.0f} us, p99 {k['heartbeat_p99_us']:.0f} us)")
print(f"controller RSS: {k['rss_warm_mb']:.1f} MB after warm-up, {k['rss_after_mb']:.1f} MB after {k['trials']} more trials")
print(f"ratios: {k['cycles_per_s']/osql:.0f}x Optuna SQLite, {k['cycles_per_s']/omem:.1f}x Optuna in memory, "
      f"{k['cycles_per_s']/c['cycles_per_s']:.2f} of the ceiling")
print(json.dumps({"bench": "controller_throughput", "kdnas_cycles_per_s": k["cycles_per_s"],
                  "heartbeats_per_s": k["heartbeats_per_s"], "lease_p99_us": k["lease_p99_us"],
                  "report_p99_us": k["report_p99_us"], "rss_warm_mb": k["rss_warm_mb"], "rss_after_mb": k["rss_after_mb"],
                  "trials": k["trials"], "ceiling_cycles_per_s": c["cycles_per_s"],
                  "peer": "optuna-3.1-nsga2", "peer_sqlite_per_s": osql, "peer_memory_per_s": omem,
                  "ratio_vs_optuna_sqlite": round(k["cycles_per_s"]/osql, 1),
                  "ratio_vs_optuna_memory": round(k["cycles_per_s"]/omem, 2),
                  "fraction_of_ceiling": round(k["cycles_per_s"]/c["cycles_per_s"], 3)}, separators=(",", ":")))
PY
