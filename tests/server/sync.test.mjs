// Push and pull over HTTP: round trips between devices of one shop, replays answered with the
// first answer, the same operation raced on two connections, catalog administration, paging,
// and the minimum schema version ("update required").
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { HubClient, PRODUCTS, assertProblem, countByTable, rowsOf, startServer } from './hub_harness.mjs';

let server;
let hub;
let shop;
before(async () => {
  server = await startServer();
  hub = new HubClient(server);
  await hub.addProducts(PRODUCTS);
  shop = await hub.createShop('Sync shop');
});
after(async () => { await server?.stop(); });

test('a sale pushed by one device reaches the other device of the shop, with a checksum', async () => {
  const a = await hub.registerDevice(shop.shop_token, 'A');
  const b = await hub.registerDevice(shop.shop_token, 'B');
  const op = a.saleOp();
  const r = await a.push([op]);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.v, 1);
  assert.deepEqual(r.json.results, [{ seq: 1, status: 'applied' }]);
  assert.match(r.json.hub_hlc, /^[0-9a-f]{12}\.[0-9a-f]{4}\.hub$/);

  const { rows, checksum } = await b.pullAll();
  assert.match(checksum, /^[0-9a-f]{16}$/);
  const order = rowsOf(rows, 'sales_orders').find((row) => row.id === op.changes[0].id);
  assert.ok(order, 'the order reached device B');
  assert.equal(order.values.total_minor, op.changes[0].values.total_minor);
  assert.equal(order.values.device_id, a.id);
  const mine = [...rows.values()].filter((row) => row.values.order_id === order.id || row.values.ref_id === order.id);
  assert.deepEqual(countByTable(new Map(mine.map((m) => [m.id, m]))),
    { order_lines: 3, payments: 1, stock_movements: 3 });
  // The catalog written by the operator is there too.
  assert.equal(rowsOf(rows, 'products').length, PRODUCTS.length);
  // A pull from the cursor it returned brings nothing new.
  const { cursor } = await b.pullAll();
  const again = await b.pull(cursor);
  assert.equal(again.json.rows.length, 0);
  assert.equal(again.json.more, false);
  assert.equal(again.json.checksum, checksum, 'nothing changed, same checksum');
});

test('a replay is answered with the first answer and applied once', async () => {
  const dev = await hub.registerDevice(shop.shop_token, 'Replayer');
  const op = dev.saleOp();
  const first = await dev.push([op]);
  assert.equal(first.status, 200, first.text);
  const before = await hub.stats();
  const second = await dev.push([op]);
  assert.equal(second.status, 200, second.text);
  assert.deepEqual(second.json.results, first.json.results);
  const after = await hub.stats();
  assert.equal(after.ops_applied, before.ops_applied, 'nothing applied twice');
  assert.equal(after.rows, before.rows);
  assert.equal(after.hub_seq, before.hub_seq);
  // A rejected operation's replay gets its rejection again, with the same code.
  const bad = dev.saleOp();
  bad.changes[0].values.total_minor += 1;
  const rejected = await dev.push([bad]);
  assert.equal(rejected.json.results[0].status, 'rejected');
  assert.equal(rejected.json.results[0].code, 'totals_mismatch');
  const rejectedAgain = await dev.push([bad]);
  assert.deepEqual(rejectedAgain.json.results, rejected.json.results);
  // Replay of old operations together with a new one: old answers, new one applied.
  const next = dev.saleOp();
  const mixed = await dev.push([op, bad, next]);
  assert.deepEqual(mixed.json.results.map((x) => [x.seq, x.status]), [[1, 'applied'], [2, 'rejected'], [3, 'applied']]);
});

test('a replayed id with a different payload is refused with 409 and stores nothing', async () => {
  const dev = await hub.registerDevice(shop.shop_token, 'Changer');
  const op = dev.saleOp();
  assert.equal((await dev.push([op])).status, 200);
  const before = await hub.stats();
  const changed = structuredClone(op);
  changed.changes[0].values.receipt_no = 'D9-999999';
  const r = await dev.push([changed]);
  assertProblem(assert, r, 409, 'payload_mismatch');
  const after = await hub.stats();
  assert.deepEqual([after.rows, after.hub_seq, after.ops_applied], [before.rows, before.hub_seq, before.ops_applied]);
});

test('the same operation sent concurrently on two connections is applied once', async () => {
  for (let round = 0; round < 5; round += 1) {
    const dev = await hub.registerDevice(shop.shop_token, `Racer ${round}`);
    const ops = [dev.saleOp(), dev.saleOp()];
    const before = await hub.stats();
    const agents = [new http.Agent({ keepAlive: true, maxSockets: 1 }), new http.Agent({ keepAlive: true, maxSockets: 1 })];
    const [x, y] = await Promise.all(agents.map((agent) => dev.push(ops, { agent })));
    agents.forEach((agent) => agent.destroy());
    assert.equal(x.status, 200, x.text);
    assert.equal(y.status, 200, y.text);
    assert.deepEqual(x.json.results, y.json.results, 'both connections get the same answer');
    assert.deepEqual(x.json.results.map((res) => res.status), ['applied', 'applied']);
    const after = await hub.stats();
    assert.equal(after.ops_applied - before.ops_applied, 2, 'each operation applied exactly once');
    const { rows } = await dev.pullAll();
    const orders = rowsOf(rows, 'sales_orders').filter((o) => o.values.device_id === dev.id);
    assert.equal(orders.length, 2);
  }
});

test('many devices pushing at once are all acknowledged (group commit) and all stored', async () => {
  const devices = await Promise.all(Array.from({ length: 12 }, (_, i) => hub.registerDevice(shop.shop_token, `Crowd ${i}`)));
  const before = await hub.stats();
  const results = await Promise.all(devices.flatMap((d) => [d.push([d.saleOp()]).then(async (r1) => {
    const r2 = await d.push([d.saleOp()]);
    return [r1, r2];
  })]));
  for (const [r1, r2] of results) {
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r1.json.results[0].status, 'applied');
    assert.equal(r2.json.results[0].status, 'applied');
  }
  const after = await hub.stats();
  assert.equal(after.ops_applied - before.ops_applied, 24);
  assert.equal(after.rows - before.rows, 24 * 8);
  assert.ok(after.server.push_groups >= 1);
});

test('pull pages through rows by cursor; only the last page carries the checksum', async () => {
  const dev = await hub.registerDevice(shop.shop_token, 'Pager');
  const all = await dev.pullAll();
  let cursor = 0;
  let pages = 0;
  const seen = new Map();
  for (;;) {
    const r = await dev.pull(cursor, 7);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.rows.length <= 7);
    pages += 1;
    for (const row of r.json.rows) seen.set(`${row.table}/${row.id}`, row);
    if (r.json.more) {
      assert.equal(r.json.checksum, undefined, 'no checksum before the last page');
      assert.ok(r.json.remaining > 0);
      assert.ok(r.json.cursor > cursor);
    } else {
      assert.equal(r.json.checksum, all.checksum);
      assert.equal(r.json.remaining, 0);
    }
    cursor = r.json.cursor;
    if (!r.json.more) break;
  }
  assert.ok(pages > 3, `paged (${pages} pages)`);
  assert.deepEqual([...seen.keys()].sort(), [...all.rows.keys()].sort());
});

test('catalog edits by the operator reach every shop; shop data cannot go through the admin route', async () => {
  const other = await hub.createShop('Other shop');
  const devA = await hub.registerDevice(shop.shop_token, 'Cat A');
  const devB = await hub.registerDevice(other.shop_token, 'Cat B');
  const r = await hub.post('/v1/admin/catalog', server.operatorToken, { changes: [
    { table: 'categories', id: 'cat-hot', values: { name: 'Hot drinks', sort_order: 1, active: 1 } },
    { table: 'products', id: 'p-tea', values: { category_id: 'cat-hot', name: 'Tea', price_minor: 210, tax_rate_bp: 1900, active: 1 } },
  ] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.applied, 2);
  for (const dev of [devA, devB]) {
    const { rows } = await dev.pullAll();
    const tea = rows.get('products/p-tea');
    assert.equal(tea?.values.price_minor, 210);
    assert.equal(tea.values.category_id, 'cat-hot');
  }
  const shopData = await hub.post('/v1/admin/catalog', server.operatorToken, { changes: [
    { table: 'sales_orders', id: 'o1', values: { shop_id: shop.shop_id } }] });
  assertProblem(assert, shopData, 403, 'forbidden');
  assertProblem(assert, await hub.post('/v1/admin/catalog', server.operatorToken, { changes: [
    { table: 'products', id: 'p-x', values: { name: 'X', price_minor: 1.5, tax_rate_bp: 0, active: 1 } }] }), 400, 'float_money');
  assertProblem(assert, await hub.post('/v1/admin/catalog', server.operatorToken, { changes: [
    { table: 'nope', id: 'p-x', values: {} }] }), 400, 'unknown_table');
  assertProblem(assert, await hub.post('/v1/admin/catalog', server.operatorToken, { changes: [] }), 400, 'bad_request');
});

test('a minimum schema version above the device answers 426 update_required naming the minimum', async () => {
  const dev = await hub.registerDevice(shop.shop_token, 'Old app');
  const set = await hub.post('/v1/admin/min-schema-version', server.operatorToken, { min_schema_version: 2 });
  assert.equal(set.status, 200, set.text);
  assert.equal(set.json.min_schema_version, 2);
  try {
    const push = await dev.push([dev.saleOp()]);
    dev.seq -= 1;  // refused, so the sequence number was not used
    assertProblem(assert, push, 426, 'update_required');
    assert.equal(push.json.min_schema_version, 2);
    const pull = await dev.pull();
    assertProblem(assert, pull, 426, 'update_required');
    assert.equal(pull.json.min_schema_version, 2);
    assert.equal((await hub.get('/v1/health')).json.min_schema_version, 2);
    assertProblem(assert, await hub.post('/v1/admin/min-schema-version', server.operatorToken, { min_schema_version: 0 }), 400, 'bad_value');
    assertProblem(assert, await hub.post('/v1/admin/min-schema-version', shop.shop_token, { min_schema_version: 1 }), 403, 'forbidden');
  } finally {
    const back = await hub.post('/v1/admin/min-schema-version', server.operatorToken, { min_schema_version: 1 });
    assert.equal(back.status, 200);
  }
  const ok = await dev.push([dev.saleOp()]);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.results[0].status, 'applied');
});

test('the minimum schema version survives a restart', async () => {
  const own = await startServer();
  try {
    const c = new HubClient(own);
    assert.equal((await c.post('/v1/admin/min-schema-version', own.operatorToken, { min_schema_version: 3 })).status, 200);
    await own.stop();
    const again = await startServer({ db: own.dbPath });
    try {
      assert.equal((await new HubClient(again).get('/v1/health')).json.min_schema_version, 3);
    } finally { await again.stop(); }
  } finally { await own.stop(); }
});
