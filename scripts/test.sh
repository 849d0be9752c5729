#!/usr/bin/env bash
# `npm test`: every suite. Installs what is missing first (scripts/ensure-deps.sh), so it works
# on a fresh Debian 12 machine as root. Each suite prints its own summary; the script stops at
# the first failing suite and exits non-zero.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

scripts/ensure-deps.sh all
scripts/build-native.sh

echo "== core unit tests, storage fault loops (GoogleTest)"
./build/tillsync_tests --gtest_brief=1

echo "== deterministic simulation (3 shops x 3 devices + hub)"
./build/tillsync_sim --seeds "${TILLSYNC_SIM_SEEDS:-1-200}" --ops "${TILLSYNC_SIM_OPS:-2000}"

for suite in tests/wasm tests/server tests/web e2e; do
  if compgen -G "$suite/*.test.mjs" >/dev/null; then
    case "$suite" in
      tests/wasm) [ -f scripts/build-wasm.sh ] && scripts/build-wasm.sh ;;
      # The browser suites load the npm package as a developer gets it (dist/: page module,
      # worker, .wasm); build-package.sh rebuilds the wasm first. Both are incremental.
      e2e) if [ -f scripts/build-package.sh ]; then scripts/build-package.sh; else scripts/build-wasm.sh; fi
           # The POS suites serve the PWA from web/dist (the package's files included); built once
           # here, so each suite file need not rebuild it.
           if [ -f scripts/build-web.sh ]; then scripts/build-web.sh && export TILLSYNC_E2E_SKIP_BUILD=1; fi ;;
    esac
    echo "== $suite (node --test)"
    node --test --test-concurrency=1 "$suite"/*.test.mjs
  fi
done
