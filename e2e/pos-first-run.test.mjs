// First run of the POS: create a shop on the hub from the app, join it from a second browser
// profile as a second device, recover it with its recovery code from a third; the device
// identity survives a browser restart. Every step is checked against the hub's own records.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from '../tests/server/hub_harness.mjs';
import { Hub, Till, WEB_DIST, tempDir } from './pos_harness.mjs';

let hub;
const tills = [];
before(async () => { hub = await Hub.start(); });
after(async () => {
  for (const t of tills) await t.close();
  await hub?.stop();
});

async function launch(opts) {
  const t = await Till.launch(hub.url, opts);
  tills.push(t);
  return t;
}

async function shopDevices(shopToken) {
  const r = await hub.client.get('/v1/shop', shopToken);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

test('create a shop, restart, join as a second device, recover with the code', async () => {
  const profileA = tempDir('first-a');
  let a = await launch({ profile: profileA, name: 'A' });
  await a.tid('first-run').waitFor();
  await a.shot('first-run');
  const { shopToken, recoveryCode } = await a.createShop({ operatorToken: hub.operatorToken, shopName: 'Harbour Bakery',
    deviceName: 'Front till', shotName: 'first-run-create' });
  assert.match(shopToken, /^\S{16,}$/);
  assert.match(recoveryCode, /^\S{8,}$/);

  // The hub has the shop, and this browser as its one device.
  const shops = await hub.client.get('/v1/admin/shops', hub.operatorToken);
  assert.equal(shops.status, 200, shops.text);
  const listed = JSON.stringify(shops.json);
  assert.match(listed, /Harbour Bakery/);
  let shop = await shopDevices(shopToken);
  assert.equal(shop.name, 'Harbour Bakery');
  assert.deepEqual(shop.devices.map((d) => d.name), ['Front till']);
  const idA = await a.deviceId();
  assert.equal(shop.devices[0].device_id, idA, 'the app runs as the device the hub registered');

  // Identity persists: a new browser process on the same profile goes straight to selling, as
  // the same device.
  await a.close();
  a = await launch({ profile: profileA, name: 'A again' });
  assert.equal(await a.tid('first-run').count(), 0, 'no first run after a restart');
  await a.waitForProducts();
  assert.equal(await a.deviceId(), idA);

  // A second profile joins with the shop token: a second device with its own receipt prefix.
  const b = await launch({ name: 'B' });
  await b.joinShop({ shopToken, deviceName: 'Back till' });
  const idB = await b.deviceId();
  assert.notEqual(idB, idA);
  shop = await shopDevices(shopToken);
  assert.deepEqual(shop.devices.map((d) => d.device_id).sort(), [idA, idB].sort());
  const prefixes = shop.devices.map((d) => d.receipt_prefix);
  assert.equal(new Set(prefixes).size, 2, `receipt prefixes are unique in the shop: ${prefixes}`);

  // A third profile recovers the shop with the recovery code: it gets a new shop token and a
  // new recovery code (the old one is spent), and joins as a third device.
  const c = await launch({ name: 'C' });
  await c.tid('mode-recover').click();
  await c.tid('setup-recoveryCode').fill(recoveryCode);
  await c.tid('setup-deviceName').fill('Recovered till');
  await c.tid('setup-submit').click();
  await c.tid('shop-secrets').waitFor({ timeout: 60_000 });
  const newToken = (await c.tid('shop-token').textContent()).trim();
  const newCode = (await c.tid('recovery-code').textContent()).trim();
  assert.notEqual(newCode, recoveryCode);
  await c.tid('start-selling').click();
  await c.waitForProducts();
  shop = await shopDevices(newToken);
  assert.equal(shop.devices.length, 3, 'the recovered shop is the same shop, now with three devices');
  // The spent recovery code does not work twice.
  const again = await hub.client.post('/v1/recover', undefined, { recovery_code: recoveryCode });
  assert.notEqual(again.status, 200, `a spent recovery code is refused (${again.status})`);
});

test('a wrong operator token is refused with a clear message and nothing is created', async () => {
  const t = await launch({ name: 'wrong token' });
  const before = (await hub.client.get('/v1/admin/shops', hub.operatorToken)).json;
  await t.tid('mode-create').click();
  await t.tid('setup-shopName').fill('Nope');
  await t.tid('setup-operatorToken').fill('tsk_op_not_a_real_token');
  await t.tid('setup-submit').click();
  await t.tid('setup-error').waitFor();
  assert.match(await t.tid('setup-error').textContent(), /\S/);
  const afterList = (await hub.client.get('/v1/admin/shops', hub.operatorToken)).json;
  assert.deepEqual(afterList, before);
});

test('the demo shop of `npm start`: a till joins with its token and sells from its catalog', async () => {
  const server = await startServer({ args: ['--static', WEB_DIST, '--demo'] });
  const demo = new Hub(server);
  try {
    const shopToken = server.printed['demo shop token'];
    assert.ok(shopToken, `the demo prints its shop token: ${JSON.stringify(Object.keys(server.printed))}`);
    const t = await Till.launch(demo.url, { name: 'demo' });
    tills.push(t);
    await t.joinShop({ shopToken, deviceName: 'Counter 1' });
    const categories = await t.page.locator('.categories .cat').count();
    assert.ok(categories >= 6, `the demo's categories are offered (${categories - 1})`);
    const ids = await t.page.$$eval('[data-testid="product"]', (tiles) => tiles.map((x) => x.dataset.productId));
    assert.ok(ids.length >= 30, `the demo catalog is on the till (${ids.length} tiles)`);
    // The demo booked stock for every product: tiles show it.
    assert.match(await t.tid('product').first().textContent(), /\d+ left/);
    await t.page.click(`[data-testid="product"][data-product-id="${ids[0]}"]`);
    await t.page.click(`[data-testid="product"][data-product-id="${ids[0]}"]`);
    await t.page.click(`[data-testid="product"][data-product-id="${ids[1]}"]`);
    await t.page.click(`[data-testid="product"][data-product-id="${ids[5]}"]`);
    await t.shot('selling-demo');
    await t.tid('charge').click();
    await t.tid('pay-card').click();
    await t.tid('complete-sale').click();
    await t.tid('sale-recorded').waitFor();
    const receiptNo = (await t.tid('receipt-no').textContent()).trim();
    await t.syncUntilIdle();
    const audit = await demo.audit(shopToken);
    assert.equal(audit.orders.filter((o) => o.values.receipt_no === receiptNo).length, 1);
  } finally {
    await server.stop();
  }
});
