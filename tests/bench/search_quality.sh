#!/usr/bin/env bash
# Search quality: our strategies vs Optuna 3.1 on ZDT1/2/3 and DTLZ2 (hypervolume, overhead).
# Usage: deploy/bench.sh search_quality [--seeds N] [--evals N]
set -euo pipefail
cd "$(dirname "$0")/../.."
SEEDS=10
EVALS=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) SEEDS="$2"; shift 2 ;;
    --evals) EVALS="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
BENCH="${KDNAS_BUILD_DIR:-build}/tests/bench/search_quality_bench"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "running kdnas strategies ($SEEDS seeds x $EVALS evaluations)..." >&2
"$BENCH" run --seeds "$SEEDS" --evals "$EVALS" --population 24 --budgets "300,$EVALS" >"$OUT/kdnas.jsonl"
echo "running Optuna $(/usr/bin/python3 -c 'import optuna; print(optuna.__version__)') samplers..." >&2
/usr/bin/python3 tests/bench/search_quality_optuna.py --seeds "$SEEDS" --evals "$EVALS" |
  "$BENCH" score --budgets "300,$EVALS" >"$OUT/optuna.jsonl"
/usr/bin/python3 tests/bench/search_quality_report.py "$OUT/kdnas.jsonl" "$OUT/optuna.jsonl"
