// Worker side of bench/browser.mjs (bundled by it with esbuild; the official package is loaded
// unbundled from /sqlite-wasm/ exactly as it ships). Runs, in ONE dedicated worker on real OPFS:
//   - a durable sale commit: tillsync's engine (RecordSale: validation, pricing, merge metadata,
//     outbox) and the same rows as one SQL transaction on tillsync's VFS, on the official
//     opfs-sahpool VFS with default settings and with EXCLUSIVE + WAL, and the raw floor (the same
//     number of bytes written with bare access-handle writes and one flush);
//   - 1,000 point reads; 10,000 rows in one transaction.
// Prints nothing; returns figures to the driver. Times come from performance.now(), which is
// precise to microseconds because the driver serves this page cross-origin isolated.
import createTillsyncModule from '../build-wasm/tillsync.mjs';
import sqlite3InitModule from '/sqlite-wasm/index.mjs';
import { Engine } from '../worker/engine.js';
import { BROWSER_OPEN_OPTIONS } from '../worker/owner.js';
import schemaSql from '../schema/migrations/001_initial.sql';
import { opfsDirectory, removeOpfsEntry, serve } from '../e2e/worker_support.mjs';

const BASE = 'tillsync-browser-bench';
const IDENTITY = { device_id: 'dev-bench', shop_id: 'shop-bench', receipt_prefix: 'B' };
const PRODUCT_COUNT = 1000;

function summarize(times) {
  const s = [...times].sort((a, b) => a - b);
  const pick = (p) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  return { n: s.length, p50: pick(50), p99: pick(99), mean: s.reduce((x, y) => x + y, 0) / s.length };
}

function productRows(n) {
  return Array.from({ length: n }, (_, i) => [`p-${i}`, `Product ${i}`, 100 + (i % 900), i % 3 ? 700 : 1900, 1]);
}

// The rows a sale writes, as SQL with literal values, mirroring what the engine's RecordSale
// writes (core/device.cc): the order, 3 lines, a payment, 3 stock movements, each with its
// _ts_rows sync metadata, the shop checksum, the device's counters in _ts_kv and the outbox
// entry holding the operation's JSON. One BEGIN IMMEDIATE ... COMMIT.
function saleSql(i) {
  const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
  const t = 1_700_000_000_000 + i;
  const order = `o-${i}`;
  const hlc = `0${t.toString(16).padStart(12, '0')}.0000.${IDENTITY.device_id}`;
  const meta = (tbl, id) => `INSERT OR REPLACE INTO _ts_rows (tbl, id, scope, seq, version, clocks, hash) VALUES (${q(tbl)}, ${q(id)}, 'shop-bench', 0, 0, ${q(`{"*":"${hlc}"}`)}, ${1234567 + i});`;
  const lines = [];
  const changes = [];
  for (let k = 0; k < 3; k++) {
    const pid = `p-${(i * 3 + k) % PRODUCT_COUNT}`;
    lines.push(`INSERT OR REPLACE INTO order_lines (id, order_id, shop_id, product_id, name, qty, unit_price_minor, tax_minor, line_total_minor) VALUES (${q(`l-${i}-${k}`)}, ${q(order)}, 'shop-bench', ${q(pid)}, ${q(`Product ${pid}`)}, 1, 250, 48, 250);`, meta('order_lines', `l-${i}-${k}`));
    lines.push(`INSERT OR REPLACE INTO stock_movements (id, shop_id, product_id, qty_delta, kind, ref_id, created_at) VALUES (${q(`m-${i}-${k}`)}, 'shop-bench', ${q(pid)}, -1, 'sale', ${q(order)}, ${t});`, meta('stock_movements', `m-${i}-${k}`));
    changes.push({ table: 'order_lines', id: `l-${i}-${k}`, values: { order_id: order, product_id: pid, qty: 1, unit_price_minor: 250, tax_minor: 48, line_total_minor: 250 } });
    changes.push({ table: 'stock_movements', id: `m-${i}-${k}`, values: { product_id: pid, qty_delta: -1, kind: 'sale', ref_id: order, created_at: t } });
  }
  const op = JSON.stringify({ seq: i + 1, hlc, wall: t, changes });
  return ['BEGIN IMMEDIATE;',
    `INSERT OR REPLACE INTO _ts_kv (key, value) VALUES ('row_counter', ${i * 8 + 8}), ('receipt_counter', ${i + 1});`,
    `INSERT OR REPLACE INTO sales_orders (id, shop_id, device_id, receipt_no, status, subtotal_minor, tax_minor, total_minor, currency, created_at) VALUES (${q(order)}, 'shop-bench', 'dev-bench', ${q(`B-${String(i + 1).padStart(6, '0')}`)}, 'completed', 750, 144, 894, 'EUR', ${t});`,
    meta('sales_orders', order),
    ...lines,
    `INSERT OR REPLACE INTO payments (id, order_id, shop_id, method, amount_minor, tendered_minor, change_minor) VALUES (${q(`pay-${i}`)}, ${q(order)}, 'shop-bench', 'cash', 894, 1000, 106);`,
    meta('payments', `pay-${i}`),
    `INSERT OR REPLACE INTO _ts_checksum (scope, sum) VALUES ('shop-bench', ${i * 7});`,
    `INSERT INTO _ts_outbox (seq, op, created_at) VALUES (${i + 1}, ${q(op)}, ${t});`,
    `INSERT OR REPLACE INTO _ts_kv (key, value) VALUES ('next_seq', ${i + 2}), ('hlc', ${q(hlc)});`,
    'COMMIT;'].join('\n');
}

const SALE = (i) => ({ lines: [0, 1, 2].map((k) => ({ product_id: `p-${(i * 3 + k) % PRODUCT_COUNT}`, qty: 1 })),
  payments: [{ method: 'cash', tendered_minor: 100000 }] });

async function tillsyncModule(wasmUrl) {
  return createTillsyncModule({ locateFile: (f) => (f.endsWith('.wasm') ? wasmUrl : f) });
}

// tillsync: the engine's RecordSale, then the same rows as SQL through tillsync's VFS, then
// reads and the bulk insert.
async function runTillsync({ n, warmup, reads, bulk, wasmUrl, coalesceWrites, pageSize = 0, engineOnly = false }) {
  const dirName = `tillsync-${coalesceWrites ? 'c' : 'nc'}-${pageSize}`;
  await removeOpfsEntry(BASE, dirName);
  const M = await tillsyncModule(wasmUrl);
  await M.installOpfsPool({ directory: `${BASE}/${dirName}`, capacity: 8, coalesceWrites });
  const out = {};

  // 1. The engine's sale.
  const e = Engine.open(M, 'store.db', { ...BROWSER_OPEN_OPTIONS, identity: IDENTITY, ...(pageSize ? { page_size: pageSize } : {}) });
  out.pageSize = e.query('PRAGMA page_size')[0].page_size;
  for (let i = 0; i < PRODUCT_COUNT; i += 250) {
    e.write(productRows(PRODUCT_COUNT).slice(i, i + 250).map(([id, name, price, tax, active]) =>
      ({ table: 'products', id, values: { name, price_minor: price, tax_rate_bp: tax, active } })));
  }
  for (let i = 0; i < warmup; i++) e.recordSale(SALE(i));
  M.resetOpfsPoolStats();
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    e.recordSale(SALE(warmup + i));
    times.push(performance.now() - t0);
  }
  const st = M.opfsPoolStats();
  out.engineSale = { ...summarize(times), writes: st.write / n, flushes: st.flush / n, bytes: st.bytesWritten / n };

  // 2. 1,000 point reads through the engine's query() (JSON in, JSON out, statement prepared per call).
  if (reads) {
    const t0 = performance.now();
    let found = 0;
    for (let i = 0; i < reads; i++) found += e.query('SELECT id, name, price_minor FROM products WHERE id = ?1', [`p-${(i * 7919) % PRODUCT_COUNT}`]).length;
    out.reads = { n: reads, totalMs: performance.now() - t0, found };
  }
  e.close();
  if (engineOnly) {
    M.releaseOpfsPool();
    await removeOpfsEntry(BASE, dirName);
    return out;
  }

  // 3. The same sale rows as one SQL transaction through the tiny SQL runner on the same VFS.
  const db = M.sqlOpen('sql.db', 'opfs').db;
  const exec = (sql) => { const r = M.sqlExec(db, sql); if (r.code !== 0) throw new Error(`${r.message} ${r.detail}`); };
  exec('PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;');
  exec(schemaSql);
  for (let i = 0; i < warmup; i++) exec(saleSql(i));
  M.resetOpfsPoolStats();
  const sqlTimes = [];
  for (let i = 0; i < n; i++) {
    const sql = saleSql(warmup + i);
    const t0 = performance.now();
    exec(sql);
    sqlTimes.push(performance.now() - t0);
  }
  const st2 = M.opfsPoolStats();
  out.sqlSale = { ...summarize(sqlTimes), writes: st2.write / n, flushes: st2.flush / n, bytes: st2.bytesWritten / n };

  // 4. 10,000 rows in one transaction, the loop inside wasm (sqlBatch).
  if (bulk) {
    const rows = productRows(bulk).map((r) => [`bulk-${r[0]}`, ...r.slice(1)]);
    const t0 = performance.now();
    const r = M.sqlBatch(db, 'INSERT INTO products (id, name, price_minor, tax_rate_bp, active) VALUES (?, ?, ?, ?, ?)', JSON.stringify(rows));
    out.bulk = { n: bulk, totalMs: performance.now() - t0 };
    if (r.code !== 0) throw new Error(`sqlBatch: ${r.message}`);
  }
  M.sqlClose(db);
  M.releaseOpfsPool();
  await removeOpfsEntry(BASE, dirName);
  return out;
}

// The official @sqlite.org/sqlite-wasm 3.54.1-build1 with its opfs-sahpool VFS.
async function runOfficial({ n, warmup, reads, bulk }) {
  const sqlite3 = await sqlite3InitModule({ print: () => {}, printErr: () => {} });
  const pool = await sqlite3.installOpfsSAHPoolVfs({ directory: `/${BASE}-official`, initialCapacity: 12, clearOnInit: true });
  const out = { version: sqlite3.version.libVersion };
  for (const mode of ['default', 'exclusive-wal']) {
    const db = new pool.OpfsSAHPoolDb(`/${mode}.db`);
    if (mode === 'exclusive-wal') db.exec('PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL;');
    out[mode] = { journalMode: db.selectValue('PRAGMA journal_mode'), synchronous: db.selectValue('PRAGMA synchronous') };
    db.exec(schemaSql);
    db.transaction(() => {
      const st = db.prepare('INSERT INTO products (id, name, price_minor, tax_rate_bp, active) VALUES (?, ?, ?, ?, ?)');
      for (const r of productRows(PRODUCT_COUNT)) st.bind(r).stepReset();
      st.finalize();
    });
    for (let i = 0; i < warmup; i++) db.exec(saleSql(i));
    const times = [];
    for (let i = 0; i < n; i++) {
      const sql = saleSql(warmup + i);
      const t0 = performance.now();
      db.exec(sql);
      times.push(performance.now() - t0);
    }
    out[mode].sale = summarize(times);
    if (mode === 'exclusive-wal' && reads) {
      const t0 = performance.now();
      let found = 0;
      for (let i = 0; i < reads; i++) {
        if (db.selectObject('SELECT id, name, price_minor FROM products WHERE id = ?1', [`p-${(i * 7919) % PRODUCT_COUNT}`])) found++;
      }
      out.reads = { n: reads, totalMs: performance.now() - t0, found };
    }
    if (mode === 'exclusive-wal' && bulk) {
      const rows = productRows(bulk).map((r) => [`bulk-${r[0]}`, ...r.slice(1)]);
      const t0 = performance.now();
      db.transaction(() => {
        const st = db.prepare('INSERT INTO products (id, name, price_minor, tax_rate_bp, active) VALUES (?, ?, ?, ?, ?)');
        for (const r of rows) st.bind(r).stepReset();
        st.finalize();
      });
      out.bulk = { n: bulk, totalMs: performance.now() - t0 };
    }
    db.close();
  }
  await pool.removeVfs();
  return out;
}

// The raw floor: `bytes` appended with ONE bare access-handle write, then one flush, per commit.
async function runRawFloor({ n, warmup, bytes }) {
  await removeOpfsEntry(BASE, 'raw');
  const dir = await opfsDirectory(`${BASE}/raw`);
  const h = await (await dir.getFileHandle('raw.bin', { create: true })).createSyncAccessHandle();
  const buf = new Uint8Array(Math.ceil(bytes)).fill(7);
  const times = [];
  let at = 0;
  for (let i = 0; i < warmup + n; i++) {
    const t0 = performance.now();
    h.write(buf, { at });
    h.flush();
    if (i >= warmup) times.push(performance.now() - t0);
    at = (at + buf.length) % (8 << 20);  // append like a WAL, wrapping at 8 MiB
  }
  h.close();
  await removeOpfsEntry(BASE, 'raw');
  return { ...summarize(times), bytes: buf.length };
}

serve({
  async run({ n, warmup, reads, bulk, wasmUrl }) {
    const ours = await runTillsync({ n, warmup, reads, bulk, wasmUrl, coalesceWrites: true });
    const oursNoCoalesce = await runTillsync({ n, warmup, reads: 0, bulk: 0, wasmUrl, coalesceWrites: false });
    const oursPages = {};
    for (const pageSize of [1024, 2048, 4096]) {
      oursPages[pageSize] = await runTillsync({ n, warmup, reads: 0, bulk: 0, wasmUrl, coalesceWrites: true, pageSize, engineOnly: true });
    }
    const official = await runOfficial({ n, warmup, reads, bulk });
    const raw = await runRawFloor({ n, warmup, bytes: ours.engineSale.bytes });
    const rawSql = await runRawFloor({ n, warmup, bytes: ours.sqlSale.bytes });
    return { ok: true, crossOriginIsolated: self.crossOriginIsolated, ours, oursNoCoalesce, oursPages, official, raw, rawSql };
  },
}, async () => {});
