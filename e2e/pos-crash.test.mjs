// The browser killed mid-sync, over and over: every sale the app showed as recorded reaches the
// hub exactly once. Each iteration starts Chromium on the same profile (the same till), rings a
// sale, and SIGKILLs the browser process at one of three points of the upload that follows:
//   'after'  - the hub committed the push but its answer is held by the proxy (the "answer that
//              never arrived": on restart the till sends the same operations again);
//   'before' - the push request is held before it reaches the hub;
//   'random' - a random moment 0-500 ms after the receipt showed (push, pull or idle).
// Iterations: TILLSYNC_E2E_CRASH_ITERATIONS (default 20). Seed: TILLSYNC_E2E_SEED (printed).
// More: TILLSYNC_E2E_CRASH_ITERATIONS=300 node --test e2e/pos-crash.test.mjs
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { BIN } from '../tests/server/hub_harness.mjs';
import { Hub, PRODUCTS, Till, spawnBrowser, tempDir } from './pos_harness.mjs';
import { startProxy } from './pos_proxy.mjs';
import { mulberry32 } from '../tests/support/seeded_random.mjs';

const ITERATIONS = Number(process.env.TILLSYNC_E2E_CRASH_ITERATIONS || 20);
const SEED = Number(process.env.TILLSYNC_E2E_SEED || Date.now() % 1_000_000);

let hub;
let proxy;
let shopToken;
const profile = tempDir('crash');
before(async () => {
  hub = await Hub.start();
  proxy = await startProxy(hub.url);
  const till = await Till.launch(proxy.url, { profile, name: 'crash set-up', direct: true });
  ({ shopToken } = await till.createShop({ operatorToken: hub.operatorToken, shopName: 'Crash Shop' }));
  await till.close();
});
after(async () => {
  await proxy?.close();
  await hub?.stop();
});

test(`browser SIGKILLed mid-sync ${ITERATIONS} times: every sale shown reaches the hub exactly once`, { timeout: 60_000 + ITERATIONS * 30_000 }, async (t) => {
  t.diagnostic(`crash loop: ${ITERATIONS} iterations, seed ${SEED} (TILLSYNC_E2E_SEED=${SEED} replays the schedule)`);
  const random = mulberry32(SEED);
  const shown = [];
  const stalled = { after: 0, before: 0 };
  for (let i = 0; i < ITERATIONS; i++) {
    const mode = ['after', 'before', 'random'][i % 3];
    const browser = await spawnBrowser(profile);
    try {
      const till = new Till(browser.context, proxy.url, profile, `crash #${i}`);
      await till.open();
      await till.waitForProducts();
      const product = PRODUCTS[Math.floor(random() * PRODUCTS.length)].id;
      const sale = await till.sell([{ productId: product, qty: 1 + Math.floor(random() * 3) }]);
      shown.push({ ...sale, iteration: i, mode });
      if (mode === 'random') {
        await new Promise((r) => setTimeout(r, Math.floor(random() * 500)));
      } else {
        // The sale's upload starts after the write debounce; stall it at the chosen point.
        const hit = await Promise.race([proxy.stallNextPush(mode), new Promise((r) => setTimeout(() => r(null), 10_000))]);
        if (hit) stalled[mode] += 1;
      }
    } finally {
      proxy.disarm();
      await browser.kill();
      proxy.releaseHeld();
    }
  }
  t.diagnostic(`stalled pushes killed: after-commit ${stalled.after}, before-hub ${stalled.before}`);
  // The loop must really have cut uploads at both points, or it proved nothing.
  assert.ok(stalled.after >= Math.floor(ITERATIONS / 6), `kills after the hub committed: ${stalled.after}`);
  assert.ok(stalled.before >= Math.floor(ITERATIONS / 6), `kills before the hub saw the push: ${stalled.before}`);

  // Start once more, normally, and let it finish syncing.
  const till = await Till.launch(proxy.url, { profile, name: 'after the crashes', direct: true });
  try {
    await till.syncUntilIdle({ timeout: 120_000 });
    const audit = await hub.audit(shopToken);
    for (const s of shown) {
      const same = audit.orders.filter((o) => o.values.receipt_no === s.receiptNo);
      assert.equal(same.length, 1, `${s.receiptNo} (iteration ${s.iteration}, ${s.mode}) on the hub exactly once`);
      assert.equal(same[0].id, s.orderId);
    }
    const receipts = audit.orders.map((o) => o.values.receipt_no);
    assert.equal(new Set(receipts).size, receipts.length, 'no receipt number twice on the hub');
    // The hub and the till hold the same sales: none recorded twice, none only on one side.
    const local = await till.historyReceipts();
    assert.deepEqual([...local].sort(), [...receipts].sort());
    // Every order's lines and stock movements arrived with it, once.
    for (const o of audit.orders) {
      const lines = audit.lines.filter((l) => l.values.order_id === o.id);
      const moved = audit.movements.filter((m) => m.values.ref_id === o.id && m.values.kind === 'sale');
      assert.equal(moved.reduce((s, m) => s + m.values.qty_delta, 0), -lines.reduce((s, l) => s + l.values.qty, 0),
        `stock movements of ${o.values.receipt_no}`);
    }
  } finally {
    await till.close();
  }
  // The hub's own bookkeeping check (exactly-once records, integrity) on its database file.
  const check = JSON.parse(execFileSync(BIN, ['check', '--db', hub.server.dbPath], { encoding: 'utf8' }));
  assert.equal(check.ok, true, JSON.stringify(check));
});
