// bench/cpu_workload.mjs: the sale loop of bench/wasm_cpu.mjs as a module that runs unchanged
// in Node and in a browser worker (bench/chromium_cpu.mjs runs it in both, one command), so the
// two runtimes execute the same .wasm, the same in-memory OPFS fake and the same sales.
// Every access-handle call is timed (TimedDirectory), so each figure splits into the time inside
// OPFS calls (io) and outside them (cpu), as the session 5 "sale" diagnostic did in Chromium.
import { MemoryDirectory } from '../wasm/memory_access_handle.js';
import { Engine, withUtf8 } from '../worker/engine.js';
import { BROWSER_OPEN_OPTIONS } from '../worker/owner.js';
import { mulberry32, shuffled } from '../tests/support/seeded_random.mjs';
import { IDENTITY, PRODUCT_COUNT, SALE, productRows, saleSql } from './sale_workload.mjs';

export const WARMUP = 100;
export const SEED = 20261123;

// The in-memory OPFS fake without its durable copy (a flush only forgets the pending writes):
// the same class as bench/wasm_cpu.mjs uses, for the same reason (the copy is for crash tests).
export class CpuDirectory extends MemoryDirectory {
  async getFileHandle(name, options) {
    const handle = await super.getFileHandle(name, options);
    const file = this._files.get(name);
    file.makeDurable = function makeDurable() { this.pending = []; };
    return handle;
  }
}

// Wraps a directory (the fake, or a real FileSystemDirectoryHandle) so that the time spent in
// its access handles' calls is added to `clock.io`. The VFS uses only these six calls.
class TimedHandle {
  constructor(h, clock) { this.h = h; this.clock = clock; }
  read(b, o) { const t = performance.now(); try { return this.h.read(b, o); } finally { this.clock.io += performance.now() - t; } }
  write(b, o) { const t = performance.now(); try { return this.h.write(b, o); } finally { this.clock.io += performance.now() - t; } }
  flush() { const t = performance.now(); try { return this.h.flush(); } finally { this.clock.io += performance.now() - t; } }
  truncate(n) { const t = performance.now(); try { return this.h.truncate(n); } finally { this.clock.io += performance.now() - t; } }
  getSize() { const t = performance.now(); try { return this.h.getSize(); } finally { this.clock.io += performance.now() - t; } }
  close() { return this.h.close(); }
}

class TimedFileHandle {
  constructor(fh, clock) { this.fh = fh; this.clock = clock; this.kind = 'file'; this.name = fh.name; }
  async createSyncAccessHandle() { return new TimedHandle(await this.fh.createSyncAccessHandle(), this.clock); }
}

export class TimedDirectory {
  constructor(dir, clock) { this.dir = dir; this.clock = clock; this.kind = 'directory'; this.name = dir.name; }
  async getFileHandle(name, options) { return new TimedFileHandle(await this.dir.getFileHandle(name, options), this.clock); }
  async removeEntry(name, options) { return this.dir.removeEntry(name, options); }
  async *entries() {
    for await (const [name, h] of this.dir.entries()) yield [name, h.kind === 'file' ? new TimedFileHandle(h, this.clock) : h];
  }
}

// One side of the loop: its own module instance (M, already created by the caller) on its own
// directory. kind 'engine': RecordSale through worker/engine.js; 'sql': the same rows as one SQL
// transaction (sqlExec). Returns {name, sale(i, sql), clock, close()}.
export async function makeSide(name, kind, M, directory, schemaSql) {
  const clock = { io: 0 };
  await M.installOpfsPool({ directory: new TimedDirectory(directory, clock), capacity: 8, coalesceWrites: true });
  if (kind === 'engine') {
    const e = Engine.open(M, 'store.db', { ...BROWSER_OPEN_OPTIONS, identity: IDENTITY });
    for (let i = 0; i < PRODUCT_COUNT; i += 250) {
      e.write(productRows(PRODUCT_COUNT).slice(i, i + 250).map(([id, n, price, tax, active]) =>
        ({ table: 'products', id, values: { name: n, price_minor: price, tax_rate_bp: tax, active } })));
    }
    return { name, M, clock, sale: (i) => e.recordSale(SALE(i)), close: () => { e.close(); M.releaseOpfsPool(); } };
  }
  const db = M.sqlOpen('sql.db', 'opfs').db;
  const exec = (sql) => { const r = M.sqlExec(db, sql); if (r.code !== 0) throw new Error(`${r.message} ${r.detail}`); };
  exec('PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;');
  exec(schemaSql);
  const insert = 'INSERT INTO products (id, name, price_minor, tax_rate_bp, active) VALUES (?, ?, ?, ?, ?)';
  const r = withUtf8(M, JSON.stringify(productRows(PRODUCT_COUNT)), (at, size) => M.sqlBatch(db, insert, at, size));
  if (r.code !== 0) throw new Error(`sqlBatch: ${r.message}`);
  return { name, clock, sale: (i, sql) => exec(sql), close: () => { M.sqlClose(db); M.releaseOpfsPool(); } };
}

const pick = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

// WARMUP + `sales` rounds; round i runs sale i of every side in a fresh shuffled order (the
// order of bench/wasm_cpu.mjs). Per side: p50 and mean of the whole sale, p50 of the time inside
// OPFS calls (ioP50) and outside them (cpuP50), in ms.
export function runSales(sides, sales) {
  const t = new Map(sides.map((s) => [s, { all: [], io: [], cpu: [] }]));
  const random = mulberry32(SEED);
  for (let i = 0; i < WARMUP + sales; i++) {
    const sql = saleSql(i);
    for (const s of shuffled(sides, random)) {
      const io0 = s.clock.io;
      const t0 = performance.now();
      s.sale(i, sql);
      const ms = performance.now() - t0;
      if (i < WARMUP) continue;
      const io = s.clock.io - io0;
      const r = t.get(s);
      r.all.push(ms);
      r.io.push(io);
      r.cpu.push(ms - io);
    }
  }
  const out = {};
  for (const s of sides) {
    const r = t.get(s);
    out[s.name] = { p50: pick(r.all, 50), mean: r.all.reduce((a, b) => a + b, 0) / r.all.length,
      ioP50: pick(r.io, 50), cpuP50: pick(r.cpu, 50) };
  }
  // What one performance.now() costs here, in ns: the split takes two per OPFS call.
  const t0 = performance.now();
  let x = 0;
  for (let k = 0; k < 100000; k++) x += performance.now();
  out.nowNs = ((performance.now() - t0) * 1e6) / 100000 + (x < 0 ? 1 : 0);
  return out;
}
