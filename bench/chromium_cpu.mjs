// bench/chromium_cpu.mjs: is Chromium slower than Node at the engine's sale CPU, with no disk?
// Runs the sale loop of bench/wasm_cpu.mjs (bench/cpu_workload.mjs: the same build-wasm/, the
// same in-memory OPFS fake, the same sales after the same warm-up, engine and SQL sides
// interleaved) in Node and in a dedicated worker of headless Chromium (cross-origin isolated
// page, persistent profile, launched as e2e/chromium.mjs does), in one command, and prints the
// figures side by side. Each configuration runs in a fresh process (Node) or browser (Chromium);
// the configurations alternate over --rounds rounds, in a rotated order, and each figure is the
// median over the rounds. Prints figures; asserts nothing.
//   node bench/chromium_cpu.mjs [--sales 2000] [--rounds 3] [--no-build] [--configs a,b,...]
// Configurations (default: node, chromium, chromium-opfs, chromium-floor, node-crowd,
// chromium-crowd, chromium-crowd-opfs; about 3 minutes with --sales 1000 --rounds 5):
//   node                        node, V8's defaults (the wasm trap handler is on: no explicit
//                               bounds checks on memory accesses)
//   node-bounds-checks          node --wasm-enforce-bounds-checks (explicit bounds checks)
//   chromium                    Chromium's defaults
//   chromium-opfs               the same plus an engine on real OPFS in the same loop
//   chromium-no-bounds-checks   --js-flags=--no-wasm-bounds-checks (unsafe; a diagnostic only)
//   chromium-crash-reporter     --enable-crash-reporter (the hypothesis: Chromium on Linux may
//                               install V8's wasm trap handler only beside its crash reporter,
//                               leaving explicit bounds checks without it)
//   chromium-streaming          the module compiled with compileStreaming instead of compile
//   chromium-no-tiering         --js-flags=--no-wasm-dynamic-tiering (TurboFan from the start)
//   node-crowd, chromium-crowd  8 more engines on the fake in the loop, each its own instance (as
//                               bench/browser.mjs interleaves about ten contestants); Chromium's
//                               with the engine on real OPFS too
//   chromium-crowd-opfs         the same, the 8 more engines on real OPFS (a flush each per sale,
//                               as browser.mjs's contestants do): what other flushes cost the
//                               fake's engine, which does no I/O itself
//   chromium-floor              chromium-opfs plus the raw floor of bench/browser.mjs (the engine's
//                               bytes per sale in one write + one flush) in the same loop
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../e2e/chromium.mjs';
import { repoRoot, startStaticServer } from '../e2e/static_server.mjs';
import { CpuDirectory, WARMUP, makeSide, runSales } from './cpu_workload.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const SALES = Number(opt('sales', 2000));
const ROUNDS = Number(opt('rounds', 3));
const schemaSql = fs.readFileSync(path.join(repoRoot, 'schema/migrations/001_initial.sql'), 'utf8');
const loadavg = () => os.loadavg()[0].toFixed(2);

// --- Child mode: one Node run of the loop, figures as one JSON line --------------------------
if (args.includes('--child')) {
  const dir = path.join(repoRoot, 'build-wasm');
  const { default: factory } = await import(pathToFileURL(path.join(dir, 'tillsync.mjs')).href);
  const compiled = await WebAssembly.compile(fs.readFileSync(path.join(dir, 'tillsync.wasm')));
  const instance = () => factory({
    instantiateWasm(imports, receive) {
      WebAssembly.instantiate(compiled, imports).then((inst) => receive(inst, compiled));
      return {};
    },
  });
  const sides = [
    await makeSide('engine', 'engine', await instance(), new CpuDirectory(), schemaSql),
    await makeSide('sql', 'sql', await instance(), new CpuDirectory(), schemaSql),
  ];
  const crowd = Number(opt('crowd', 0));
  for (let k = 0; k < crowd; k++) sides.push(await makeSide(`crowd-${k}`, 'engine', await instance(), new CpuDirectory(), schemaSql));
  const figures = runSales(sides, SALES);
  for (const s of sides) s.close();
  console.log(JSON.stringify({ figures }));
  process.exit(0);
}

const CONFIGS = {
  node: { node: [] },
  'node-bounds-checks': { node: ['--wasm-enforce-bounds-checks'] },
  chromium: { chromium: [] },
  'chromium-opfs': { chromium: [], realOpfs: true },
  'chromium-no-bounds-checks': { chromium: ['--js-flags=--no-wasm-bounds-checks'] },
  'chromium-crash-reporter': { chromium: ['--enable-crash-reporter'] },
  'chromium-streaming': { chromium: [], streaming: true },
  'chromium-no-tiering': { chromium: ['--js-flags=--no-wasm-dynamic-tiering'] },
  'node-crowd': { node: [], crowd: 8 },
  'chromium-crowd': { chromium: [], crowd: 8, realOpfs: true },
  'chromium-floor': { chromium: [], realOpfs: true, floor: true },
  'chromium-crowd-opfs': { chromium: [], crowd: 8, crowdOpfs: true, realOpfs: true },
};
const chosen = opt('configs', 'node,chromium,chromium-opfs,chromium-floor,node-crowd,chromium-crowd,chromium-crowd-opfs').split(',');
for (const c of chosen) if (!CONFIGS[c]) throw new Error(`unknown configuration ${c}`);

if (!args.includes('--no-build')) execFileSync('bash', ['scripts/build-wasm.sh'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });

const site = fs.mkdtempSync(path.join(os.tmpdir(), 'tillsync-chromium-cpu-'));
execFileSync(path.join(repoRoot, 'node_modules/.bin/esbuild'), ['bench/chromium_cpu.worker.mjs', '--bundle', '--format=esm',
  '--platform=browser', '--target=es2022', '--loader:.sql=text', '--external:/build-wasm/*', '--log-level=warning',
  `--outfile=${path.join(site, 'bench', 'chromium_cpu.worker.js')}`], { cwd: repoRoot, stdio: 'inherit' });
fs.mkdirSync(path.join(site, 'build-wasm'));
for (const f of ['tillsync.mjs', 'tillsync.wasm']) fs.copyFileSync(path.join(repoRoot, 'build-wasm', f), path.join(site, 'build-wasm', f));
fs.mkdirSync(path.join(site, 'e2e'));
fs.copyFileSync(path.join(repoRoot, 'e2e/worker_page.html'), path.join(site, 'e2e/worker_page.html'));
const server = await startStaticServer({ root: site, allow: ['/'], headers: {
  'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } });

async function runNode(flags, { crowd = 0 }) {
  const out = execFileSync(process.execPath, [...flags, path.join(repoRoot, 'bench/chromium_cpu.mjs'), '--child', '--sales', String(SALES), '--crowd', String(crowd)],
    { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop());
}

let chromiumVersion = '';
async function runChromium(extraArgs, { realOpfs = false, streaming = false, crowd = 0, crowdOpfs = false, floor = false }) {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'tillsync-chromium-cpu-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
  try {
    chromiumVersion = context.browser()?.version() ?? chromiumVersion;
    const page = await context.newPage();
    await page.goto(`${server.url}/e2e/worker_page.html?worker=/bench/chromium_cpu.worker.js`);
    await page.waitForFunction(() => window.ready === true || window.initError, null, { timeout: 60_000 });
    const initError = await page.evaluate(() => window.initError || null);
    if (initError) throw new Error(`worker failed to start: ${initError}`);
    const r = await page.evaluate((a) => window.call('run', a),
      { sales: SALES, glueUrl: '/build-wasm/tillsync.mjs', wasmUrl: '/build-wasm/tillsync.wasm', realOpfs, streaming, crowd, crowdOpfs, floor });
    if (!r.ok) throw new Error(r.error);
    if (!r.crossOriginIsolated) throw new Error('the page is not cross-origin isolated: performance.now() would be coarse');
    chromiumVersion = chromiumVersion || r.userAgent;
    return r;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

const f = (x) => (x === undefined ? '-' : x.toFixed(3));
const runs = new Map(chosen.map((c) => [c, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < chosen.length; k++) {
      const name = chosen[(round + k) % chosen.length];
      const c = CONFIGS[name];
      const l0 = loadavg();
      const r = c.node ? await runNode(c.node, c) : await runChromium(c.chromium, c);
      const l1 = loadavg();
      runs.get(name).push({ ...r.figures, load: `${l0}->${l1}` });
      const e = r.figures.engine;
      const o = r.figures['engine-opfs'];
      console.log(`round ${round + 1} ${name}: engine p50 ${f(e.p50)} (cpu ${f(e.cpuP50)}, io ${f(e.ioP50)}) mean ${f(e.mean)}; ` +
        `sql p50 ${f(r.figures.sql.p50)}; performance.now() ${r.figures.nowNs.toFixed(0)} ns${o ? `; engine on real OPFS p50 ${f(o.p50)} (cpu ${f(o.cpuP50)}, io ${f(o.ioP50)})` : ''}${r.figures.raw ? `; raw floor p50 ${f(r.figures.raw.p50)}` : ''}; load ${l0}->${l1}`);
    }
  }
} finally {
  await server.close();
  fs.rmSync(site, { recursive: true, force: true });
}

const med = (xs) => { const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : undefined; };
const nodeBase = runs.get('node') ? med(runs.get('node').map((r) => r.engine.p50)) : undefined;
console.log('');
console.log(`Sale loop of bench/wasm_cpu.mjs (${SALES} sales after ${WARMUP} warm-up, engine and SQL sides interleaved, in-memory OPFS fake), ` +
  `build-wasm/ at ${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim()}; ` +
  `Node ${process.version} (V8 ${process.versions.v8}), Chromium ${chromiumVersion || '-'} headless; median over ${ROUNDS} rounds, ms; ` +
  `${new Date().toISOString().slice(0, 16)}Z, ${os.cpus()[0]?.model ?? ''} (${os.cpus().length} cores)`);
console.log('');
console.log('| configuration | RecordSale p50 | outside OPFS calls p50 | inside p50 | mean | SQL txn p50 | engine on real OPFS p50 (outside / inside) | raw floor p50 | RecordSale p50 / node | performance.now() ns | load (per round) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const name of chosen) {
  const rs = runs.get(name);
  const m = (get) => med(rs.map(get));
  const o = rs[0]['engine-opfs'] ? `${f(m((r) => r['engine-opfs'].p50))} (${f(m((r) => r['engine-opfs'].cpuP50))} / ${f(m((r) => r['engine-opfs'].ioP50))})` : '-';
  const p50 = m((r) => r.engine.p50);
  console.log(`| ${name} | ${f(p50)} | ${f(m((r) => r.engine.cpuP50))} | ${f(m((r) => r.engine.ioP50))} | ${f(m((r) => r.engine.mean))} | ` +
    `${f(m((r) => r.sql.p50))} | ${o} | ${rs[0].raw ? f(m((r) => r.raw.p50)) : '-'} | ${nodeBase ? (p50 / nodeBase).toFixed(2) + 'x' : '-'} | ${m((r) => r.nowNs).toFixed(0)} | ${rs.map((r) => r.load).join(', ')} |`);
}
