#!/usr/bin/env bash
# The CLI's bad-input paths: each is one clear line on stderr and a non-zero exit.
# Usage: cli_errors_test.sh KDNAS_CLI
set -uo pipefail
CLI="$1"
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
fail=0
expect() {  # expect NAME EXPECTED_TEXT COMMAND...
  local name="$1" text="$2"; shift 2
  "$@" >"$DIR/out" 2>"$DIR/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$DIR/err")
  if [ "$rc" -eq 0 ] || ! grep -qF "$text" "$DIR/err" || [ "$lines" -ne 1 ]; then
    echo "FAIL $name (exit $rc, $lines lines): $(cat "$DIR/err")"
    fail=1
  else
    echo "ok   $name: $(cat "$DIR/err")"
  fi
}
printf 'display_name: x\nbudget:\n  max_trails: 3\n' >"$DIR/unknown.yaml"
expect "unknown field" "budget.max_trails (line 3): unknown field 'max_trails' of Budget" \
  "$CLI" submit "$DIR/unknown.yaml" --addr 127.0.0.1:1
expect "malformed size" "unknown unit 'kq'" "$CLI" best 1 --max-size "40 KQ" --addr 127.0.0.1:1
expect "unreachable controller" "cannot reach the controller at 127.0.0.1:1" \
  "$CLI" status 1 --addr 127.0.0.1:1 --timeout-ms 1000
expect "missing job file" "cannot open file" "$CLI" submit "$DIR/none.yaml"
expect "unknown flag" "unknown flag --frobnicate" "$CLI" jobs --frobnicate
expect "unknown command" "unknown command 'frobnicate'" "$CLI" frobnicate
exit $fail
