// bench/wasm_cpu.mjs: the CPU cost of wasm builds, side by side, without the disk. Each build
// (a directory holding tillsync.mjs + tillsync.wasm) runs in Node on the in-memory OPFS fake
// (wasm/memory_access_handle.js) with the browser's settings, so what differs between builds is
// only their code: the durable sale commit's flush, which in the browser costs about 0.3 ms and
// swings with the shared virtual disk, is not in these figures. Prints figures; asserts nothing.
//   node bench/wasm_cpu.mjs [--sales 2000] [--bulk 10000] [--rounds 7] build-wasm [build-wasm-x ...]
// Per build, interleaved commit by commit (round i runs sale i of every build, in a fresh shuffled
// order each round, so a burst of load from other processes slows every build alike):
//   - RecordSale through the engine (worker/engine.js, as the package calls it);
//   - the same rows as one SQL transaction (sqlExec: parse + prepare + step every statement);
// then, alternated over --rounds rounds, the median of:
//   - 10,000 rows in one transaction through sqlBatch (the loop inside wasm; JSON.stringify timed);
//   - 1,000 point reads through the engine's query().
// The same workload as bench/browser.mjs (bench/sale_workload.mjs). Node's V8 is not Chromium's,
// so read the ratios between builds, and take absolute browser figures from bench/browser.mjs.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import zlib from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { Engine, withUtf8 } from '../worker/engine.js';
import { BROWSER_OPEN_OPTIONS } from '../worker/owner.js';
import { mulberry32, shuffled } from '../tests/support/seeded_random.mjs';
import { IDENTITY, PRODUCT_COUNT, SALE, productRows, saleSql } from './sale_workload.mjs';
import { CpuDirectory } from './cpu_workload.mjs';

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const args = process.argv.slice(2);
const opts = { sales: 2000, bulk: 10000, rounds: 7, reads: 1000 };
const dirs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i].startsWith('--')) opts[args[i].slice(2)] = Number(args[++i]);
  else dirs.push(args[i]);
}
if (!dirs.length) dirs.push('build-wasm');
const WARMUP = 100;
const schemaSql = fs.readFileSync(path.join(repoRoot, 'schema/migrations/001_initial.sql'), 'utf8');

async function loadBuild(dir) {
  const abs = path.resolve(repoRoot, dir);
  const bytes = fs.readFileSync(path.join(abs, 'tillsync.wasm'));
  const { default: factory } = await import(pathToFileURL(path.join(abs, 'tillsync.mjs')).href);
  const compiled = await WebAssembly.compile(bytes);
  const instance = () => factory({
    instantiateWasm(imports, receive) {
      WebAssembly.instantiate(compiled, imports).then((inst) => receive(inst, compiled));
      return {};
    },
  });
  return { dir, raw: bytes.length, gzip: zlib.gzipSync(bytes, { level: 9 }).length, instance };
}

// CpuDirectory (bench/cpu_workload.mjs): the in-memory OPFS fake whose flush only forgets the
// pending writes; its durable copy of the whole file at every flush took half of a sale's time.

async function engineSide(build) {
  const M = await build.instance();
  await M.installOpfsPool({ directory: new CpuDirectory(), capacity: 8, coalesceWrites: true });
  const e = Engine.open(M, 'store.db', { ...BROWSER_OPEN_OPTIONS, identity: IDENTITY });
  for (let i = 0; i < PRODUCT_COUNT; i += 250) {
    e.write(productRows(PRODUCT_COUNT).slice(i, i + 250).map(([id, n, price, tax, active]) =>
      ({ table: 'products', id, values: { name: n, price_minor: price, tax_rate_bp: tax, active } })));
  }
  return {
    sale: (i) => e.recordSale(SALE(i)),
    reads: (count) => {
      let found = 0;
      for (let i = 0; i < count; i++) found += e.query('SELECT id, name, price_minor FROM products WHERE id = ?1', [`p-${(i * 7919) % PRODUCT_COUNT}`]).length;
      return found;
    },
  };
}

async function sqlSide(build) {
  const M = await build.instance();
  await M.installOpfsPool({ directory: new CpuDirectory(), capacity: 8, coalesceWrites: true });
  const db = M.sqlOpen('sql.db', 'opfs').db;
  const exec = (sql) => { const r = M.sqlExec(db, sql); if (r.code !== 0) throw new Error(`${r.message} ${r.detail}`); };
  exec('PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;');
  exec(schemaSql);
  const insert = 'INSERT INTO products (id, name, price_minor, tax_rate_bp, active) VALUES (?, ?, ?, ?, ?)';
  const batch = (rows) => {
    const r = withUtf8(M, JSON.stringify(rows), (at, size) => M.sqlBatch(db, insert, at, size));
    if (r.code !== 0) throw new Error(`sqlBatch: ${r.message}`);
  };
  batch(productRows(PRODUCT_COUNT));
  return { sale: (i, sql) => exec(sql), bulk: batch };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

const builds = [];
for (const d of dirs) builds.push(await loadBuild(d));
const sides = [];
for (const b of builds) {
  sides.push({ b, kind: 'engine', side: await engineSide(b), t: [] });
  sides.push({ b, kind: 'sql', side: await sqlSide(b), t: [] });
}
const load0 = os.loadavg()[0];
const random = mulberry32(20261123);
for (let i = 0; i < WARMUP + opts.sales; i++) {
  const sql = saleSql(i);
  for (const s of shuffled(sides, random)) {
    const t0 = performance.now();
    s.side.sale(i, sql);
    const ms = performance.now() - t0;
    if (i >= WARMUP) s.t.push(ms);
  }
}
const bulkMs = new Map(builds.map((b) => [b, []]));
const readMs = new Map(builds.map((b) => [b, []]));
for (let r = 0; r < opts.rounds; r++) {
  for (let k = 0; k < builds.length; k++) {
    const b = builds[(r + k) % builds.length];
    const rows = productRows(opts.bulk).map((row) => [`bulk-${r}-${row[0]}`, ...row.slice(1)]);
    const sql = sides.find((s) => s.b === b && s.kind === 'sql');
    let t0 = performance.now();
    sql.side.bulk(rows);
    bulkMs.get(b).push(performance.now() - t0);
    const eng = sides.find((s) => s.b === b && s.kind === 'engine');
    t0 = performance.now();
    eng.side.reads(opts.reads);
    readMs.get(b).push(performance.now() - t0);
  }
}
const load1 = os.loadavg()[0];

const f = (x, d = 3) => Number(x).toFixed(d);
console.log(`wasm CPU bench (Node ${process.version}, in-memory OPFS), ${opts.sales} sales after ${WARMUP} warm-up interleaved, ` +
  `${opts.bulk}-row sqlBatch and ${opts.reads} point reads: median of ${opts.rounds} alternating rounds; load average ${f(load0, 2)} -> ${f(load1, 2)}`);
console.log('');
console.log('| build | raw bytes | gzip -9 | RecordSale p50 / mean ms | SQL txn p50 / mean ms | 10k rows ms | 1k reads ms |');
console.log('|---|---|---|---|---|---|---|');
for (const b of builds) {
  const e = sides.find((s) => s.b === b && s.kind === 'engine').t;
  const q = sides.find((s) => s.b === b && s.kind === 'sql').t;
  const mean = (xs) => xs.reduce((x, y) => x + y, 0) / xs.length;
  console.log(`| ${b.dir} | ${b.raw.toLocaleString('en')} | ${b.gzip.toLocaleString('en')} | ${f(pct(e, 50))} / ${f(mean(e))} | ` +
    `${f(pct(q, 50))} / ${f(mean(q))} | ${f(median(bulkMs.get(b)), 1)} | ${f(median(readMs.get(b)), 1)} |`);
}
