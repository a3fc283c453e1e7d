#!/usr/bin/env bash
# The sanitizer and fuzzing stage of the test suite (deploy/test.sh runs it
# after the main suite). Builds every test that does not need LibTorch
# (configured with -DKDNAS_WORKER=OFF: LibTorch is not even searched for) with
# clang-14, AddressSanitizer and UndefinedBehaviorSanitizer into
# ${KDNAS_SANITIZE_BUILD_DIR:-build-san}, runs them (any sanitizer report
# fails the test), then runs each libFuzzer target for
# ${KDNAS_FUZZ_SECONDS:-20} s on a copy of its seed corpus in tests/fuzz/corpus.
#   bash deploy/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${KDNAS_SANITIZE_BUILD_DIR:-build-san}"
FUZZ_SECONDS="${KDNAS_FUZZ_SECONDS:-20}"

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DKDNAS_SANITIZE=ON -DKDNAS_FUZZ=ON -DKDNAS_WORKER=OFF
fi
FUZZERS=(fuzz_job_spec fuzz_store fuzz_safetensors fuzz_bpe_tokenizer fuzz_job_tokenizer)
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target unit_tests "${FUZZERS[@]}"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
(cd "$BUILD_DIR" && ctest --output-on-failure --parallel "$(nproc)" -L unit)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for fuzzer in "${FUZZERS[@]}"; do
  corpus="$work/${fuzzer#fuzz_}"
  mkdir -p "$corpus"
  cp tests/fuzz/corpus/"${fuzzer#fuzz_}"/* "$corpus"/
  echo "sanitize: $fuzzer for ${FUZZ_SECONDS} s"
  "$BUILD_DIR/tests/fuzz/$fuzzer" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$work/$fuzzer-" -print_final_stats=1 "$corpus" 2>&1 | tail -n 12 ||
    { echo "sanitize: $fuzzer found a crash; the input is kept in tests/fuzz/crashes/"; mkdir -p tests/fuzz/crashes;
      cp "$work/$fuzzer-"* tests/fuzz/crashes/ 2>/dev/null || true; exit 1; }
done
echo "sanitize: all sanitizer tests and fuzzers passed"
