#!/usr/bin/env bash
# Builds the POS PWA (web/) into web/dist, ready for `tillsync-server serve --static web/dist`:
#   app.js (web/src bundled with the tillsync package by esbuild, minified), app.css,
#   index.html, manifest.webmanifest, icons/*.png (drawn by web/tools/make_icons.mjs),
#   engine/ (the package's worker script and .wasm, copied from the package's build, so the page,
#   its worker and the wasm come from one origin), and sw.js with the list
#   of files to precache and a version derived from their contents.
# Idempotent and quick (well under a second once the package is built): the same sources give
# byte-identical output, so the service worker version only changes when the app does.
# The package is built first with scripts/build-package.sh when that script exists.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
web="$here/web"
out="$web/dist"
tmp="$web/.dist-tmp"
esbuild="$here/node_modules/.bin/esbuild"
[ -x "$esbuild" ] || { echo "build-web: esbuild missing; run npm ci (scripts/ensure-deps.sh)" >&2; exit 1; }

if [ -x scripts/build-package.sh ] || [ -f scripts/build-package.sh ]; then
  bash scripts/build-package.sh >/dev/null
fi

# The package's files, resolved as any app that depends on "tillsync" would (through the
# package.json "exports" of this repository, whose name is tillsync): the entry is bundled into
# app.js, the service-worker helpers into sw.js, and the worker script and the .wasm are copied
# into engine/ because the browser loads them by URL at run time.
resolve() {
  node --input-type=module -e "console.log(new URL(import.meta.resolve('$1')).pathname)" 2>/dev/null || true
}
entry=$(resolve tillsync)
worker_js=$(resolve tillsync/worker.js)
wasm_file=$(resolve tillsync/tillsync.wasm)
for f in "$entry" "$worker_js" "$wasm_file"; do
  if [ -z "$f" ] || [ ! -f "$f" ]; then
    echo "build-web: the tillsync package is not built (missing ${f:-an export}; scripts/build-package.sh makes it)" >&2
    exit 1
  fi
done

rm -rf "$tmp"
mkdir -p "$tmp/engine" "$tmp/icons"
# Content-hashed names: a tab still running the previous version may start its database worker
# later (when it becomes the owner tab); it must get the worker and .wasm it was built with, which
# the service worker keeps in the previous version's cache, never a newer engine under an old URL.
worker_name="worker-$(sha256sum "$worker_js" | cut -c1-12).js"
wasm_name="tillsync-$(sha256sum "$wasm_file" | cut -c1-12).wasm"
cp "$worker_js" "$tmp/engine/$worker_name"
cp "$wasm_file" "$tmp/engine/$wasm_name"

"$esbuild" "$web/src/main.js" --bundle --format=esm --minify --target=chrome100 --legal-comments=none \
  --define:__ENGINE_WORKER__="\"engine/$worker_name\"" --define:__ENGINE_WASM__="\"engine/$wasm_name\"" \
  --log-level=warning --outfile="$tmp/app.js"
"$esbuild" "$web/app.css" --minify --log-level=warning --outfile="$tmp/app.css"
cp "$web/index.html" "$web/manifest.webmanifest" "$tmp/"

# Icons are pure functions of the drawing script: redraw only when it changed.
icons_cache="$here/build-web-icons"
if [ ! -f "$icons_cache/icon-512.png" ] || [ "$web/tools/make_icons.mjs" -nt "$icons_cache/icon-512.png" ]; then
  node "$web/tools/make_icons.mjs" "$icons_cache"
fi
cp "$icons_cache"/*.png "$tmp/icons/"

# The precache list and the version: every file above, in a stable order; the version is a hash
# of their contents.
files=$(cd "$tmp" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
version=$(cd "$tmp" && echo "$files" | xargs sha256sum | sha256sum | cut -c1-16)
precache=$(echo "$files" | node -e "
  const files = require('fs').readFileSync(0, 'utf8').split('\n').filter(Boolean);
  process.stdout.write(JSON.stringify(['./', ...files]));")
"$esbuild" "$web/sw/sw.js" --bundle --format=iife --minify --target=chrome100 --legal-comments=none \
  --define:__VERSION__="\"$version\"" --define:__PRECACHE__="$precache" --log-level=warning --outfile="$tmp/sw.js"

# Swap in the new build in one step: the hub reads files per request, so it never serves a
# half-written tree for long.
rm -rf "$out.old"
[ -d "$out" ] && mv "$out" "$out.old"
mv "$tmp" "$out"
rm -rf "$out.old"
echo "build-web: web/dist version $version ($(du -sk "$out" | cut -f1) KB; app.js $(wc -c <"$out/app.js") bytes)"
