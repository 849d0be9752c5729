// Bad input of every kind, over loopback: each refused with the right HTTP status and stable
// code as problem+json, nothing stored, and the hub keeps serving. Table-driven: every case has
// a name, builds its request from a valid one, and states the answer it must get.
//
// Two levels of refusal (schema/protocol.md, "## HTTP API"):
// - request level: the body cannot be decoded or the request as a whole is not acceptable
//   (malformed JSON, wrong types, unknown tables, float money, sequence gaps, ...). The answer is
//   a problem+json with a 4xx status and nothing at all is recorded;
// - operation level: a well-formed operation that breaks a rule of the data (totals that do not
//   add up, another shop's rows, ...). The push answers 200 and that operation's result is
//   {"status":"rejected","code":...}; none of its rows are stored, the rejection is recorded as
//   the operation's answer (a replay gets it again) and the queue behind it flows on.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HubClient, PRODUCTS, assertProblem, request, startServer } from './hub_harness.mjs';

let server;
let hub;
let shop;
let other;
let dev;
before(async () => {
  server = await startServer();
  hub = new HubClient(server);
  await hub.addProducts(PRODUCTS);
  shop = await hub.createShop('Bad input shop');
  other = await hub.createShop('Somebody else');
  dev = await hub.registerDevice(shop.shop_token, 'Till');
  // One applied operation first, so replays and gaps have something to meet.
  const r = await dev.push([dev.saleOp()]);
  assert.equal(r.status, 200, r.text);
});
after(async () => { await server?.stop(); });

// A valid next operation that does not consume the device's sequence number.
function draft() {
  const op = dev.saleOp();
  dev.seq -= 1;
  return op;
}
const valid = () => dev.pushBody([draft()]);
const order = (b) => b.ops[0].changes[0];
const line = (b) => b.ops[0].changes[1];
const payment = (b) => b.ops[0].changes[4];
const move = (b) => b.ops[0].changes[5];
const edit = (fn) => () => { const b = valid(); fn(b); return b; };

// Request-level refusals of POST /v1/push.
const pushCases = [
  { name: 'malformed JSON', raw: '{"v":1,"device_id":', status: 400, code: 'bad_json' },
  { name: 'not JSON at all', raw: 'hello', status: 400, code: 'bad_json' },
  { name: 'an empty body', raw: '', status: 400, code: 'bad_json' },
  { name: 'an array instead of an object', body: () => [valid()], status: 400, code: 'bad_request' },
  { name: 'missing field ops', body: edit((b) => { delete b.ops; }), status: 400, code: 'bad_request' },
  { name: 'missing field device_id', body: edit((b) => { delete b.device_id; }), status: 400, code: 'bad_request' },
  { name: 'an unknown top-level field', body: edit((b) => { b.shop_id = other.shop_id; }), status: 400, code: 'bad_request' },
  { name: 'seq as a string', body: edit((b) => { b.ops[0].seq = String(b.ops[0].seq); }), status: 400, code: 'bad_request' },
  { name: 'ops as an object', body: edit((b) => { b.ops = { 0: b.ops[0] }; }), status: 400, code: 'bad_request' },
  { name: 'values as an array', body: edit((b) => { order(b).values = []; }), status: 400, code: 'bad_request' },
  { name: 'a text column given a number', body: edit((b) => { line(b).values.name = 42; }), status: 400, code: 'bad_request' },
  { name: 'an integer column given a string', body: edit((b) => { line(b).values.qty = '2'; }), status: 400, code: 'bad_request' },
  { name: 'a number out of the int64 range', body: edit((b) => { b.ops[0].wall = 2 ** 64; }), status: 400, code: 'bad_request' },
  { name: 'an empty change list', body: edit((b) => { b.ops[0].changes = []; }), status: 400, code: 'bad_request' },
  { name: 'protocol version 2', body: edit((b) => { b.v = 2; }), status: 400, code: 'bad_version' },
  { name: 'a schema version newer than the hub', body: edit((b) => { b.schema_version = 99; }), status: 400, code: 'bad_version' },
  { name: 'a schema version below the minimum', body: edit((b) => { b.schema_version = 0; }), status: 426, code: 'update_required',
    extra: (r) => assert.equal(r.json.min_schema_version, 1) },
  { name: 'an unknown table', body: edit((b) => { order(b).table = 'salaries'; }), status: 400, code: 'unknown_table' },
  { name: 'an unknown column', body: edit((b) => { order(b).values.discount_minor = 5; }), status: 400, code: 'unknown_column' },
  { name: 'a row id that is too long', body: edit((b) => { order(b).id = 'o'.repeat(65); }), status: 400, code: 'bad_id' },
  { name: 'a row id with a space', body: edit((b) => { order(b).id = 'order 1'; }), status: 400, code: 'bad_id' },
  { name: 'a row id with a slash', body: edit((b) => { order(b).id = '../etc/passwd'; }), status: 400, code: 'bad_id' },
  { name: 'a row id with non-ASCII', body: edit((b) => { order(b).id = 'ordér'; }), status: 400, code: 'bad_id' },
  { name: 'an empty row id', body: edit((b) => { order(b).id = ''; }), status: 400, code: 'bad_id' },
  { name: 'a reference id with markup', body: edit((b) => { line(b).values.product_id = '<script>'; }), status: 400, code: 'bad_id' },
  { name: 'a device_id with odd characters', body: edit((b) => { b.device_id = 'dev;drop'; }), status: 400, code: 'bad_id' },
  { name: 'float money in a line', body: edit((b) => { line(b).values.unit_price_minor = 2.5; }), status: 400, code: 'float_money' },
  { name: 'float money in an order total', body: edit((b) => { order(b).values.total_minor = 12.0001; }), status: 400, code: 'float_money' },
  { name: 'a negative quantity', body: edit((b) => { line(b).values.qty = -1; }), status: 400, code: 'bad_quantity' },
  { name: 'a zero quantity', body: edit((b) => { line(b).values.qty = 0; }), status: 400, code: 'bad_quantity' },
  { name: 'an absurd quantity', body: edit((b) => { line(b).values.qty = 10_000_000; }), status: 400, code: 'bad_quantity' },
  { name: 'an absurd stock movement', body: edit((b) => { move(b).values.qty_delta = -2_000_000; }), status: 400, code: 'bad_quantity' },
  { name: 'a negative amount', body: edit((b) => { payment(b).values.amount_minor = -5; }), status: 400, code: 'bad_amount' },
  { name: 'an absurd amount', body: edit((b) => { order(b).values.total_minor = 10 ** 13; }), status: 400, code: 'bad_amount' },
  { name: 'a status outside its set', body: edit((b) => { order(b).values.status = 'stolen'; }), status: 400, code: 'bad_value' },
  { name: 'a currency of the wrong length', body: edit((b) => { order(b).values.currency = 'EURO'; }), status: 400, code: 'bad_value' },
  { name: 'a name that is too long', body: edit((b) => { line(b).values.name = 'n'.repeat(201); }), status: 400, code: 'bad_value' },
  { name: 'a malformed clock', body: edit((b) => { b.ops[0].hlc = 'yesterday'; }), status: 400, code: 'bad_value' },
  { name: 'seq zero', body: edit((b) => { b.ops[0].seq = 0; }), status: 400, code: 'bad_value' },
  { name: 'null in a required column', body: edit((b) => { line(b).values.name = null; }), status: 400, code: 'missing_field' },
  { name: 'a device_id other than the token\'s', body: edit((b) => { b.device_id = 'dev_0123456789abcdef'; }), status: 403, code: 'forbidden' },
  { name: 'a sequence gap', body: edit((b) => { b.ops[0].seq += 1; }), status: 409, code: 'sequence_gap',
    extra: (r) => assert.equal(r.json.expected_seq, dev.seq + 1) },
  { name: 'non-consecutive operations', body: () => { const a = draft(); const b2 = dev.saleOp(); dev.seq -= 1; b2.seq = a.seq + 2; return dev.pushBody([a, b2]); },
    status: 409, code: 'sequence_gap' },
  { name: 'more operations than a push may carry', body: () => dev.pushBody(Array.from({ length: 501 }, (_, i) => ({ ...draft(), seq: dev.seq + 1 + i }))),
    status: 413, code: 'too_large' },
  { name: 'more changes than an operation may carry', body: edit((b) => { b.ops[0].changes = Array.from({ length: 257 }, () => order(b)); }),
    status: 413, code: 'too_large' },
  { name: 'a form post instead of JSON', raw: 'v=1', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'bad_request' },
];

// Operation-level refusals: 200, the operation rejected with a code, none of its rows stored.
const opCases = [
  { name: 'totals that do not add up (subtotal)', op: (o) => { o.changes[0].values.subtotal_minor += 1; o.changes[0].values.total_minor += 1; }, code: 'totals_mismatch' },
  { name: 'a total that is not subtotal plus tax', op: (o) => { o.changes[0].values.total_minor -= 1; }, code: 'totals_mismatch' },
  { name: 'a line total that is not qty x price', op: (o) => { o.changes[1].values.line_total_minor += 1; }, code: 'totals_mismatch' },
  { name: 'payments that do not cover the total', op: (o) => { const p = o.changes[4].values; p.amount_minor -= 1; p.tendered_minor -= 1; }, code: 'totals_mismatch' },
  { name: 'change given on a card payment', op: (o) => { const p = o.changes[4].values; p.method = 'card'; }, code: 'totals_mismatch' },
  { name: 'a sale movement that adds stock', op: (o) => { o.changes[5].values.qty_delta = 1; }, code: 'bad_quantity' },
  { name: 'a line written without its order', op: (o) => { o.changes.splice(0, 1); }, code: 'bad_request' },
  { name: 'a row naming another shop', op: (o) => { for (const c of o.changes) c.values.shop_id = other.shop_id; }, code: 'shop_mismatch' },
  { name: 'an order naming another device', op: (o) => { o.changes[0].values.device_id = 'dev_0123456789abcdef'; }, code: 'shop_mismatch' },
  { name: 'a clock that names another device', op: (o) => { o.hlc = o.hlc.replace(dev.id, 'dev_0123456789abcdef'); }, code: 'shop_mismatch' },
  { name: 'a clock far in the future', op: (o) => { o.hlc = `${(Date.now() + 3 * 86400e3).toString(16).padStart(12, '0')}.0000.${dev.id}`; }, code: 'clock_skew' },
  { name: 'a write to the shops table', op: (o) => { o.changes = [{ table: 'shops', id: shop.shop_id, values: { name: 'Mine now' } }]; }, code: 'forbidden' },
  { name: 'a write to the devices table', op: (o) => { o.changes = [{ table: 'devices', id: dev.id, values: { receipt_prefix: 'ZZ' } }]; }, code: 'forbidden' },
  { name: 'a new row without a required column', op: (o) => { delete o.changes[0].values.currency; }, code: 'missing_field' },
];

async function snapshot() {
  const s = await hub.stats();
  return { rows: s.rows, hub_seq: s.hub_seq, applied: s.ops_applied, rejected: s.ops_rejected };
}

for (const c of pushCases) {
  test(`push refuses ${c.name}: ${c.status} ${c.code}, nothing stored`, async () => {
    const before = await snapshot();
    const raw = c.raw !== undefined ? c.raw : JSON.stringify(c.body());
    const r = await request(`${hub.url}/v1/push`, { method: 'POST', token: dev.token, rawBody: raw,
      headers: { 'Content-Type': c.contentType ?? 'application/json' } });
    assertProblem(assert, r, c.status, c.code, c.name);
    assert.ok(!/ at |\.cc:|sqlite|SELECT|INSERT/i.test(r.json.detail), `no internals in the detail: ${r.json.detail}`);
    c.extra?.(r);
    assert.deepEqual(await snapshot(), before, 'nothing stored');
  });
}

for (const c of opCases) {
  test(`push rejects the operation with ${c.name}: ${c.code}, none of its rows stored`, async () => {
    const before = await snapshot();
    const op = dev.saleOp();
    c.op(op);
    const r = await dev.push([op]);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.results.length, 1);
    assert.equal(r.json.results[0].seq, op.seq);
    assert.equal(r.json.results[0].status, 'rejected');
    assert.equal(r.json.results[0].code, c.code, r.json.results[0].message);
    assert.equal(typeof r.json.results[0].message, 'string');
    const after = await snapshot();
    assert.equal(after.rows, before.rows, 'no row stored');
    assert.equal(after.hub_seq, before.hub_seq, 'no row changed');
    assert.equal(after.applied, before.applied);
    assert.equal(after.rejected, before.rejected + 1, 'the rejection is the recorded answer');
    const { rows } = await dev.pullAll();
    for (const change of op.changes) {
      const row = rows.get(`${change.table}/${change.id}`);
      if (change.table === 'shops' || change.table === 'devices') assert.notEqual(row?.values.name, 'Mine now');
      else assert.equal(row, undefined, `${change.table}/${change.id} was not stored`);
    }
  });
}

const pullCases = [
  { name: 'malformed JSON', raw: '{', status: 400, code: 'bad_json' },
  { name: 'a negative cursor', body: () => dev.pullBody(-1), status: 400, code: 'bad_value' },
  { name: 'a cursor given as text', body: () => dev.pullBody('0'), status: 400, code: 'bad_request' },
  { name: 'a page larger than allowed', body: () => dev.pullBody(0, 5001), status: 413, code: 'too_large' },
  { name: 'a page of zero rows', body: () => dev.pullBody(0, 0), status: 413, code: 'too_large' },
  { name: 'an unknown field', body: () => dev.pullBody(0, 10, { shop_id: other.shop_id }), status: 400, code: 'bad_request' },
  { name: 'another device\'s id', body: () => ({ ...dev.pullBody(), device_id: 'dev_0123456789abcdef' }), status: 403, code: 'forbidden' },
  { name: 'a schema version below the minimum', body: () => dev.pullBody(0, 10, { schema_version: 0 }), status: 426, code: 'update_required' },
];
for (const c of pullCases) {
  test(`pull refuses ${c.name}: ${c.status} ${c.code}`, async () => {
    const raw = c.raw !== undefined ? c.raw : JSON.stringify(c.body());
    const r = await request(`${hub.url}/v1/pull`, { method: 'POST', token: dev.token, rawBody: raw });
    assertProblem(assert, r, c.status, c.code, c.name);
  });
}

test('after all of that the hub still takes the next valid operation in sequence', async () => {
  const before = await snapshot();
  const op = dev.saleOp();
  const r = await dev.push([op]);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.results, [{ seq: op.seq, status: 'applied' }]);
  const after = await snapshot();
  assert.equal(after.rows - before.rows, 8, 'order + 3 lines + payment + 3 movements');
  assert.equal(server.child.exitCode, null, 'the hub is still running');
  assert.equal((await hub.get('/v1/health')).status, 200);
});
