// The VFS contract (tests/vfs_contract/contract.mjs) on REAL OPFS: headless Chromium (Debian's
// /usr/bin/chromium via playwright-core), a page from a 127.0.0.1 static server, and the suite
// running inside a dedicated worker (e2e/vfs-contract.worker.mjs). Then one thing only a real
// browser can show: a database survives the browser being closed under it and started again.
//   node --test e2e/vfs-contract.test.mjs     (after scripts/build-wasm.sh)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { contractCases } from '../tests/vfs_contract/contract.mjs';
import { startStaticServer } from './static_server.mjs';
import { launchChromium, openWorkerPage } from './chromium.mjs';

const PAGE = '/e2e/worker_page.html?worker=/e2e/vfs-contract.worker.mjs';
let server;
let profile;
let context;
let page;

before(async () => {
  server = await startStaticServer();
  profile = await mkdtemp(path.join(os.tmpdir(), 'tillsync-e2e-'));
  context = await launchChromium(profile);
  page = await openWorkerPage(context, server.url, PAGE);
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

test('opfs: the worker runs the same contract cases as Node', async () => {
  const names = await page.evaluate(() => window.call('caseNames'));
  assert.deepEqual(names, contractCases.map((c) => c.name));
});

for (const c of contractCases) {
  test(`opfs: ${c.name}`, async () => {
    const r = await page.evaluate((name) => window.call('runCase', name), c.name);
    assert.ok(r.ok, r.error);
  });
}

test('opfs: DatabaseSurvivesTheBrowserClosingUnderIt', async () => {
  const w = await page.evaluate(() => window.call('restartWrite'));
  assert.ok(w.ok, w.error);
  await context.close(); // Chromium goes away with the database open and the pool held
  context = await launchChromium(profile);
  page = await openWorkerPage(context, server.url, PAGE);
  const r = await page.evaluate(() => window.call('restartVerify'));
  assert.ok(r.ok, r.error);
  assert.equal(r.integrity, 'ok');
  assert.equal(r.count, 25);
  assert.equal(r.sum, 32500);
  assert.equal(r.journalMode, 'wal');
});
