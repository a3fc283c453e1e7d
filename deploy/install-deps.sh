#!/usr/bin/env bash
# Installs every Debian 12 package kdnas needs to build, test and benchmark;
# with `controller`, only what the controller and the CLI need to build
# (no LibTorch). Idempotent: packages already present are skipped; prints
# what it installed. Works as root without a TTY (CI=true or not); uses sudo
# when not root.
#   bash deploy/install-deps.sh [all|controller]
set -euo pipefail

# The controller and the CLI (also what `bash deploy/install-deps.sh controller`
# installs: enough to configure with -DKDNAS_WORKER=OFF and build them).
CONTROLLER_PACKAGES=(
  # build
  build-essential cmake ninja-build ccache pkg-config git
  # libraries
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libssl-dev
  libboost-dev libboost-system-dev prometheus-cpp-dev libsqlite3-dev
  libgtest-dev libyaml-cpp-dev libjemalloc-dev libpqxx-dev libcli11-dev nlohmann-json3-dev libzip-dev
  libspdlog-dev libarchive-dev libpcre2-dev libunistring-dev
)
# The worker: LibTorch, and a fast BLAS for it (the reference BLAS is ~36x slower).
WORKER_PACKAGES=(libtorch-dev libopenblas0-openmp)
# Peers, tests and tools (nodejs/npm: the reference libraries in deploy/npm), and the sanitizer and fuzzing stage (deploy/sanitize.sh).
TEST_PACKAGES=(
  python3-torch python3-optuna python3-grpcio python3-matplotlib python3-yaml
  prometheus openssl sqlite3 iproute2 procps postgresql
  # the reference SentencePiece encoder and trainer of sentencepiece_tokenizer_test
  python3-sentencepiece
  clang-14 libfuzzer-14-dev libclang-rt-14-dev nodejs
)

case "${1:-all}" in
  all) PACKAGES=("${CONTROLLER_PACKAGES[@]}" "${WORKER_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
  controller) PACKAGES=("${CONTROLLER_PACKAGES[@]}") ;;
  *) echo "usage: install-deps.sh [all|controller]" >&2; exit 2 ;;
esac

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-deps: installed ${#missing[@]} packages: ${missing[*]}"
fi

# kubectl ships on the machine image; Debian's kubernetes-client conflicts
# with it, so it is installed only where kubectl is missing (tests only).
if [ "${1:-all}" = all ] && ! command -v kubectl >/dev/null 2>&1; then
  if apt-cache show kubernetes-client >/dev/null 2>&1; then
    $SUDO apt-get install -y -qq kubernetes-client >/dev/null && echo "install-deps: installed kubernetes-client"
  fi
fi

# Node packages the tests compare against (deploy/npm/package.json, pinned in
# its package-lock.json): Hugging Face's tokenizers, for the BPE tokenizer
# tests, and node-llama-cpp 3.21.1, for llama.cpp's prebuilt linux-x64
# libraries (@node-llama-cpp/linux-x64: libllama, libggml-base and the CPU
# backends) and the source of the same llama.cpp release, which it carries as
# a git bundle and which is checked out into deploy/npm/llama.cpp (its
# headers build kdnas's llama.cpp runner; its tools build for the
# benchmarks). Optional packages (the CUDA, Vulkan and other platforms'
# builds) and install scripts (node-llama-cpp's would fetch or build
# llama.cpp) are left out. Installed once; again when the lock file changes.
if [ "${1:-all}" = all ]; then
  NPM_DIR="$(cd "$(dirname "$0")" && pwd)/npm"
  # The machine image's Node.js may come with its own npm, which Debian's
  # npm package would conflict with: install that only when npm is missing.
  if ! command -v npm >/dev/null 2>&1; then
    $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  if [ ! -f "$NPM_DIR/node_modules/.package-lock.json" ] ||
    [ "$NPM_DIR/package-lock.json" -nt "$NPM_DIR/node_modules/.package-lock.json" ]; then
    npm ci --prefix "$NPM_DIR" --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error
    echo "install-deps: installed the node packages in deploy/npm"
  fi
  BUNDLE="$NPM_DIR/node_modules/node-llama-cpp/llama/gitRelease.bundle"
  if [ ! -f "$NPM_DIR/llama.cpp/.kdnas-bundle" ] || [ "$BUNDLE" -nt "$NPM_DIR/llama.cpp/.kdnas-bundle" ]; then
    rm -rf "$NPM_DIR/llama.cpp"
    git -c advice.detachedHead=false clone -q "$BUNDLE" "$NPM_DIR/llama.cpp"
    sha256sum "$BUNDLE" >"$NPM_DIR/llama.cpp/.kdnas-bundle"
    echo "install-deps: checked out llama.cpp $(sed -n 's/.*"tag": "\(.*\)".*/\1/p' \
      "$NPM_DIR/node_modules/node-llama-cpp/llama/llama.cpp.info.json") in deploy/npm/llama.cpp"
  fi
fi
