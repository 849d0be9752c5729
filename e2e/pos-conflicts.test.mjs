// Concurrent offline edits. Products merge by the declared rule, per-column last-writer-wins by
// hybrid clock: the later edit wins on every till and on the hub, whichever reached the hub
// first. Customers merge by hand: the second edit to arrive becomes a conflict that the
// Conflicts screen shows side by side, and the cashier's choice is what every replica keeps.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { centsOf, startTwoTillsOfOneShop } from './pos_harness.mjs';

let shop;
let hub;
let a;
let b;
let shopToken;
before(async () => {
  shop = await startTwoTillsOfOneShop('Edit Wars');
  ({ hub, a, b, shopToken } = shop);
});
after(async () => {
  await shop?.close();
});

test('the same price edited on two tills offline: last writer wins, identically everywhere', async () => {
  await a.setOffline(true);
  await b.setOffline(true);
  await a.editPrice('p-muffin', '3.10');
  await a.page.waitForTimeout(50);  // B's edit is the later one by the clocks
  await b.editPrice('p-muffin', '3.30');
  // The later edit reaches the hub first, the earlier one after it: arrival order must not
  // decide.
  await b.setOffline(false);
  await b.syncUntilIdle();
  await a.setOffline(false);
  await a.syncUntilIdle();
  await b.syncUntilIdle();
  assert.equal(centsOf(await a.catalogPrice('p-muffin')), 330, 'till A');
  assert.equal(centsOf(await b.catalogPrice('p-muffin')), 330, 'till B');
  const audit = await hub.audit(shopToken);
  assert.equal(audit.products.find((p) => p.id === 'p-muffin').values.price_minor, 330, 'hub');
  // LWW resolves by itself: no conflict for a person.
  assert.equal((await a.page.locator('[data-testid="status-bar"] .chip.warn').count()), 0);
});

async function addCustomer(till, values) {
  await till.go('customers');
  await till.tid('add-customer').click();
  for (const [k, v] of Object.entries(values)) await till.tid(`c-${k}`).fill(v);
  await till.tid('c-save').click();
  await till.tid('customer-form').waitFor({ state: 'detached' });
}

async function editCustomer(till, name, field, value) {
  await till.go('customers');
  await till.page.locator('[data-testid="customer-row"]', { hasText: name }).locator('[data-testid="edit-customer"]').click();
  await till.tid(`c-${field}`).fill(value);
  await till.tid('c-save').click();
  await till.tid('customer-form').waitFor({ state: 'detached' });
}

test('a customer edited on two tills offline shows the conflict screen; the choice wins everywhere', async () => {
  await addCustomer(a, { name: 'Ada Lovelace', phone: '555-0100', email: 'ada@example.org' });
  await a.syncUntilIdle();
  await b.syncUntilIdle();
  await b.go('customers');
  await b.page.locator('[data-testid="customer-row"]', { hasText: 'Ada Lovelace' }).waitFor();

  await a.setOffline(true);
  await b.setOffline(true);
  await editCustomer(a, 'Ada Lovelace', 'phone', '555-0111');
  await editCustomer(b, 'Ada Lovelace', 'phone', '555-0222');
  await a.setOffline(false);
  await a.syncUntilIdle();
  await b.setOffline(false);
  // B's edit met A's on the hub: a conflict, nothing of B's edit applied yet.
  const until = Date.now() + 30_000;
  const badge = () => b.page.evaluate(() => document.querySelector('[data-testid="nav-conflicts"] .count')?.textContent ?? null);
  while ((await badge()) !== '1') {
    assert.ok(Date.now() < until, 'a conflict shows on till B');
    await b.clickSyncNow();
    await b.page.waitForTimeout(300);
  }
  let audit = await hub.audit(shopToken);
  const ada = () => audit.customers.find((c) => c.values.name === 'Ada Lovelace');
  assert.equal(ada().values.phone, '555-0111', "the hub kept A's edit; B's waits for a person");

  await b.go('conflicts');
  const card = b.tid('conflict');
  await card.waitFor();
  assert.equal(await card.getAttribute('data-table'), 'customers');
  assert.match(await b.tid('pick-mine-phone').textContent(), /555-0222/);
  assert.match(await b.tid('pick-theirs-phone').textContent(), /555-0111/);
  await b.shot('conflicts');
  // Merge: B's phone, and a note typed by the cashier.
  await b.tid('pick-mine-phone').click();
  await b.tid('merge-notes').fill('Phone confirmed at the till');
  await b.tid('save-merged').click();
  await b.tid('no-conflicts').waitFor();
  await b.syncUntilIdle();
  await a.syncUntilIdle();
  audit = await hub.audit(shopToken);
  assert.equal(ada().values.phone, '555-0222');
  assert.equal(ada().values.notes, 'Phone confirmed at the till');
  assert.equal(ada().values.email, 'ada@example.org');
  await a.go('customers');
  const rowA = a.page.locator('[data-testid="customer-row"]', { hasText: 'Ada Lovelace' });
  await a.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="customer-row"]')]
    .some((r) => r.textContent.includes('555-0222')), null, { timeout: 15_000 });
  assert.match(await rowA.textContent(), /555-0222/);
});
