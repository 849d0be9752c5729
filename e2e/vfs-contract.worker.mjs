// The VFS contract (tests/vfs_contract/contract.mjs) on real OPFS, inside a dedicated worker.
// Driven by e2e/vfs-contract.test.mjs through e2e/worker_page.html. Each case gets its own
// OPFS directory (tillsync-contract/<case>), removed afterwards.
import { contractCases, runCase, eq } from '/tests/vfs_contract/contract.mjs';
import { FaultPlan } from '/wasm/memory_access_handle.js';
import { FaultInjectingDirectory } from '/tests/vfs_contract/fault_injecting_directory.mjs';
import { moduleFactory, opfsDirectory, removeOpfsEntry, serve } from './worker_support.mjs';

const BASE = 'tillsync-contract';
const faults = new FaultPlan();
const env = {
  label: 'opfs',
  faults,
  newModule: moduleFactory(),
  async newDirectory(name) {
    await removeOpfsEntry(BASE, name); // leftovers of an aborted earlier run
    return new FaultInjectingDirectory(await opfsDirectory(`${BASE}/${name}`), faults);
  },
  async removeDirectory(dir) {
    await removeOpfsEntry(BASE, dir.name);
  },
};

// Across a browser restart (the test driver closes Chromium between the two phases).
const RESTART_DIR = 'tillsync-restart-check';
const restart = {
  async write() {
    await removeOpfsEntry('', RESTART_DIR);
    const M = await env.newModule();
    await M.installOpfsPool({ directory: RESTART_DIR, capacity: 4 });
    const db = M.sqlOpen('till.db', 'opfs').db;
    const run = (sql) => { const r = M.sqlExec(db, sql); eq(r.code, 0, `${sql}: ${r.message}`); };
    run('PRAGMA locking_mode=EXCLUSIVE');
    run('PRAGMA journal_mode=WAL');
    run('CREATE TABLE sale(id INTEGER PRIMARY KEY, total_minor INTEGER)');
    for (let i = 1; i <= 25; i++) run(`INSERT INTO sale(total_minor) VALUES (${i * 100})`);
    // No close and no release: the browser is closed under an open database, as a crash would.
    return { ok: true };
  },
  async verify() {
    const M = await env.newModule();
    await M.installOpfsPool({ directory: RESTART_DIR, capacity: 4 });
    const db = M.sqlOpen('till.db', 'opfs').db;
    M.sqlExec(db, 'PRAGMA locking_mode=EXCLUSIVE');
    const q = (sql) => M.sqlQuery(db, sql).rows[0][0];
    const out = { ok: true, integrity: q('PRAGMA integrity_check'), count: q('SELECT count(*) FROM sale'),
      sum: q('SELECT sum(total_minor) FROM sale'), journalMode: q('PRAGMA journal_mode') };
    M.sqlClose(db);
    M.releaseOpfsPool();
    await removeOpfsEntry('', RESTART_DIR);
    return out;
  },
};

serve({
  caseNames: () => contractCases.map((c) => c.name),
  async runCase(name) {
    const c = contractCases.find((x) => x.name === name);
    if (!c) return { ok: false, error: `no such case: ${name}` };
    try {
      await runCase(env, c);
      return { ok: true };
    } catch (e) {
      return { ok: false, error: `${e.name}: ${e.message}\n${e.stack || ''}` };
    }
  },
  restartWrite: () => restart.write(),
  restartVerify: () => restart.verify(),
}, async () => {
  await removeOpfsEntry('', BASE);
});
