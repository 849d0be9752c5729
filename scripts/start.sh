#!/usr/bin/env bash
# `npm start`: builds what is missing, then runs the whole product on one port: the hub
# (tillsync-server) with a demo shop, its catalog and stock, serving the POS PWA from web/dist.
# It prints the URL and the demo credentials (operator token, demo shop id, demo shop token; the
# PWA's "join a shop" screen takes the shop token). The database lives in data/ (gitignored), so
# the demo shop, its sales and its credentials survive a restart; delete data/ to start afresh.
#
#   PORT=9000 npm start            another port
#   TILLSYNC_DB=/tmp/x.db npm start another database file
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

scripts/ensure-deps.sh all
# Compiler output goes to a log, shown only when something fails.
mkdir -p build
log=build/start-build.log
scripts/build-native.sh >"$log" 2>&1 || echo "start: the full native build reported errors (see $log); building the hub alone" >&2
# A build tree configured before server/ existed lacks the hub target: configure again (cheap).
cmake -S . -B build >/dev/null
cmake --build build --target tillsync-server -j"$(nproc)" >/dev/null

# The PWA: the wasm engine, then the app (build-web.sh also builds the npm package it bundles).
# Both scripts belong to other parts of the tree and may not exist yet; without them, or if they
# fail, the hub still starts and serves the API.
web_ok=1
for script in scripts/build-wasm.sh scripts/build-web.sh; do
  if [ -f "$script" ]; then
    bash "$script" >/dev/null || { echo "start: $script failed; serving the API without the PWA" >&2; web_ok=0; }
  fi
done

db=${TILLSYNC_DB:-data/hub.db}
mkdir -p "$(dirname "$db")"
args=(serve --db "$db" --host 127.0.0.1 --port "${PORT:-8080}" --demo)
if [ "$web_ok" = 1 ] && [ -f web/dist/index.html ]; then
  args+=(--static web/dist)
else
  echo "start: no web/dist/index.html; serving the API only" >&2
fi
echo "start: tillsync hub, database $db (demo tokens are stable for this database); Ctrl-C stops it"
exec ./build/tillsync-server "${args[@]}"
