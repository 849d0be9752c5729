// bench/inbrowser_profile.mjs: where the browser's time goes INSIDE Chromium, in the package's
// owner worker on real OPFS. A diagnostic (prints figures, asserts nothing), not a benchmark of
// record: the sampling profiler itself costs a few percent.
//
//   node bench/inbrowser_profile.mjs [--products 100000] [--sales 1000] [--interval-us 100]
//                                    [--only pull|sale] [--top 25] [--no-build] [--json FILE]
//                                    [--package DIR] [--inclusive a,b,c]
//
// What it does: builds the wasm module once more with emcc --profiling-funcs (its own build dir
// build-wasm-prof/, never the shipped build-wasm/ or dist/; the name section makes V8 name every
// wasm function) and the package around it (build-wasm-prof/package/: dist's index.js, a
// worker.js bundled with that glue, that .wasm); starts the real hub with --static serving that
// package (one origin, as browser.mjs's page 2), seeds --products products; launches Debian's
// Chromium with a persistent profile (real OPFS on disk); opens a store on the page and attaches
// the DevTools protocol to its owner worker (a CDP session on the page, Target.setAutoAttach,
// non-flat: messages to the worker go through Target.sendMessageToTarget). Then, with V8's
// sampling profiler running in that worker (Profiler.setSamplingInterval --interval-us, default
// 100 us):
//   (a) pull: store.sync() of a new device into a new store: the initial pull of --products
//       products (browser.mjs --only pull's workload);
//   (b) sale: --sales store.recordSale() calls from the page, one at a time (each waits for the
//       one before, as a cashier does), after 50 unprofiled warm-up sales, into the same store
//       (with --only sale the pull runs first unprofiled: the sales need the catalog).
// For each it prints: the wall time, the owner's own split (lastCycle: network / engine), the
// OPFS pool's counts and times (opfsPoolStats(): reads, writes, flushes and the ms spent inside
// the access handles' calls), and the profile's self time by group and the top --top functions.
// Groups (by the sampled frame's function, self time only):
//   wasm SQLite      a wasm function defined by the SQLite amalgamation (names from llvm-nm of
//                    the SQLite object in build-wasm-prof/)
//   wasm engine      every other wasm function: core/, wasm/bindings.cc, Embind's C++ side,
//                    libc, dlmalloc
//   JS VFS           the JS half of the OPFS VFS (wasm/opfs_vfs.js: _tsopfs_* and TSOPFS's
//                    methods) and the access handles' own calls made from it (read, write,
//                    flush, truncate, getSize: the time in OPFS itself)
//   JS other         every other JS frame, split below by source file of the bundle (owner.js,
//                    engine.js, the Emscripten/Embind glue, ...) and native builtins (JSON.parse,
//                    TextDecoder, fetch, postMessage ...) under the file that called them
//   GC               (garbage collector)
//   idle/program     (idle): the worker's thread waiting (for the network, for the page's next
//                    call); (program): V8/Blink native work not attributed to a JS or wasm frame
// Then the inclusive time (self + callees) under a few named frames: the bindings the owner
// called (Embind's invokers: engineHandlePullResponse, engineRecordSale, engineStatus, ...) and
// SQLite's main phases (statement steps, b-tree inserts and balance, page fetches, the WAL's
// frame writes and checkpoints, the sorter of the index build, the VFS's read/write/sync).
// --inclusive a,b,c replaces that list (each a name prefix; C++ names match without "ns::").
// --json FILE writes both raw profiles (.cpuprofile format) beside the tables for DevTools.
// --package DIR profiles another such package (index.js, worker.js, tillsync.wasm: e.g. a copy of
// build-wasm-prof/package made before a change) and builds nothing; SQLite's names still come
// from build-wasm-prof/ (the same amalgamation).
//
// Needs: scripts/build-native.sh (build/tillsync-server), npm ci; builds the rest itself.
// Run it under the bench lock: flock /tmp/tillsync-bench.lock node bench/inbrowser_profile.mjs
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from '../e2e/chromium.mjs';
import { repoRoot } from '../e2e/static_server.mjs';
import { startServer, HubClient, tempDir } from '../tests/server/hub_harness.mjs';

const args = process.argv.slice(2);
const strOpt = (name, dflt = null) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const PRODUCTS = Number(strOpt('products', 100000));
const SALES = Number(strOpt('sales', 1000));
const INTERVAL_US = Number(strOpt('interval-us', 100));
const TOP = Number(strOpt('top', 25));
const ONLY = strOpt('only');
const JSON_OUT = strOpt('json');
const INCLUSIVE = (strOpt('inclusive') ?? ['engine*', 'sqlite3_step', 'sqlite3BtreeInsert', 'balance', 'sqlite3BtreeIndexMoveto',
  'sqlite3PagerGet', 'getPageNormal', 'sqlite3WalFrames', 'walCheckpoint', 'sqlite3PagerCommitPhaseOne', 'vdbeSorterSort',
  'vdbeSorterMerge', 'sqlite3VdbeSorterRewind', '_tsopfs_read', '_tsopfs_write', '_tsopfs_sync', 'Scanner',
  'TypedRowHash', 'dlmalloc', 'dlfree'].join(',')).split(',').filter(Boolean);
const SALE_WARMUP = 50;

const sh = (cmd, a, env = {}) => execFileSync(cmd, a, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8',
  env: { ...process.env, ...env } });
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const f = (x, d = 1) => (x === undefined || x === null || Number.isNaN(x) ? '-' : Number(x).toFixed(d));

// --- The profiling build: build-wasm-prof/ and the package around it ---------------------------
const profDir = path.join(repoRoot, 'build-wasm-prof');
const pkgDir = strOpt('package') ? path.resolve(strOpt('package')) : path.join(profDir, 'package');
if (!args.includes('--no-build') && !strOpt('package')) {
  sh('bash', ['scripts/build-package.sh']);  // dist/index.js (the page side is the same file)
  const env = { NODE_PATH: process.env.NODE_PATH || '/usr/share/nodejs' };
  if (!fs.existsSync(path.join(profDir, 'CMakeCache.txt'))) {
    sh('emcmake', ['cmake', '-S', '.', '-B', profDir, '-DCMAKE_BUILD_TYPE=Release', '-DCMAKE_EXE_LINKER_FLAGS=--profiling-funcs'], env);
  }
  sh('cmake', ['--build', profDir, '-j2'], env);
  fs.mkdirSync(pkgDir, { recursive: true });
  // worker.js imports '../build-wasm/tillsync.mjs'; this bundle takes the profiling link's glue
  // instead (glue and .wasm must come from one link).
  const esbuild = await import(path.join(repoRoot, 'node_modules/esbuild/lib/main.js'));
  await esbuild.build({ entryPoints: [path.join(repoRoot, 'worker/worker.js')], bundle: true, format: 'esm',
    platform: 'browser', target: 'es2022', logLevel: 'warning', legalComments: 'none', outfile: path.join(pkgDir, 'worker.js'),
    plugins: [{ name: 'prof-glue', setup(b) {
      b.onResolve({ filter: /build-wasm\/tillsync\.mjs$/ }, () => ({ path: path.join(profDir, 'tillsync.mjs') }));
    } }] });
  fs.copyFileSync(path.join(repoRoot, 'dist/index.js'), path.join(pkgDir, 'index.js'));
  fs.copyFileSync(path.join(profDir, 'tillsync.wasm'), path.join(pkgDir, 'tillsync.wasm'));
}

// SQLite's function names: every function symbol of the SQLite objects (static ones included).
const sqliteNames = new Set();
for (const obj of sh('find', [path.join(profDir, 'CMakeFiles'), '-path', '*tillsync_sqlite*', '-name', '*.o']).split('\n').filter(Boolean)) {
  for (const ln of sh('llvm-nm', ['--defined-only', obj]).split('\n')) {
    const m = /^\S*\s+[tTwW]\s+(\S+)$/.exec(ln.trim());
    if (m) sqliteNames.add(m[1]);
  }
}
if (sqliteNames.size < 500) throw new Error(`only ${sqliteNames.size} SQLite function names found in ${profDir}`);

// The bundle's source files by line: esbuild starts each module with a "// path" comment line.
const workerLines = fs.readFileSync(path.join(pkgDir, 'worker.js'), 'utf8').split('\n');
const moduleStarts = [];
workerLines.forEach((text, i) => {
  const m = /^\/\/ (\S+\.m?js)$/.exec(text);
  if (m) moduleStarts.push({ line: i, file: m[1].replace(/^.*?(worker\/|build-wasm-prof\/)/, '$1') });
});
const moduleOf = (line) => {
  let file = '(bundle)';
  for (const s of moduleStarts) { if (s.line <= line) file = s.file; else break; }
  return file;
};
// The VFS's JS half inside the glue: wasm/opfs_vfs.js's boundary functions (_tsopfs_*) and the
// methods of its TSOPFS object (V8 names them by their key).
const vfsSource = fs.readFileSync(path.join(repoRoot, 'wasm/opfs_vfs.js'), 'utf8');
const vfsMethods = new Set([...vfsSource.matchAll(/^ {4}(\w+): (?:async )?function/gm)].map((m) => m[1]));
const OPFS_NATIVE = new Set(['read', 'write', 'flush', 'truncate', 'getSize', 'close']);

// --- Hub, page, owner worker ----------------------------------------------------------------------
const site = tempDir('inbrowser-site');
fs.mkdirSync(path.join(site, 'tillsync'));
for (const file of ['index.js', 'worker.js', 'tillsync.wasm']) fs.copyFileSync(path.join(pkgDir, file), path.join(site, 'tillsync', file));
fs.copyFileSync(path.join(repoRoot, 'e2e/store_page.html'), path.join(site, 'index.html'));
fs.copyFileSync(path.join(repoRoot, 'e2e/store_page.mjs'), path.join(site, 'store_page.mjs'));
const hubDir = tempDir('inbrowser-hub');
const server = await startServer({ dir: hubDir, args: ['--static', site] });
const hub = new HubClient(server);
const shop = await hub.createShop('Profile shop');
const seedStart = Date.now();
for (let i = 0; i < PRODUCTS; i += 1000) {
  await hub.addProducts(Array.from({ length: Math.min(1000, PRODUCTS - i) }, (_, k) => ({
    id: `p-${i + k}`, name: `Product ${i + k}`, price: 100 + ((i + k) % 5000), tax_bp: (i + k) % 3 ? 700 : 1900 })));
}
const seedSeconds = (Date.now() - seedStart) / 1000;

// One CDP session on the page; the owner worker reached through it (non-flat auto-attach).
class WorkerDebugger {
  constructor(cdp) {
    this.cdp = cdp;
    this.sessionId = null;
    this.nextId = 1;
    this.pending = new Map();
    this.attached = new Promise((resolve) => { this.onAttach = resolve; });
    cdp.on('Target.attachedToTarget', (e) => {
      if (e.targetInfo.type === 'worker' && (e.targetInfo.title?.startsWith('tillsync:') || e.targetInfo.url.endsWith('/tillsync/worker.js'))) {
        this.sessionId = e.sessionId;
        this.onAttach(e.targetInfo);
      }
    });
    cdp.on('Target.receivedMessageFromTarget', (e) => {
      if (e.sessionId !== this.sessionId) return;
      const msg = JSON.parse(e.message);
      const p = msg.id && this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`)); else p.resolve(msg.result);
    });
  }

  static async on(page) {
    const cdp = await page.context().newCDPSession(page);
    const d = new WorkerDebugger(cdp);
    await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
    return d;
  }

  send(method, params = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.cdp.send('Target.sendMessageToTarget', { sessionId: this.sessionId, message: JSON.stringify({ id, method, params }) })
        .catch(reject);
    });
  }
}

// --- The profile, by group -----------------------------------------------------------------------
function analyse(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const selfUs = new Map();
  // timeDeltas[i] is the time from sample i-1 to sample i: charge it to sample i-1's frame.
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1] : 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + Math.max(0, dt));
  }
  const frameOf = (n) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const name = functionName || '(anonymous)';
    if (name === '(garbage collector)') return { group: 'GC', name, file: '' };
    if (name === '(idle)' || name === '(program)' || name === '(root)') return { group: 'idle/program', name, file: '' };
    // Chromium names the module's URL (or wasm://) on wasm frames; its JS<->wasm call wrappers
    // ("js-to-wasm:iidi:i", "wasm-to-js") are transitions, counted as JS other.
    if (url.endsWith('.wasm') || url.startsWith('wasm://')) {
      if (/^(js-to-wasm|wasm-to-js)/.test(name)) return { group: 'JS other', name, file: '(js<->wasm wrappers)' };
      const plain = name.replace(/^\$/, '');
      return { group: sqliteNames.has(plain) ? 'wasm SQLite' : 'wasm engine', name: plain, file: 'wasm' };
    }
    if (/^(js-to-wasm|wasm-to-js)/.test(name)) return { group: 'JS other', name, file: '(js<->wasm wrappers)' };
    // Embind's invokers are made at run time with new Function: a script of their own, no URL.
    if (url === '' && n.callFrame.scriptId !== '0' && lineNumber >= 0) return { group: 'JS other', name, file: '(Embind invokers, generated)' };
    if (url.endsWith('/worker.js')) {
      const file = moduleOf(lineNumber);
      const vfs = file.includes('tillsync.mjs') && (name.startsWith('_tsopfs_') || vfsMethods.has(name));
      return { group: vfs ? 'JS VFS' : 'JS other', name, file };
    }
    return null;  // a native builtin (url ''): charged by its caller below
  };
  const classify = (id) => {
    const n = byId.get(id);
    const own = frameOf(n);
    if (own) return own;
    // Native: the nearest JS/wasm caller decides the group; an access-handle call from the VFS is
    // OPFS time (JS VFS), the rest (JSON.parse, TextDecoder, fetch, postMessage) its caller's.
    let p = parentOf.get(id);
    while (p !== undefined) {
      const caller = frameOf(byId.get(p));
      if (caller) {
        const name = `${n.callFrame.functionName || '(native)'} (native, from ${caller.name})`;
        return { group: caller.group === 'wasm SQLite' || caller.group === 'wasm engine' ? 'JS other' : caller.group,
          name, file: caller.file, opfs: caller.group === 'JS VFS' && OPFS_NATIVE.has(n.callFrame.functionName) };
      }
      p = parentOf.get(p);
    }
    return { group: 'JS other', name: `${n.callFrame.functionName || '(native)'} (native)`, file: n.callFrame.url || '(native)' };
  };
  const groups = new Map();
  const fns = new Map();
  const files = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const c = classify(id);
    total += us;
    groups.set(c.group, (groups.get(c.group) ?? 0) + us);
    const key = `${c.group}\u0000${c.name}`;
    const fn = fns.get(key) ?? { group: c.group, name: c.name, file: c.file, us: 0 };
    fn.us += us;
    fns.set(key, fn);
    if (c.group === 'JS other' || c.group === 'JS VFS') {
      const fk = c.opfs ? 'access handles (read/write/flush/...)' : c.file || '(native)';
      files.set(`${c.group}\u0000${fk}`, (files.get(`${c.group}\u0000${fk}`) ?? 0) + us);
    }
  }
  // Inclusive time under each named frame: a sample counts once per name found among its
  // ancestors. "engine*" stands for every binding the owner called (Embind's invokers, JS).
  const inclusive = new Map();
  const short = (name) => name.replace(/^(\(anonymous namespace\)::|tillsync::(\(anonymous namespace\)::)?)/, '');
  const matches = (n) => {
    const name = short(n.callFrame.functionName);
    const out = [];
    for (const want of INCLUSIVE) {
      if (want === 'engine*') {
        if (/^engine[A-Z]\w*$/.test(name) && n.callFrame.url === '') out.push(name);
      } else if (name === want || name.startsWith(`${want}(`) || name.startsWith(`${want}::`)) out.push(want);
    }
    return out;
  };
  // And each binding's inclusive time split by the group of the frame sampled under it.
  const bindings = new Map();
  for (const [id, us] of selfUs) {
    const seen = new Set();
    let binding = null;
    for (let q = id; q !== undefined; q = parentOf.get(q)) {
      for (const k of matches(byId.get(q))) {
        seen.add(k);
        if (binding === null && k.startsWith('engine')) binding = k;
      }
    }
    for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    if (binding !== null) {
      const c = classify(id);
      const g = c.opfs ? 'OPFS calls' : c.group;
      const split = bindings.get(binding) ?? new Map();
      split.set(g, (split.get(g) ?? 0) + us);
      bindings.set(binding, split);
    }
  }
  return { total, groups, fns: [...fns.values()].sort((a, b) => b.us - a.us), files, inclusive, bindings };
}

// C++ names as printed: libc++'s inline namespace, the string and json template spelled short.
const readable = (name) => {
  const s = name.replaceAll('std::__2::', 'std::')
    .replaceAll('std::basic_string<char, std::char_traits<char>, std::allocator<char> >', 'std::string')
    .replaceAll('std::basic_string_view<char, std::char_traits<char> >', 'std::string_view')
    .replace(/nlohmann::json_abi_v3_11_2::basic_json<[^()]*?std::vector<unsigned char, std::allocator<unsigned char> > >/g, 'json');
  return s.length > 150 ? `${s.slice(0, 147)}...` : s;
};

function printProfile(title, a, wallMs) {
  const pct = (us) => `${f((100 * us) / a.total, 1)} %`;
  const ms = (us) => f(us / 1000, 1);
  console.log('');
  console.log(`${title}: profile of the owner worker, ${ms(a.total)} ms sampled (wall ${f(wallMs, 0)} ms), interval ${INTERVAL_US} us`);
  console.log('');
  console.log('| group | self ms | share |');
  console.log('|---|---|---|');
  const order = ['wasm SQLite', 'wasm engine', 'JS VFS', 'JS other', 'GC', 'idle/program'];
  for (const g of order) console.log(`| ${g} | ${ms(a.groups.get(g) ?? 0)} | ${pct(a.groups.get(g) ?? 0)} |`);
  const idle = a.fns.filter((x) => x.group === 'idle/program');
  console.log(`(idle/program: ${idle.map((x) => `${x.name} ${ms(x.us)} ms`).join(', ')})`);
  console.log('');
  console.log('JS by source file (self time; natives under the file that called them):');
  console.log('');
  console.log('| group | file | self ms | share |');
  console.log('|---|---|---|---|');
  for (const [k, us] of [...a.files].sort((x, y) => y[1] - x[1])) {
    const [g, file] = k.split('\u0000');
    console.log(`| ${g} | ${file} | ${ms(us)} | ${pct(us)} |`);
  }
  console.log('');
  console.log(`Top ${TOP} functions by self time (idle/program left out):`);
  console.log('');
  console.log('| # | function | group | self ms | share |');
  console.log('|---|---|---|---|---|');
  a.fns.filter((x) => x.group !== 'idle/program').slice(0, TOP)
    .forEach((x, i) => console.log(`| ${i + 1} | ${readable(x.name)} | ${x.group}${x.group.startsWith('JS') ? ` (${x.file})` : ''} | ${ms(x.us)} | ${pct(x.us)} |`));
  console.log('');
  console.log('Inclusive time (self + callees) under named frames; they nest, so the shares do not add up:');
  console.log('');
  console.log('| frame | inclusive ms | share |');
  console.log('|---|---|---|');
  for (const [k, us] of [...a.inclusive].sort((x, y) => y[1] - x[1])) console.log(`| ${k} | ${ms(us)} | ${pct(us)} |`);
  console.log('');
  console.log('Each binding the owner called, its inclusive time by the group of what ran under it (OPFS calls = the access handles\' own read/write/flush/truncate/getSize, the rest of JS VFS is its JS):');
  console.log('');
  const cols = ['wasm SQLite', 'wasm engine', 'JS VFS', 'OPFS calls', 'JS other', 'GC'];
  console.log(`| binding | inclusive ms | ${cols.join(' | ')} |`);
  console.log(`|---|---|${cols.map(() => '---').join('|')}|`);
  for (const [k, split] of [...a.bindings].sort((x, y) => (a.inclusive.get(y[0]) ?? 0) - (a.inclusive.get(x[0]) ?? 0))) {
    if ((a.inclusive.get(k) ?? 0) < 1000) continue;  // under 1 ms: left out
    console.log(`| ${k} | ${ms(a.inclusive.get(k))} | ${cols.map((c) => ms(split.get(c) ?? 0)).join(' | ')} |`);
  }
}

function printOpfs(before, after) {
  const d = (k) => (after?.[k] ?? 0) - (before?.[k] ?? 0);
  console.log(`OPFS pool (opfsPoolStats, this phase): ${d('read')} reads, ${d('write')} writes (${f(d('bytesWritten') / 1e6, 1)} MB), ` +
    `${d('flush')} flushes; in the access handles' calls: read ${f(d('readMs'), 1)} ms, write ${f(d('writeMs'), 1)} ms, flush ${f(d('flushMs'), 1)} ms`);
}

const profileDir = await mkdtemp(path.join(os.tmpdir(), 'tillsync-inbrowser-profile-'));
const context = await launchChromium(profileDir);
const saved = {};
try {
  console.log(`## inbrowser_profile -- ${new Date().toISOString()} -- ${sh('git', ['rev-parse', '--short', 'HEAD']).trim()} -- load ${load()}`);
  console.log(`Chromium ${context.browser()?.version() ?? sh('/usr/bin/chromium', ['--version']).trim()}, headless, persistent profile; ` +
    `package ${pkgDir} (tillsync.wasm ${fs.statSync(path.join(pkgDir, 'tillsync.wasm')).size} bytes with names); ` +
    `hub seeded with ${PRODUCTS} products in ${f(seedSeconds, 1)} s`);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  await page.goto(server.url + '/');
  await page.waitForFunction(() => window.ready === true);
  const dbg = await WorkerDebugger.on(page);
  const device = await hub.registerDevice(shop.shop_token, 'Profile till');
  const creds = { url: server.url, shopId: device.reg.shop_id, deviceId: device.reg.device_id,
    deviceToken: device.reg.device_token, receiptPrefix: device.reg.receipt_prefix };
  await page.evaluate(async (c) => {
    await window.openTill({ name: 'profile', hub: c, syncOnOpen: false, writeDebounceMs: 1e9, syncIntervalMs: 0 });
  }, creds);
  const target = await Promise.race([dbg.attached, new Promise((_, reject) => setTimeout(() => reject(new Error('owner worker not attached')), 10000))]);
  await dbg.send('Profiler.enable');
  await dbg.send('Profiler.setSamplingInterval', { interval: INTERVAL_US });
  const diagnostics = () => page.evaluate(() => window.store._c.call('diagnostics'));
  const profiled = async (fn) => {
    const before = await diagnostics();
    await dbg.send('Profiler.start');
    const t0 = Date.now();
    const r = await fn();
    const wallMs = Date.now() - t0;
    const { profile } = await dbg.send('Profiler.stop');
    const after = await diagnostics();
    return { r, wallMs, profile, before, after };
  };
  console.log(`owner worker: ${target.title || target.url}`);

  if (ONLY !== 'sale') {
    const p = await profiled(() => page.evaluate(async () => {
      const t0 = performance.now();
      await window.store.sync();
      const ms = performance.now() - t0;
      return { ms, n: (await window.store.query('SELECT count(*) AS n FROM products'))[0].n };
    }));
    const c = p.after.lastCycle;
    console.log('');
    console.log(`(a) initial pull: ${f(p.r.ms / 1000, 2)} s, ${p.r.n} products; owner's split: network ${f(c.networkMs / 1000, 2)} s ` +
      `(first page ${f(c.firstPageMs / 1000, 2)} s), engine ${f(c.engineMs / 1000, 2)} s, ${c.requests} requests; load ${load()}`);
    printOpfs(p.before.opfs, p.after.opfs);
    printProfile('(a) initial pull', analyse(p.profile), p.wallMs);
    saved.pull = p.profile;
  }
  if (ONLY === 'sale') await page.evaluate(() => window.store.sync());  // the catalog, unprofiled
  if (ONLY !== 'pull') {
    await page.evaluate(async (n) => {
      for (let i = 0; i < n; i++) await window.store.recordSale({ lines: [0, 1, 2].map((k) => ({ productId: `p-${(i * 3 + k) % 1000}`, qty: 1 })) });
    }, SALE_WARMUP);
    const p = await profiled(() => page.evaluate(async ([from, n]) => {
      const times = [];
      for (let i = from; i < from + n; i++) {
        const t0 = performance.now();
        await window.store.recordSale({ lines: [0, 1, 2].map((k) => ({ productId: `p-${(i * 3 + k) % 1000}`, qty: 1 })) });
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      return { p50: times[Math.floor(n / 2)], p99: times[Math.floor(n * 0.99)], totalMs: times.reduce((s, x) => s + x, 0) };
    }, [SALE_WARMUP, SALES]));
    console.log('');
    console.log(`(b) ${SALES} sales, one at a time from the page (after ${SALE_WARMUP} warm-up): round trip p50 ${f(p.r.p50, 3)} ms, ` +
      `p99 ${f(p.r.p99, 3)} ms, sum ${f(p.r.totalMs, 0)} ms; load ${load()}`);
    printOpfs(p.before.opfs, p.after.opfs);
    const a = analyse(p.profile);
    printProfile(`(b) ${SALES} sales`, a, p.wallMs);
    const busy = a.total - (a.groups.get('idle/program') ?? 0);
    console.log(`per sale: busy (not idle/program) ${f(busy / SALES / 1000, 3)} ms, of which wasm SQLite ${f((a.groups.get('wasm SQLite') ?? 0) / SALES / 1000, 3)}, ` +
      `wasm engine ${f((a.groups.get('wasm engine') ?? 0) / SALES / 1000, 3)}, JS VFS ${f((a.groups.get('JS VFS') ?? 0) / SALES / 1000, 3)}, ` +
      `JS other ${f((a.groups.get('JS other') ?? 0) / SALES / 1000, 3)}, GC ${f((a.groups.get('GC') ?? 0) / SALES / 1000, 3)} ms`);
    saved.sale = p.profile;
  }
  await page.evaluate(() => window.store.close());
  console.log('');
  console.log(`## done -- ${new Date().toISOString()} -- load ${load()}`);
  if (JSON_OUT) {
    for (const [k, prof] of Object.entries(saved)) fs.writeFileSync(`${JSON_OUT}.${k}.cpuprofile`, JSON.stringify(prof));
  }
} finally {
  await context.close();
  await server.stop();
  await rm(profileDir, { recursive: true, force: true });
  fs.rmSync(site, { recursive: true, force: true });
  fs.rmSync(hubDir, { recursive: true, force: true });
}
