// bench/opfs_commit.mjs: what one durable single-row commit costs through tillsync's "opfs" VFS
// in headless Chromium on real OPFS (persistent profile: an off-the-record profile keeps OPFS
// off disk and is several times slower), per journal mode, beside the raw OPFS floor of one
// 4 KiB write + flush measured in the same run. Also counts the OPFS calls per commit.
// Prints figures; asserts nothing.
//   node bench/opfs_commit.mjs [commits=1000]      (after scripts/build-wasm.sh)
// Note: without cross-origin isolation Chromium coarsens performance.now() (about 0.1 ms), so
// p50/p99 are quantised; the mean is exact over the run.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startStaticServer } from '../e2e/static_server.mjs';
import { launchChromium, openWorkerPage } from '../e2e/chromium.mjs';

const n = Number(process.argv[2] || 1000);
const warmup = 50;
const server = await startStaticServer();
const profile = await mkdtemp(path.join(os.tmpdir(), 'tillsync-bench-'));
const context = await launchChromium(profile);
try {
  const page = await openWorkerPage(context, server.url, '/e2e/worker_page.html?worker=/bench/opfs_commit.worker.mjs');
  const out = await page.evaluate((arg) => window.call('run', arg), { n, warmup });
  if (!out.ok) throw new Error(out.error);
  const version = context.browser()?.version() ?? '(persistent context)';
  console.log(`opfs commit bench: ${n} single-row commits per mode after ${warmup} warm-up, Chromium ${version}, ` +
    `persistent profile, crossOriginIsolated=${out.crossOriginIsolated}`);
  const f = (x, d = 3) => (x === undefined ? '-' : x.toFixed(d));
  console.log(['mode'.padEnd(34), 'journal', 'sync', 'p50 ms', 'p99 ms', 'mean ms', 'writes', 'flushes', 'truncs', 'skipped-flush'].join('\t'));
  for (const r of out.results) {
    console.log([r.label.padEnd(34), r.journalMode ?? '-', r.synchronous ?? '-', f(r.p50), f(r.p99), f(r.mean),
      f(r.writesPerCommit, 2), f(r.flushesPerCommit, 2), f(r.truncatesPerCommit, 2), f(r.skippedFlushesPerCommit, 2)].join('\t'));
  }
} finally {
  await context.close();
  await server.close();
  await rm(profile, { recursive: true, force: true });
}
