// bench/bulk_stages.mjs: where the 10,000-row sqlBatch's time goes, by stage, in Node on the
// in-memory OPFS fake (flush = forget pending writes, as in bench/wasm_cpu.mjs). Per build dir
// (optionally DIR#PRAGMAS run before the database's first write, e.g. "build-wasm#PRAGMA
// page_size=8192;"), alternated round by round in one process, the median of ROUNDS (env, 9) of:
// JSON.stringify of the rows, TextEncoder into wasm memory, sqlBatch over SELECT ?,?,?,?,?
// (scan + bind + step, no table), into a table with only a text primary key, into products (the
// browser bench's row). Prints figures; asserts nothing.
//   ROUNDS=15 node bench/bulk_stages.mjs build-wasm build-wasm-other
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { MemoryDirectory } from '../wasm/memory_access_handle.js';
import { withUtf8 } from '../worker/engine.js';
import { PRODUCT_COUNT, productRows } from './sale_workload.mjs';
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const schemaSql = fs.readFileSync(path.join(root, 'schema/migrations/001_initial.sql'), 'utf8');
class CpuDirectory extends MemoryDirectory {
  async getFileHandle(name, options) { const h = await super.getFileHandle(name, options); const f = this._files.get(name); f.makeDurable = function () { this.pending = []; }; return h; }
}
const ROUNDS = Number(process.env.ROUNDS || 9);
const dirs = process.argv.slice(2);
const sides = [];
for (const spec of dirs) {
  const [d, extra = ''] = spec.split('#');
  const abs = path.resolve(root, d);
  const { default: factory } = await import(pathToFileURL(path.join(abs, 'tillsync.mjs')).href);
  const M = await factory({ wasmBinary: fs.readFileSync(path.join(abs, 'tillsync.wasm')) });
  await M.installOpfsPool({ directory: new CpuDirectory(), capacity: 8, coalesceWrites: true });
  const db = M.sqlOpen('sql.db', 'opfs').db;
  const exec = (sql) => { const r = M.sqlExec(db, sql); if (r.code !== 0) throw new Error(`${r.message} ${r.detail}`); };
  exec(extra + 'PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;');
  exec(schemaSql);
  exec('CREATE TABLE plain (id TEXT PRIMARY KEY NOT NULL, name TEXT, p INT, t INT, a INT)');
  const ins = 'INSERT INTO products (id, name, price_minor, tax_rate_bp, active) VALUES (?, ?, ?, ?, ?)';
  const batch = (sql, text) => { const r = withUtf8(M, text, (at, size) => M.sqlBatch(db, sql, at, size)); if (r.code !== 0) throw new Error(r.message); };
  batch(ins, JSON.stringify(productRows(PRODUCT_COUNT)));
  sides.push({ d: spec, M, batch, ins, t: {} });
}
const stages = ['stringify', 'encode', 'select', 'plain', 'products'];
for (let r = 0; r < ROUNDS; r++) {
  for (const s of (r % 2 ? [...sides].reverse() : sides)) {
    const rows = productRows(10000).map((row) => [`bulk-${r}-${row[0]}`, ...row.slice(1)]);
    const push = (k, ms) => (s.t[k] ||= []).push(ms);
    let t0 = performance.now(); const text = JSON.stringify(rows); push('stringify', performance.now() - t0);
    t0 = performance.now(); withUtf8(s.M, text, () => 0); push('encode', performance.now() - t0);
    t0 = performance.now(); s.batch('SELECT ?, ?, ?, ?, ?', text); push('select', performance.now() - t0);
    t0 = performance.now(); s.batch('INSERT INTO plain VALUES (?, ?, ?, ?, ?)', text); push('plain', performance.now() - t0);
    t0 = performance.now(); s.batch(s.ins, text); push('products', performance.now() - t0);
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`stages, median of ${ROUNDS}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`| build | ${stages.join(' | ')} |`);
for (const s of sides) console.log(`| ${s.d} | ${stages.map((k) => med(s.t[k]).toFixed(2)).join(' | ')} |`);
