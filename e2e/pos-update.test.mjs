// Versions. The hub demands a newer schema ("update required"): the banner shows, selling goes
// on, pending sales are kept and upload once the hub accepts them again. A new version of the
// app is deployed ("update available"): the banner shows in an open tab, applying it reloads
// into the new version, and no open tab is left blank.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startServer } from '../tests/server/hub_harness.mjs';
import { Hub, Till, WEB_DIST, buildWeb, tempDir } from './pos_harness.mjs';

const tills = [];
const hubs = [];
after(async () => {
  for (const t of tills) await t.close();
  for (const h of hubs) await h.stop();
});

test('update required: the banner shows, sales are kept, and upload once allowed again', async () => {
  const hub = await Hub.start();
  hubs.push(hub);
  const till = await Till.launch(hub.url, { name: 'old till' });
  tills.push(till);
  const { shopToken } = await till.createShop({ operatorToken: hub.operatorToken, shopName: 'Versioned Shop' });
  await till.syncUntilIdle();

  const { schema_version: current } = await hub.setMinSchemaVersion(1);
  const statsBefore = await hub.stats();
  await hub.setMinSchemaVersion(current + 1);
  const sale = await till.sell([{ productId: 'p-coffee', qty: 1 }]);
  await till.clickSyncNow();
  await till.tid('banner-update-required').waitFor({ timeout: 30_000 });
  assert.match(await till.tid('banner-update-required').textContent(), new RegExp(`version ${current + 1}`));
  let st = await till.syncStatus();
  assert.equal(st.state, 'update_required');
  assert.ok(st.pending >= 1, 'the sale is kept on the till');
  await till.shot('update-required');
  // (The auditor cannot pull while the minimum is raised either: the hub's own statistics.)
  const statsDuring = await hub.stats();
  assert.equal(statsDuring.ops_applied, statsBefore.ops_applied, 'the hub stored nothing from an outdated till');

  // Selling still works under the banner, and a reload keeps everything.
  const second = await till.sell([{ productId: 'p-tea', qty: 1 }]);
  await till.reload();
  const listed = await till.historyReceipts();
  assert.ok(listed.includes(sale.receiptNo) && listed.includes(second.receiptNo));

  // The operator lowers the minimum again (the stand-in for installing the new app): both
  // sales upload, once.
  await hub.setMinSchemaVersion(current);
  await till.syncUntilIdle();
  st = await till.syncStatus();
  assert.equal(st.pending, 0);
  assert.equal(await till.tid('banner-update-required').count(), 0);
  const audit = await hub.audit(shopToken);
  for (const s of [sale, second]) assert.equal(audit.orders.filter((o) => o.id === s.orderId).length, 1);
});

test('update available: banner, apply, no blank tab', async () => {
  // Serve a copy of web/dist that the test can "deploy" a new version into.
  buildWeb();
  const site = tempDir('site');
  fs.cpSync(WEB_DIST, site, { recursive: true });
  const server = await startServer({ args: ['--static', site] });
  const hub = new Hub(server);
  hubs.push(hub);
  await hub.addCatalog();
  const till = await Till.launch(hub.url, { name: 'tab 1' });
  tills.push(till);
  await till.createShop({ operatorToken: hub.operatorToken, shopName: 'Update Shop' });
  await till.page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  // A second tab of the same till, open during the update.
  const other = await till.context.newPage();
  await other.goto(`${till.baseUrl}/#/history`);
  await other.waitForFunction(() => window.__tillsyncReady === true);
  // A cart in progress survives the update's reload.
  await till.go('sell');
  await till.page.click('[data-testid="product"][data-product-id="p-bagel"]');

  // Deploy "version 2": a changed page and a service worker with a new version.
  const sw = fs.readFileSync(path.join(site, 'sw.js'), 'utf8');
  const version = /tillsync-shell-"?\+?"?([0-9a-f]{16})/.exec(sw)?.[1] ?? /"([0-9a-f]{16})"/.exec(sw)?.[1];
  assert.ok(version, 'the built sw.js names its version');
  fs.writeFileSync(path.join(site, 'sw.js'), sw.split(version).join('0000000000000002'));
  const html = fs.readFileSync(path.join(site, 'index.html'), 'utf8');
  fs.writeFileSync(path.join(site, 'index.html'), html.replace('<head>', '<head>\n  <meta name="deployed" content="v2" />'));

  await till.page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r.update()));
  await till.tid('banner-update-available').waitFor({ timeout: 30_000 });
  await till.shot('update-available');
  await Promise.all([
    till.page.waitForEvent('load', { timeout: 30_000 }),
    till.tid('apply-update').click(),
  ]);
  await till.waitReady();
  assert.equal(await till.page.locator('meta[name="deployed"]').getAttribute('content'), 'v2', 'the new version runs');
  await till.waitForProducts();
  assert.equal(await till.page.locator('[data-testid="cart-line"][data-product-id="p-bagel"]').count(), 1,
    'the cart survived the update');
  // The other tab was not reloaded under the cashier's hands, is not blank, and says why.
  await other.locator('text=updated in another tab').waitFor({ timeout: 15_000 });
  assert.ok((await other.locator('[data-testid="sales-list"]').count()) === 1, 'the other tab still shows its screen');
  // The updated tab closes: the old-version tab takes over the database (it starts its own
  // worker, from its own version's files) and keeps selling.
  await till.page.close();
  const old = new Till(till.context, till.baseUrl, till.profile, 'old tab');
  old.page = other;
  const sale = await old.sell([{ productId: 'p-tea', qty: 1 }]);
  assert.match(sale.receiptNo, /-\d{6}$/);
  await other.reload();
  await other.waitForFunction(() => window.__tillsyncReady === true);
  assert.equal(await other.locator('meta[name="deployed"]').getAttribute('content'), 'v2');
  assert.ok((await old.historyReceipts()).includes(sale.receiptNo));
});
