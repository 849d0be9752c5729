// Storage fault loops in SQLite's style, on the in-memory OPFS fake only (real OPFS cannot be
// made to lose unflushed bytes on demand): run one transaction, crash at the k-th write or
// flush (the worker dies; of the bytes not yet flushed, none, all, or a seeded random subset
// survive), reload, and check that the database is intact and the transaction all-or-nothing;
// then k+1, until the transaction gets through without reaching the k-th call, after which a
// crash must keep it (durability). A random subset is what catches a VFS that claims ordering
// it does not have (SQLITE_IOCAP_SEQUENTIAL): SQLite then skips a sync it needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultPlan, MemoryDirectory } from '../../wasm/memory_access_handle.js';
import { moduleFactory } from './load_module.mjs';
import { mulberry32 } from '../support/seeded_random.mjs';

const newModule = await moduleFactory();

class Crash extends Error {}

async function openDb(dir, mode, coalesceWrites = false) {
  const M = await newModule();
  await M.installOpfsPool({ directory: dir, capacity: 6, coalesceWrites });
  const r = M.sqlOpen('till.db', 'opfs');
  assert.equal(r.code, 0, r.message);
  const q = (sql) => {
    const res = M.sqlQuery(r.db, sql);
    assert.equal(res.code, 0, `${sql}: ${res.message} ${res.detail}`);
    return res.rows;
  };
  if (mode === 'wal') q('PRAGMA locking_mode=EXCLUSIVE');
  q(`PRAGMA journal_mode=${mode}`);
  return { M, db: r.db, q };
}

// The transaction under test moves money between rows (a sum that must not change) and adds a
// row, over enough pages to need several writes.
const setupSql = `CREATE TABLE IF NOT EXISTS acct(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, pad BLOB);
  INSERT INTO acct(balance, pad) SELECT 1000, randomblob(300) FROM generate_series(1, 200);`;
const txSql = `BEGIN; UPDATE acct SET balance = balance - 7 WHERE id % 2 = 0;
  UPDATE acct SET balance = balance + 7 WHERE id % 2 = 1;
  INSERT INTO acct(balance, pad) VALUES (0, randomblob(3000)); COMMIT;`;

function seriesSql(sql) {
  // generate_series is an extension; a recursive CTE does the same in plain SQLite.
  return sql.replace('SELECT 1000, randomblob(300) FROM generate_series(1, 200)',
    'SELECT 1000, randomblob(300) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) SELECT i FROM n)');
}

const survivors = [
  ['none', () => 'none'],
  ['all', () => 'all'],
  ['random-1', (k) => { const r = mulberry32(k * 7919 + 1); return () => r() < 0.5; }],
  ['random-2', (k) => { const r = mulberry32(k * 7919 + 2); return () => r() < 0.5; }],
];

async function crashLoop(mode, op, coalesce = false) {
  const outcomes = { old: 0, new: 0 };
  let k = 1;
  for (; k < 500; k++) {
    let committedAtK = false;
    for (const [label, keepFor] of survivors) {
      const res = await crashOnce(mode, op, k, keepFor(k), `${mode}/${op}${coalesce ? '/coalesced' : ''} #${k} keep=${label}`, coalesce);
      outcomes[res.state]++;
      committedAtK = res.committed;
    }
    if (committedAtK) break; // the transaction needs fewer than k such calls: all points covered
  }
  assert.ok(k > 1, 'the transaction made at least one call of the kind');
  assert.ok(k < 500, 'the loop ended');
  return { crashPoints: k - 1, ...outcomes };
}

async function crashOnce(mode, op, k, keep, where, coalesce = false) {
  {
    const faults = new FaultPlan();
    const dir = new MemoryDirectory(`crash-${mode}-${op}-${k}`, { faults });
    const before = await openDb(dir, mode, coalesce);
    for (const stmt of seriesSql(setupSql).split(';').map((s) => s.trim()).filter(Boolean)) before.q(stmt);

    let calls = 0;
    faults.hook = (o) => {
      if (o !== op) return;
      calls++;
      if (calls === k) {
        dir.crash(keep); // the k-th call never reaches storage
        throw new Crash(`crash at ${op} #${k}`);
      }
    };
    const tx = before.M.sqlExec(before.db, txSql);
    const committed = tx.code === 0;
    faults.hook = null;
    if (committed) dir.crash(keep); // crash right after a successful commit: it must be durable

    const after = await openDb(dir, mode, coalesce);
    assert.equal(after.q('PRAGMA integrity_check')[0][0], 'ok', `${where}: integrity`);
    const [[count, sum]] = after.q('SELECT count(*), sum(balance) FROM acct');
    assert.equal(sum, 200 * 1000, `${where}: money is neither made nor lost`);
    if (committed) assert.equal(count, 201, `${where}: a committed transaction survives the crash`);
    assert.ok(count === 200 || count === 201, `${where}: all or nothing (count ${count})`);
    return { committed, state: count === 201 ? 'new' : 'old' };
  }
}

for (const mode of ['wal', 'delete', 'truncate']) {
  for (const op of ['write', 'flush']) {
    test(`CrashAtEvery${op === 'write' ? 'Write' : 'Flush'}Of${mode[0].toUpperCase() + mode.slice(1)}ModeCommitIsAllOrNothingAndCommitsAreDurable`, async (t) => {
      const r = await crashLoop(mode, op);
      t.diagnostic(`${mode}/${op}: ${r.crashPoints} crash points, old state after ${r.old}, new state after ${r.new}`);
    });
  }
}

// The same loops with write coalescing on (what the worker runs): gathered appends reach OPFS as
// one write just before the flush, so there are fewer crash points, and every one of them must
// still leave the transaction all-or-nothing and a committed one durable.
for (const mode of ['wal', 'delete']) {
  for (const op of ['write', 'flush']) {
    test(`WithWriteCoalescingCrashAtEvery${op === 'write' ? 'Write' : 'Flush'}Of${mode[0].toUpperCase() + mode.slice(1)}ModeCommitIsAllOrNothing`, async (t) => {
      const r = await crashLoop(mode, op, true);
      t.diagnostic(`${mode}/${op}/coalesced: ${r.crashPoints} crash points, old state after ${r.old}, new state after ${r.new}`);
    });
  }
}

// A checkpoint copies WAL pages into the database file (with coalescing: contiguous pages as one
// write) and then resets the WAL. A crash at any write or flush of it must lose nothing.
for (const op of ['write', 'flush']) {
  test(`WithWriteCoalescingCrashAtEvery${op === 'write' ? 'Write' : 'Flush'}OfACheckpointLosesNothing`, async () => {
    let k = 1;
    for (; k < 500; k++) {
      const faults = new FaultPlan();
      const dir = new MemoryDirectory(`ckpt-${op}-${k}`, { faults });
      const db = await openDb(dir, 'wal', true);
      for (const stmt of seriesSql(setupSql).split(';').map((x) => x.trim()).filter(Boolean)) db.q(stmt);
      assert.equal(db.M.sqlExec(db.db, txSql).code, 0);
      let calls = 0;
      faults.hook = (o) => {
        if (o !== op) return;
        if (++calls === k) { dir.crash('none'); throw new Crash(`crash at ${op} #${k}`); }
      };
      const r = db.M.sqlQuery(db.db, 'PRAGMA wal_checkpoint(TRUNCATE)');
      faults.hook = null;
      const finished = r.code === 0 && calls < k;
      dir.crash('none');
      const after = await openDb(dir, 'wal', true);
      assert.equal(after.q('PRAGMA integrity_check')[0][0], 'ok', `checkpoint ${op} #${k}: integrity`);
      const [[count, sum]] = after.q('SELECT count(*), sum(balance) FROM acct');
      assert.equal(count, 201, `checkpoint ${op} #${k}: the committed transaction survives`);
      assert.equal(sum, 200 * 1000);
      if (finished) break;
    }
    assert.ok(k > 1 && k < 500, `crash points: ${k - 1}`);
  });
}
