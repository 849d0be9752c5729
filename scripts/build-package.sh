#!/usr/bin/env bash
# Builds the npm package into dist/ (gitignored) from worker/ and the wasm build:
#   dist/index.js            the page-side module (openStore, ...), ESM     <- worker/index.js
#   dist/index.d.ts          its types                                       <- worker/index.d.ts
#   dist/worker.js           the dedicated worker that owns the database     <- worker/worker.js
#                            (with the Emscripten glue build-wasm/tillsync.mjs bundled in)
#   dist/tillsync.wasm       SQLite + engine + bindings                      <- build-wasm/
#   dist/service-worker.js   helpers for an app's service worker (+ .d.ts)   <- worker/service_worker.js
# Runs scripts/build-wasm.sh first (incremental). Idempotent; a second run takes about a second.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
# Hold the wasm build lock from the build to the copy, so the glue bundled into worker.js and the
# .wasm copied beside it come from the same link even when another script builds meanwhile.
mkdir -p build-wasm
exec 9>build-wasm/.build.lock
flock 9
TILLSYNC_WASM_LOCKED=1 scripts/build-wasm.sh >/dev/null
esbuild=node_modules/.bin/esbuild
[ -x "$esbuild" ] || { echo "build-package: esbuild missing; run npm ci" >&2; exit 1; }
mkdir -p dist
# Not minified: developers read stack traces from this code; gzip does most of the work.
common=(--bundle --format=esm --platform=browser --target=es2022 --log-level=warning --legal-comments=none)
"$esbuild" worker/index.js "${common[@]}" --outfile=dist/index.js
"$esbuild" worker/worker.js "${common[@]}" --outfile=dist/worker.js
"$esbuild" worker/service_worker.js "${common[@]}" --outfile=dist/service-worker.js
cp worker/index.d.ts dist/index.d.ts
cp worker/service-worker.d.ts dist/service-worker.d.ts
cp build-wasm/tillsync.wasm dist/tillsync.wasm
# The glue and the .wasm must come from one link (their import names are minified per link): a
# mismatch would only show as a LinkError in the browser, so check it here.
node scripts/check-wasm-glue.mjs dist/worker.js dist/tillsync.wasm
raw=$(stat -c %s dist/tillsync.wasm)
gz=$(gzip -9c dist/tillsync.wasm | wc -c)
echo "build-package: dist/ ready (tillsync.wasm ${raw} bytes raw, ${gz} gzip; worker.js $(stat -c %s dist/worker.js) bytes)"
