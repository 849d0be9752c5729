#!/usr/bin/env bash
# Builds the POS PWA (web/) into web/dist, ready for `tillsync-server serve --static web/dist`:
#   app.js (web/src bundled with the tillsync package by esbuild, minified), app.css,
#   index.html, manifest.webmanifest, icons/*.png (drawn by web/tools/make_icons.mjs),
#   engine/ (the package's worker script, .wasm and their helpers, copied from the package's
#   build, so the page, its worker and the wasm come from one origin), and sw.js with the list
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

# Where the package's entry is, resolved as any app importing "tillsync" would (package.json
# "exports" of this repository, whose name is tillsync).
entry=$(node --input-type=module -e "console.log(new URL(import.meta.resolve('tillsync')).pathname)" 2>/dev/null || true)
if [ -z "$entry" ] || [ ! -f "$entry" ]; then
  echo "build-web: the tillsync package is not built (no entry for 'tillsync'; expected from scripts/build-package.sh)" >&2
  exit 1
fi
pkgdir=$(dirname "$entry")

rm -rf "$tmp"
mkdir -p "$tmp/engine" "$tmp/icons"

# The engine files the package's worker loads at run time: everything next to the entry except
# type declarations and source maps (the entry itself is bundled into app.js).
for f in "$pkgdir"/*; do
  case "$f" in *.d.ts|*.map) continue ;; esac
  [ -f "$f" ] && cp "$f" "$tmp/engine/"
done
worker=$(cd "$tmp/engine" && ls | grep -E '^(tillsync[-_.])?worker.*\.(m?js)$' | head -1 || true)
wasm=$(cd "$tmp/engine" && ls | grep -E '\.wasm$' | head -1 || true)
[ -n "$worker" ] && [ -n "$wasm" ] || { echo "build-web: no worker script or .wasm next to $entry" >&2; exit 1; }

"$esbuild" "$web/src/main.js" --bundle --format=esm --minify --target=chrome100 --legal-comments=none \
  --define:__ENGINE_WORKER__="\"engine/$worker\"" --define:__ENGINE_WASM__="\"engine/$wasm\"" \
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
