#!/usr/bin/env bash
# The controller and the CLI build without LibTorch: configures a fresh
# SOURCE/build-controller-only with -DKDNAS_WORKER=OFF, builds kdnas-controller
# and kdnas, and checks that neither the build files nor the binaries refer
# to LibTorch. As root, it runs in a private mount namespace in which
# LibTorch's headers, CMake package and libraries are hidden (empty), so a
# stray #include <torch/...> or -ltorch fails the build too.
#   controller_only_build_test.sh SOURCE_DIR
# The build directory sits at the same depth as build/ and compiles with
# CCACHE_BASEDIR=SOURCE_DIR, so every compile has the main build's relative
# paths and hits its ccache entries.
set -euo pipefail
src="$(cd "$1" && pwd)"
build="$src/build-controller-only"
fail() { echo "controller_only_build_test: FAIL: $*"; exit 1; }

if [ "${KDNAS_TORCH_HIDDEN:-}" = "" ]; then
  if [ "$(id -u)" -eq 0 ] && unshare --mount --propagation private true 2>/dev/null; then
    exec unshare --mount --propagation private env KDNAS_TORCH_HIDDEN=1 bash "$0" "$@"
  fi
  export KDNAS_TORCH_HIDDEN=0
fi
if [ "$KDNAS_TORCH_HIDDEN" = 1 ]; then
  hidden="$(mktemp -d)"
  trap 'rm -rf "$hidden"' EXIT
  mkdir "$hidden/empty"
  # Not a library (nor an empty file, which the linker would take for an empty script).
  echo "LibTorch is hidden by controller_only_build_test" >"$hidden/not-a-library"
  shopt -s nullglob
  for d in /usr/include/{torch,ATen,c10,caffe2} /usr/lib/*/cmake/{Torch,ATen,Caffe2} /usr/share/cmake/Torch \
           /usr/lib/python3/dist-packages/torch; do
    if [ -d "$d" ]; then mount --bind "$hidden/empty" "$d"; fi
  done
  for f in /usr/lib/*/lib{torch,c10,caffe2,shm}*.so*; do
    if [ -f "$f" ] && [ ! -L "$f" ]; then mount --bind "$hidden/not-a-library" "$f"; fi
  done
  shopt -u nullglob
  if printf '#include <torch/torch.h>\n' | c++ -fsyntax-only -x c++ - 2>/dev/null; then
    fail "<torch/torch.h> is still reachable after hiding LibTorch"
  fi
  echo "controller_only_build_test: LibTorch hidden (headers, CMake package, libraries)"
else
  echo "controller_only_build_test: not root or no mount namespace; LibTorch is only kept from CMake"
fi

start=$SECONDS
export CCACHE_BASEDIR="$src"
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
rm -rf "$build"
mkdir -p "$build"
log="$build/controller_only_build_test.log"
cmake -S "$src" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DKDNAS_WORKER=OFF \
  -DCMAKE_DISABLE_FIND_PACKAGE_Torch=ON >"$log" 2>&1 || { cat "$log"; fail "configure failed"; }
configured=$SECONDS
if grep -E '^Torch_DIR:PATH=/' "$build/CMakeCache.txt"; then fail "the configure found LibTorch"; fi
if grep -rlE 'libtorch|libc10|-ltorch|-lc10|/include/torch' "$build" --include=build.ninja --include='*.make' --include=link.txt \
  --include=flags.make; then
  fail "the build files above refer to LibTorch"
fi
cmake --build "$build" --parallel "$(nproc)" --target kdnas-controller kdnas >>"$log" 2>&1 ||
  { tail -n 40 "$log"; fail "build failed"; }
for bin in "$build/server/kdnas-controller" "$build/server/cli/kdnas"; do
  [ -x "$bin" ] || fail "$bin was not built"
  if ldd "$bin" | grep -E 'libtorch|libc10|not found'; then fail "$bin loads LibTorch (or misses a library)"; fi
  "$bin" --help >/dev/null || fail "$bin --help failed"
done
if [ -e "$build/workers/kdnas-worker" ]; then fail "kdnas-worker was built with KDNAS_WORKER=OFF"; fi
# The link-closure checks of this tree (torch, c10, and the CLI's server libraries).
(cd "$build" && ctest -R 'link_deps_test$' --output-on-failure >>"$log" 2>&1) ||
  { tail -n 30 "$log"; fail "a link check failed"; }
echo "controller_only_build_test: ok (configure $((configured - start)) s, build $((SECONDS - configured)) s;" \
  "log in $log)"
