#!/usr/bin/env bash
# `npm run sim -- --seeds A-B --ops N`: the simulation over many seeds, on every core.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
scripts/ensure-deps.sh native
scripts/build-native.sh
exec ./build/tillsync_sim "$@"
