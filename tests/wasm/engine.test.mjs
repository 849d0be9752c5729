// The engine bindings (wasm/bindings.cc, section "engine") through worker/engine.js, on the
// in-memory OPFS fake with the browser's settings (WAL, EXCLUSIVE, synchronous=FULL, write
// coalescing): plain data in and out, errors with stable codes, ids that never leak, request
// ids that make a retried write happen once, durability across a new module instance, and a
// full quota that fails a write cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultPlan, MemoryDirectory } from '../../wasm/memory_access_handle.js';
import { Engine, withUtf8 } from '../../worker/engine.js';
import { BROWSER_OPEN_OPTIONS } from '../../worker/owner.js';
import { TillsyncError } from '../../worker/errors.js';
import { moduleFactory } from './load_module.mjs';

const newModule = await moduleFactory();
const IDENTITY = { device_id: 'dev-1', shop_id: 'shop-1', receipt_prefix: 'T1' };
const CLOCK = { now_ms: 1_700_000_000_000, seed: 7 };
const PRODUCTS = [
  { table: 'products', id: 'p-coffee', values: { name: 'Coffee', price_minor: 250, tax_rate_bp: 1900, active: 1 } },
  { table: 'products', id: 'p-bagel', values: { name: 'Bagel', price_minor: 320, tax_rate_bp: 700, active: 1 } },
];

async function openEngine({ dir = new MemoryDirectory(), faults, identity = IDENTITY } = {}) {
  const M = await newModule();
  if (faults) dir = new MemoryDirectory(dir.name, { faults });
  await M.installOpfsPool({ directory: dir, capacity: 6, coalesceWrites: true });
  const engine = Engine.open(M, 'store.db', { ...BROWSER_OPEN_OPTIONS, identity, clock: CLOCK });
  return { M, dir, engine };
}

function codeOf(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TillsyncError, `expected a TillsyncError, got ${e}`);
    assert.equal(typeof e.message, 'string');
    return e.code;
  }
  assert.fail('expected the call to fail');
}

test('OpenAnswersThePlainIdentityAndASmallIntegerId', async () => {
  const { M, engine } = await openEngine();
  assert.equal(typeof engine.id, 'number');
  assert.deepEqual(engine.identity, { ...IDENTITY, currency: 'EUR' });
  assert.equal(engine.schemaVersion, Engine.info(M).schema_version);
  assert.equal(Engine.info(M).sqlite_version, '3.54.1');
  engine.close();
  M.releaseOpfsPool();
});

test('TheBrowserSettingsReachTheDatabaseAndABadOneIsRefused', async () => {
  const { M, engine } = await openEngine();
  // journal_mode is left out: SQLite does not count reading it as read-only, and query() takes
  // only read-only statements (WriteCoalescingTurnsACommitsWalAppendsIntoOneWrite shows the WAL).
  const pragma = (name) => Object.values(engine.query(`PRAGMA ${name}`)[0])[0];
  assert.equal(pragma('synchronous'), 2);
  assert.equal(pragma('locking_mode'), 'exclusive');
  assert.equal(pragma('wal_autocheckpoint'), BROWSER_OPEN_OPTIONS.wal_autocheckpoint);
  engine.close();
  for (const bad of [0, -1, 1_000_001, 1.5, 'many']) {
    assert.equal(codeOf(() => Engine.open(M, 'other.db', { ...BROWSER_OPEN_OPTIONS, identity: IDENTITY, wal_autocheckpoint: bad })),
      typeof bad === 'number' && Number.isInteger(bad) ? 'bad_value' : 'bad_request', `wal_autocheckpoint ${bad}`);
  }
  M.releaseOpfsPool();
});

test('ClosedIdsAnswerNotOpenAndAreReused', async () => {
  const { M, engine } = await openEngine();
  const id = engine.id;
  assert.equal(codeOf(() => Engine.deleteDatabase(M, 'store.db')), 'busy', 'an open database is not deleted');
  engine.close();
  assert.deepEqual(JSON.parse(M.engineStatus(id)).code, 'not_open');
  const again = Engine.open(M, 'store.db', { ...BROWSER_OPEN_OPTIONS });
  assert.equal(again.id, id, 'a freed slot is handed out again: no growing table of dead handles');
  assert.deepEqual(again.identity.device_id, IDENTITY.device_id, 'the database kept its identity');
  again.close();
  M.releaseOpfsPool();
});

test('ErrorsCarryTheCoresStableCodes', async () => {
  const { M, engine } = await openEngine();
  engine.write(PRODUCTS, 'catalog');
  const cases = [
    ['unknown_table', () => engine.write([{ table: 'nope', id: 'x', values: {} }])],
    ['unknown_column', () => engine.write([{ table: 'products', id: 'p-x', values: { colour: 'red' } }])],
    ['float_money', () => engine.write([{ table: 'products', id: 'p-x', values: { name: 'X', price_minor: 2.5, tax_rate_bp: 0, active: 1 } }])],
    ['bad_id', () => engine.write([{ table: 'products', id: 'white space', values: { name: 'X' } }])],
    ['missing_field', () => engine.write([{ table: 'products', id: 'p-new', values: { name: 'No price' } }])],
    ['bad_quantity', () => engine.recordSale({ lines: [{ product_id: 'p-coffee', qty: 0 }] })],
    ['bad_request', () => engine.recordSale({ lines: [{ product_id: 'p-coffee', qty: 1.5 }] })],
    ['not_found', () => engine.recordSale({ lines: [{ product_id: 'p-missing', qty: 1 }] })],
    ['totals_mismatch', () => engine.recordSale({ lines: [{ product_id: 'p-coffee', qty: 1 }], payments: [{ method: 'card', amount_minor: 1 }] })],
    ['bad_amount', () => engine.recordSale({ lines: [{ product_id: 'p-coffee', qty: 1 }], payments: [{ method: 'cash', tendered_minor: 1 }] })],
    ['forbidden', () => engine.query('DELETE FROM products')],
    ['bad_request', () => engine.query('SELECT ?1', [])],
    ['bad_request', () => engine.write(null)],
    ['bad_quantity', () => engine.receiveStock('p-coffee', 2.5)],
    ['float_money', () => engine.recordExpense('milk', 1.25)],
    ['not_found', () => engine.voidSale('o-none')],
  ];
  for (const [code, fn] of cases) assert.equal(codeOf(fn), code, String(fn));
  const raw = JSON.parse(withUtf8(M, '[{', (at, size) => M.engineWrite(engine.id, at, size, '')));
  assert.deepEqual(Object.keys(raw).sort(), ['code', 'detail', 'message', 'ok']);
  assert.equal(raw.code, 'bad_json');
  assert.equal(engine.status().pending, 1, 'no refused call queued anything');
  engine.close();
  M.releaseOpfsPool();
});

test('ASaleIsOneOperationWithPricesTaxAndChangeComputedByTheEngine', async () => {
  const { M, engine } = await openEngine();
  engine.write(PRODUCTS);
  engine.receiveStock('p-coffee', 10);
  const sale = engine.recordSale({ lines: [{ product_id: 'p-coffee', qty: 2 }, { product_id: 'p-bagel', qty: 1 }],
    payments: [{ method: 'cash', tendered_minor: 2000 }], order_id: 'o-1' });
  // 2 x 250 at 19 % (95) + 320 at 7 % (22.4 -> 22)
  assert.deepEqual({ ...sale, seq: undefined }, { order_id: 'o-1', receipt_no: 'T1-000001', subtotal_minor: 820,
    tax_minor: 117, total_minor: 937, change_minor: 1063, seq: undefined, created_at: CLOCK.now_ms });
  const stock = engine.query('SELECT on_hand FROM stock_on_hand WHERE product_id = ?1', ['p-coffee']);
  assert.deepEqual(stock, [{ on_hand: 8 }]);
  const outbox = engine.outbox();
  assert.equal(outbox.length, 3);
  const op = outbox[2].op;
  assert.equal(op.seq, sale.seq);
  assert.deepEqual(op.changes.map((c) => c.table).sort(),
    ['order_lines', 'order_lines', 'payments', 'sales_orders', 'stock_movements', 'stock_movements']);
  engine.close();
  M.releaseOpfsPool();
});

test('ASalesAnswerTextIsTheSortedKeyJsonTheOtherCallsGive', async () => {
  // bindings.cc writes the sale's answer by hand (SaleAnswerText); it must be the very text
  // OkText gave through nlohmann: {"ok":true,"result":{...}} with the keys sorted, strings
  // escaped, no spaces. A receipt prefix with a quote, a backslash and non-ASCII text checks
  // the escaping as well.
  const { M, engine } = await openEngine({ identity: { ...IDENTITY, receipt_prefix: 'T"\\\u00e9' } });
  engine.write(PRODUCTS);
  const text = M.engineRecordSale(engine.id, JSON.stringify({ lines: [{ product_id: 'p-coffee', qty: 2 }],
    payments: [{ method: 'cash', tendered_minor: 1000 }], order_id: 'o-text.1' }), '');
  const parsed = JSON.parse(text);
  const sorted = Object.fromEntries(Object.keys(parsed.result).sort().map((k) => [k, parsed.result[k]]));
  assert.equal(text, JSON.stringify({ ok: true, result: sorted }));
  assert.deepEqual(Object.keys(sorted), ['change_minor', 'created_at', 'order_id', 'receipt_no', 'seq',
    'subtotal_minor', 'tax_minor', 'total_minor']);
  assert.equal(sorted.receipt_no, 'T"\\\u00e9-000001');
  assert.equal(sorted.order_id, 'o-text.1');
  assert.equal(sorted.change_minor, 1000 - 595);
  engine.close();
  M.releaseOpfsPool();
});

test('ARetriedRequestIdAnswersTheFirstResultAndWritesNothing', async () => {
  const { M, engine } = await openEngine();
  const first = engine.write(PRODUCTS, 'rq-1');
  const again = engine.write(PRODUCTS, 'rq-1');
  assert.equal(again.seq, first.seq);
  assert.equal(again.replayed, true);
  const s1 = engine.receiveStock('p-coffee', 5, 'rq-2');
  const s2 = engine.receiveStock('p-coffee', 5, 'rq-2');
  assert.equal(s2.seq, s1.seq);
  assert.deepEqual(engine.query("SELECT count(*) AS n, sum(qty_delta) AS q FROM stock_movements"), [{ n: 1, q: 5 }],
    'the engine picks stock movement ids itself, so only the request id keeps a retry from adding stock twice');
  assert.equal(engine.status().pending, 2);
  engine.close();
  M.releaseOpfsPool();
});

test('AFailedWriteRecordsNoRequestIdSoItsRetryRunsForReal', async () => {
  const { M, engine } = await openEngine();
  assert.equal(codeOf(() => engine.recordSale({ lines: [{ product_id: 'p-coffee', qty: 1 }] }, 'rq-sale')), 'not_found');
  engine.write(PRODUCTS);
  const sale = engine.recordSale({ lines: [{ product_id: 'p-coffee', qty: 1 }] }, 'rq-sale');
  assert.equal(sale.total_minor, 298);
  assert.equal(engine.query('SELECT count(*) AS n FROM sales_orders')[0].n, 1);
  engine.close();
  M.releaseOpfsPool();
});

test('ASaleRetriedWithItsOrderIdIsRecordedOnce', async () => {
  const { M, engine } = await openEngine();
  engine.write(PRODUCTS);
  const a = engine.recordSale({ lines: [{ product_id: 'p-bagel', qty: 3 }], order_id: 'o-retry' });
  const b = engine.recordSale({ lines: [{ product_id: 'p-bagel', qty: 3 }], order_id: 'o-retry' });
  assert.equal(b.receipt_no, a.receipt_no);
  assert.equal(b.total_minor, a.total_minor);
  assert.equal(engine.query('SELECT count(*) AS n FROM sales_orders')[0].n, 1);
  assert.equal(engine.query('SELECT count(*) AS n FROM stock_movements')[0].n, 1);
  engine.close();
  M.releaseOpfsPool();
});

test('EverythingSurvivesANewModuleInstanceOnTheSameFiles', async () => {
  const { M, dir, engine } = await openEngine();
  engine.write(PRODUCTS);
  const sale = engine.recordSale({ lines: [{ product_id: 'p-coffee', qty: 1 }] }, 'rq-keep');
  const before = engine.canonicalDump();
  engine.close();
  M.releaseOpfsPool();
  const M2 = await newModule();
  await M2.installOpfsPool({ directory: dir, capacity: 6, coalesceWrites: true });
  const e2 = Engine.open(M2, 'store.db', { ...BROWSER_OPEN_OPTIONS });
  assert.deepEqual(e2.canonicalDump(), before);
  assert.equal(e2.status().pending, 2);
  assert.equal(e2.recordSale({ lines: [{ product_id: 'p-coffee', qty: 1 }] }, 'rq-keep').seq, sale.seq,
    'the request journal is durable too');
  e2.close();
  M2.releaseOpfsPool();
});

test('AFullQuotaAtCommitIsStorageFullAndNothingIsHalfWritten', async () => {
  const faults = new FaultPlan();
  const { M, engine } = await openEngine({ faults });
  engine.write(PRODUCTS);
  engine.recordSale({ lines: [{ product_id: 'p-coffee', qty: 1 }] });
  const before = engine.canonicalDump();
  const pending = engine.status().pending;
  // Chromium reports a full quota as a short write count (or QuotaExceededError): every write
  // now stores at most 100 bytes.
  faults.shortWrites(100);
  const err = (() => { try { engine.recordSale({ lines: [{ product_id: 'p-bagel', qty: 2 }] }); } catch (e) { return e; } })();
  assert.ok(err instanceof TillsyncError);
  assert.equal(err.code, 'storage_full');
  assert.match(err.detail.storage, /short write/, 'the VFS says what happened');
  assert.ok(faults.injected > 0);
  faults.clear();
  assert.deepEqual(engine.canonicalDump(), before, 'no row of the failed sale');
  assert.equal(engine.status().pending, pending, 'no outbox entry of the failed sale');
  assert.equal(engine.query("SELECT count(*) AS n FROM sales_orders")[0].n, 1);
  const ok = engine.recordSale({ lines: [{ product_id: 'p-bagel', qty: 2 }] });
  assert.equal(ok.receipt_no, 'T1-000002', 'the failed sale took no receipt number');
  engine.close();
  M.releaseOpfsPool();
});

test('WriteCoalescingTurnsACommitsWalAppendsIntoOneWrite', async () => {
  const counts = {};
  for (const coalesceWrites of [false, true]) {
    const M = await newModule();
    await M.installOpfsPool({ directory: new MemoryDirectory(), capacity: 6, coalesceWrites });
    const engine = Engine.open(M, 'store.db', { ...BROWSER_OPEN_OPTIONS, identity: IDENTITY, clock: CLOCK });
    engine.write(PRODUCTS);
    M.resetOpfsPoolStats();
    engine.recordSale({ lines: [{ product_id: 'p-coffee', qty: 1 }, { product_id: 'p-bagel', qty: 1 }] });
    counts[coalesceWrites] = M.opfsPoolStats();
    engine.close();
    M.releaseOpfsPool();
  }
  assert.equal(counts[true].flush, 1, 'one flush per durable commit');
  assert.equal(counts[true].write, 1, 'one OPFS write per commit with coalescing');
  assert.ok(counts[false].write > 10, `without coalescing: ${counts[false].write} writes`);
  assert.equal(counts[true].bytesWritten, counts[false].bytesWritten, 'the same bytes either way');
});

// sqlBatch takes its rows as UTF-8 bytes placed in the module's memory (worker/engine.js withUtf8).
const sqlBatch = (M, db, sql, rowsText) => withUtf8(M, rowsText, (at, size) => M.sqlBatch(db, sql, at, size));

test('SqlBatchRunsEveryRowInOneTransactionOrNone', async () => {
  const M = await newModule();
  await M.installOpfsPool({ directory: new MemoryDirectory(), capacity: 4 });
  const db = M.sqlOpen('b.db', 'opfs').db;
  assert.equal(M.sqlExec(db, 'CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER)').code, 0);
  const rows = Array.from({ length: 1000 }, (_, i) => [i + 1, `row ${i}`, i * 2]);
  assert.equal(sqlBatch(M, db, 'INSERT INTO t VALUES (?, ?, ?)', JSON.stringify(rows)).code, 0);
  assert.deepEqual(M.sqlQuery(db, 'SELECT count(*), sum(n) FROM t').rows, [[1000, 999000]]);
  const bad = [[5000, 'ok', 1], [5001, null, 2]];  // NOT NULL fails on the second row
  const r = sqlBatch(M, db, 'INSERT INTO t VALUES (?, ?, ?)', JSON.stringify(bad));
  assert.equal(r.code & 0xff, M.sqliteConstants().SQLITE_CONSTRAINT ?? 19);
  assert.deepEqual(M.sqlQuery(db, 'SELECT count(*) FROM t').rows, [[1000]], 'the first row rolled back too');
  // The row scanner reads JSON exactly: escapes, \u escapes with surrogate pairs, raw UTF-8,
  // booleans, null, floats, negative and large integers.
  const tricky = [[9001, 'quote " backslash \\ slash / tab \t nl \n', -42], [9002, 'é ü 漢字 😀 \u0001', 2 ** 53 - 1],
    [9003, 'x', null], [9004, 'y', true], [9005, 'z', 2.5]];
  assert.equal(sqlBatch(M, db, 'INSERT INTO t VALUES (?, ?, ?)', JSON.stringify(tricky)).code, 0);
  const back = M.sqlQuery(db, 'SELECT id, name, n FROM t WHERE id > 9000 ORDER BY id').rows;
  assert.deepEqual(back, [[9001, tricky[0][1], -42], [9002, tricky[1][1], 2 ** 53 - 1], [9003, 'x', null], [9004, 'y', 1], [9005, 'z', 2.5]]);
  for (const badText of ['', '[[1, "a", 2]', '[[1, "a" 2]]', '{"a": 1}', '[[1, "unterminated]]', '[[1, nope, 2]]', '[[1, "\\q", 2]]']) {
    const r2 = sqlBatch(M, db, 'INSERT INTO t VALUES (?, ?, ?)', badText.replace('1,', '7777,'));
    assert.equal(r2.code, M.sqliteConstants().SQLITE_MISUSE, badText);
  }
  assert.deepEqual(M.sqlQuery(db, 'SELECT count(*) FROM t WHERE id = 7777').rows, [[0]], 'malformed input wrote nothing');
  M.sqlClose(db);
  M.releaseOpfsPool();
});

// sqlBatch binds unescaped strings in place (no copy) and copies only unescaped-on-the-fly ones,
// reads plain integers without strtoll, and clears the bindings only after a short row: each
// shortcut must give what the plain path gave.
test('SqlBatchBindsInPlaceStringsCopiedEscapesAndShortRowsExactly', async () => {
  const M = await newModule();
  await M.installOpfsPool({ directory: new MemoryDirectory(), capacity: 4 });
  const db = M.sqlOpen('c.db', 'opfs').db;
  assert.equal(M.sqlExec(db, 'CREATE TABLE t(id INTEGER PRIMARY KEY, a, b, c)').code, 0);
  const rows = [
    [1, 'tab\there', 'plain', 'nl\nthere'],  // two escaped strings around an in-place one
    [2, 'x'],  // shorter: b and c must be NULL, not row 1's values
    [3, 'plain', 'esc "q"', 'plain again'],
    [4, 123456789012345678, -123456789012345678, -0],  // 18 digits: the fast integer path
    [5, 9007199254740991, 1e21, -2.5e-3],  // 2^53 - 1; exponents and fractions go to strtod
    [6],
  ];
  assert.equal(sqlBatch(M, db, 'INSERT INTO t VALUES (?, ?, ?, ?)', JSON.stringify(rows)).code, 0);
  const back = M.sqlQuery(db, 'SELECT id, a, b, c, typeof(a), typeof(c) FROM t ORDER BY id').rows;
  assert.deepEqual(back.map((r) => r.slice(0, 4)), [
    [1, 'tab\there', 'plain', 'nl\nthere'], [2, 'x', null, null], [3, 'plain', 'esc "q"', 'plain again'],
    [4, 123456789012345678, -123456789012345678, 0], [5, 9007199254740991, 1e21, -2.5e-3], [6, null, null, null]]);
  assert.deepEqual(back.map((r) => r.slice(4)), [['text', 'text'], ['text', 'null'], ['text', 'text'],
    ['integer', 'integer'], ['integer', 'real'], ['null', 'null']]);
  // Numbers JSON does not allow stay errors (or stay what strtoll/strtod made of them before).
  for (const badText of ['[[7777, 1-2]]', '[[7777, -]]', '[[7777, 1e]]']) {
    assert.equal(sqlBatch(M, db, 'INSERT INTO t VALUES (?, ?, ?, ?)', badText).code, M.sqliteConstants().SQLITE_MISUSE, badText);
  }
  M.sqlClose(db);
  M.releaseOpfsPool();
});

// A plain INSERT ... VALUES (?, ..., ?) runs as ONE statement over the rows (the
// tillsync_rows table function, core/sql_rows.h, over wasm/bindings.cc's BatchRows); every other shape runs once per row. The same
// rows through both must leave the same tables (values and types, triggers, REPLACE within the
// batch), fail with the same codes and write nothing when they fail.
test('SqlBatchAsOneStatementGivesWhatThePerRowPathGives', async () => {
  const M = await newModule();
  await M.installOpfsPool({ directory: new MemoryDirectory(), capacity: 4 });
  const db = M.sqlOpen('d.db', 'opfs').db;
  const exec = (sql) => assert.equal(M.sqlExec(db, sql).code, 0, sql);
  for (const t of ['fast', 'slow']) {
    exec(`CREATE TABLE ${t}(id TEXT PRIMARY KEY NOT NULL, a, b INTEGER, c TEXT, n INTEGER NOT NULL DEFAULT 0)`);
    exec(`CREATE INDEX ${t}_by_b ON ${t}(b)`);
    exec(`CREATE TABLE ${t}_log(id TEXT, a)`);
    exec(`CREATE TRIGGER ${t}_ins AFTER INSERT ON ${t} BEGIN INSERT INTO ${t}_log VALUES (new.id, new.a); END`);
  }
  const rows = [
    ['k1', 'tab\there', '12', 'nl\nthere', 1],  // two escaped strings; '12' takes b's INTEGER affinity
    ['k2', 'x'],  // short: b and c NULL (n is not in the statement: its default)
    ['k3', 'plain', 3, 'esc "q" \u00e9 \ud83d\ude00', 2, 'extra', 'ignored'],  // longer than the statement: the rest is read and ignored
    ['k1', 2.5, -7, null, 3],  // the same key again: REPLACE within the batch
    ['k4', true, false, 123456789012345678, 4],
  ];
  const text = JSON.stringify(rows);
  // Fast: bare ? in one VALUES list. Slow: numbered parameters keep it per row.
  assert.equal(sqlBatch(M, db, 'INSERT OR REPLACE INTO fast (id, a, b, c) VALUES (?, ?, ?, ?)', text).code, 0);
  assert.equal(sqlBatch(M, db, 'INSERT OR REPLACE INTO slow (id, a, b, c) VALUES (?1, ?2, ?3, ?4)', text).code, 0);
  const dump = (t) => M.sqlQuery(db, `SELECT id, a, typeof(a), b, typeof(b), c, typeof(c), n FROM ${t} ORDER BY rowid`).rows;
  const log = (t) => M.sqlQuery(db, `SELECT id, a FROM ${t}_log ORDER BY rowid`).rows;
  assert.deepEqual(dump('fast'), dump('slow'));
  assert.deepEqual(log('fast'), log('slow'));
  assert.equal(dump('fast').length, 4);
  assert.equal(log('fast').length, 5, 'the trigger ran once per row, the replaced row too');
  // The fast path was taken: its table function exists on this connection now.
  assert.match(M.sqlQuery(db, 'SELECT * FROM tillsync_rows(NULL)').message, /misuse/i);
  assert.doesNotMatch(M.sqlQuery(db, 'SELECT * FROM tillsync_rows(NULL)').message, /no such table/);
  // Failures: a constraint in the middle, malformed rows in the middle and at the end; each
  // rolls everything back and gives the per-row path's code.
  const failing = [
    JSON.stringify([['e1', 1, 1, 'x'], ['e2', 1, 1, 'x'], [null, 1, 1, 'x']]),  // NOT NULL on id
    '[["e1", 1, 1, "x"], ["e2", 1 1]]',
    '[["e1", 1, 1, "x"], ["e2", 1, 1, "x"]',
    '[["e1", 1, 1, "x"], ["e2", nope]]',
    '[["e1", 1, 1, "x"],]',
  ];
  for (const bad of failing) {
    const f = sqlBatch(M, db, 'INSERT INTO fast (id, a, b, c) VALUES (?, ?, ?, ?)', bad);
    const s = sqlBatch(M, db, 'INSERT INTO slow (id, a, b, c) VALUES (?1, ?2, ?3, ?4)', bad);
    assert.equal(f.code, s.code, bad);
    assert.notEqual(f.code, 0, bad);
  }
  assert.deepEqual(dump('fast'), dump('slow'), 'nothing of the failed batches stayed');
  assert.deepEqual(M.sqlQuery(db, "SELECT count(*) FROM fast WHERE id LIKE 'e%'").rows, [[0]]);
  // Empty batches, a plain INSERT without a column list, REPLACE INTO, a schema-qualified quoted
  // name, and shapes that must stay per row (expressions, upsert, RETURNING-free UPDATE).
  assert.equal(sqlBatch(M, db, 'INSERT INTO fast (id, a, b, c) VALUES (?, ?, ?, ?)', '[]').rows, 0);
  const more = JSON.stringify([['m1', 'a', 1, 'c', 9], ['m2', 'b', 2, 'd', 8]]);
  assert.equal(sqlBatch(M, db, 'INSERT INTO fast VALUES (?, ?, ?, ?, ?);', more).rows, 2);
  assert.equal(sqlBatch(M, db, 'INSERT INTO slow VALUES (?1, ?2, ?3, ?4, ?5);', more).rows, 2);
  const again = JSON.stringify([['r1', 'x', 1, 'y'], ['m1', 'z', 2, 'w']]);
  assert.equal(sqlBatch(M, db, 'REPLACE INTO main."fast"(id, a, b, c)VALUES(?,?,?,?)', again).rows, 2);
  assert.equal(sqlBatch(M, db, 'REPLACE INTO main."slow"(id, a, b, c)VALUES(?1,?2,?3,?4)', again).rows, 2);
  for (const t of ['fast', 'slow']) {
    const up = JSON.stringify([['m2', 'up'], ['u9', 'new']]);
    assert.equal(sqlBatch(M, db, `INSERT INTO ${t} (id, a) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET a = excluded.a`, up).code, 0);
    assert.equal(sqlBatch(M, db, `INSERT INTO ${t} (id, a, n) VALUES (?, upper(?), ? + 1)`, JSON.stringify([['x1', 'low', 1]])).code, 0);
    assert.equal(sqlBatch(M, db, `UPDATE ${t} SET n = n + ? WHERE id = ?`, JSON.stringify([[10, 'x1'], [20, 'm1']])).code, 0);
  }
  assert.deepEqual(dump('fast'), dump('slow'));
  assert.deepEqual(log('fast'), log('slow'));
  // Inside a transaction the caller opened, both shapes fail as sqlBatch always did (its BEGIN).
  for (const sql of ['INSERT INTO fast (id) VALUES (?)', 'INSERT INTO slow (id) VALUES (?1)']) {
    assert.equal(M.sqlExec(db, 'BEGIN').code, 0);
    assert.equal(sqlBatch(M, db, sql, '[["t1"]]').code, M.sqliteConstants().SQLITE_ERROR ?? 1, sql);
    M.sqlExec(db, 'ROLLBACK');
  }
  assert.deepEqual(M.sqlQuery(db, "SELECT count(*) FROM fast WHERE id = 't1'").rows, [[0]]);
  M.sqlClose(db);
  M.releaseOpfsPool();
});

test('QueriesKeepTheContractOfDeviceQueryWithCachedStatements', async () => {
  const { M, engine } = await openEngine();
  engine.write([{ table: 'products', id: 'p-q', values: { name: 'Quote " back \\ slash \n é 😀', price_minor: 5, tax_rate_bp: 0, active: 1 } }]);
  const sql = 'SELECT id, name, price_minor, barcode, 2.5 AS f FROM products WHERE id = ?1';
  for (let i = 0; i < 3; i++) {  // the second and third runs use the cached statement
    assert.deepEqual(engine.query(sql, ['p-q']),
      [{ id: 'p-q', name: 'Quote " back \\ slash \n é 😀', price_minor: 5, barcode: null, f: 2.5 }]);
  }
  assert.deepEqual(Object.keys(engine.query(sql, ['p-q'])[0]), ['id', 'name', 'price_minor', 'barcode', 'f'],
    'columns come back in the order the statement names them');
  assert.deepEqual(engine.query(sql, ['nope']), []);
  assert.deepEqual(engine.query('SELECT ?1 AS a, ?2 AS b, ?3 AS c', [true, null, -7]), [{ a: 1, b: null, c: -7 }]);
  assert.equal(codeOf(() => engine.query(sql, [1.5])), 'bad_value');
  assert.equal(codeOf(() => engine.query(sql, [{ a: 1 }])), 'bad_value');
  assert.equal(codeOf(() => engine.query(sql, ['a', 'b'])), 'bad_request');
  assert.equal(codeOf(() => engine.query(sql, [])), 'bad_request');
  assert.equal(codeOf(() => engine.query(sql, [2 ** 70])), 'bad_value');
  assert.equal(JSON.parse(M.engineQuery(engine.id, sql, '{"a":1}')).code, 'bad_request');
  assert.equal(JSON.parse(M.engineQuery(engine.id, sql, '["unterminated')).code, 'bad_json');
  assert.equal(codeOf(() => engine.query('UPDATE products SET price_minor = 1')), 'forbidden');
  assert.equal(codeOf(() => engine.query('SELEC nonsense')), 'internal');
  assert.equal(codeOf(() => engine.query('   ')), 'bad_request');
  // 30 distinct statements: more than the cache holds; every one still answers.
  for (let i = 0; i < 30; i++) assert.deepEqual(engine.query(`SELECT ${i} AS n`), [{ n: i }]);
  engine.close();
  M.releaseOpfsPool();
});
