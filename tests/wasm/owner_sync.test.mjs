// The worker's database owner (worker/owner.js: the wasm engine + the sync loop) under Node,
// on the in-memory OPFS fake, against the REAL hub binary on 127.0.0.1. Node's fetch stands in
// for the browser's; a wrapper around it plays the network going away, or an answer lost after
// the hub committed. Every check looks at the hub's own records, not only at the device.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryDirectory } from '../../wasm/memory_access_handle.js';
import { DatabaseOwner } from '../../worker/owner.js';
import { startServer, HubClient, PRODUCTS, rowsOf, tempDir } from '../server/hub_harness.mjs';
import { moduleFactory } from './load_module.mjs';

const newModule = await moduleFactory();
let server;
let hub;
let shop;

before(async () => {
  server = await startServer({ dir: tempDir('owner') });
  hub = new HubClient(server);
  shop = await hub.createShop('Owner test shop');
  await hub.addProducts(PRODUCTS);
});

// Every owner a test opens, closed at the end even when the test failed half-way: an open owner
// keeps its sync timers, which would keep this file's process (and npm test) alive.
const owners = [];
const track = (owner) => { owners.push(owner); return owner; };

after(async () => {
  for (const o of owners) await o.close().catch(() => {});
  await server?.stop();
});

async function credentials(name = 'Till') {
  const d = await hub.registerDevice(shop.shop_token, name);
  return { url: server.url, shopId: d.reg.shop_id, deviceId: d.reg.device_id, deviceToken: d.reg.device_token,
    receiptPrefix: d.reg.receipt_prefix, currency: 'EUR' };
}

// A network that can be switched off, or made to lose the next push answer after the hub
// committed it.
function network() {
  const net = { down: false, loseNextPushAnswer: false, pushes: 0 };
  net.fetch = async (url, init) => {
    if (net.down) throw new TypeError('fetch failed');
    const res = await fetch(url, init);
    if (url.endsWith('/v1/push')) {
      net.pushes++;
      if (net.loseNextPushAnswer) {
        net.loseNextPushAnswer = false;
        await res.text();
        throw new TypeError('fetch failed (answer lost after the hub committed)');
      }
    }
    return res;
  };
  return net;
}

async function openOwner(hubCreds, { net = network(), dir = new MemoryDirectory(), writeDebounceMs = 10, engine } = {}) {
  const events = [];
  const owner = track(new DatabaseOwner({ module: await newModule(), fetchImpl: net.fetch,
    emit: (kind, payload) => events.push({ kind, payload }) }));
  const info = await owner.open({ name: 'test', hub: hubCreds, directory: dir, writeDebounceMs, syncIntervalMs: 0, engine });
  return { owner, info, events, net, dir };
}

// Every sale row of the shop as the hub holds it (read by a second device of the shop).
async function hubSales(reader) {
  const { rows } = await reader.pullAll();
  return rowsOf(rows, 'sales_orders');
}

const sale = (orderId, qty = 1) => ({ lines: [{ product_id: 'p-coffee', qty }, { product_id: 'p-bagel', qty: 1 }], order_id: orderId });

test('ASaleRecordedOfflineReachesTheHubExactlyOnceWhenTheNetworkReturns', async () => {
  const reader = await hub.registerDevice(shop.shop_token, 'Reader');
  const { owner, info, net } = await openOwner(await credentials());
  assert.equal(info.identity.local, false);
  await owner.syncNow();  // the catalog arrives
  assert.equal((await owner.call('query', ['SELECT count(*) AS n FROM products']))[0].n, PRODUCTS.length);

  await owner.call('recordSale', [sale('o-online')], 'rq-1');
  await owner.syncNow();
  assert.equal(owner.statusInfo().pending, 0);

  net.down = true;
  await owner.call('recordSale', [sale('o-off-1', 2)], 'rq-2');
  await owner.call('recordSale', [sale('o-off-2', 3)], 'rq-3');
  await owner.syncNow();
  let s = owner.statusInfo();
  assert.equal(s.state, 'offline');
  assert.equal(s.pending, 2);
  assert.equal(s.lastError.code, 'io_error');
  assert.ok(s.nextRetryInMs > 0, 'the engine backoff schedules a retry');
  assert.equal((await hubSales(reader)).filter((r) => r.id.startsWith('o-off')).length, 0);

  net.down = false;
  owner.notify('online');  // what a tab relays when the browser is back online
  await owner.cycle;
  s = owner.statusInfo();
  assert.equal(s.state, 'idle');
  assert.equal(s.pending, 0);
  assert.ok(s.lastSyncedAt > 0);
  const sales = await hubSales(reader);
  assert.deepEqual(sales.map((r) => r.id).sort(), ['o-off-1', 'o-off-2', 'o-online']);
  await owner.close();
});

test('AnAnswerLostAfterTheHubCommittedIsResentAndAppliedOnce', async () => {
  const reader = await hub.registerDevice(shop.shop_token, 'Reader 2');
  const { owner, net } = await openOwner(await credentials('Till lost'));
  await owner.syncNow();
  const statsBefore = await hub.stats();
  await owner.call('recordSale', [sale('o-lost-1')], 'rq-a');
  await owner.call('receiveStock', ['p-juice', 12], 'rq-b');
  net.loseNextPushAnswer = true;
  await owner.syncNow();
  assert.equal(owner.statusInfo().pending, 2, 'the device never heard the answer');
  const mid = await hub.stats();
  assert.equal(mid.ops_applied - statsBefore.ops_applied, 2, 'but the hub applied both operations');
  // The retry (and a retried call from a tab that lost its reply) change nothing on the hub.
  assert.equal((await owner.call('recordSale', [sale('o-lost-1')], 'rq-a')).replayed, true);
  await owner.syncNow();
  assert.equal(owner.statusInfo().pending, 0);
  const end = await hub.stats();
  assert.equal(end.ops_applied, mid.ops_applied, 'the replayed push applied nothing again');
  const { rows } = await reader.pullAll();
  assert.equal(rowsOf(rows, 'sales_orders').filter((r) => r.id === 'o-lost-1').length, 1);
  const juice = rowsOf(rows, 'stock_movements').filter((r) => r.values.product_id === 'p-juice' && r.values.kind === 'receipt');
  assert.equal(juice.length, 1);
  assert.equal(juice[0].values.qty_delta, 12);
  await owner.close();
});

test('AWriteIsSyncedShortlyAfterwardsWithoutAnyCall', async () => {
  const { owner } = await openOwner(await credentials('Till debounce'));
  await owner.syncNow();
  const before = (await hub.stats()).ops_applied;
  await owner.call('recordExpense', ['Window cleaner', 1500], 'rq-exp');
  for (let i = 0; i < 100 && owner.statusInfo().pending > 0; i++) await new Promise((r) => setTimeout(r, 20));
  await owner.cycle;
  assert.equal(owner.statusInfo().pending, 0, 'the debounced write trigger synced it');
  assert.equal((await hub.stats()).ops_applied, before + 1);
  await owner.close();
});

test('TheInitialCatalogDownloadReportsProgressInRowsDoneOfTotal', async () => {
  const many = Array.from({ length: 2400 }, (_, i) => ({ id: `p-bulk-${i}`, name: `Bulk ${i}`, price: 100 + i, tax_bp: 700 }));
  for (let i = 0; i < many.length; i += 1000) await hub.addProducts(many.slice(i, i + 1000));
  // Pages of 1,000 rows (the browser default is 5,000) so 2,400 products take several pages.
  const { owner, events } = await openOwner(await credentials('Till download'), { engine: { pull_limit: 1000 } });
  await owner.cycle;
  const progress = events.filter((e) => e.kind === 'progress' && e.payload.phase === 'download').map((e) => e.payload);
  assert.ok(progress.length >= 2, `progress events: ${JSON.stringify(progress)}`);
  const last = progress[progress.length - 1];
  assert.equal(last.done, last.total);
  assert.ok(last.total >= 2400 + PRODUCTS.length);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].done > progress[i - 1].done);
  const changes = events.filter((e) => e.kind === 'change').flatMap((e) => e.payload);
  assert.ok(changes.includes('products'));
  assert.equal((await owner.call('query', ["SELECT count(*) AS n FROM products WHERE id LIKE 'p-bulk-%'"]))[0].n, 2400);
  await owner.close();
});

// The owner fetches page N+1 while the engine applies page N. Every page must still be asked
// for once and applied once; a prefetch that fails ends the cycle like any network failure, and
// the next cycle resumes where the engine's committed position says. A position is the cursor
// and, while a first download comes in key order, the hub's snapshot position (the cursor stays
// 0 meanwhile).
function pullRecorder() {
  const net = { positions: [], snapshots: 0, failPull: 0 };
  net.fetch = async (url, init) => {
    if (url.endsWith('/v1/pull')) {
      const { cursor, snapshot } = JSON.parse(init.body);
      if (snapshot !== undefined) net.snapshots++;
      net.positions.push(`${cursor} ${snapshot ?? ''}`);
      if (net.positions.length === net.failPull) throw new TypeError('fetch failed');
    }
    return fetch(url, init);
  };
  return net;
}

test('TheDownloadFetchesTheNextPageDuringTheApplyAndNeverAPageTwice', async () => {
  const many = Array.from({ length: 3500 }, (_, i) => ({ id: `p-pre-${i}`, name: `Pre ${i}`, price: 100 + i, tax_bp: 700 }));
  for (let i = 0; i < many.length; i += 1000) await hub.addProducts(many.slice(i, i + 1000));
  const net = pullRecorder();
  const { owner } = await openOwner(await credentials('Till prefetch'), { net, engine: { pull_limit: 1000 } });
  await owner.cycle;
  assert.equal(owner.statusInfo().state, 'idle');
  const pulled = owner.lastCycle.pulled;
  assert.ok(pulled >= 3500, `pulled ${pulled}`);
  assert.equal(net.positions.length, Math.ceil(pulled / 1000), `pull requests: ${JSON.stringify(net.positions)}`);
  assert.equal(net.positions.length, owner.lastCycle.requests, 'every request made was used');
  assert.equal(new Set(net.positions).size, net.positions.length, `a page asked for twice: ${JSON.stringify(net.positions)}`);
  assert.ok(net.snapshots >= 3, `the first download came in key order: ${JSON.stringify(net.positions)}`);
  assert.equal((await owner.call('query', ["SELECT count(*) AS n FROM products WHERE id LIKE 'p-pre-%'"]))[0].n, 3500);
  await owner.close();
});

test('APrefetchedPageThatFailsEndsTheCycleAndTheNextCycleResumesAtTheCommittedCursor', async () => {
  const net = pullRecorder();
  net.failPull = 3;  // the third pull request, sent while page 2 is being applied
  const { owner } = await openOwner(await credentials('Till prefetch failure'), { net, engine: { pull_limit: 1000 } });
  await owner.cycle;
  assert.equal(owner.statusInfo().lastError?.code, 'io_error', JSON.stringify(owner.statusInfo()));
  const afterFailure = net.positions.slice();
  assert.equal(afterFailure.length, 3);
  net.failPull = 0;
  await owner.syncNow();
  assert.equal(owner.statusInfo().state, 'idle');
  // Page 2 was applied before the failure surfaced: the next cycle asks for page 3 again first.
  assert.equal(net.positions[3], afterFailure[2], JSON.stringify(net.positions));
  const resumed = net.positions.slice(3);
  assert.equal(new Set(resumed).size, resumed.length, `a page asked for twice: ${JSON.stringify(net.positions)}`);
  assert.equal((await owner.call('query', ["SELECT count(*) AS n FROM products WHERE id LIKE 'p-pre-%'"]))[0].n, 3500);
  await owner.close();
});

// The owner hands pull answers to the engine as raw bytes (no decode to a string, which would
// have replaced a malformed byte with U+FFFD): the engine itself must refuse malformed UTF-8,
// with a stable code and nothing of the page written, and the next good answer must apply.
test('APullAnswerWithMalformedUtf8IsRefusedWholeAndTheNextGoodAnswerApplies', async () => {
  const net = network();
  let corrupt = true;
  const fetchOrCorrupt = async (url, init) => {
    const res = await net.fetch(url, init);
    if (!url.endsWith('/v1/pull') || !corrupt || !res.ok) return res;
    const bytes = new Uint8Array(await res.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    const at = text.indexOf('"Bagel"');
    assert.ok(at > 0, 'the first page holds the product Bagel');
    const bad = new Uint8Array(bytes);  // ASCII up to there, so the byte offset is the index
    bad[at + 2] = 0xc3;  // "B\xc3gel": a lead byte followed by an ASCII one, malformed UTF-8
    return new Response(bad, { status: res.status, headers: { 'Content-Type': 'application/json' } });
  };
  const { owner } = await openOwner(await credentials('Till bad bytes'), { net: { fetch: fetchOrCorrupt }, writeDebounceMs: 1e9 });
  await owner.cycle;
  const s = owner.statusInfo();
  assert.equal(s.state, 'failed', JSON.stringify(s));
  assert.equal(s.lastError.code, 'bad_json', JSON.stringify(s.lastError));
  assert.equal((await owner.call('query', ['SELECT count(*) AS n FROM products']))[0].n, 0, 'nothing of the page was written');
  corrupt = false;
  await owner.syncNow();
  assert.equal(owner.statusInfo().state, 'idle');
  assert.deepEqual((await owner.call('query', ["SELECT name FROM products WHERE id = 'p-bagel'"])), [{ name: 'Bagel' }]);
  await owner.close();
});

test('ASyncCalledRightAfterAWriteCarriesItAndNoSecondCycleFollows', async () => {
  const net = pullRecorder();
  const { owner } = await openOwner(await credentials('Till one cycle'), { net, writeDebounceMs: 150 });
  await owner.cycle;  // the sync at open
  const pullsBefore = net.positions.length;
  await owner.call('recordSale', [sale('o-one-cycle')], 'rq-one');
  await owner.syncNow();  // before the write's debounced trigger fires
  assert.equal(owner.statusInfo().pending, 0, 'the sync carried the write');
  await new Promise((r) => setTimeout(r, 400));  // past the debounce
  assert.equal(owner.cycle, null);
  assert.equal(net.positions.length - pullsBefore, 1, `pull requests after the write: ${net.positions.length - pullsBefore}`);
  await owner.close();
});

test('UpdateRequiredStopsSyncingAndKeepsEveryPendingSale', async () => {
  // No write-triggered sync: the sale must still be pending when the hub raises its minimum.
  const { owner } = await openOwner(await credentials('Till update'), { writeDebounceMs: 1e9 });
  await owner.syncNow();
  await owner.call('recordSale', [sale('o-before-update')], 'rq-u');
  const r = await hub.post('/v1/admin/min-schema-version', server.operatorToken, { min_schema_version: 2 });
  assert.equal(r.status, 200, r.text);
  try {
    await owner.syncNow();
    const s = owner.statusInfo();
    assert.equal(s.state, 'update_required');
    assert.equal(s.minSchemaVersion, 2);
    assert.equal(s.lastError.code, 'update_required');
    assert.equal(s.pending, 1, 'the sale is kept for the updated app to send');
    assert.equal(s.nextRetryInMs, 0, 'no automatic retry: only an update helps');
  } finally {
    await hub.post('/v1/admin/min-schema-version', server.operatorToken, { min_schema_version: 1 });
  }
  await owner.syncNow();
  assert.equal(owner.statusInfo().state, 'idle');
  assert.equal(owner.statusInfo().pending, 0);
  await owner.close();
});

test('AReopenedDatabaseKeepsItsHubCredentialsAndRefusesAnotherDevicesIdentity', async () => {
  const creds = await credentials('Till reopen');
  const dir = new MemoryDirectory();
  const first = await openOwner(creds, { dir });
  await first.owner.syncNow();
  await first.owner.close();
  const again = track(new DatabaseOwner({ module: await newModule() }));
  const info = await again.open({ name: 'test', directory: dir, syncIntervalMs: 0 });
  assert.equal(info.identity.deviceId, creds.deviceId);
  assert.equal(info.identity.local, false, 'the stored hub settings came back');
  await again.close();
  const other = await credentials('Another till');
  const third = track(new DatabaseOwner({ module: await newModule() }));
  await assert.rejects(third.open({ name: 'test', hub: other, directory: dir, syncIntervalMs: 0 }), (e) => e.code === 'forbidden');
});

test('ALocalOnlyStoreWritesAndQueriesWithNoHub', async () => {
  const dir = new MemoryDirectory();
  const owner = track(new DatabaseOwner({ module: await newModule() }));
  const info = await owner.open({ name: 'local', directory: dir });
  assert.equal(info.identity.local, true);
  assert.match(info.identity.deviceId, /^local_/);
  await owner.call('write', [[{ table: 'products', id: 'p-1', values: { name: 'Tea', price_minor: 180, tax_rate_bp: 0, active: 1 } }]], 'rq');
  const r = await owner.call('recordSale', [{ lines: [{ product_id: 'p-1', qty: 2 }] }], 'rq2');
  assert.equal(r.total_minor, 360);
  const s = await owner.call('sync');
  assert.equal(s.state, 'idle');
  assert.equal(s.pending, 2, 'nothing to send it to; kept');
  await assert.rejects(owner.call('clearLocalData', [{}]), (e) => e.code === 'unsynced_data');
  await owner.call('clearLocalData', [{ force: true }]);
  await assert.rejects(owner.call('status'), (e) => e.code === 'closed');
  // The files are gone: the same directory now opens as a brand-new device.
  const fresh = track(new DatabaseOwner({ module: await newModule() }));
  const again = await fresh.open({ name: 'local', directory: dir });
  assert.notEqual(again.identity.deviceId, info.identity.deviceId);
  assert.deepEqual(await fresh.call('query', ['SELECT count(*) AS n FROM sales_orders']), [{ n: 0 }]);
  await fresh.close();
});

test('APushTheHubRefusesAsTooLargeIsSentAgainInSmallerBatches', async () => {
  // A hub with a small body limit: 40 queued sales (about 2 KB each) do not fit one push.
  const small = await startServer({ dir: tempDir('owner-small'), args: ['--max-body-bytes', '20000'] });
  try {
    const h = new HubClient(small);
    const s = await h.createShop('Small limit shop');
    await h.addProducts(PRODUCTS);
    const d = await h.registerDevice(s.shop_token, 'Till');
    const creds = { url: small.url, shopId: d.reg.shop_id, deviceId: d.reg.device_id, deviceToken: d.reg.device_token,
      receiptPrefix: d.reg.receipt_prefix };
    const owner = track(new DatabaseOwner({ module: await newModule() }));
    await owner.open({ name: 'small', hub: creds, directory: new MemoryDirectory(), syncIntervalMs: 0, writeDebounceMs: 1e9 });
    await owner.syncNow();
    for (let i = 0; i < 40; i++) await owner.call('recordSale', [sale(`o-small-${i}`)], `rq-small-${i}`);
    await owner.syncNow();
    const st = owner.statusInfo();
    assert.equal(st.state, 'idle', JSON.stringify(st.lastError));
    assert.equal(st.pending, 0);
    assert.ok(owner.openOptions.push_batch < 40, `the batch shrank (now ${owner.openOptions.push_batch})`);
    assert.ok(owner.lastCycle.requests > 3, 'the sales went up in several smaller pushes');
    const reader = await h.registerDevice(s.shop_token, 'Reader');
    const { rows } = await reader.pullAll();
    assert.equal(rowsOf(rows, 'sales_orders').filter((r) => r.id.startsWith('o-small-')).length, 40);
    await owner.close();
  } finally {
    await small.stop();
  }
});

test('ALargeUploadReportsProgressAndThePeriodSyncsWithoutAnyTrigger', async () => {
  const creds = await credentials('Till upload');
  const events = [];
  const owner = track(new DatabaseOwner({ module: await newModule(), emit: (kind, payload) => events.push({ kind, payload }) }));
  // No write-triggered sync; batches of 10 operations; a sync every 300 ms.
  await owner.open({ name: 'upload', hub: creds, directory: new MemoryDirectory(), writeDebounceMs: 1e9,
    syncIntervalMs: 300, engine: { push_batch: 10 } });
  await owner.syncNow();
  for (let i = 0; i < 25; i++) await owner.call('recordSale', [sale(`o-up-${i}`)], `rq-up-${i}`);
  assert.equal(owner.statusInfo().pending, 25);
  for (let i = 0; i < 100 && owner.statusInfo().pending > 0; i++) await new Promise((r) => setTimeout(r, 50));
  await owner.cycle;
  assert.equal(owner.statusInfo().pending, 0, 'the periodic sync uploaded them');
  const upload = events.filter((e) => e.kind === 'progress' && e.payload.phase === 'upload').map((e) => e.payload);
  assert.deepEqual(upload.map((p) => [p.done, p.total]), [[0, 25], [10, 25], [20, 25], [25, 25]]);
  await owner.close();
});

test('TheNextPushIsBuiltWhileThePreviousIsOnTheWireAndALostAnswerDropsIt', async () => {
  const reader = await hub.registerDevice(shop.shop_token, 'Reader pipeline');
  const net = network();
  const log = [];
  const plain = net.fetch;
  let pushes = 0;
  let loseSecond = false;
  net.fetch = async (url, init) => {
    if (!url.endsWith('/v1/push')) return plain(url, init);
    if (loseSecond && ++pushes === 2) net.loseNextPushAnswer = true;
    const n = JSON.parse(init.body).ops.length;
    log.push(`send ${n}`);
    try {
      return await plain(url, init);
    } finally {
      log.push(`answer ${n}`);
    }
  };
  const { owner } = await openOwner(await credentials('Till pipeline'), { net, writeDebounceMs: 1e9, engine: { push_batch: 10 } });
  await owner.syncNow();
  const build = owner.engine.buildPush.bind(owner.engine);
  owner.engine.buildPush = (after = 0) => {
    const b = build(after);
    log.push(`build after ${after}: ${b.count}`);
    return b;
  };
  for (let i = 0; i < 25; i++) await owner.call('recordSale', [sale(`o-pipe-${i}`)], `rq-pipe-${i}`);
  const first = owner.engine.status().pending;
  assert.equal(first, 25);
  // The second answer is lost after the hub committed it: the third body, built meanwhile, is
  // dropped, and the next cycle sends the second again (a replay) before the third.
  loseSecond = true;
  await owner.syncNow();
  loseSecond = false;
  assert.equal(owner.statusInfo().pending, 15, 'the first push was recorded, the second not');
  const seqBase = Number(log.find((l) => l.startsWith('build after') && !l.startsWith('build after 0'))?.match(/after (\d+)/)[1]) - 10;
  assert.deepEqual(log, [
    'build after 0: 10', 'send 10', `build after ${seqBase + 10}: 10`, 'answer 10',
    'send 10', `build after ${seqBase + 20}: 5`, 'answer 10',
  ], 'each next body is built between the send and the answer of the push before');
  log.length = 0;
  await owner.syncNow();
  assert.equal(owner.statusInfo().pending, 0);
  assert.deepEqual(log, ['build after 0: 10', 'send 10', `build after ${seqBase + 20}: 5`, 'answer 10', 'send 5', 'answer 5',
    'build after 0: 0']);
  const sales = (await hubSales(reader)).filter((r) => r.id.startsWith('o-pipe-'));
  assert.equal(sales.length, 25);
  assert.equal(new Set(sales.map((r) => r.id)).size, 25, 'each sale once');
  await owner.close();
});

test('WhileTheBrowserSaysOfflineNoAutomaticSyncRunsAndOnlineSyncsAtOnce', async () => {
  const reader = await hub.registerDevice(shop.shop_token, 'Reader 3');
  const net = network();
  let attempts = 0;
  const counting = { ...net, fetch: (...a) => { attempts++; return net.fetch(...a); } };
  const { owner } = await openOwner(await credentials('Till browser offline'), { net: counting });
  await owner.syncNow();
  net.down = true;
  owner.notify('offline');  // the browser's own offline event, relayed by a tab
  const before = attempts;
  await owner.call('recordSale', [sale('o-browser-off')], 'rq-bo');
  owner.notify('visible');
  await new Promise((r) => setTimeout(r, 300));  // well past the 10 ms write debounce
  assert.equal(attempts, before, 'no request while the browser says offline');
  assert.equal(owner.statusInfo().online, false);
  assert.notEqual(owner.statusInfo().state, 'syncing');
  net.down = false;
  owner.notify('online');
  await owner.cycle;
  assert.equal(owner.statusInfo().pending, 0);
  assert.equal(owner.statusInfo().online, true);
  const { rows } = await reader.pullAll();
  assert.equal(rowsOf(rows, 'sales_orders').filter((r) => r.id === 'o-browser-off').length, 1);
  await owner.close();
});
