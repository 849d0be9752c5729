// Two shops on one hub: a catalog edit made in shop 1 reaches shop 2; shop 1's sales never reach
// shop 2 (not on its till, not in what the hub gives shop 2).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub, Till, centsOf } from './pos_harness.mjs';

let hub;
let one;
let two;
let token1;
let token2;
before(async () => {
  hub = await Hub.start();
  one = await Till.launch(hub.url, { name: 'shop 1' });
  ({ shopToken: token1 } = await one.createShop({ operatorToken: hub.operatorToken, shopName: 'North Shop' }));
  two = await Till.launch(hub.url, { name: 'shop 2' });
  ({ shopToken: token2 } = await two.createShop({ operatorToken: hub.operatorToken, shopName: 'South Shop' }));
});
after(async () => {
  await one?.close();
  await two?.close();
  await hub?.stop();
});

test('a product edit in shop 1 reaches shop 2; a new product too', async () => {
  await one.editPrice('p-tea', '2.45');
  await one.go('catalog');
  await one.tid('add-product').click();
  await one.tid('f-name').fill('Lemon cake');
  await one.tid('f-price').fill('3.90');
  await one.tid('f-tax').fill('7');
  await one.tid('f-barcode').fill('4006381334006');
  await one.tid('f-save').click();
  await one.tid('product-form').waitFor({ state: 'detached' });
  await one.syncUntilIdle();
  await two.syncUntilIdle();
  assert.equal(centsOf(await two.catalogPrice('p-tea')), 245);
  const cake = two.page.locator('[data-testid="catalog-row"]', { hasText: 'Lemon cake' });
  await cake.waitFor();
  assert.equal(centsOf(await cake.locator('[data-testid="catalog-price"]').textContent()), 390);
  await two.shot('catalog');
  const audit2 = await hub.audit(token2);
  assert.equal(audit2.products.find((p) => p.id === 'p-tea').values.price_minor, 245);
  // The hub recorded which shop changed it last.
  assert.equal(audit2.products.find((p) => p.id === 'p-tea').values.last_modified_shop_id, (await hub.audit(token1)).shopId);
  // Shop 2 sells at the new price.
  const sale = await two.sell([{ productId: 'p-tea', qty: 2 }]);
  assert.equal(centsOf(sale.total), 490 + Math.floor((490 * 1900 + 5000) / 10000));
});

test("shop 1's sales never reach shop 2", async () => {
  const s1 = await one.sell([{ productId: 'p-bagel', qty: 1 }]);
  const s2 = await one.sell([{ productId: 'p-juice', qty: 2 }]);
  await one.syncUntilIdle();
  await two.syncUntilIdle();
  // Receipt numbers are unique per shop only (shop 2 has its own D1-000001), so compare orders.
  const listed = (await two.historyRows()).map((r) => r.orderId);
  assert.ok(listed.length >= 1, "shop 2's own sale is listed");
  assert.ok(!listed.includes(s1.orderId) && !listed.includes(s2.orderId), `shop 2 lists ${listed}`);
  const audit1 = await hub.audit(token1);
  const audit2 = await hub.audit(token2);
  assert.ok(audit1.orders.some((o) => o.id === s1.orderId), 'the hub has the sale in shop 1');
  const foreign = [...audit2.rows.values()].filter((r) => r.values.shop_id && r.values.shop_id !== audit2.shopId);
  assert.deepEqual(foreign, [], "nothing of another shop in shop 2's pull");
  assert.ok(!audit2.orders.some((o) => o.id === s1.orderId || o.id === s2.orderId));
});
