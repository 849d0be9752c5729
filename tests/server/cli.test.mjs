// The operator command line of the same binary, on the database file directly: create a shop,
// list shops, register a device, rotate and revoke tokens, statistics, the integrity check, and
// the lock that keeps hub-writing commands away from a running server.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { HubClient, cli, startServer, tempDir } from './hub_harness.mjs';

test('create-shop, register-device, list-shops, stats and check work on a database file', () => {
  const db = path.join(tempDir('cli'), 'hub.db');
  const shop = cli(['create-shop', '--db', db, '--name', 'Kiosk', '--currency', 'CHF']);
  assert.equal(shop.code, 0, shop.stderr);
  assert.match(shop.json.shop_id, /^shop_/);
  assert.match(shop.json.shop_token, /^tsk_shop_[0-9a-f]{64}$/);
  assert.match(shop.json.recovery_code, /^tsk_rec_[0-9a-f]{64}$/);
  const dev = cli(['register-device', '--db', db, '--shop', shop.json.shop_id, '--name', 'Till 1']);
  assert.equal(dev.code, 0, dev.stderr);
  assert.equal(dev.json.receipt_prefix, 'D1');
  assert.match(dev.json.device_token, /^tsk_dev_/);
  const list = cli(['list-shops', '--db', db]);
  assert.equal(list.code, 0);
  assert.deepEqual(list.json.shops.map((s) => [s.name, s.currency, s.devices.map((d) => d.name)]),
    [['Kiosk', 'CHF', ['Till 1']]]);
  const stats = cli(['stats', '--db', db]);
  assert.equal(stats.json.shops, 1);
  assert.equal(stats.json.devices, 1);
  const check = cli(['check', '--db', db]);
  assert.equal(check.code, 0, check.stdout);
  assert.equal(check.json.integrity_check, 'ok');
  assert.equal(check.json.ok, true);

  const missing = cli(['register-device', '--db', db, '--shop', 'shop_nope', '--name', 'X']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /not_found/);
  assert.equal(cli(['create-shop', '--db', db]).code, 2, 'usage error without --name');
  assert.equal(cli(['frobnicate', '--db', db]).code, 2);
  assert.equal(cli(['check', '--db', path.join(tempDir('cli'), 'absent.db')]).code, 1);
});

test('tokens made on the command line work over HTTP; rotate and revoke take effect at once', async () => {
  const dir = tempDir('cli');
  const db = path.join(dir, 'hub.db');
  const shop = cli(['create-shop', '--db', db, '--name', 'Kiosk']).json;
  const dev = cli(['register-device', '--db', db, '--shop', shop.shop_id, '--name', 'T']).json;
  const server = await startServer({ db });
  try {
    const hub = new HubClient(server);
    assert.match(server.operatorToken, /^tsk_op_/, 'the CLI made no operator, so the first start prints one');
    const info = await hub.get('/v1/shop', dev.device_token);
    assert.equal(info.status, 200);
    assert.equal(info.json.name, 'Kiosk');

    // Hub-writing commands refuse while the server runs; token commands work beside it.
    const busy = cli(['create-shop', '--db', db, '--name', 'Second']);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /busy: a tillsync-server is running/);
    const op = cli(['rotate-token', '--db', db, '--operator']);
    assert.equal(op.code, 0, op.stderr);
    assert.equal((await hub.get('/v1/admin/stats', op.json.token)).status, 200);
    const shopRot = cli(['rotate-token', '--db', db, '--shop', shop.shop_id]);
    assert.equal((await hub.get('/v1/shop', shop.shop_token)).status, 401, 'the old shop token is revoked');
    assert.equal((await hub.get('/v1/shop', shopRot.json.token)).status, 200);
    const revoke = cli(['revoke-token', '--db', db, '--device', dev.device_id]);
    assert.equal(revoke.json.revoked, 1);
    assert.equal((await hub.get('/v1/shop', dev.device_token)).status, 401);
    const byToken = cli(['revoke-token', '--db', db, '--token', shopRot.json.token]);
    assert.equal(byToken.json.revoked, 1);
    assert.equal((await hub.get('/v1/shop', shopRot.json.token)).status, 401);
    assert.equal(cli(['revoke-token', '--db', db, '--token', 'tsk_dev_nope']).code, 1);
    const stats = cli(['stats', '--db', db]);
    assert.equal(stats.code, 0, 'stats reads beside a running server');
  } finally {
    await server.stop();
  }
  // With the server gone the lock is free again.
  assert.equal(cli(['create-shop', '--db', db, '--name', 'Second']).code, 0);
});

test('a fresh server prints an operator token once; the next start does not print another', async () => {
  const dir = tempDir('cli');
  const first = await startServer({ dir });
  await first.stop();
  assert.match(first.operatorToken, /^tsk_op_/);
  const second = await startServer({ db: first.dbPath });
  try {
    assert.equal(second.operatorToken, undefined);
    const ok = await new HubClient(second).get('/v1/admin/stats', first.operatorToken);
    assert.equal(ok.status, 200, 'the first token still works after a restart');
  } finally { await second.stop(); }
});

test('--demo creates the demo shop once, with a catalog and stock, and prints stable credentials', async () => {
  const dir = tempDir('demo');
  const one = await startServer({ dir, args: ['--demo'] });
  let shopId;
  let shopToken;
  try {
    shopId = one.printed['demo shop id'];
    shopToken = one.printed['demo shop token'];
    assert.match(shopId, /^shop_/);
    assert.match(shopToken, /^tsk_shop_[0-9a-f]{64}$/);
    assert.match(one.operatorToken, /^tsk_op_[0-9a-f]{64}$/);
    const hub = new HubClient(one);
    const dev = await hub.registerDevice(shopToken, 'Demo till');
    assert.equal(dev.reg.shop_name, 'Demo Corner Shop');
    const { rows } = await dev.pullAll();
    const products = [...rows.values()].filter((r) => r.table === 'products');
    const categories = new Set(products.map((p) => p.values.category_id));
    assert.ok(products.length >= 30, `${products.length} products`);
    assert.ok(categories.size >= 5, `${categories.size} categories`);
    for (const p of products) {
      assert.ok(Number.isInteger(p.values.price_minor) && p.values.price_minor > 0);
      assert.ok([700, 1900].includes(p.values.tax_rate_bp));
    }
    const stock = new Map();
    for (const m of rows.values()) {
      if (m.table !== 'stock_movements') continue;
      assert.equal(m.values.shop_id, shopId);
      stock.set(m.values.product_id, (stock.get(m.values.product_id) ?? 0) + m.values.qty_delta);
    }
    for (const p of products) assert.ok(stock.get(p.id) > 0, `${p.id} has stock`);
  } finally { await one.stop(); }
  const two = await startServer({ db: one.dbPath, args: ['--demo'] });
  try {
    assert.equal(two.printed['demo shop id'], shopId, 'the same demo shop');
    assert.equal(two.printed['demo shop token'], shopToken, 'the same demo shop token');
    assert.equal(two.operatorToken, one.operatorToken, 'the same demo operator token');
    const stats = await new HubClient(two).stats();
    assert.equal(stats.shops, 1, 'no second demo shop');
  } finally { await two.stop(); }
});

test('routes prints the router table as JSON', () => {
  const r = cli(['routes']);
  assert.equal(r.code, 0);
  const keys = r.json.map((x) => `${x.method} ${x.path}`);
  for (const k of ['POST /v1/push', 'POST /v1/pull', 'GET /v1/health', 'POST /v1/shops', 'POST /v1/devices',
    'POST /v1/recover', 'POST /v1/tokens/revoke', 'POST /v1/admin/catalog', 'POST /v1/admin/min-schema-version',
    'GET /v1/admin/stats']) assert.ok(keys.includes(k), k);
});

test('a server stops on SIGTERM even when told the moment it starts listening, and on stdin closing', async () => {
  for (let i = 0; i < 10; i += 1) {
    const s = await startServer();
    const exited = await Promise.race([s.stop(), new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
    assert.notEqual(exited, 'timeout', `round ${i}: the server ignored SIGTERM`);
    assert.equal(exited.code, 0, s.stderr());
  }
  const s = await startServer();
  s.child.stdin.end();
  const exited = await Promise.race([s.exited, new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
  assert.notEqual(exited, 'timeout', 'the server outlived its stdin');
  assert.match(s.stderr(), /stdin closed/);
});
