// A shop joining a hub with a big catalog: the status bar shows the download's progress (rows
// done / total) while it runs, the selling grid stays a quick page of tiles, and a barcode scan
// finds any product of the catalog. More products than the engine's defer_indexes_min_rows
// (10,000): the download sets the products' indexes aside and builds them at its end
// (core/deferred_indexes.h), so the scan below reads through the rebuilt barcode index.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub, Till } from './pos_harness.mjs';

const N = 12000;
let hub;
let till;
before(async () => {
  hub = await Hub.start();
  for (let start = 0; start < N; start += 1000) {
    const changes = [];
    for (let i = start; i < Math.min(N, start + 1000); i++) {
      const n = String(i).padStart(4, '0');
      changes.push({ table: 'products', id: `bulk-${n}`, values: { name: `Bulk item ${n}`, price_minor: 100 + i,
        tax_rate_bp: 2000, active: 1, barcode: `200000${n}` } });
    }
    const r = await hub.client.post('/v1/admin/catalog', hub.operatorToken, { changes });
    assert.equal(r.status, 200, r.text);
  }
});
after(async () => {
  await till?.close();
  await hub?.stop();
});

test(`a first download of ${N} products shows progress; the grid stays small; scanning finds any product`, async () => {
  till = await Till.launch(hub.url, { name: 'big catalog' });
  // Record every progress the status bar shows (it disappears shortly after the download).
  await till.page.evaluate(() => {
    window.__progressSeen = [];
    new MutationObserver(() => {
      const el = document.querySelector('[data-testid="sync-progress"]');
      if (el) window.__progressSeen.push(el.textContent.replace(/\s+/g, ' ').trim());
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  // The till downloads the catalog as soon as the shop exists, while the set-up screen still
  // shows its secrets; the status bar exists only on the selling screen. A columnar download of
  // 5,000 products can be over before that screen opens, so the hub's answers wait for it.
  till.proxy.holdPulls(true);
  await till.tid('mode-create').click();
  await till.tid('setup-shopName').fill('Warehouse Store');
  await till.tid('setup-operatorToken').fill(hub.operatorToken);
  await till.tid('setup-submit').click();
  await till.tid('start-selling').click();
  await till.tid('status-bar').waitFor();
  till.proxy.holdPulls(false);
  // The observer above records every progress text; waiting for the element itself would race
  // with a download that finishes (and hides it) between two polls.
  await till.page.waitForFunction(() => window.__progressSeen.length > 0, null, { timeout: 30_000 });
  if (await till.tid('sync-progress').isVisible()) await till.shot('sync-progress');
  await till.page.waitForFunction(() => document.querySelectorAll('[data-testid="product"]').length > 0, null, { timeout: 60_000 });
  await till.syncUntilIdle();

  const seen = await till.page.evaluate(() => window.__progressSeen);
  const figures = seen.map((t) => /Downloading ([\d,]+) \/ ([\d,]+)/.exec(t)).filter(Boolean)
    .map((m) => [Number(m[1].replace(/,/g, '')), Number(m[2].replace(/,/g, ''))]);
  assert.ok(figures.length >= 2, `several progress steps shown: ${seen.slice(0, 5)}`);
  assert.ok(figures.every(([done, total]) => done <= total && total >= N), JSON.stringify(figures.slice(0, 5)));
  assert.ok(figures.some(([done, total]) => done < total), 'progress shown before the end');

  // The grid shows a page of tiles, and says how to find the rest.
  assert.ok(await till.tid('product').count() <= 120);
  await till.tid('more-products').waitFor();
  // A product far down the list is found by its barcode.
  await till.tid('scan').fill('2000004321');
  await till.tid('scan').press('Enter');
  await till.page.locator('[data-testid="cart-line"][data-product-id="bulk-4321"]').waitFor();
  // And by search.
  await till.tid('scan').fill('Bulk item 4999');
  await till.page.locator('[data-testid="product"][data-product-id="bulk-4999"]').waitFor();
});
