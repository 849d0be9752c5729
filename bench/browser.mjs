// bench/browser.mjs: tillsync in the browser, side by side with the official
// @sqlite.org/sqlite-wasm (3.54.1-build1, opfs-sahpool) and the raw OPFS floor, in ONE run of
// headless Chromium with a persistent profile (an off-the-record profile keeps OPFS off disk and
// is about 8x slower). Prints figures; asserts nothing.
//   node bench/browser.mjs [--commits 1000] [--products 100000] [--sales 10000]
//                          [--side-by-side] [--lean] [--variants build-wasm-a,build-wasm-b]
//                          [--only pull [--rounds 3] [--package DIR] [--against DIR] [--barcodes]]
//   --side-by-side   page 1 only (no hub, no package page): the engine, the official package and
//                    the raw floor, about a minute; needs only build-wasm/ (scripts/build-wasm.sh).
//   --lean           page 1 without the coalescing-off and page_size rows (they measure the VFS
//                    and the file format, not the code): for comparing builds with --variants.
//   --only pull      only the initial pull of --products products through the package, --rounds N
//                    times (default 3), each by a new device into a new store; with
//                    --against DIR, each round also pulls with the package in DIR (index.js,
//                    worker.js, tillsync.wasm: e.g. a copy of dist/ built before a change), the two
//                    alternated on the same hub and page origin. --package DIR uses DIR instead of
//                    building dist/. --barcodes gives every product a barcode and a category.
//   --only sales     the package's recordSale round trip from the page, one sale at a time, as a
//                    till rings them up: per round and package a new device pulls the --products
//                    products into a new store (not timed), then --commits sales after 50 warm-up;
//                    prints p50 / p99 / mean and the OPFS calls per sale. --rounds, --package,
//                    --against and --barcodes as for --only pull.
//   --variants       other wasm build dirs (e.g. configured with another TILLSYNC_WASM_*_OPT),
//                    measured in the same worker and run as tillsync's own rows, so build options
//                    are compared side by side instead of across noisy runs; then once more
//                    with only the builds' engines and the raw floor in the loop ("the builds
//                    alone", the pairs' conditions; without --lean the page_size 1024 and 2048
//                    engines join that pass).
// Two pages:
//   1. a cross-origin isolated page from a 127.0.0.1 static server (performance.now() precise to
//      microseconds), whose worker runs both engines directly: durable sale commit, 1,000 point
//      reads, 10,000 rows in one transaction (bench/browser.worker.mjs);
//   2. the npm package as an app uses it, on a page served by the REAL hub (--static, one origin
//      for page, worker, .wasm and API): initial pull of 100,000 products, 10,000 queued sales
//      pushed and acknowledged, worker ready time from a warm cache.
// Needs: scripts/build-package.sh, scripts/build-native.sh (build/tillsync-server), npm ci.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { launchChromium, openWorkerPage } from '../e2e/chromium.mjs';
import { repoRoot, startStaticServer } from '../e2e/static_server.mjs';
import { startServer, HubClient, tempDir } from '../tests/server/hub_harness.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const COMMITS = opt('commits', 1000);
const PRODUCTS = opt('products', 100000);
const SALES = opt('sales', 10000);
const WARMUP = 50;
const SIDE_BY_SIDE_ONLY = args.includes('--side-by-side');
const LEAN = args.includes('--lean');
const variantArg = args.indexOf('--variants');
const VARIANTS = variantArg >= 0 ? args[variantArg + 1].split(',').filter(Boolean) : [];
const strOpt = (name) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : null; };
const PULL_ONLY = strOpt('only') === 'pull';
const SALES_ONLY = strOpt('only') === 'sales';
const ROUNDS = opt('rounds', 3);
const PACKAGE = strOpt('package');
const AGAINST = strOpt('against');
// Products with a barcode and a category (bench_pull --barcodes makes the same ones), so the
// products' two secondary indexes hold real keys instead of NULLs.
const BARCODES = args.includes('--barcodes');

const sh = (cmd, a) => execFileSync(cmd, a, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (!((PULL_ONLY || SALES_ONLY) && PACKAGE)) sh('bash', [SIDE_BY_SIDE_ONLY ? 'scripts/build-wasm.sh' : 'scripts/build-package.sh']);
const dist = PACKAGE ? path.resolve(repoRoot, PACKAGE) : path.join(repoRoot, 'dist');

// --- Page 1: the side-by-side worker, cross-origin isolated -----------------------------------
const site1 = tempDir('bench-site');
sh(path.join(repoRoot, 'node_modules/.bin/esbuild'), ['bench/browser.worker.mjs', '--bundle', '--format=esm',
  '--platform=browser', '--target=es2022', '--loader:.sql=text', '--external:/sqlite-wasm/*', '--external:/build-wasm/*',
  '--log-level=warning', `--outfile=${path.join(site1, 'bench', 'browser.worker.js')}`]);
fs.mkdirSync(path.join(site1, 'sqlite-wasm'));
for (const f of ['index.mjs', 'sqlite3.wasm']) {
  fs.copyFileSync(path.join(repoRoot, 'node_modules/@sqlite.org/sqlite-wasm/dist', f), path.join(site1, 'sqlite-wasm', f));
}
fs.mkdirSync(path.join(site1, 'build-wasm'));
for (const f of ['tillsync.mjs', 'tillsync.wasm']) fs.copyFileSync(path.join(repoRoot, 'build-wasm', f), path.join(site1, 'build-wasm', f));
const variants = VARIANTS.map((dir, i) => {
  const into = path.join(site1, `variant-${i}`);
  fs.mkdirSync(into);
  for (const f of ['tillsync.mjs', 'tillsync.wasm']) fs.copyFileSync(path.resolve(repoRoot, dir, f), path.join(into, f));
  const wasm = fs.readFileSync(path.join(into, 'tillsync.wasm'));
  return { label: dir, glueUrl: `/variant-${i}/tillsync.mjs`, wasmUrl: `/variant-${i}/tillsync.wasm`,
    raw: wasm.length, gzip: zlib.gzipSync(wasm, { level: 9 }).length };
});
fs.mkdirSync(path.join(site1, 'e2e'));
fs.copyFileSync(path.join(repoRoot, 'e2e/worker_page.html'), path.join(site1, 'e2e/worker_page.html'));
const staticServer = await startStaticServer({ root: site1, allow: ['/'], headers: {
  'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } });

// --- Page 2: the package on the real hub (not with --side-by-side) -----------------------------
let site2 = null;
let server = null;
let hub = null;
let shop = null;
let seedSeconds = 0;
let origin = null;
if (!SIDE_BY_SIDE_ONLY) {
  site2 = tempDir('bench-hub-site');
  fs.mkdirSync(path.join(site2, 'tillsync'));
  for (const f of ['index.js', 'worker.js', 'tillsync.wasm']) fs.copyFileSync(path.join(dist, f), path.join(site2, 'tillsync', f));
  fs.copyFileSync(path.join(repoRoot, 'e2e/store_page.html'), path.join(site2, 'index.html'));
  fs.copyFileSync(path.join(repoRoot, 'e2e/store_page.mjs'), path.join(site2, 'store_page.mjs'));
  if (AGAINST) {
    // The other package under /tillsync-b/, with its own copy of the page under /b/.
    fs.mkdirSync(path.join(site2, 'tillsync-b'));
    fs.mkdirSync(path.join(site2, 'b'));
    for (const f of ['index.js', 'worker.js', 'tillsync.wasm']) {
      fs.copyFileSync(path.join(path.resolve(repoRoot, AGAINST), f), path.join(site2, 'tillsync-b', f));
    }
    fs.copyFileSync(path.join(repoRoot, 'e2e/store_page.html'), path.join(site2, 'b', 'index.html'));
    fs.writeFileSync(path.join(site2, 'b', 'store_page.mjs'),
      fs.readFileSync(path.join(repoRoot, 'e2e/store_page.mjs'), 'utf8').replaceAll('/tillsync/', '/tillsync-b/'));
  }
  server = await startServer({ dir: tempDir('bench-hub'), args: ['--static', site2] });
  hub = new HubClient(server);
  shop = await hub.createShop('Bench shop');
  const t = Date.now();
  for (let i = 0; i < PRODUCTS; i += 1000) {
    await hub.addProducts(Array.from({ length: Math.min(1000, PRODUCTS - i) }, (_, k) => ({
      id: `p-${i + k}`, name: `Product ${i + k}`, price: 100 + ((i + k) % 5000), tax_bp: (i + k) % 3 ? 700 : 1900,
      ...(BARCODES ? { barcode: `4${String((BigInt(i + k) * 2654435761n) % 1000000000000n).padStart(12, '0')}`,
        category_id: `cat-${((i + k) * 7919) % 200}` } : {}) })));
  }
  seedSeconds = (Date.now() - t) / 1000;

  // Page 2 talks to the hub directly, as a browser does: the hub answers gzip, never brotli-11
  // (commit 8977941; an earlier version of this bench went through a gzip-only proxy for that).
  origin = server.url;
}

const profile = await mkdtemp(path.join(os.tmpdir(), 'tillsync-bench-profile-'));
const context = await launchChromium(profile);
const f = (x, d = 3) => (x === undefined || x === null ? '-' : Number(x).toFixed(d));
const out = [];
const line = (s = '') => { out.push(s); console.log(s); };
// A page of the package served at `pkg.at`, ready, and a newly registered device's credentials.
async function packagePage(pkg, deviceName) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  await page.goto(origin + pkg.at);
  await page.waitForFunction(() => window.ready === true);
  const device = await hub.registerDevice(shop.shop_token, deviceName);
  const creds = { url: origin, shopId: device.reg.shop_id, deviceId: device.reg.device_id,
    deviceToken: device.reg.device_token, receiptPrefix: device.reg.receipt_prefix };
  return { page, creds };
}
try {
  if (PULL_ONLY) {
    // Initial pulls only: a new device and a new store each time, the packages alternated.
    const packages = [{ label: PACKAGE ?? 'dist', at: '/' }, ...(AGAINST ? [{ label: AGAINST, at: '/b/' }] : [])];
    line(`initial pull of ${PRODUCTS.toLocaleString('en')} products, ${ROUNDS} round(s)`);
    for (let round = 0; round < ROUNDS; round++) {
      for (const pkg of (round % 2 ? [...packages].reverse() : packages)) {
        const { page, creds } = await packagePage(pkg, `Bench till ${round} ${pkg.at}`);
        const r = await page.evaluate(async ([c, name]) => {
          await window.openTill({ name, hub: c, syncOnOpen: false, writeDebounceMs: 1e9, syncIntervalMs: 0 });
          const t0 = performance.now();
          await window.store.sync();
          const ms = performance.now() - t0;
          const n = (await window.store.query('SELECT count(*) AS n FROM products'))[0].n;
          const d = await window.store._c.call('diagnostics');
          await window.store.close();
          return { ms, n, cycle: d.lastCycle, opfs: d.opfs, ahead: d.aheadFetches };
        }, [creds, `bench-pull-${round}-${pkg.at.length}`]);
        line(`${pkg.label}: ${f(r.ms / 1000, 2)} s (${r.n} rows; network ${f(r.cycle.networkMs / 1000, 2)} s (first page ${f(r.cycle.firstPageMs == null ? null : r.cycle.firstPageMs / 1000, 2)} s${r.cycle.pageWaitsMs ? `, later pages waited ${r.cycle.pageWaitsMs.join('/')} ms` : ''}), engine ${f(r.cycle.engineMs / 1000, 2)} s, ${r.cycle.requests} requests${r.ahead ? ` (${r.ahead.helper} read ahead by the helper worker)` : ''}; OPFS since open: ${r.opfs?.write} writes, ${f((r.opfs?.bytesWritten ?? 0) / 1e6, 1)} MB, ${r.opfs?.flush} flushes, ${r.opfs?.read} reads; in OPFS calls: write ${f(r.opfs?.writeMs, 0)} ms, flush ${f(r.opfs?.flushMs, 0)} ms, read ${f(r.opfs?.readMs, 0)} ms) load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
        await page.close();
      }
    }
    line(`(hub seeded with ${PRODUCTS} products in ${seedSeconds.toFixed(1)} s, not part of any figure)`);
    process.exitCode = 0;
  } else if (SALES_ONLY) {
    // The package's sale as a till makes it, in a store that holds the whole catalog.
    const packages = [{ label: PACKAGE ?? 'dist', at: '/' }, ...(AGAINST ? [{ label: AGAINST, at: '/b/' }] : [])];
    line(`recordSale round trip from the page, one at a time: ${COMMITS} sales after ${WARMUP} warm-up, in a store that pulled ${PRODUCTS.toLocaleString('en')} products, ${ROUNDS} round(s)`);
    for (let round = 0; round < ROUNDS; round++) {
      for (const pkg of (round % 2 ? [...packages].reverse() : packages)) {
        const { page, creds } = await packagePage(pkg, `Bench till sales ${round} ${pkg.at}`);
        const r = await page.evaluate(async ([c, name, n, warmup]) => {
          await window.openTill({ name, hub: c, syncOnOpen: false, writeDebounceMs: 1e9, syncIntervalMs: 0 });
          await window.store.sync();
          const sale = (i) => ({ lines: [0, 1, 2].map((k) => ({ productId: `p-${(i * 3 + k) % 1000}`, qty: 1 })) });
          for (let i = 0; i < warmup; i++) await window.store.recordSale(sale(i));
          const before = (await window.store._c.call('diagnostics')).opfs;
          const times = [];
          for (let i = warmup; i < warmup + n; i++) {
            const t0 = performance.now();
            await window.store.recordSale(sale(i));
            times.push(performance.now() - t0);
          }
          const after = (await window.store._c.call('diagnostics')).opfs;
          const pending = (await window.store.status()).pending;
          // store.status() with that queue: the owner asks the engine for it after every write.
          const statusTimes = [];
          for (let i = 0; i < 21; i++) {
            const t0 = performance.now();
            await window.store.status();
            statusTimes.push(performance.now() - t0);
          }
          statusTimes.sort((a, b) => a - b);
          await window.store.close();
          const mean = times.reduce((a, b) => a + b, 0) / n;
          times.sort((a, b) => a - b);
          const per = (k) => (after[k] - before[k]) / n;
          return { p50: times[Math.floor(n / 2)], p99: times[Math.floor(n * 0.99)], mean, pending, status: statusTimes[10],
            reads: per('read'), writes: per('write'), flushes: per('flush'), readMs: per('readMs'), writeMs: per('writeMs'), flushMs: per('flushMs') };
        }, [creds, `bench-sales-${round}-${pkg.at.length}`, COMMITS, WARMUP]);
        line(`${pkg.label}: p50 ${f(r.p50)} ms, p99 ${f(r.p99)} ms, mean ${f(r.mean)} ms (pending after: ${r.pending}, store.status() then ${f(r.status)} ms (median of 21); per sale: ${f(r.reads, 1)} reads, ${f(r.writes, 1)} writes, ${f(r.flushes, 2)} flushes; in OPFS calls read ${f(r.readMs)} ms, write ${f(r.writeMs)} ms, flush ${f(r.flushMs)} ms) load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
        await page.close();
      }
    }
    line(`(hub seeded with ${PRODUCTS} products in ${seedSeconds.toFixed(1)} s, not part of any figure)`);
    process.exitCode = 0;
  } else {
  // Page 1.
  const page1 = await openWorkerPage(context, staticServer.url, '/e2e/worker_page.html?worker=/bench/browser.worker.js');
  const micro = await page1.evaluate((a) => window.call('run', a),
    { n: COMMITS, warmup: WARMUP, reads: 1000, bulk: 10000, wasmUrl: '/build-wasm/tillsync.wasm', lean: LEAN,
      variants: variants.map(({ label, glueUrl, wasmUrl }) => ({ label, glueUrl, wasmUrl })) });
  if (!micro.ok) throw new Error(micro.error);
  await page1.close();

  let cold, pull, direct, before, queue, push, after, warm;
  if (!SIDE_BY_SIDE_ONLY) {
    const page2 = await context.newPage();
    page2.on('pageerror', (e) => console.error('page error:', e));
    await page2.goto(origin + '/');
    await page2.waitForFunction(() => window.ready === true);
    const device = await hub.registerDevice(shop.shop_token, 'Bench till');
    const creds = { url: origin, shopId: device.reg.shop_id, deviceId: device.reg.device_id,
      deviceToken: device.reg.device_token, receiptPrefix: device.reg.receipt_prefix };
    cold = await page2.evaluate(async (c) => {
      const t0 = performance.now();
      await window.openTill({ name: 'bench', hub: c, syncOnOpen: false, writeDebounceMs: 1e9, syncIntervalMs: 0 });
      return performance.now() - t0;
    }, creds);
    pull = await page2.evaluate(async () => {
      const t0 = performance.now();
      const s = await window.store.sync();
      const ms = performance.now() - t0;
      const n = (await window.store.query('SELECT count(*) AS n FROM products'))[0].n;
      const d = await window.store._c.call('diagnostics');
      return { ms, n, state: s.state, progressEvents: window.progress.filter((p) => p.phase === 'download').length,
        cycle: d.lastCycle };
    });
    // One 1,000-row pull page fetched from the page, with the browser's own Accept-Encoding.
    direct = await page2.evaluate(async ([url, token, deviceId]) => {
      const t0 = performance.now();
      const r = await fetch(`${url}/v1/pull`, { method: 'POST', headers: { 'Content-Type': 'application/json',
        Authorization: `Bearer ${token}` }, body: JSON.stringify({ v: 1, device_id: deviceId, schema_version: 1, cursor: 0, limit: 1000 }) });
      const text = await r.text();
      return { ms: performance.now() - t0, bytes: text.length, encoding: r.headers.get('content-encoding') };
    }, [origin, creds.deviceToken, creds.deviceId]);
    before = await hub.stats();
    queue = await page2.evaluate(async (count) => {
      const one = [];
      const sale = (i) => ({ lines: [0, 1, 2].map((k) => ({ productId: `p-${(i * 3 + k) % 1000}`, qty: 1 })) });
      for (let i = 0; i < 300; i++) {  // one at a time: the round trip a cashier waits for
        const t0 = performance.now();
        await window.store.recordSale(sale(i));
        one.push(performance.now() - t0);
      }
      for (let i = 300; i < count; i += 100) {
        await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, k) => window.store.recordSale(sale(i + k))));
      }
      one.sort((a, b) => a - b);
      return { p50: one[Math.floor(one.length / 2)], p99: one[Math.floor(one.length * 0.99)],
        pending: (await window.store.status()).pending };
    }, SALES);
    push = await page2.evaluate(async () => {
      const t0 = performance.now();
      const s = await window.store.sync();
      const ms = performance.now() - t0;
      const d = await window.store._c.call('diagnostics');
      return { ms, pending: s.pending, state: s.state, cycle: d.lastCycle };
    });
    after = await hub.stats();
    await page2.evaluate(() => window.store.close());
    warm = [];
    for (let i = 0; i < 5; i++) {
      await page2.reload();
      await page2.waitForFunction(() => window.ready === true);
      warm.push(await page2.evaluate(async () => {
        const t0 = performance.now();
        await window.openTill({ name: 'bench', syncOnOpen: false });
        const ms = performance.now() - t0;
        await window.store.close();
        return ms;
      }));
    }
    warm.sort((a, b) => a - b);
    await page2.close();
  }

  const wasm = fs.readFileSync(path.join(repoRoot, 'build-wasm', 'tillsync.wasm'));
  const gzOf = (b) => zlib.gzipSync(b, { level: 9 }).length;
  const official = micro.official;
  const ours = micro.ours;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';

  line(`## Run: ${new Date().toISOString().slice(0, 10)}, ${cpu} (${os.cpus().length} cores), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
    `Chromium ${context.browser()?.version() ?? '(persistent context)'}, headless, persistent profile, ` +
    `crossOriginIsolated=${micro.crossOriginIsolated}; official ${official.version}`);
  line('');
  line(`Durable sale commit (order + 3 lines + payment + 3 stock movements + outbox), ${COMMITS} commits after ${WARMUP} warm-up, ` +
    'every row below interleaved commit by commit with the others:');
  line('');
  line('| what | p50 ms | p99 ms | mean ms | OPFS writes/commit | flushes/commit | bytes/commit |');
  line('|---|---|---|---|---|---|---|');
  const row = (name, r, extra = {}) => line(`| ${name} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.mean)} | ${f(extra.writes ?? r.writes, 1)} | ${f(extra.flushes ?? r.flushes, 1)} | ${f(extra.bytes ?? r.bytes, 0)} |`);
  row(`tillsync engine: RecordSale (WAL, EXCLUSIVE, FULL, write coalescing, page_size ${ours.pageSize})`, ours.engineSale);
  row('tillsync VFS: the same rows as one SQL transaction', ours.sqlSale);
  if (micro.oursNoCoalesce) {
    row('tillsync VFS, coalescing off: the same SQL transaction', micro.oursNoCoalesce.sqlSale);
    row('tillsync engine, coalescing off: RecordSale', micro.oursNoCoalesce.engineSale);
  }
  for (const [size, r] of Object.entries(micro.oursPages)) row(`tillsync engine: RecordSale, page_size ${size}`, r.engineSale);
  for (const v of micro.variants) {
    row(`variant ${v.label}: tillsync engine: RecordSale`, v.engineSale);
    row(`variant ${v.label}: tillsync VFS: the same SQL transaction`, v.sqlSale);
  }
  row(`official opfs-sahpool, default (journal ${official.default.journalMode}, synchronous ${official.default.synchronous})`, official.default.sale);
  row(`official opfs-sahpool, EXCLUSIVE + WAL (synchronous ${official['exclusive-wal'].synchronous})`, official['exclusive-wal'].sale);
  row('raw floor: the engine sale\'s bytes, one write + one flush', micro.raw, { writes: 1, flushes: 1 });
  row('raw floor: the SQL transaction\'s bytes, one write + one flush', micro.rawSql, { writes: 1, flushes: 1 });
  line('');
  const ratio = (a, b) => (a / b).toFixed(2);
  line(`Ratios (p50): official EXCLUSIVE+WAL / tillsync SQL = ${ratio(official['exclusive-wal'].sale.p50, ours.sqlSale.p50)}x, ` +
    `official default / tillsync SQL = ${ratio(official.default.sale.p50, ours.sqlSale.p50)}x, ` +
    `tillsync SQL / raw floor = ${ratio(ours.sqlSale.p50, micro.rawSql.p50)}x; ` +
    `engine sale: official EXCLUSIVE+WAL / engine = ${ratio(official['exclusive-wal'].sale.p50, ours.engineSale.p50)}x, ` +
    `official default / engine = ${ratio(official.default.sale.p50, ours.engineSale.p50)}x, engine / raw floor = ${ratio(ours.engineSale.p50, micro.raw.p50)}x`);
  line('');
  line(`The same ratios, each pair alone: the engine and one other side interleaved commit by commit, ${COMMITS} commits after ${WARMUP} warm-up ` +
    'per pair (no other contestant\'s flush in the loop, as on a till with one store):');
  line('');
  line('| pair | engine p50 / p99 ms | other p50 / p99 ms | ratio (p50) |');
  line('|---|---|---|---|');
  const pair = (name, r, key) => line(`| ${name} | ${f(r.engine.p50)} / ${f(r.engine.p99)} | ${f(r.other.p50)} / ${f(r.other.p99)} | ${key === 'floor' ? `engine / floor = ${ratio(r.engine.p50, r.other.p50)}` : `official / engine = ${ratio(r.other.p50, r.engine.p50)}`}x |`);
  pair(`engine and the raw floor (its bytes, ${f(micro.pairs.floor.bytes, 0)} per commit, one write + one flush)`, micro.pairs.floor, 'floor');
  pair('engine and official EXCLUSIVE + WAL', micro.pairs.officialWal, 'wal');
  pair('engine and official default', micro.pairs.officialDefault, 'default');
  line('');
  if (micro.buildsAlone) {
    const b = micro.buildsAlone;
    line(`The builds alone with the raw floor: this build's engine, each variant's (and without --lean the page_size 1024 and 2048 engines) and the raw floor interleaved commit by commit, ${COMMITS} commits after ${WARMUP} warm-up:`);
    line('');
    line('| build | engine p50 / p99 ms | raw floor p50 / p99 ms | engine / floor (p50) |');
    line('|---|---|---|---|');
    line(`| this build | ${f(b.engine.p50)} / ${f(b.engine.p99)} | ${f(b.raw.p50)} / ${f(b.raw.p99)} | ${ratio(b.engine.p50, b.raw.p50)}x |`);
    for (const v of b.variants) line(`| variant ${v.label} | ${f(v.engine.p50)} / ${f(v.engine.p99)} | ${f(b.raw.p50)} / ${f(b.raw.p99)} | ${ratio(v.engine.p50, b.raw.p50)}x |`);
    for (const p of b.pages) line(`| this build, page_size ${p.pageSize} | ${f(p.engine.p50)} / ${f(p.engine.p99)} | ${f(b.raw.p50)} / ${f(b.raw.p99)} | ${ratio(p.engine.p50, b.raw.p50)}x |`);
    line('');
  }
  line(`Reads and bulk inserts: median of ${micro.rounds} alternating rounds per side.`);
  line('');
  line('| workload | tillsync | official (EXCLUSIVE + WAL) | speed-up |');
  line('|---|---|---|---|');
  line(`| 1,000 point reads (SELECT by primary key, statement prepared per call) | ${f(ours.reads.totalMs, 1)} ms | ${f(official.reads.totalMs, 1)} ms | ${ratio(official.reads.totalMs, ours.reads.totalMs)}x |`);
  line(`| 10,000 rows in one transaction (tillsync: sqlBatch, loop in wasm; official: prepare + bind/step per row from JS) | ${f(ours.bulk.totalMs, 1)} ms | ${f(official.bulk.totalMs, 1)} ms | ${ratio(official.bulk.totalMs, ours.bulk.totalMs)}x |`);
  if (ours.bulkOfficialPage) {
    const o = ours.bulkOfficialPage;
    line(`| 10,000 rows, tillsync at the official's page_size ${o.pageSize} | ${f(o.totalMs, 1)} ms | ${f(official.bulk.totalMs, 1)} ms | ${ratio(official.bulk.totalMs, o.totalMs)}x |`);
  }
  if (official.bulkJson?.totalMs) {
    line(`| 10,000 rows, official the other documented way: one INSERT ... SELECT FROM json_each(?) of the rows as one JSON text (SQL, not the JS API) | ${f(ours.bulk.totalMs, 1)} ms | ${f(official.bulkJson.totalMs, 1)} ms | ${ratio(official.bulkJson.totalMs, ours.bulk.totalMs)}x |`);
  }
  for (const v of micro.variants) {
    line(`| variant ${v.label}: 1,000 point reads | ${f(v.reads.totalMs, 1)} ms | ${f(official.reads.totalMs, 1)} ms | ${ratio(official.reads.totalMs, v.reads.totalMs)}x |`);
    line(`| variant ${v.label}: 10,000 rows in one transaction | ${f(v.bulk.totalMs, 1)} ms | ${f(official.bulk.totalMs, 1)} ms | ${ratio(official.bulk.totalMs, v.bulk.totalMs)}x |`);
  }
  line('');
  if (ours.bulkParts) {
    const p = ours.bulkParts;
    line(`10,000 rows, tillsync in parts (diagnostic, medians): JSON.stringify ${f(p.stringifyMs, 1)} ms of the ${f(ours.bulk.totalMs, 1)} ms; the same sqlBatch on the in-memory OPFS fake (no storage) ${f(p.fakeMs, 1)} ms (stringify ${f(p.fakeStringifyMs, 1)} ms); on OPFS per batch ${f(p.writes, 1)} writes, ${f(p.flushes, 1)} flushes, ${f(p.bytes / 1024, 0)} KB written (means over the ${micro.rounds} rounds, WAL checkpoints included)`);
  }
  if (ours.bulk.settings) line(`10,000 rows, settings: tillsync ${ours.bulk.settings}; official ${official.bulk.settings}; official json_each ${official.bulkJson.settings}`);
  line('');
  if (SIDE_BY_SIDE_ONLY) {
    line(`build-wasm/tillsync.wasm: ${wasm.length.toLocaleString('en')} bytes raw, ${gzOf(wasm).toLocaleString('en')} gzip -9`);
    for (const v of variants) line(`${v.label}/tillsync.wasm: ${v.raw.toLocaleString('en')} bytes raw, ${v.gzip.toLocaleString('en')} gzip -9`);
    line('(--side-by-side: the package page, pull, push and ready time were not run)');
  } else {
    line('Through the npm package (page -> owner worker -> engine -> OPFS; hub on 127.0.0.1):');
    line('');
    line('| workload | figure | target |');
    line('|---|---|---|');
    const split = (c) => `network ${f(c.networkMs / 1000, 2)} s, engine ${f(c.engineMs / 1000, 2)} s, ${c.requests} requests`;
    const pushedRows = push.cycle.pulled;
    line(`| initial pull of ${PRODUCTS.toLocaleString('en')} products (store.sync(); ${pull.n} rows applied, ${pull.progressEvents} progress events; ${split(pull.cycle)}) | ${f(pull.ms / 1000, 2)} s | <= 1 s |`);
    line(`| ${SALES.toLocaleString('en')} queued sales pushed and acknowledged: the push phase of store.sync() (hub ops applied: ${after.ops_applied - before.ops_applied}; pending after: ${push.pending}; network + hub ${f(push.cycle.pushNetworkMs / 1000, 2)} s, engine ${f(push.cycle.pushEngineMs / 1000, 2)} s) | ${f(push.cycle.pushMs / 1000, 2)} s | <= 5 s |`);
    line(`| ... the whole store.sync() of those sales: push, then the pull that brings the shop's ${pushedRows.toLocaleString('en')} new rows back (${split(push.cycle)}) | ${f(push.ms / 1000, 2)} s | - |`);
    line(`| one 1,000-row pull page (${f(direct.bytes / 1024, 0)} KB of JSON) fetched from the page (Content-Encoding: ${direct.encoding}) | ${f(direct.ms, 0)} ms | - |`);
    line(`| recordSale round trip from a page, one at a time (p50 / p99) | ${f(queue.p50)} / ${f(queue.p99)} ms | - |`);
    line(`| worker ready (openStore resolves) from a warm cache, median of 5 (min ${f(warm[0], 0)}, max ${f(warm[4], 0)}) | ${f(warm[2], 0)} ms | <= 300 ms |`);
    line(`| worker ready, first open ever (cold: no HTTP or code cache, new database) | ${f(cold, 0)} ms | - |`);
    line(`| tillsync.wasm (SQLite + engine + bindings) | ${wasm.length.toLocaleString('en')} bytes raw, ${gzOf(wasm).toLocaleString('en')} gzip -9 | <= 1,000,000 raw, <= 450 KB gzip |`);
    line('');
    line(`(hub seeded with ${PRODUCTS} products in ${seedSeconds.toFixed(1)} s, not part of any figure)`);
  }
  }
} finally {
  await context.close();
  await staticServer.close();
  if (server) await server.stop();
  await rm(profile, { recursive: true, force: true });
  fs.rmSync(site1, { recursive: true, force: true });
  if (site2) fs.rmSync(site2, { recursive: true, force: true });
}
