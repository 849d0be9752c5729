#!/usr/bin/env bash
# Fetches the SQLite amalgamation (sqlite3.c, sqlite3.h) that both the native and the wasm builds
# compile. Debian ships SQLite only as a library, so the C source comes from the npm registry:
# the better-sqlite3 tarball carries the amalgamation. `npm pack` downloads the tarball without
# running its install scripts; we then check the sha256 of the two files we use, so a changed
# tarball fails loudly instead of building a different SQLite.
# Idempotent: does nothing when the checked files are already in place.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest="$here/.deps/sqlite"
pkg="better-sqlite3@13.2.0"          # carries SQLite 3.54.1
sha_c="75a4760a7b9727a4c4c877aec92eacf39e52a8f2921ce00bd33be6d3a8e8e254"
sha_h="d6c84557261893439b341d2e6c35187ae3ea24fbfd843ad94616f72d89242b8c"

check() {
  [ -f "$dest/sqlite3.c" ] && [ -f "$dest/sqlite3.h" ] || return 1
  echo "$sha_c  $dest/sqlite3.c" | sha256sum --quiet -c - 2>/dev/null || return 1
  echo "$sha_h  $dest/sqlite3.h" | sha256sum --quiet -c - 2>/dev/null || return 1
}
if check; then exit 0; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-sqlite: downloading $pkg from the npm registry"
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
tar -xzf "$tmp"/better-sqlite3-*.tgz -C "$tmp" package/deps/sqlite3/sqlite3.c package/deps/sqlite3/sqlite3.h
mkdir -p "$dest"
cp "$tmp/package/deps/sqlite3/sqlite3.c" "$tmp/package/deps/sqlite3/sqlite3.h" "$dest/"
if ! check; then
  echo "fetch-sqlite: sha256 mismatch for the amalgamation from $pkg; refusing to build with it" >&2
  rm -f "$dest/sqlite3.c" "$dest/sqlite3.h"
  exit 1
fi
echo "fetch-sqlite: SQLite 3.54.1 amalgamation in $dest"
