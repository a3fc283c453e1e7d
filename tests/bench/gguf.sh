#!/usr/bin/env bash
# GGUF students of a kdnas search against llama-quantize's Q8_0, Q4_0, Q4_K_M, Q3_K_M, Q2_K of the teacher, measured by llama.cpp.
set -euo pipefail
cd "$(dirname "$0")/../.."
B="${KDNAS_BUILD_DIR:-build}"
TOOLS=$(bash deploy/llama_tools.sh)
exec /usr/bin/python3 tests/bench/gguf_bench.py "$B" "$TOOLS" "$@"
