// contract.mjs: the contract of tillsync's "opfs" SQLite VFS, written once and run against
// every storage it sits on:
//   - the in-memory fake (wasm/memory_access_handle.js) under Node's test runner:
//       tests/wasm/opfs_vfs_contract.test.mjs
//   - real OPFS in headless Chromium, inside a dedicated worker:
//       e2e/vfs-contract.test.mjs (+ e2e/vfs-contract.worker.mjs)
// So this file imports nothing from Node or from the browser.
//
// An environment (`env`) provides:
//   env.label                  'memory' | 'opfs', for messages
//   env.newModule()            a fresh instance of build-wasm/tillsync.mjs: a "reload"
//   env.newDirectory(name)     a fresh, empty directory for one case, with env.faults applied
//   env.removeDirectory(dir)   optional cleanup after the case
//   env.faults                 a FaultPlan (wasm/memory_access_handle.js) acting on the handles
//
// Each case gets a ContractContext; its names read as behaviours. Every case asserts, and every
// assertion can fail: a VFS that broke the rule in the case name would fail it.

const VFS = 'opfs';

// ---- assertions (no node:assert: this file also runs in a browser worker) --------------------

class ContractFailure extends Error {
  constructor(message) {
    super(message);
    this.name = 'ContractFailure';
  }
}

function show(v) {
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})[${Array.from(v.subarray(0, 16)).join(',')}${v.length > 16 ? ',...' : ''}]`;
  try { return JSON.stringify(v); } catch { return String(v); }
}

export function eq(actual, expected, what) {
  if (actual !== expected) throw new ContractFailure(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

export function ok(cond, what) {
  if (!cond) throw new ContractFailure(`${what}: expected true`);
}

export function contains(text, part, what) {
  if (typeof text !== 'string' || !text.includes(part)) {
    throw new ContractFailure(`${what}: expected a string containing ${show(part)}, got ${show(text)}`);
  }
}

export function bytesEq(actual, expected, what) {
  eq(actual.length, expected.length, `${what} (length)`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) throw new ContractFailure(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

export function allZero(bytes, what) {
  const i = bytes.findIndex((b) => b !== 0);
  if (i >= 0) throw new ContractFailure(`${what}: byte ${i} is ${bytes[i]}, expected 0`);
}

async function rejects(promise, namePart, what) {
  try {
    await promise;
  } catch (e) {
    if (namePart && !(`${e.name}: ${e.message}`).includes(namePart)) {
      throw new ContractFailure(`${what}: rejected with ${e.name}: ${e.message}, expected ${namePart}`);
    }
    return e;
  }
  throw new ContractFailure(`${what}: expected a rejection`);
}

// Deterministic test bytes: different seeds give different bytes, none of them all-zero.
export function pattern(n, seed = 1) {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = (x & 0xff) | 1;
  }
  return out;
}

// ---- the context a case runs in ----------------------------------------------------------------

// A thin face over one module instance: the VFS driven directly (vfsContract*) and SQL.
class Api {
  constructor(M) {
    this.M = M;
    this.C = M.sqliteConstants();
    this.dbs = new Set();
  }
  get dbFlags() { return this.C.SQLITE_OPEN_MAIN_DB | this.C.SQLITE_OPEN_READWRITE | this.C.SQLITE_OPEN_CREATE; }
  open(name, flags = this.dbFlags) { return this.M.vfsContractOpen(VFS, name, flags); }
  // Opens and insists on success; returns the file id.
  mustOpen(name, flags) {
    const r = this.open(name, flags);
    eq(r.code, this.C.SQLITE_OK, `open ${name} (${r.message})`);
    return r.file;
  }
  close(f) { return this.M.vfsContractClose(f); }
  read(f, offset, n) { return this.M.vfsContractRead(f, offset, n); }
  write(f, offset, bytes) { return this.M.vfsContractWrite(f, offset, bytes); }
  mustWrite(f, offset, bytes) {
    const r = this.write(f, offset, bytes);
    eq(r.code, this.C.SQLITE_OK, `write ${bytes.length} bytes at ${offset} (${r.message})`);
  }
  truncate(f, size) { return this.M.vfsContractTruncate(f, size); }
  sync(f) { return this.M.vfsContractSync(f, this.C.SQLITE_SYNC_FULL); }
  size(f) { return this.M.vfsContractSize(f); }
  lock(f, level) { return this.M.vfsContractLock(f, level).code; }
  unlock(f, level) { return this.M.vfsContractUnlock(f, level).code; }
  reserved(f) { return this.M.vfsContractCheckReservedLock(f).reserved; }
  exists(name) { return this.M.vfsContractAccess(VFS, name, this.C.SQLITE_ACCESS_EXISTS).exists === 1; }
  remove(name) { return this.M.vfsContractDelete(VFS, name); }
  lastError() { return this.M.vfsContractLastError(VFS).message; }
  stats() { return this.M.opfsPoolStats(); }

  sqlOpen(path) {
    const r = this.M.sqlOpen(path, VFS);
    eq(r.code, this.C.SQLITE_OK, `sqlOpen ${path} (${r.message})`);
    this.dbs.add(r.db);
    return r.db;
  }
  exec(db, sql) { return this.M.sqlExec(db, sql); }
  mustExec(db, sql) {
    const r = this.exec(db, sql);
    eq(r.code, this.C.SQLITE_OK, `exec ${sql.slice(0, 60)} (${r.message} ${r.detail || ''})`);
    return r;
  }
  query(db, sql) {
    const r = this.M.sqlQuery(db, sql);
    eq(r.code, this.C.SQLITE_OK, `query ${sql.slice(0, 60)} (${r.message} ${r.detail || ''})`);
    return r.rows;
  }
  scalar(db, sql) { return this.query(db, sql)[0][0]; }
  sqlClose(db) {
    const r = this.M.sqlClose(db);
    eq(r.code, this.C.SQLITE_OK, `sqlClose (${r.message})`);
    this.dbs.delete(db);
  }
  // Closes what a failed case left open, then gives the handles back.
  shutdown() {
    for (const db of this.dbs) this.M.sqlClose(db);
    this.dbs.clear();
    this.M.vfsContractCloseAll();
    if (this.M.opfsPoolInfo()) this.M.releaseOpfsPool();
  }
}

export class ContractContext {
  constructor(env, dir) {
    this.env = env;
    this.dir = dir;
    this.faults = env.faults;
    this.apis = [];
  }

  // A new module instance with the pool installed on this case's directory.
  async load({ capacity = 6 } = {}) {
    const M = await this.env.newModule();
    await M.installOpfsPool({ directory: this.dir, capacity });
    const api = new Api(M);
    this.apis.push(api);
    return api;
  }

  // What a worker restart does: let go of everything, then load a new instance.
  async reload(api, opts) {
    api.shutdown();
    return this.load(opts);
  }

  async cleanup() {
    for (const api of this.apis) {
      try { api.shutdown(); } catch { /* the case already failed; keep the first error */ }
    }
  }
}

export async function runCase(env, contractCase) {
  env.faults.clear();
  const dir = await env.newDirectory(contractCase.name);
  const ctx = new ContractContext(env, dir);
  try {
    await contractCase.run(ctx);
  } finally {
    await ctx.cleanup();
    env.faults.clear();
    if (env.removeDirectory) await env.removeDirectory(dir);
  }
}

// ---- the cases ---------------------------------------------------------------------------------

async function walDatabase(ctx, path = 'wal.db') {
  const a = await ctx.load();
  const db = a.sqlOpen(path);
  // EXCLUSIVE first: with no xShm methods, SQLite allows WAL only when it can keep the WAL index
  // in heap memory, which needs the exclusive lock from the first WAL access on.
  a.mustExec(db, 'PRAGMA locking_mode=EXCLUSIVE');
  eq(a.scalar(db, 'PRAGMA journal_mode=WAL'), 'wal', 'journal_mode after PRAGMA journal_mode=WAL');
  return { a, db };
}

export const contractCases = [
  {
    name: 'WrittenBytesReadBackAtAnyOffset',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('a.db');
      const first = pattern(4096, 1);
      const second = pattern(777, 2);
      a.mustWrite(f, 0, first);
      a.mustWrite(f, 4096 + 17, second);
      const r1 = a.read(f, 0, 4096);
      eq(r1.code, a.C.SQLITE_OK, 'read of the first block');
      bytesEq(r1.bytes, first, 'first block');
      const r2 = a.read(f, 4096 + 17, 777);
      eq(r2.code, a.C.SQLITE_OK, 'read at an unaligned offset');
      bytesEq(r2.bytes, second, 'unaligned block');
      const r3 = a.read(f, 100, 10);
      bytesEq(r3.bytes, first.subarray(100, 110), 'a slice inside the first block');
    },
  },
  {
    name: 'ShortReadZeroFillsTheRestAndReturnsShortRead',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('a.db');
      const data = pattern(10, 3);
      a.mustWrite(f, 0, data);
      const r = a.read(f, 0, 100);
      eq(r.code, a.C.SQLITE_IOERR_SHORT_READ, 'code of a read that runs past the end');
      bytesEq(r.bytes.subarray(0, 10), data, 'the bytes that exist');
      allZero(r.bytes.subarray(10), 'the tail past the end (the binding poisons it with 0xA5 first)');
      const past = a.read(f, 50, 64);
      eq(past.code, a.C.SQLITE_IOERR_SHORT_READ, 'code of a read entirely past the end');
      allZero(past.bytes, 'a read entirely past the end');
    },
  },
  {
    name: 'ReadOfAnEmptyFileIsAllZerosAndShortRead',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('empty.db');
      const r = a.read(f, 0, 100);
      eq(r.code, a.C.SQLITE_IOERR_SHORT_READ, 'code');
      allZero(r.bytes, 'bytes');
      eq(a.size(f).size, 0, 'size of a new file');
    },
  },
  {
    name: 'WriteBeyondTheEndZeroFillsTheGap',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('a.db');
      const data = pattern(100, 4);
      a.mustWrite(f, 8192, data);
      eq(a.size(f).size, 8292, 'size after a write beyond the end');
      const gap = a.read(f, 0, 8192);
      eq(gap.code, a.C.SQLITE_OK, 'the gap reads in full');
      allZero(gap.bytes, 'the gap');
      bytesEq(a.read(f, 8192, 100).bytes, data, 'the written bytes');
    },
  },
  {
    name: 'TruncateShrinksAndCutBytesStayGoneAfterRegrowth',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('a.db');
      const data = pattern(8192, 5);
      a.mustWrite(f, 0, data);
      eq(a.truncate(f, 100).code, a.C.SQLITE_OK, 'truncate to 100');
      eq(a.size(f).size, 100, 'size after shrinking');
      const r = a.read(f, 0, 200);
      eq(r.code, a.C.SQLITE_IOERR_SHORT_READ, 'a read past the new end');
      bytesEq(r.bytes.subarray(0, 100), data.subarray(0, 100), 'bytes kept by the truncate');
      allZero(r.bytes.subarray(100), 'bytes cut by the truncate');
      eq(a.truncate(f, 300).code, a.C.SQLITE_OK, 'truncate up to 300');
      eq(a.size(f).size, 300, 'size after growing');
      const grown = a.read(f, 100, 200);
      eq(grown.code, a.C.SQLITE_OK, 'the grown region reads in full');
      allZero(grown.bytes, 'the grown region (old bytes must not come back)');
    },
  },
  {
    name: 'FileSizeFollowsWritesAndTruncatesAcrossAReload',
    async run(ctx) {
      let a = await ctx.load();
      let f = a.mustOpen('a.db');
      a.mustWrite(f, 0, pattern(5000, 6));
      eq(a.size(f).size, 5000, 'size after one write');
      a.mustWrite(f, 1000, pattern(10, 7));
      eq(a.size(f).size, 5000, 'a write inside the file does not change the size');
      eq(a.truncate(f, 4096).code, a.C.SQLITE_OK, 'truncate');
      eq(a.sync(f).code, a.C.SQLITE_OK, 'sync');
      a.close(f);
      a = await ctx.reload(a);
      f = a.mustOpen('a.db');
      eq(a.size(f).size, 4096, 'size read back from storage after a reload');
    },
  },
  {
    name: 'SyncFlushesOnceAndSkipsTheFlushWhenNothingChanged',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('a.db');
      a.mustWrite(f, 0, pattern(4096, 8));
      const before = a.stats();
      eq(a.sync(f).code, a.C.SQLITE_OK, 'first sync');
      const mid = a.stats();
      eq(mid.flush - before.flush, 1, 'flushes for a sync after a write');
      eq(a.sync(f).code, a.C.SQLITE_OK, 'second sync');
      const after = a.stats();
      eq(after.flush - mid.flush, 0, 'flushes for a sync with nothing written since');
      eq(after.flushSkipped - mid.flushSkipped, 1, 'skipped flushes');
      a.mustWrite(f, 0, pattern(10, 9));
      eq(a.sync(f).code, a.C.SQLITE_OK, 'sync after another write');
      eq(a.stats().flush - after.flush, 1, 'a new write makes the next sync flush again');
    },
  },
  {
    name: 'QuotaExceededOnWriteIsSqliteFullWithTheMessageKept',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('a.db');
      ctx.faults.failNext('write', { name: 'QuotaExceededError', message: 'The quota has been exceeded.' });
      const r = a.write(f, 0, pattern(4096, 10));
      eq(r.code, a.C.SQLITE_FULL, 'code of a write that hit the quota');
      contains(a.lastError(), 'QuotaExceededError', 'xGetLastError');
      contains(r.message, 'The quota has been exceeded.', 'message returned with the code');
    },
  },
  {
    name: 'ShortWriteCountIsSqliteFull',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('a.db');
      ctx.faults.shortWrites(100);
      const r = a.write(f, 0, pattern(4096, 11));
      eq(r.code, a.C.SQLITE_FULL, 'code of a write that stored 100 of 4096 bytes');
      contains(a.lastError(), 'short write', 'xGetLastError');
      contains(a.lastError(), 'wrote 100 of 4096', 'xGetLastError');
      ok(ctx.faults.injected > 0, 'the short write was injected');
    },
  },
  {
    name: 'ThrowingWriteIsIoerrWrite',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('a.db');
      ctx.faults.failNext('write', { name: 'InvalidStateError', message: 'disk went away' });
      const r = a.write(f, 0, pattern(100, 12));
      eq(r.code, a.C.SQLITE_IOERR_WRITE, 'code');
      contains(a.lastError(), 'disk went away', 'xGetLastError');
      a.mustWrite(f, 0, pattern(100, 12)); // the next write works again
    },
  },
  {
    name: 'ThrowingReadIsIoerrRead',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('a.db');
      a.mustWrite(f, 0, pattern(100, 13));
      ctx.faults.failNext('read', { name: 'InvalidStateError', message: 'read exploded' });
      const r = a.read(f, 0, 100);
      eq(r.code, a.C.SQLITE_IOERR_READ, 'code');
      contains(a.lastError(), 'read exploded', 'xGetLastError');
      contains(a.lastError(), 'a.db', 'xGetLastError names the file');
    },
  },
  {
    name: 'ThrowingFlushIsIoerrFsync',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('a.db');
      a.mustWrite(f, 0, pattern(100, 14));
      ctx.faults.failNext('flush', { name: 'InvalidStateError', message: 'flush exploded' });
      eq(a.sync(f).code, a.C.SQLITE_IOERR_FSYNC, 'code');
      contains(a.lastError(), 'flush exploded', 'xGetLastError');
      eq(a.sync(f).code, a.C.SQLITE_OK, 'a failed flush is retried by the next sync, not skipped');
      ok(a.stats().flush >= 2, 'the retry reached OPFS');
    },
  },
  {
    name: 'ThrowingTruncateIsIoerrTruncate',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('a.db');
      a.mustWrite(f, 0, pattern(100, 15));
      ctx.faults.failNext('truncate', { name: 'InvalidStateError', message: 'truncate exploded' });
      eq(a.truncate(f, 10).code, a.C.SQLITE_IOERR_TRUNCATE, 'code');
      contains(a.lastError(), 'truncate exploded', 'xGetLastError');
      eq(a.size(f).size, 100, 'size is unchanged by a failed truncate');
    },
  },
  {
    name: 'OpenWithoutCreateOfAMissingFileIsCantOpen',
    async run(ctx) {
      const a = await ctx.load();
      eq(a.exists('missing.db'), false, 'xAccess of a missing file');
      const r = a.open('missing.db', a.C.SQLITE_OPEN_MAIN_DB | a.C.SQLITE_OPEN_READWRITE);
      eq(r.code, a.C.SQLITE_CANTOPEN, 'code');
      contains(a.lastError(), 'no such file', 'xGetLastError');
      eq(a.exists('missing.db'), false, 'a failed open creates nothing');
    },
  },
  {
    name: 'ExclusiveCreateOfAnExistingFileIsCantOpen',
    async run(ctx) {
      const a = await ctx.load();
      a.close(a.mustOpen('x.db'));
      const r = a.open('x.db', a.dbFlags | a.C.SQLITE_OPEN_EXCLUSIVE);
      eq(r.code, a.C.SQLITE_CANTOPEN, 'code');
      const fresh = a.open('y.db', a.dbFlags | a.C.SQLITE_OPEN_EXCLUSIVE);
      eq(fresh.code, a.C.SQLITE_OK, 'exclusive create of a new file');
    },
  },
  {
    name: 'DeleteRemovesTheFileAndDeletingAgainIsDeleteNoent',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('gone.db');
      a.mustWrite(f, 0, pattern(100, 16));
      a.close(f);
      eq(a.exists('gone.db'), true, 'exists before delete');
      eq(a.remove('gone.db').code, a.C.SQLITE_OK, 'delete');
      eq(a.exists('gone.db'), false, 'exists after delete');
      eq(a.remove('gone.db').code, a.C.SQLITE_IOERR_DELETE_NOENT, 'second delete');
      const again = a.mustOpen('gone.db');
      eq(a.size(again).size, 0, 'a re-created file starts empty');
    },
  },
  {
    name: 'DeleteOnCloseFileDisappearsAtClose',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('tmp-1', a.dbFlags | a.C.SQLITE_OPEN_DELETEONCLOSE);
      a.mustWrite(f, 0, pattern(100, 17));
      eq(a.exists('tmp-1'), true, 'exists while open');
      eq(a.close(f).code, a.C.SQLITE_OK, 'close');
      eq(a.exists('tmp-1'), false, 'exists after close');
    },
  },
  {
    name: 'FileDeletedWhileOpenKeepsItsBytesUntilClosed',
    async run(ctx) {
      const a = await ctx.load({ capacity: 2 });
      const f = a.mustOpen('j.db');
      const data = pattern(300, 18);
      a.mustWrite(f, 0, data);
      eq(a.remove('j.db').code, a.C.SQLITE_OK, 'delete while open');
      eq(a.exists('j.db'), false, 'the name is gone at once');
      bytesEq(a.read(f, 0, 300).bytes, data, 'the open file still reads its bytes');
      a.close(a.mustOpen('other.db'));
      eq(a.open('third.db').code, a.C.SQLITE_CANTOPEN, 'the unlinked slot is not reused while open');
      a.close(f);
      const g = a.mustOpen('third.db');
      eq(a.size(g).size, 0, 'after the last close the slot is reused, empty');
    },
  },
  {
    name: 'ReopenAfterCloseKeepsTheBytes',
    async run(ctx) {
      const a = await ctx.load();
      const data = pattern(10000, 19);
      let f = a.mustOpen('keep.db');
      a.mustWrite(f, 0, data);
      eq(a.close(f).code, a.C.SQLITE_OK, 'close');
      f = a.mustOpen('keep.db', a.C.SQLITE_OPEN_MAIN_DB | a.C.SQLITE_OPEN_READWRITE);
      eq(a.size(f).size, 10000, 'size after reopen');
      bytesEq(a.read(f, 0, 10000).bytes, data, 'bytes after reopen');
    },
  },
  {
    name: 'NamesAndBytesSurviveAReload',
    async run(ctx) {
      let a = await ctx.load();
      const files = { 'one.db': pattern(5000, 20), 'one.db-journal': pattern(700, 21), 'two.db': pattern(1, 22) };
      for (const [name, data] of Object.entries(files)) {
        const f = a.mustOpen(name);
        a.mustWrite(f, 0, data);
        eq(a.sync(f).code, a.C.SQLITE_OK, `sync ${name}`);
        a.close(f);
      }
      a = await ctx.reload(a);
      const names = a.M.opfsPoolInfo().files.map((x) => x.name).filter(Boolean).sort();
      eq(names.join(','), Object.keys(files).sort().join(','), 'names found in the pool headers');
      for (const [name, data] of Object.entries(files)) {
        eq(a.exists(name), true, `${name} exists after reload`);
        const f = a.mustOpen(name, a.C.SQLITE_OPEN_MAIN_DB | a.C.SQLITE_OPEN_READWRITE);
        bytesEq(a.read(f, 0, data.length).bytes, data, `${name} bytes after reload`);
        a.close(f);
      }
    },
  },
  {
    name: 'FullPoolRefusesANewFileWithAClearMessage',
    async run(ctx) {
      const a = await ctx.load({ capacity: 2 });
      a.mustOpen('a.db');
      a.mustOpen('b.db');
      const r = a.open('c.db');
      eq(r.code, a.C.SQLITE_CANTOPEN, 'code');
      contains(a.lastError(), 'pool is full', 'xGetLastError');
      contains(a.lastError(), 'a.db', 'xGetLastError lists the files in use');
      eq(a.exists('c.db'), false, 'nothing was created');
    },
  },
  {
    name: 'SectorSizeAndOnlyHonestDeviceCharacteristics',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('a.db');
      const c = a.M.vfsContractCharacteristics(f);
      eq(c.sectorSize, 4096, 'xSectorSize');
      const dc = c.deviceCharacteristics;
      ok(dc & a.C.SQLITE_IOCAP_POWERSAFE_OVERWRITE, 'POWERSAFE_OVERWRITE is claimed');
      eq(dc & a.C.SQLITE_IOCAP_SEQUENTIAL, 0, 'SEQUENTIAL is not claimed (OPFS may reorder writes between flushes)');
      eq(dc & a.C.SQLITE_IOCAP_SAFE_APPEND, 0, 'SAFE_APPEND is not claimed');
      eq(dc & a.C.SQLITE_IOCAP_ATOMIC, 0, 'ATOMIC is not claimed');
    },
  },
  {
    name: 'LocksKeepASecondWriterOut',
    async run(ctx) {
      const a = await ctx.load();
      const { C } = a;
      const f1 = a.mustOpen('shared.db');
      const f2 = a.mustOpen('shared.db');
      eq(a.lock(f1, C.SQLITE_LOCK_SHARED), C.SQLITE_OK, 'f1 SHARED');
      eq(a.lock(f2, C.SQLITE_LOCK_SHARED), C.SQLITE_OK, 'f2 SHARED alongside');
      eq(a.reserved(f2), 0, 'no reserved lock yet');
      eq(a.lock(f1, C.SQLITE_LOCK_RESERVED), C.SQLITE_OK, 'f1 RESERVED');
      eq(a.reserved(f2), 1, 'f2 sees the reserved lock');
      eq(a.lock(f2, C.SQLITE_LOCK_RESERVED), C.SQLITE_BUSY, 'f2 RESERVED while f1 holds it');
      eq(a.lock(f1, C.SQLITE_LOCK_EXCLUSIVE), C.SQLITE_BUSY, 'f1 EXCLUSIVE while f2 reads');
      eq(a.M.vfsContractFileControlInt(f1, C.SQLITE_FCNTL_LOCKSTATE, 0).value, C.SQLITE_LOCK_PENDING, 'f1 waits at PENDING');
      eq(a.unlock(f2, C.SQLITE_LOCK_NONE), C.SQLITE_OK, 'f2 lets go');
      eq(a.lock(f2, C.SQLITE_LOCK_SHARED), C.SQLITE_BUSY, 'no new reader while a writer is PENDING');
      eq(a.lock(f1, C.SQLITE_LOCK_EXCLUSIVE), C.SQLITE_OK, 'f1 EXCLUSIVE once alone');
      eq(a.unlock(f1, C.SQLITE_LOCK_NONE), C.SQLITE_OK, 'f1 unlocks');
      eq(a.reserved(f2), 0, 'no reserved lock after unlock');
      eq(a.lock(f2, C.SQLITE_LOCK_SHARED), C.SQLITE_OK, 'f2 reads again');
      a.close(f1);
      a.close(f2);
      const f3 = a.mustOpen('shared.db');
      eq(a.lock(f3, C.SQLITE_LOCK_EXCLUSIVE), C.SQLITE_OK, 'closing releases every lock');
    },
  },
  {
    name: 'FileControlReportsLockStateAndNotFoundForTheRest',
    async run(ctx) {
      const a = await ctx.load();
      const { C } = a;
      const f = a.mustOpen('a.db');
      eq(a.M.vfsContractFileControlInt(f, C.SQLITE_FCNTL_LOCKSTATE, -1).value, C.SQLITE_LOCK_NONE, 'LOCKSTATE unlocked');
      a.lock(f, C.SQLITE_LOCK_SHARED);
      a.lock(f, C.SQLITE_LOCK_RESERVED);
      eq(a.M.vfsContractFileControlInt(f, C.SQLITE_FCNTL_LOCKSTATE, -1).value, C.SQLITE_LOCK_RESERVED, 'LOCKSTATE reserved');
      eq(a.M.vfsContractFileControlInt(f, C.SQLITE_FCNTL_CHUNK_SIZE, 65536).code, C.SQLITE_NOTFOUND, 'an opcode the VFS does not handle');
    },
  },
  {
    name: 'SecondPoolOnTheSameDirectoryIsRefusedUntilTheFirstIsReleased',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('owned.db');
      a.mustWrite(f, 0, pattern(64, 23));
      a.close(f);
      const other = await ctx.env.newModule();
      const e = await rejects(other.installOpfsPool({ directory: ctx.dir, capacity: 6 }),
        'OpfsPoolBusyError', 'a second pool while the first holds the handles');
      contains(e.message, 'NoModificationAllowedError', 'the reason from OPFS is kept');
      a.shutdown(); // the first owner lets go (tab closed)
      await other.installOpfsPool({ directory: ctx.dir, capacity: 6 });
      const b = new Api(other);
      ctx.apis.push(b);
      const g = b.mustOpen('owned.db');
      bytesEq(b.read(g, 0, 64).bytes, pattern(64, 23), 'the new owner sees the data');
    },
  },
  {
    name: 'ReleaseRefusesWhileAFileIsOpen',
    async run(ctx) {
      const a = await ctx.load();
      const f = a.mustOpen('busy.db');
      let threw = null;
      try { a.M.releaseOpfsPool(); } catch (e) { threw = e; }
      ok(threw, 'releaseOpfsPool throws while busy.db is open');
      contains(threw.message, 'busy.db', 'the message names the open file');
      ok(a.M.opfsPoolInfo() !== null, 'the pool is still installed');
      a.mustWrite(f, 0, pattern(10, 24)); // and still usable
      a.close(f);
      a.M.releaseOpfsPool();
      eq(a.M.opfsPoolInfo(), null, 'released once nothing is open');
      eq(a.open('busy.db').code, a.C.SQLITE_CANTOPEN, 'open after release');
      contains(a.lastError(), 'not installed', 'xGetLastError after release');
    },
  },
  {
    name: 'DatabaseInDeleteModeSurvivesAReloadWithIntegrityOk',
    async run(ctx) {
      let a = await ctx.load();
      let db = a.sqlOpen('shop.db');
      eq(a.scalar(db, 'PRAGMA journal_mode=DELETE'), 'delete', 'journal_mode');
      a.mustExec(db, 'CREATE TABLE sale(id INTEGER PRIMARY KEY, total_minor INTEGER NOT NULL, note TEXT)');
      for (let i = 1; i <= 50; i++) a.mustExec(db, `INSERT INTO sale(total_minor, note) VALUES (${i * 100}, 'sale ${i} ${'x'.repeat(200)}')`);
      eq(a.exists('shop.db-journal'), false, 'the rollback journal is gone after each commit');
      a.mustExec(db, 'BEGIN; UPDATE sale SET total_minor = 0; ROLLBACK');
      a.sqlClose(db);
      a = await ctx.reload(a);
      db = a.sqlOpen('shop.db');
      eq(a.scalar(db, 'PRAGMA integrity_check'), 'ok', 'integrity_check after reload');
      eq(a.scalar(db, 'SELECT count(*) FROM sale'), 50, 'rows after reload');
      eq(a.scalar(db, 'SELECT sum(total_minor) FROM sale'), 127500, 'the rolled-back update left no trace');
    },
  },
  {
    name: 'DatabaseInTruncateModeSurvivesAReloadWithIntegrityOk',
    async run(ctx) {
      let a = await ctx.load();
      let db = a.sqlOpen('t.db');
      eq(a.scalar(db, 'PRAGMA journal_mode=TRUNCATE'), 'truncate', 'journal_mode');
      a.mustExec(db, 'CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)');
      for (let i = 0; i < 20; i++) a.mustExec(db, `INSERT INTO t(v) VALUES (randomblob(3000))`);
      eq(a.exists('t.db-journal'), true, 'TRUNCATE keeps the journal file');
      const jf = a.mustOpen('t.db-journal', a.C.SQLITE_OPEN_MAIN_JOURNAL | a.C.SQLITE_OPEN_READWRITE);
      eq(a.size(jf).size, 0, 'and empties it at commit');
      a.close(jf);
      a.sqlClose(db);
      a = await ctx.reload(a);
      db = a.sqlOpen('t.db');
      eq(a.scalar(db, 'PRAGMA integrity_check'), 'ok', 'integrity_check after reload');
      eq(a.scalar(db, 'SELECT count(*) FROM t'), 20, 'rows after reload');
    },
  },
  {
    name: 'WalNeedsExclusiveLockingModeBecauseThereIsNoSharedMemory',
    async run(ctx) {
      const a = await ctx.load();
      const db = a.sqlOpen('w.db');
      a.mustExec(db, 'CREATE TABLE t(x)');
      eq(a.scalar(db, 'PRAGMA journal_mode=WAL'), 'delete', 'WAL refused in NORMAL locking mode (no xShm*)');
      a.mustExec(db, 'PRAGMA locking_mode=EXCLUSIVE');
      eq(a.scalar(db, 'PRAGMA journal_mode=WAL'), 'wal', 'WAL accepted once EXCLUSIVE');
    },
  },
  {
    name: 'WalWithExclusiveLockingCommitsRollsBackAndSurvivesAReload',
    async run(ctx) {
      const { a, db } = await walDatabase(ctx, 'wal.db');
      a.mustExec(db, 'CREATE TABLE sale(id INTEGER PRIMARY KEY, total_minor INTEGER NOT NULL)');
      for (let i = 1; i <= 100; i++) a.mustExec(db, `INSERT INTO sale(total_minor) VALUES (${i})`);
      eq(a.exists('wal.db-wal'), true, 'the WAL file exists while the database is open');
      a.mustExec(db, 'BEGIN; DELETE FROM sale; ROLLBACK');
      eq(a.scalar(db, 'SELECT count(*) FROM sale'), 100, 'rows after a rolled-back delete');
      a.mustExec(db, 'BEGIN; INSERT INTO sale(total_minor) VALUES (1000); INSERT INTO sale(total_minor) VALUES (2000); COMMIT');
      a.mustExec(db, 'PRAGMA wal_checkpoint(TRUNCATE)');
      a.mustExec(db, 'INSERT INTO sale(total_minor) VALUES (3)'); // lives only in the WAL at close
      a.sqlClose(db);
      const b = await ctx.reload(a);
      const db2 = b.sqlOpen('wal.db');
      b.mustExec(db2, 'PRAGMA locking_mode=EXCLUSIVE');
      eq(b.scalar(db2, 'PRAGMA journal_mode'), 'wal', 'journal_mode persists as wal');
      eq(b.scalar(db2, 'PRAGMA integrity_check'), 'ok', 'integrity_check after reload');
      eq(b.scalar(db2, 'SELECT count(*) FROM sale'), 103, 'rows after reload');
      eq(b.scalar(db2, 'SELECT sum(total_minor) FROM sale'), 5050 + 3003, 'sum after reload');
    },
  },
  {
    name: 'DiskFullDuringAWalCommitFailsCleanlyAndTheDatabaseStaysIntact',
    async run(ctx) {
      const { a, db } = await walDatabase(ctx, 'full.db');
      a.mustExec(db, 'CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)');
      a.mustExec(db, 'INSERT INTO t(v) VALUES (randomblob(100))');
      ctx.faults.shortWrites(100);
      const r = a.exec(db, 'INSERT INTO t(v) VALUES (randomblob(20000))');
      ctx.faults.clear();
      eq(r.code, a.C.SQLITE_FULL, `code of a commit on a full disk (${r.message})`);
      contains(r.message, 'full', 'SQLite message');
      contains(r.detail, 'short write', 'the VFS detail');
      eq(a.scalar(db, 'SELECT count(*) FROM t'), 1, 'the failed transaction left no row');
      eq(a.scalar(db, 'PRAGMA integrity_check'), 'ok', 'integrity_check after the failure');
      a.mustExec(db, 'INSERT INTO t(v) VALUES (randomblob(20000))');
      eq(a.scalar(db, 'SELECT count(*) FROM t'), 2, 'writes work again once there is room');
      a.sqlClose(db);
      const b = await ctx.reload(a);
      const db2 = b.sqlOpen('full.db');
      b.mustExec(db2, 'PRAGMA locking_mode=EXCLUSIVE');
      eq(b.scalar(db2, 'PRAGMA integrity_check'), 'ok', 'integrity_check after reload');
      eq(b.scalar(db2, 'SELECT count(*) FROM t'), 2, 'rows after reload');
    },
  },
  {
    name: 'QuotaExceededDuringADeleteModeCommitRollsBackCleanly',
    async run(ctx) {
      const a = await ctx.load();
      const db = a.sqlOpen('q.db');
      a.mustExec(db, 'CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)');
      for (let i = 0; i < 10; i++) a.mustExec(db, 'INSERT INTO t(v) VALUES (randomblob(2000))');
      // Fail only the database file's writes: the journal is written and synced, then the
      // database write fails, and so does SQLite's rollback into the database. The hot journal
      // left behind must put every page back the next time the database is read.
      const dbFile = a.M.opfsPoolInfo().files.find((x) => x.name === 'q.db').fileName;
      ctx.faults.failNext('write', { name: 'QuotaExceededError', message: 'quota', count: 1e6, file: dbFile });
      const r = a.exec(db, 'UPDATE t SET v = randomblob(2500)');
      const injected = ctx.faults.injected;
      ctx.faults.clear();
      eq(r.code, a.C.SQLITE_FULL, `code (${r.message})`);
      contains(r.detail, 'QuotaExceededError', 'the VFS detail');
      eq(a.scalar(db, 'PRAGMA integrity_check'), 'ok', 'integrity_check after the failure');
      eq(a.scalar(db, 'SELECT count(*) FROM t WHERE length(v) = 2000'), 10, 'every row as before');
      ok(injected > 0, 'the database write really failed');
    },
  },
];
