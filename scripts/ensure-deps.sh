#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian 12 machine (run as root), and
# skips whatever is already there. Called by `npm test` and `npm start`; safe to run again.
#   scripts/ensure-deps.sh native   -> compilers, CMake, GoogleTest, JSON, HTTP, OpenSSL
#   scripts/ensure-deps.sh all      -> native + Emscripten + Chromium (browser suites)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}

native_pkgs=(g++ cmake make libgtest-dev nlohmann-json3-dev libcpp-httplib-dev libssl-dev pkg-config)
browser_pkgs=(emscripten chromium)
pkgs=("${native_pkgs[@]}")
[ "$what" = all ] && pkgs+=("${browser_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-deps: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "ensure-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages (pinned in package-lock.json); `npm ci` only when node_modules is absent or stale.
if [ ! -d "$here/node_modules" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

"$here/scripts/fetch-sqlite.sh"
