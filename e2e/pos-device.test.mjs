// The till's own page: storage (persistent or not, usage and quota, a clear message when it is
// full) and the debug panel (the queue, the sync log, clearing the local cache, which is refused
// while anything exists only on this till).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub, Till } from './pos_harness.mjs';

let hub;
let till;
let shopToken;
before(async () => {
  hub = await Hub.start();
  till = await Till.launch(hub.url, { name: 'device page' });
  ({ shopToken } = await till.createShop({ operatorToken: hub.operatorToken, shopName: 'Device Shop' }));
});
after(async () => {
  await till?.close();
  await hub?.stop();
});

test('storage full: the sale is not recorded, the cashier is told, and the same sale goes through later', async () => {
  await till.go('device');
  await till.tid('storage-panel').waitFor();
  assert.match(await till.tid('persisted').textContent(), /granted|not granted/);
  assert.match(await till.tid('usage').textContent(), /of .*\(\d+ %\)/);

  const cdp = await till.context.newCDPSession(till.page);
  const origin = new URL(till.baseUrl).origin;
  const { usage } = await cdp.send('Storage.getUsageAndQuota', { origin });
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage });
  let failedAt = null;
  try {
    // Ring sales until one does not fit any more.
    for (let i = 0; i < 40 && failedAt === null; i++) {
      await till.go('sell');
      await till.page.click('[data-testid="product"][data-product-id="p-coffee"]');
      await till.tid('charge').click();
      await till.tid('pay-card').click();
      await till.tid('complete-sale').click();
      await till.tid('sale-recorded').or(till.tid('checkout-error')).waitFor({ timeout: 30_000 });
      if (await till.tid('checkout-error').count()) failedAt = i;
    }
    assert.notEqual(failedAt, null, 'the quota was reached');
    assert.match(await till.tid('checkout-error').textContent(), /Not recorded.*Storage on this device is full/s);
    await till.tid('banner-storage-full').waitFor();
    await till.shot('storage-full');
  } finally {
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  }
  // Room again: pressing "Complete sale" once more records that same sale (same order id).
  await till.tid('complete-sale').click();
  await till.tid('sale-recorded').waitFor({ timeout: 30_000 });
  const receiptNo = (await till.tid('receipt-no').textContent()).trim();
  await till.syncUntilIdle();
  const audit = await hub.audit(shopToken);
  assert.equal(audit.orders.filter((o) => o.values.receipt_no === receiptNo).length, 1);
  assert.equal(audit.orders.length, failedAt + 1, 'every sale shown as recorded, and only those, reached the hub');
});

test('debug panel: queue and log; clearing refused while a sale is unsynced, then allowed', async () => {
  await till.setOffline(true);
  const sale = await till.sell([{ productId: 'p-bagel', qty: 1 }]);
  await till.go('device');
  await till.page.waitForFunction(() => document.querySelectorAll('[data-testid="queue"] li .mono').length >= 1);
  await till.tid('clear-refused').waitFor();
  assert.equal(await till.tid('clear-cache').isDisabled(), true, 'refused while a sale exists only here');
  assert.ok(await till.page.locator('[data-testid="sync-log"] li').count() >= 1, 'the sync log shows entries');
  await till.tid('debug-panel').scrollIntoViewIfNeeded();
  await till.shot('debug-panel');

  await till.setOffline(false);
  await till.syncUntilIdle();
  await till.go('device');
  await till.tid('clear-refused').waitFor({ state: 'detached' });
  const audit = await hub.audit(shopToken);
  assert.equal(audit.orders.filter((o) => o.id === sale.orderId).length, 1, 'uploaded before clearing');
  await till.tid('clear-cache').click();
  await till.tid('confirm-ok').click();
  // The till restarts at set up; its sales stay on the hub.
  await till.page.waitForFunction(() => document.querySelector('[data-testid="first-run"]'), null, { timeout: 30_000 });
  assert.equal((await hub.audit(shopToken)).orders.filter((o) => o.id === sale.orderId).length, 1);
});
