// Two tills of one shop: each sees the other's sales after sync; both sell the same product while
// offline and stock converges everywhere to receipts minus all sales.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTwoTillsOfOneShop } from './pos_harness.mjs';

let shop;
let hub;
let a;
let b;
let shopToken;
before(async () => {
  shop = await startTwoTillsOfOneShop('Twin Tills');
  ({ hub, a, b, shopToken } = shop);
});
after(async () => {
  await shop?.close();
});

test("each till's sales appear in the other's history after sync", async () => {
  const fromA = await a.sell([{ productId: 'p-coffee', qty: 1 }]);
  const fromB = await b.sell([{ productId: 'p-tea', qty: 2 }]);
  assert.notEqual(fromA.receiptNo.split('-')[0], fromB.receiptNo.split('-')[0], 'each till has its own receipt prefix');
  await a.syncUntilIdle();
  await b.syncUntilIdle();
  await a.syncUntilIdle();
  assert.ok((await b.historyReceipts()).includes(fromA.receiptNo), "A's sale in B's history");
  assert.ok((await a.historyReceipts()).includes(fromB.receiptNo), "B's sale in A's history");
  // The row on B names till A as its device (read from the shop's devices table).
  const row = b.page.locator(`[data-testid="sale-row"][data-receipt="${fromA.receiptNo}"]`);
  assert.match(await row.textContent(), /Till A/);
  await b.shot('history-two-tills');
  const audit = await hub.audit(shopToken);
  assert.equal(audit.orders.filter((o) => o.id === fromA.orderId || o.id === fromB.orderId).length, 2);
});

test('both tills sell the same product offline: stock everywhere = receipts - all sales', async () => {
  const product = 'p-croissant';
  const start = (await hub.audit(shopToken)).stock(product);
  await a.receiveStock(product, 10);
  await a.syncUntilIdle();
  await b.syncUntilIdle();
  assert.equal(await b.stockOnHand(product), start + 10, 'the delivery booked on A reached B');

  await a.setOffline(true);
  await b.setOffline(true);
  await a.sell([{ productId: product, qty: 4 }]);
  await a.sell([{ productId: product, qty: 3 }]);
  await b.sell([{ productId: product, qty: 5 }]);
  await b.sell([{ productId: product, qty: 1 }]);
  // Each till alone only knows its own sales.
  assert.equal(await a.stockOnHand(product), start + 10 - 7);
  assert.equal(await b.stockOnHand(product), start + 10 - 6);

  await a.setOffline(false);
  await b.setOffline(false);
  await a.syncUntilIdle();
  await b.syncUntilIdle();
  await a.syncUntilIdle();
  const expected = start + 10 - 13;
  assert.equal(expected < 0, true, 'the two tills together sold more than was booked in');
  assert.equal((await hub.audit(shopToken)).stock(product), expected, 'hub');
  assert.equal(await a.stockOnHand(product), expected, 'till A');
  assert.equal(await b.stockOnHand(product), expected, 'till B');
  // Negative stock is flagged, not hidden.
  await a.tid('negative-stock-note').waitFor();
  const row = a.page.locator(`[data-testid="stock-row"][data-product-id="${product}"]`);
  assert.match(await row.textContent(), /negative/i);
  await a.shot('stock');
});

test('a void and a refund of the same sale on two tills offline: one wins, the other is refused and shown', async () => {
  const sale = await a.sell([{ productId: 'p-juice', qty: 1 }]);
  await a.syncUntilIdle();
  await b.syncUntilIdle();
  await a.setOffline(true);
  await b.setOffline(true);
  for (const [till, action] of [[a, 'void-sale'], [b, 'refund-sale']]) {
    await till.go(`history/${sale.orderId}`);
    await till.tid(action).click();
    await till.tid('confirm-ok').click();
    await till.tid('receipt-status').waitFor();
  }
  await a.setOffline(false);
  await a.syncUntilIdle();
  await b.setOffline(false);
  // B's refund reaches the hub second: the sale already moved, so the hub refuses it and B keeps
  // it in quarantine with the reason; nothing blocks B's queue.
  const until = Date.now() + 30_000;
  const refused = () => b.page.evaluate(() => document.querySelector('[data-testid="nav-quarantine"] .count')?.textContent ?? null);
  while ((await refused()) !== '1') {
    assert.ok(Date.now() < until, 'the refund shows as refused on till B');
    await b.clickSyncNow();
    await b.page.waitForTimeout(300);
  }
  assert.equal((await hub.audit(shopToken)).orders.find((o) => o.id === sale.orderId).values.status, 'voided');
  await b.go('quarantine');
  const card = b.tid('quarantined');
  await card.waitFor();
  assert.match(await card.textContent(), /status_regression/);
  await b.shot('quarantine');
  // A retry meets the same answer; discarding clears it.
  await b.tid('retry').click();
  await b.syncUntilIdle().catch(() => {});
  await b.go('quarantine');
  await b.tid('quarantined').waitFor();
  await b.tid('discard').click();
  await b.tid('confirm-ok').click();
  await b.tid('no-quarantine').waitFor();
  await b.syncUntilIdle();
  // Every replica agrees: voided, and the stock counts the void's movements only.
  await b.go(`history/${sale.orderId}`);
  await b.page.waitForFunction(() => document.querySelector('[data-testid="receipt-status"]')?.textContent === 'VOIDED',
    null, { timeout: 15_000 });
  const audit = await hub.audit(shopToken);
  const moves = audit.movements.filter((m) => m.values.ref_id === sale.orderId);
  assert.deepEqual(moves.map((m) => m.values.kind).sort(), ['sale', 'void']);
});
