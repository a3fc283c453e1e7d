# Sourced by the end-to-end tests: a temporary directory $DIR, the PIDS
# array of background processes they start, which are stopped (and $DIR
# removed) on exit, one LibTorch thread per process, and a controller
# address on a random local port in $KDNAS_ADDR.
DIR=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
export OMP_NUM_THREADS=1
PORT=$(( 20000 + RANDOM % 20000 ))
export KDNAS_ADDR="127.0.0.1:$PORT"
