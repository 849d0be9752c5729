// The PWA itself: Chromium's installability check passes (manifest, icons incl. maskable,
// service worker); the app starts in a browser run where no tab has been online (the shell, the
// worker script and the .wasm come from the service worker's precache) and sells there; and
// Background Sync uploads a pending sale after the last tab closed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub, Till, tempDir } from './pos_harness.mjs';
import { startProxy } from './pos_proxy.mjs';

let hub;
let shopToken;
const profile = tempDir('pwa');
before(async () => {
  hub = await Hub.start();
});
after(async () => { await hub?.stop(); });

test('Chromium finds the app installable, with a maskable icon', async () => {
  const till = await Till.launch(hub.url, { name: 'installable' });
  try {
    await till.page.waitForFunction(() => navigator.serviceWorker.controller !== null
      || navigator.serviceWorker.ready.then(() => true), null, { timeout: 30_000 });
    await till.page.evaluate(() => navigator.serviceWorker.ready);
    const cdp = await till.context.newCDPSession(till.page);
    const manifest = await cdp.send('Page.getAppManifest');
    assert.deepEqual(manifest.errors, [], JSON.stringify(manifest.errors));
    const parsed = JSON.parse(manifest.data);
    assert.equal(parsed.display, 'standalone');
    assert.ok(parsed.icons.some((i) => i.purpose === 'maskable' && i.sizes === '512x512'));
    assert.ok(parsed.icons.some((i) => (i.purpose ?? 'any') === 'any' && i.sizes === '192x192'));
    // Installability needs the service worker to control the page: reload once under it.
    await till.reload();
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    assert.deepEqual(installabilityErrors, [], JSON.stringify(installabilityErrors));
    // The icons the manifest names are real PNGs.
    for (const icon of parsed.icons) {
      const res = await till.page.request.get(new URL(icon.src, `${till.baseUrl}/`).href);
      assert.equal(res.status(), 200, icon.src);
      assert.equal(res.headers()['content-type'], 'image/png');
      assert.deepEqual([...(await res.body()).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    }
  } finally {
    await till.close();
  }
});

test('the app starts and sells in a run where no tab has been online', async () => {
  const first = await Till.launch(hub.url, { profile, name: 'installing run' });
  ({ shopToken } = await first.createShop({ operatorToken: hub.operatorToken, shopName: 'Offline Start' }));
  await first.page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  await first.syncUntilIdle();
  await first.close();

  // A new browser process on the same profile, with no network from its very first request.
  const till = await Till.launch(hub.url, { profile, offline: true, name: 'offline run' });
  try {
    await till.waitForProducts();
    const st = await till.syncStatus();
    assert.equal(st.state, 'offline');
    const sale = await till.sell([{ productId: 'p-juice', qty: 2 }]);
    await till.shot('offline-start');
    assert.equal((await hub.audit(shopToken)).orders.filter((o) => o.id === sale.orderId).length, 0);
    await till.setOffline(false);
    await till.syncUntilIdle();
    assert.equal((await hub.audit(shopToken)).orders.filter((o) => o.id === sale.orderId).length, 1);
  } finally {
    await till.close();
  }
});

test('Background Sync uploads a pending sale after the last tab closed', async () => {
  // Through a proxy that can refuse uploads: the sale stays pending while the tab is open.
  const proxy = await startProxy(hub.url);
  const bgProfile = tempDir('pwa-bg');
  const till = await Till.launch(proxy.url, { profile: bgProfile, name: 'background', direct: true });
  try {
    const { shopToken: token } = await till.createShop({ operatorToken: hub.operatorToken, shopName: 'Background Shop' });
    await till.page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
    proxy.blockPushes(true);
    const sale = await till.sell([{ productId: 'p-muffin', qty: 1 }]);
    // The page asked for a background upload while the sale was pending.
    await till.page.waitForFunction(async () => {
      const reg = await navigator.serviceWorker.getRegistration();
      return (await reg.sync.getTags()).includes('tillsync-upload');
    }, null, { timeout: 15_000 });
    // The till tried to upload and the proxy refused: the package has mirrored the push request
    // for the service worker by now (it writes the mirror when it builds a push).
    await till.page.waitForFunction(() => document.querySelector('[data-testid="status-bar"]')?.dataset.state === 'failed',
      null, { timeout: 15_000 });
    assert.ok((await till.syncStatus()).pending >= 1);
    await till.shot('sync-status-failed');

    // Close the till's tab: no page of the app is left, only a blank one keeps the browser up.
    const blank = await till.context.newPage();
    await till.page.close();
    proxy.blockPushes(false);
    // Fire the Background Sync event the way Chromium does when the network is back (DevTools
    // can dispatch it on demand; waiting for Chromium's own retry schedule takes minutes).
    const cdp = await till.context.newCDPSession(blank);
    const registrations = new Promise((resolve) => cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
      const r = e.registrations.find((x) => x.scopeURL.startsWith(proxy.url) && !x.isDeleted);
      if (r) resolve(r);
    }));
    await cdp.send('ServiceWorker.enable');
    const reg = await registrations;
    await cdp.send('ServiceWorker.dispatchSyncEvent', { origin: proxy.url, registrationId: reg.registrationId,
      tag: 'tillsync-upload', lastChance: false });
    const until = Date.now() + 30_000;
    let count = 0;
    while (Date.now() < until) {
      count = (await hub.audit(token)).orders.filter((o) => o.id === sale.orderId).length;
      if (count) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(count, 1, 'the service worker uploaded the sale with no tab open');
    assert.equal(till.context.pages().filter((p) => p.url().startsWith(proxy.url)).length, 0, 'no app tab was open');

    // A tab opened later pushes the same operation again: the hub answers the replay, the sale
    // stays there once, and nothing is pending.
    await blank.goto(`${proxy.url}/`);
    till.page = blank;
    await till.waitReady();
    await till.syncUntilIdle();
    assert.equal((await hub.audit(token)).orders.filter((o) => o.id === sale.orderId).length, 1);
  } finally {
    await till.close();
    await proxy.close();
  }
});
