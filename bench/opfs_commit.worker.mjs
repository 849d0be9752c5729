// Worker side of bench/opfs_commit.mjs: single-row durable commits through the "opfs" VFS on
// real OPFS, per journal mode, plus the raw OPFS floor (one 4 KiB write + flush on a bare
// handle) measured in the same run for comparison.
import { moduleFactory, opfsDirectory, removeOpfsEntry, serve } from '../e2e/worker_support.mjs';

const newModule = moduleFactory();
const BASE = 'tillsync-bench';

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summarize(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((s, x) => s + x, 0) / times.length;
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean };
}

async function commits({ label, pragmas, n, warmup }) {
  await removeOpfsEntry(BASE, label);
  const M = await newModule();
  await M.installOpfsPool({ directory: `${BASE}/${label}`, capacity: 6 });
  const db = M.sqlOpen('bench.db', 'opfs').db;
  const run = (sql) => {
    const r = M.sqlExec(db, sql);
    if (r.code !== 0) throw new Error(`${sql}: ${r.message} ${r.detail || ''}`);
  };
  for (const p of pragmas) run(p);
  const journalMode = M.sqlQuery(db, 'PRAGMA journal_mode').rows[0][0];
  const synchronous = M.sqlQuery(db, 'PRAGMA synchronous').rows[0][0];
  run('CREATE TABLE sale(id INTEGER PRIMARY KEY, device TEXT NOT NULL, total_minor INTEGER NOT NULL, note TEXT)');
  const insert = (i) => run(`INSERT INTO sale(device, total_minor, note) VALUES ('till-1', ${100 + i}, 'receipt ${i}')`);
  for (let i = 0; i < warmup; i++) insert(i);
  M.resetOpfsPoolStats();
  const times = new Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    insert(warmup + i); // autocommit: one durable transaction per row
    times[i] = performance.now() - t0;
  }
  const stats = M.opfsPoolStats();
  const count = M.sqlQuery(db, 'SELECT count(*) FROM sale').rows[0][0];
  if (count !== warmup + n) throw new Error(`expected ${warmup + n} rows, found ${count}`);
  M.sqlClose(db);
  M.releaseOpfsPool();
  await removeOpfsEntry(BASE, label);
  const per = (k) => stats[k] / n;
  return { label, journalMode, synchronous, n, ...summarize(times),
    writesPerCommit: per('write'), flushesPerCommit: per('flush'), truncatesPerCommit: per('truncate'),
    readsPerCommit: per('read'), skippedFlushesPerCommit: per('flushSkipped') };
}

async function rawFloor({ n, warmup }) {
  await removeOpfsEntry(BASE, 'raw');
  const dir = await opfsDirectory(`${BASE}/raw`);
  const h = await (await dir.getFileHandle('raw.bin', { create: true })).createSyncAccessHandle();
  const page = new Uint8Array(4096).fill(7);
  const times = [];
  for (let i = 0; i < warmup + n; i++) {
    const t0 = performance.now();
    h.write(page, { at: (i % 256) * 4096 });
    h.flush();
    if (i >= warmup) times.push(performance.now() - t0);
  }
  h.close();
  await removeOpfsEntry(BASE, 'raw');
  return { label: 'raw OPFS: 4 KiB write + flush', n, ...summarize(times), writesPerCommit: 1, flushesPerCommit: 1 };
}

serve({
  async run({ n, warmup }) {
    const results = [];
    results.push(await rawFloor({ n, warmup }));
    results.push(await commits({ label: 'wal-exclusive', n, warmup,
      pragmas: ['PRAGMA locking_mode=EXCLUSIVE', 'PRAGMA journal_mode=WAL'] }));
    results.push(await commits({ label: 'delete', n, warmup, pragmas: ['PRAGMA journal_mode=DELETE'] }));
    results.push(await commits({ label: 'delete-exclusive', n, warmup,
      pragmas: ['PRAGMA locking_mode=EXCLUSIVE', 'PRAGMA journal_mode=DELETE'] }));
    results.push(await commits({ label: 'truncate-exclusive', n, warmup,
      pragmas: ['PRAGMA locking_mode=EXCLUSIVE', 'PRAGMA journal_mode=TRUNCATE'] }));
    return { ok: true, results, crossOriginIsolated: self.crossOriginIsolated };
  },
}, async () => {});
