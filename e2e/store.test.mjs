// The npm package in headless Chromium (Debian's /usr/bin/chromium via playwright-core, a
// persistent profile so OPFS is on disk) against the REAL hub binary on 127.0.0.1: the hub
// serves the built package (dist/, from scripts/build-package.sh) and a small test page
// (e2e/store_page.*) with --static, so page, worker, .wasm and the hub API share one origin.
// Every sync check reads the hub's own records through a second device of the shop.
//   node --test e2e/store.test.mjs        (after scripts/build-package.sh and build-native.sh)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from './chromium.mjs';
import { repoRoot } from './static_server.mjs';
import { startServer, HubClient, PRODUCTS, rowsOf, tempDir } from '../tests/server/hub_harness.mjs';

let server;
let hub;
let shop;
let reader;     // a second device of the shop: reads what the hub holds
let profile;
let context;
const pageErrors = [];

function buildSite() {
  const site = tempDir('site');
  const dist = path.join(repoRoot, 'dist');
  if (!fs.existsSync(path.join(dist, 'worker.js'))) throw new Error('dist/ missing: run scripts/build-package.sh');
  fs.mkdirSync(path.join(site, 'tillsync'));
  for (const f of ['index.js', 'worker.js', 'tillsync.wasm', 'service-worker.js']) fs.copyFileSync(path.join(dist, f), path.join(site, 'tillsync', f));
  fs.copyFileSync(path.join(repoRoot, 'e2e', 'store_page.html'), path.join(site, 'index.html'));
  fs.copyFileSync(path.join(repoRoot, 'e2e', 'store_page.mjs'), path.join(site, 'store_page.mjs'));
  return site;
}

before(async () => {
  server = await startServer({ dir: tempDir('e2e-hub'), args: ['--static', buildSite()] });
  hub = new HubClient(server);
  shop = await hub.createShop('Browser shop');
  await hub.addProducts(PRODUCTS);
  reader = await hub.registerDevice(shop.shop_token, 'Reader');
  profile = await mkdtemp(path.join(os.tmpdir(), 'tillsync-store-e2e-'));
  context = await launchChromium(profile);
});

after(async () => {
  await context?.close();
  await server?.stop();
  if (profile) await rm(profile, { recursive: true, force: true });
});

async function credentials(name) {
  const d = await hub.registerDevice(shop.shop_token, name);
  return { url: server.url, shopId: d.reg.shop_id, deviceId: d.reg.device_id, deviceToken: d.reg.device_token,
    receiptPrefix: d.reg.receipt_prefix, currency: 'EUR' };
}

async function newTab() {
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  await page.goto(server.url + '/');
  await page.waitForFunction(() => window.ready === true);
  return page;
}

const run = (page, method, ...args) => page.evaluate(([m, a]) => window.run(m, ...a), [method, args]);
async function must(page, method, ...args) {
  const r = await run(page, method, ...args);
  assert.ok(r.ok, `${method}: ${r.code}: ${r.message}`);
  return r.result;
}

async function hubSalesById() {
  const { rows } = await reader.pullAll();
  const byId = new Map();
  for (const r of rowsOf(rows, 'sales_orders')) byId.set(r.id, (byId.get(r.id) ?? 0) + 1);
  return { byId, rows };
}

const sale = (orderId) => ({ lines: [{ productId: 'p-coffee', qty: 1 }, { productId: 'p-juice', qty: 2 }],
  payments: [{ method: 'cash', tenderedMinor: 2000 }], orderId });

// No tab may ever have shown the user an OPFS access-handle failure.
function assertNoAccessHandleErrors() {
  const bad = pageErrors.filter((e) => /access ?handle|NoModificationAllowed|OpfsPoolBusy/i.test(e));
  assert.deepEqual(bad, []);
}

test('ASaleWrittenInThePageReachesTheHubAndSurvivesAReload', async () => {
  const creds = await credentials('Till reload');
  let page = await newTab();
  const identity = await page.evaluate((c) => window.openTill({ name: 'reload', hub: c }), creds);
  assert.equal(identity.deviceId, creds.deviceId);
  assert.equal(identity.local, false);
  await must(page, 'sync');
  const r = await must(page, 'recordSale', sale('o-reload-1'));
  assert.equal(r.orderId, 'o-reload-1');
  assert.match(r.receiptNo, new RegExp(`^${creds.receiptPrefix}-0+1$`));
  assert.equal(r.totalMinor, 250 + 48 + 2 * 399 + 152);  // tax per line at 19 %, rounded half up
  const status = await must(page, 'sync');
  assert.equal(status.pending, 0);
  assert.equal(status.isOwner, true);
  assert.equal((await hubSalesById()).byId.get('o-reload-1'), 1);

  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  const again = await page.evaluate(() => window.openTill({ name: 'reload' }));  // no credentials: reopen
  assert.equal(again.deviceId, creds.deviceId);
  const rows = await must(page, 'query', 'SELECT id, receipt_no, total_minor FROM sales_orders WHERE id = ?1', ['o-reload-1']);
  assert.deepEqual(rows, [{ id: 'o-reload-1', receipt_no: r.receiptNo, total_minor: r.totalMinor }]);
  const storage = await must(page, 'storage');
  assert.equal(typeof storage.persisted, 'boolean');
  assert.ok(storage.quota > 0 && storage.usage > 0, JSON.stringify(storage));
  await must(page, 'close');
  await page.close();
});

test('TwoTabsWriteConcurrentlyThroughTheOneOwner', async () => {
  const creds = await credentials('Till two tabs');
  const a = await newTab();
  await a.evaluate((c) => window.openTill({ name: 'two-tabs', hub: c }), creds);
  const b = await newTab();
  await b.evaluate(() => window.openTill({ name: 'two-tabs' }));
  const owners = [await must(a, 'status'), await must(b, 'status')].map((s) => s.isOwner);
  assert.deepEqual(owners, [true, false], 'the first tab owns the database; the second talks to it');
  const burst = (page, prefix) => page.evaluate((p) => Promise.all(Array.from({ length: 25 }, (_, i) =>
    window.run('recordSale', { lines: [{ productId: 'p-bagel', qty: 1 }], orderId: `${p}-${i}` }))), prefix);
  const [ra, rb] = await Promise.all([burst(a, 'o-tab-a'), burst(b, 'o-tab-b')]);
  for (const r of [...ra, ...rb]) assert.ok(r.ok, `${r.code}: ${r.message}`);
  const receipts = new Set([...ra, ...rb].map((r) => r.result.receiptNo));
  assert.equal(receipts.size, 50, 'every sale got its own receipt number');
  for (const page of [a, b]) {
    const n = await must(page, 'query', "SELECT count(*) AS n FROM sales_orders WHERE id LIKE 'o-tab-%'");
    assert.equal(n[0].n, 50, 'both tabs read the one database');
  }
  const s = await must(b, 'sync');
  assert.equal(s.pending, 0);
  const { byId } = await hubSalesById();
  const ours = [...byId].filter(([id]) => id.startsWith('o-tab-'));
  assert.equal(ours.length, 50);
  assert.ok(ours.every(([, n]) => n === 1));
  assertNoAccessHandleErrors();
  await must(b, 'close');
  await must(a, 'close');
  await a.close();
  await b.close();
});

test('ClosingTheOwnerTabHandsOverWithNoLossAndNoDuplicate', async () => {
  const creds = await credentials('Till handover');
  const a = await newTab();
  await a.evaluate((c) => window.openTill({ name: 'handover', hub: c }), creds);
  await must(a, 'sync');
  const b = await newTab();
  const c = await newTab();
  await b.evaluate(() => window.openTill({ name: 'handover' }));
  await c.evaluate(() => window.openTill({ name: 'handover' }));
  // B and C keep selling while the owner tab goes away under them: their calls in flight when A
  // closes must be answered by the next owner, each exactly once.
  const sell = (page, prefix, n) => page.evaluate(async ([p, count]) => {
    const out = [];
    for (let i = 0; i < count; i++) {
      out.push(window.run('recordSale', { lines: [{ productId: 'p-coffee', qty: 1 }], orderId: `${p}-${i}` }));
      if (i % 5 === 4) await new Promise((r) => setTimeout(r, 15));
    }
    return Promise.all(out);
  }, [prefix, n]);
  const sellingB = sell(b, 'o-hand-b', 60);
  const sellingC = sell(c, 'o-hand-c', 60);
  await new Promise((r) => setTimeout(r, 40));
  await a.close();  // the owner tab closes mid-burst: the browser releases its Web Lock
  const results = [...await sellingB, ...await sellingC];
  for (const r of results) assert.ok(r.ok, `${r.code}: ${r.message}`);
  const owners = [await must(b, 'status'), await must(c, 'status')].map((s) => s.isOwner);
  assert.equal(owners.filter(Boolean).length, 1, 'exactly one new owner');
  const resent = (await b.evaluate(() => window.store._c.resent)) + (await c.evaluate(() => window.store._c.resent));
  assert.ok(resent > 0, 'calls were in flight when the owner went away, and were sent again');
  console.log(`# handover: ${resent} unanswered call(s) re-sent to the new owner`);
  const local = await must(b, 'query', "SELECT count(*) AS n, count(DISTINCT receipt_no) AS r FROM sales_orders WHERE id LIKE 'o-hand-%'");
  assert.deepEqual(local, [{ n: 120, r: 120 }]);
  const lines = await must(c, 'query', "SELECT count(*) AS n FROM order_lines l JOIN sales_orders o ON o.id = l.order_id WHERE o.id LIKE 'o-hand-%'");
  assert.equal(lines[0].n, 120, 'no sale recorded twice (one line each)');
  assert.equal((await must(c, 'sync')).pending, 0);
  const { byId } = await hubSalesById();
  const ours = [...byId].filter(([id]) => id.startsWith('o-hand-'));
  assert.equal(ours.length, 120);
  assert.ok(ours.every(([, n]) => n === 1));
  assertNoAccessHandleErrors();
  await must(b, 'close');
  await must(c, 'close');
  await b.close();
  await c.close();
});

test('AWriteWhenTheQuotaIsFullFailsWithStorageFullAndNothingHalfWritten', async () => {
  const creds = await credentials('Till quota');
  const page = await newTab();
  await page.evaluate((c) => window.openTill({ name: 'quota', hub: c }), creds);
  await must(page, 'sync');
  await must(page, 'recordSale', sale('o-quota-ok'));
  const cdp = await context.newCDPSession(page);
  const origin = new URL(server.url).origin;
  const { usage } = await must(page, 'storage');
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + 16 * 1024 });
  try {
    // Big writes until the quota bites: a catalog page of 200 products with long descriptions.
    let failure = null;
    for (let round = 0; round < 40 && !failure; round++) {
      const changes = Array.from({ length: 200 }, (_, i) => ({ table: 'products', id: `p-q-${round}-${i}`,
        values: { name: `Quota product ${round}-${i} ${'x'.repeat(180)}`, price_minor: 100, tax_rate_bp: 0, active: 1 } }));
      const r = await run(page, 'write', changes);
      if (!r.ok) failure = { ...r, round };
    }
    assert.ok(failure, 'the quota was reached');
    assert.equal(failure.code, 'storage_full', failure.message);
    assert.equal(failure.name, 'TillsyncError');
    const sale2 = await run(page, 'recordSale', sale('o-quota-full'));
    if (!sale2.ok) assert.equal(sale2.code, 'storage_full');
    // The failed write left nothing behind: not one of its rows, no outbox entry.
    const half = await must(page, 'query', 'SELECT count(*) AS n FROM products WHERE id LIKE ?1', [`p-q-${failure.round}-%`]);
    assert.equal(half[0].n, 0);
    const outbox = await must(page, 'outbox');
    assert.ok(!outbox.some((o) => o.changes.some((c) => c.id.startsWith(`p-q-${failure.round}-`))), 'no outbox entry');
    console.log(`# quota reached after ${failure.round} catalog pages: ${failure.message}`);
  } finally {
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  }
  const later = await run(page, 'recordSale', sale('o-quota-later'));
  assert.ok(later.ok, `writes work again once there is room: ${later.code} ${later.message}`);
  const check = await must(page, 'query', "SELECT count(*) AS n FROM sales_orders WHERE id = 'o-quota-later'");
  assert.equal(check[0].n, 1);
  assert.equal((await must(page, 'sync')).pending, 0);
  const { rows } = await reader.pullAll();
  const failedRound = rowsOf(rows, 'products').filter((p) => /^p-q-/.test(p.id)).map((p) => p.id.split('-')[2]);
  const rounds = new Set(failedRound);
  assert.ok(rounds.size >= 1, 'the writes before the full quota reached the hub');
  assert.ok([...rounds].every((r) => rowsOf(rows, 'products').filter((p) => p.id.startsWith(`p-q-${r}-`)).length === 200),
    'every catalog page reached the hub whole or not at all');
  await must(page, 'close');
  await page.close();
});

test('OfflineWritesSyncExactlyOnceWhenBackOnline', async () => {
  const creds = await credentials('Till offline');
  const page = await newTab();
  await page.evaluate((c) => window.openTill({ name: 'offline', hub: c }), creds);
  await must(page, 'sync');
  await context.setOffline(true);
  try {
    for (const id of ['o-off-1', 'o-off-2', 'o-off-3']) await must(page, 'recordSale', sale(id));
    const s = await must(page, 'sync');
    assert.equal(s.state, 'offline');
    assert.equal(s.pending, 3);
    assert.equal(s.lastError.code, 'io_error');
    assert.equal((await hubSalesById()).byId.has('o-off-1'), false, 'nothing reached the hub');
  } finally {
    await context.setOffline(false);
  }
  // The browser's "online" event reaches the worker through the tab; no sync() call here.
  await page.waitForFunction(() => window.statuses.length && window.statuses.at(-1).pending === 0
    && window.statuses.at(-1).state === 'idle', null, { timeout: 20_000 });
  const { byId } = await hubSalesById();
  for (const id of ['o-off-1', 'o-off-2', 'o-off-3']) assert.equal(byId.get(id), 1, id);
  const log = await must(page, 'syncLog');
  assert.ok(log.some((e) => e.kind === 'offline'));
  await must(page, 'close');
  await page.close();
});

test('TheMirroredPushUploadsWithNoTabOpenAndSendingItTwiceIsHarmless', async () => {
  const creds = await credentials('Till mirror');
  const page = await newTab();
  await page.evaluate((c) => window.openTill({ name: 'mirror', hub: c }), creds);
  await must(page, 'sync');
  await page.evaluate(async () => { window.sw = await import('/tillsync/service-worker.js'); });  // loaded while online
  await context.setOffline(true);
  try {
    for (const id of ['o-mirror-1', 'o-mirror-2']) await must(page, 'recordSale', sale(id));
    // The worker mirrors its next push (after the write debounce) where a service worker reads it.
    // (A polling loop in the page: waitForFunction would take an async predicate's promise as true.)
    const mirroredCount = await page.evaluate(async () => {
      for (let i = 0; i < 100; i++) {
        const e = (await window.sw.readMirroredPushes()).find((x) => x.name === 'mirror');
        if (e && e.count === 2) return e.count;
        await new Promise((r) => setTimeout(r, 100));
      }
      return 0;
    });
    assert.equal(mirroredCount, 2, 'the next push (both sales) is mirrored');
    await must(page, 'close');  // no tab owns the database any more
  } finally {
    await context.setOffline(false);
  }
  const before = await hub.stats();
  // What the app's service worker does on Background Sync, here run by the page: no database.
  const sent = await page.evaluate(async () => {
    const { uploadMirroredPushes, readMirroredPushes } = window.sw;
    const all = await readMirroredPushes();
    const mirrored = all.find((e) => e.name === 'mirror');
    if (!mirrored) return { missing: JSON.stringify(all.map((e) => [e.name, e.count])) };
    const results = await uploadMirroredPushes();
    const again = await fetch(mirrored.url, { method: 'POST', body: mirrored.body,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${mirrored.token}` } });
    return { results, url: mirrored.url, againStatus: again.status, left: (await readMirroredPushes()).filter((e) => e.name === 'mirror').length };
  });
  assert.equal(sent.missing, undefined, 'the mirrored push is still there for the service worker');
  assert.deepEqual(sent.results.filter((r) => r.name === 'mirror'), [{ name: 'mirror', status: 200, count: 2 }]);
  assert.equal(sent.url, `${server.url}/v1/push`);
  assert.equal(sent.againStatus, 200, 'a second send of the same operations is answered, not refused');
  assert.equal(sent.left, 0, 'an uploaded entry is removed');
  let { byId } = await hubSalesById();
  assert.equal(byId.get('o-mirror-1'), 1);
  assert.equal(byId.get('o-mirror-2'), 1);
  // The tab comes back: its worker pushes the same operations, gets the hub's first answers.
  await page.evaluate(() => window.openTill({ name: 'mirror' }));
  const s = await must(page, 'sync');
  assert.equal(s.pending, 0);
  const after = await hub.stats();
  assert.equal(after.ops_applied - before.ops_applied, 2, 'three sends, two operations applied once each');
  ({ byId } = await hubSalesById());
  assert.equal(byId.get('o-mirror-1'), 1);
  await must(page, 'close');
  await page.close();
});

test('AResolverRegisteredInATabResolvesConflictsOnItsTable', async () => {
  const creds = await credentials('Till resolver');
  const other = await hub.registerDevice(shop.shop_token, 'Other till');  // a second device, raw protocol
  const page = await newTab();
  // Syncs only when the test says so: a write's own debounced sync could otherwise pull the
  // other till's edit before this till's edit is pushed, and then there is no conflict to resolve.
  await page.evaluate((c) => window.openTill({ name: 'resolver', hub: c, writeDebounceMs: 1e9, syncIntervalMs: 0 }), creds);
  await must(page, 'write', [{ table: 'customers', id: 'c-ada', values: { name: 'Ada', phone: '111' } }]);
  await must(page, 'sync');
  // The other till edits the same customer first (it saw version 1) ...
  await other.pullAll();
  const r = await other.push([other.op([{ table: 'customers', id: 'c-ada', values: { phone: '222' }, base_version: 1 }])]);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.results[0].status, 'applied');
  // ... and this till, not having pulled, edits it from version 1 too: a manual-rule conflict.
  await page.evaluate(() => window.store.registerResolver('customers', (theirs, mine) =>
    ({ ...theirs, notes: `merged: theirs ${theirs.phone}, mine ${mine.phone}` })));
  await must(page, 'write', [{ table: 'customers', id: 'c-ada', values: { phone: '333' } }]);
  await must(page, 'sync');
  const settled = await page.evaluate(async () => {
    for (let i = 0; i < 75; i++) {
      const [open, st] = [await window.store.conflicts(), await window.store.status()];
      if (open.length === 0 && st.conflicts > 0) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  });
  assert.ok(settled, `the conflict was recorded and then resolved by the tab's resolver; open: ${
    JSON.stringify(await run(page, 'conflicts'))}; status: ${JSON.stringify(await run(page, 'status'))}; page errors: ${
    JSON.stringify(pageErrors)}`);
  await must(page, 'sync');
  const { rows } = await reader.pullAll();
  const ada = rowsOf(rows, 'customers').find((c) => c.id === 'c-ada');
  assert.equal(ada.values.phone, '222', 'the resolver kept the hub\'s phone');
  assert.equal(ada.values.notes, 'merged: theirs 222, mine 333');
  const status = await must(page, 'status');
  assert.ok(status.conflicts >= 1, 'the conflict was recorded before it was resolved');
  await must(page, 'close');
  await page.close();
});
