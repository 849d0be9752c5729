#!/usr/bin/env bash
# Runs every benchmark of bench/README.md once, one after the other (never two at once: they share
# the machine's 2 cores and its disk), with the load average before each, and prints what they
# print. This is the run behind the "Where the targets stand" table of README.md; on a shared
# machine, stop other work first (the figures are only as quiet as the machine).
#   bash bench/run-all.sh 2>&1 | tee /tmp/tillsync-bench-$(date -u +%H%M).log     # about 3 minutes
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/build-native.sh >/dev/null
stamp() { echo; echo "## $* -- $(date -u +%FT%TZ) -- $(git rev-parse --short HEAD) -- load $(cut -d' ' -f1-3 /proc/loadavg)"; }
stamp "./build/bench_core --sales 1000 --rounds 100"
./build/bench_core --sales 1000 --rounds 100
stamp "./build/bench_hub --pull-every 0   (closed loop: capacity)"
./build/bench_hub --pull-every 0
stamp "./build/bench_hub --rate-per-device 10 --pull-every 0 --no-baseline --devices 100   (1,000 sales/s offered)"
./build/bench_hub --rate-per-device 10 --pull-every 0 --no-baseline --devices 100
stamp "./build/bench_hub --rate-per-device 20 --pull-every 0 --no-baseline --devices 100   (2,000 sales/s offered)"
./build/bench_hub --rate-per-device 20 --pull-every 0 --no-baseline --devices 100
stamp "./build/bench_pull --products 100000"
./build/bench_pull --products 100000
stamp "node bench/browser.mjs"
node bench/browser.mjs
stamp "done"
