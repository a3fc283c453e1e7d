#!/usr/bin/env bash
# Runs one benchmark: deploy/bench.sh NAME [args...]. Benchmarks live in
# tests/bench/NAME.sh; each prints a table and, as its last line, one JSON
# object with its figures and its peer's. deploy/bench.sh --list lists them.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ] || [ "$1" = "--help" ] || [ "$1" = "--list" ]; then
  echo "usage: deploy/bench.sh NAME [args...]"
  echo "benchmarks:"
  for f in tests/bench/*.sh; do
    [ -e "$f" ] || continue
    echo "  $(basename "$f" .sh)  $(sed -n 2p "$f" | sed 's/^# *//')"
  done
  [ $# -lt 1 ] && exit 2 || exit 0
fi
NAME="$1"
shift
SCRIPT="tests/bench/$NAME.sh"
if [ ! -f "$SCRIPT" ]; then
  echo "deploy/bench.sh: no benchmark named '$NAME' (deploy/bench.sh --list)" >&2
  exit 2
fi
bash deploy/install-deps.sh >&2
bash deploy/build.sh >&2
export KDNAS_BUILD_DIR="${KDNAS_BUILD_DIR:-build}"
exec bash "$SCRIPT" "$@"
