// Selling online, then with no network: three sales rung offline, the app reloaded offline
// (served by the service worker), the sales still listed; back online, the hub holds each sale
// exactly once and the pending count drops to zero. Also: barcode entry, cash change, the
// printed receipt.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub, Till, centsOf, expectedTotals, byId } from './pos_harness.mjs';

let hub;
let till;
let shopToken;
before(async () => {
  hub = await Hub.start();
  till = await Till.launch(hub.url, { name: 'offline till' });
  ({ shopToken } = await till.createShop({ operatorToken: hub.operatorToken, shopName: 'Corner Shop' }));
});
after(async () => {
  await till?.close();
  await hub?.stop();
});

test('a cash sale online reaches the hub with the totals the screen showed', async () => {
  const lines = [{ productId: 'p-coffee', qty: 2 }, { productId: 'p-bagel', qty: 1 }, { productId: 'p-juice', qty: 1 }];
  const want = expectedTotals(lines);
  const sale = await till.sell(lines, { method: 'cash', shots: { cart: 'selling', checkout: 'checkout', receipt: 'receipt' } });
  assert.equal(centsOf(sale.total), want.total, 'receipt total');
  const change = centsOf(await till.tid('receipt-change').textContent());
  assert.ok(change > 0, 'a round note was tendered: change is due');

  // The receipt prints alone: the print stylesheet hides the app around it.
  await till.page.emulateMedia({ media: 'print' });
  assert.equal(await till.page.locator('.topbar').isVisible(), false);
  assert.equal(await till.tid('status-bar').isVisible(), false);
  assert.equal(await till.tid('receipt').isVisible(), true);
  await till.shot('receipt-print');
  await till.page.emulateMedia({ media: 'screen' });

  await till.syncUntilIdle();
  const audit = await hub.audit(shopToken);
  const orders = audit.orders.filter((o) => o.id === sale.orderId);
  assert.equal(orders.length, 1);
  const o = orders[0].values;
  assert.equal(o.receipt_no, sale.receiptNo);
  assert.equal(o.status, 'completed');
  assert.deepEqual([o.subtotal_minor, o.tax_minor, o.total_minor], [want.subtotal, want.tax, want.total]);
  const pay = audit.payments.filter((p) => p.values.order_id === sale.orderId);
  assert.equal(pay.length, 1);
  assert.equal(pay[0].values.method, 'cash');
  assert.equal(pay[0].values.change_minor, change);
  assert.equal(pay[0].values.tendered_minor - pay[0].values.change_minor, want.total);
  assert.equal(audit.lines.filter((l) => l.values.order_id === sale.orderId).length, 3);
});

test('a barcode scanned with nothing focused lands in the cart', async () => {
  await till.go('sell');
  await till.waitForProducts();
  if (await till.tid('clear-cart').count()) await till.tid('clear-cart').click();
  await till.page.locator('body').click({ position: { x: 5, y: 300 } });
  await till.page.evaluate(() => document.activeElement?.blur());
  // A scanner is a keyboard: digits, then Enter.
  await till.page.keyboard.type(byId['p-croissant'].barcode, { delay: 5 });
  await till.page.keyboard.press('Enter');
  const line = till.page.locator('[data-testid="cart-line"][data-product-id="p-croissant"]');
  await line.waitFor();
  assert.equal(await line.locator('[data-testid="qty"]').textContent(), '1');
  // Scanning again adds one more of the same product.
  await till.tid('scan').fill(byId['p-croissant'].barcode);
  await till.tid('scan').press('Enter');
  await till.page.waitForFunction(() => document.querySelector('[data-testid="cart-line"][data-product-id="p-croissant"] [data-testid="qty"]')?.textContent === '2');
  // Line removal empties the cart.
  await line.locator('[data-testid="remove-line"]').click();
  assert.equal(await till.tid('cart-line').count(), 0);
});

test('offline: three sales, a reload, then back online: each sale on the hub exactly once', async () => {
  const before = await hub.audit(shopToken);
  await till.setOffline(true);
  await till.page.waitForFunction(() => document.querySelector('[data-testid="status-bar"]')?.dataset.state === 'offline',
    null, { timeout: 15_000 });

  const sales = [];
  sales.push(await till.sell([{ productId: 'p-tea', qty: 1 }]));
  sales.push(await till.sell([{ productId: 'p-muffin', qty: 3 }], { method: 'cash' }));
  sales.push(await till.sell([{ productId: 'p-coffee', qty: 1 }, { productId: 'p-croissant', qty: 2 }]));
  const st = await till.syncStatus();
  assert.equal(st.state, 'offline');
  assert.ok(st.pending >= 3, `three sales wait to upload (pending ${st.pending})`);
  await till.go('device');
  await till.tid('queue').waitFor();
  await till.shot('sync-status-offline');

  // Reload with no network: the service worker serves the app, the database still has them.
  await till.reload();
  const listed = await till.historyReceipts();
  for (const s of sales) assert.ok(listed.includes(s.receiptNo), `${s.receiptNo} listed after an offline reload`);
  const marked = await till.page.$$eval('[data-testid="sale-row"]', (rows) => rows
    .filter((r) => r.querySelector('[data-testid="not-uploaded"]')).map((r) => r.getAttribute('data-receipt')));
  assert.deepEqual(marked.sort(), sales.map((s) => s.receiptNo).sort(),
    `exactly the three offline sales are marked not uploaded (all listed: ${listed.join(', ')})`);
  await till.shot('history-offline');

  // Nothing reached the hub meanwhile.
  const during = await hub.audit(shopToken);
  assert.equal(during.orders.length, before.orders.length);

  await till.setOffline(false);
  await till.syncUntilIdle();
  assert.equal((await till.syncStatus()).pending, 0);
  const audit = await hub.audit(shopToken);
  for (const s of sales) {
    const same = audit.orders.filter((o) => o.values.receipt_no === s.receiptNo);
    assert.equal(same.length, 1, `${s.receiptNo} exactly once on the hub`);
    assert.equal(same[0].id, s.orderId);
  }
  assert.equal(audit.orders.length, before.orders.length + 3, 'no other order appeared');
  // Every sale's stock movements arrived with it, once: 3 muffins sold offline.
  const muffins = audit.movements.filter((m) => m.values.product_id === 'p-muffin' && m.values.kind === 'sale');
  assert.equal(muffins.reduce((s, m) => s + m.values.qty_delta, 0), -3);
  await till.go(`history/${sales[2].orderId}`);
  await till.tid('receipt').waitFor();
  await till.page.waitForFunction(() => document.querySelectorAll('[data-testid="not-uploaded"]').length === 0);
  await till.shot('history');
  await till.go('sell');
  await till.shot('sync-status-online');
});

test('void and refund travel as their own operations', async () => {
  const a = await till.sell([{ productId: 'p-juice', qty: 1 }]);
  const b = await till.sell([{ productId: 'p-bagel', qty: 2 }]);
  await till.go(`history/${a.orderId}`);
  await till.tid('void-sale').click();
  await till.tid('confirm-ok').click();
  await till.page.waitForFunction(() => document.querySelector('[data-testid="receipt-status"]')?.textContent === 'VOIDED');
  await till.go(`history/${b.orderId}`);
  await till.tid('refund-sale').click();
  await till.tid('confirm-ok').click();
  await till.page.waitForFunction(() => document.querySelector('[data-testid="receipt-status"]')?.textContent === 'REFUNDED');
  await till.syncUntilIdle();
  const audit = await hub.audit(shopToken);
  const status = (id) => audit.orders.find((o) => o.id === id)?.values.status;
  assert.equal(status(a.orderId), 'voided');
  assert.equal(status(b.orderId), 'refunded');
  // Stock came back: the bagels' sale and refund movements cancel out.
  const bagels = audit.movements.filter((m) => m.values.ref_id === b.orderId);
  assert.equal(bagels.reduce((s, m) => s + m.values.qty_delta, 0), 0);
});
