#!/usr/bin/env bash
# Failover: two controllers on one PostgreSQL store (a real server started by
# the run) behind one address, synthetic workers, the leader killed with
# kill -9 KILLS times: the time from each kill until the standby serves.
# The peer, in the same run: one controller on SQLite restarted by a
# supervisor right after each kill (time from the restart until it serves).
# Both runs check that no acknowledged result is lost or counted twice.
# Usage: deploy/bench.sh failover [KILLS]
set -euo pipefail
cd "$(dirname "$0")/../.."
B="${KDNAS_BUILD_DIR:-build}"
KILLS="${1:-5}"
run() {
  STORE="$1" bash tests/server/controller_crash_test.sh "$B/server/kdnas-controller" "$B/workers/kdnas-worker" \
    "$B/server/cli/kdnas" "$KILLS" | tee /dev/stderr | grep '^{"bench":"failover"'
}
PG=$(run postgres)
SQ=$(run sqlite)
/usr/bin/python3 - "$PG" "$SQ" <<'PY'
import json, statistics, sys
pg, sq = json.loads(sys.argv[1]), json.loads(sys.argv[2])
m_pg, m_sq = statistics.median(pg["failover_ms"]), statistics.median(sq["failover_ms"])
print(f"{'':38}{'median ms':>10}{'max ms':>8}")
print(f"{'standby takes over (PostgreSQL)':38}{m_pg:>10.0f}{max(pg['failover_ms']):>8}")
print(f"{'supervisor restart (SQLite, peer)':38}{m_sq:>10.0f}{max(sq['failover_ms']):>8}")
print(json.dumps({"bench": "failover", "kills": pg["kills"], "postgres_standby_ms": pg["failover_ms"],
                  "median_ms": m_pg, "peer": "sqlite-restart", "peer_ms": sq["failover_ms"], "peer_median_ms": m_sq},
                 separators=(",", ":")))
PY
