#!/usr/bin/env bash
# Builds the browser module: build-wasm/tillsync.mjs + build-wasm/tillsync.wasm (see
# wasm/CMakeLists.txt). Configures on first use; later runs only rebuild what changed.
# Emscripten 3.1.6 trap: emcc's JS optimizer needs Debian's acorn, hence NODE_PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
# Several scripts build here (tests, the package, the PWA); two links at once would leave a glue
# .mjs from one link beside a .wasm from the other (a LinkError at load). One build at a time;
# build-package.sh takes this lock itself and sets TILLSYNC_WASM_LOCKED.
mkdir -p build-wasm
if [ -z "${TILLSYNC_WASM_LOCKED:-}" ]; then
  exec 9>build-wasm/.build.lock
  flock 9
fi
if [ ! -f build-wasm/CMakeCache.txt ]; then
  emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build-wasm -j"$(nproc)"
