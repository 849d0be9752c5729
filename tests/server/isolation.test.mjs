// Shop isolation, enforced by the hub: a walk over EVERY route of the router table (as the binary
// lists it with `tillsync-server routes`) with shop B's credentials, aimed at shop A. Each route
// must have a case here, so a route added later without one fails this test. No answer may
// carry anything of shop A that the request did not itself contain, and A's data must be
// unchanged afterwards. Where a refusal could reveal whether A's thing exists, the answer must
// be byte-identical to the answer about a thing that does not exist.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HubClient, PRODUCTS, assertProblem, cli, countByTable, request, startServer } from './hub_harness.mjs';

let server;
let hub;
let A;  // { shop, dev, dev2, op }
let B;  // { shop, dev }
let secretsOfA;  // strings of shop A that B never sends
before(async () => {
  server = await startServer();
  hub = new HubClient(server);
  await hub.addProducts(PRODUCTS);
  const shopA = await hub.createShop('Alpha Secret Grocer');
  const devA = await hub.registerDevice(shopA.shop_token, 'Alpha till named Zebra');
  const dev2A = await hub.registerDevice(shopA.shop_token, 'Alpha second till');
  const opA = devA.saleOp();
  assert.equal((await devA.push([opA])).status, 200);
  A = { shop: shopA, dev: devA, dev2: dev2A, op: opA };
  const shopB = await hub.createShop('Bravo');
  const devB = await hub.registerDevice(shopB.shop_token, 'Bravo till');
  assert.equal((await devB.push([devB.saleOp()])).status, 200);
  B = { shop: shopB, dev: devB };
  secretsOfA = [shopA.shop_id, shopA.name, shopA.shop_token, shopA.recovery_code, devA.id, devA.token, dev2A.id,
    'Alpha till named Zebra', ...opA.changes.map((c) => c.id)];
});
after(async () => { await server?.stop(); });

function assertNoLeak(r, requestText, label) {
  for (const s of secretsOfA) {
    if (requestText.includes(s)) continue;  // an echo of what the caller sent is no leak
    assert.ok(!r.text.includes(s), `${label}: the answer carries shop A's ${s}`);
  }
}

async function send(method, path, token, body, rawBody) {
  const r = await request(hub.url + path, { method, token, body, rawBody });
  const text = `${token ?? ''} ${body ? JSON.stringify(body) : ''} ${rawBody ?? ''}`;
  return { r, text };
}

const unknownDevice = 'dev_00000000deadbeef';
const unknownToken = `tsk_dev_${'1'.repeat(64)}`;

// For every route: what shop B tries against shop A, and what must come back.
const attacks = {
  'GET /v1/health': async () => {
    const { r, text } = await send('GET', '/v1/health', B.dev.token);
    assert.equal(r.status, 200);
    return [[r, text]];
  },
  'POST /v1/push': async () => {
    const out = [];
    // Pushing as A's device with B's token.
    const asA = await send('POST', '/v1/push', B.dev.token, { ...A.dev.pushBody([B.dev.saleOp()]), device_id: A.dev.id });
    B.dev.seq -= 1;
    assertProblem(assert, asA.r, 403, 'forbidden', 'push as A');
    const asNobody = await send('POST', '/v1/push', B.dev.token, { ...B.dev.pushBody([B.dev.saleOp()]), device_id: unknownDevice });
    B.dev.seq -= 1;
    assert.equal(asA.r.text, asNobody.r.text, 'A\'s device and a device that does not exist get the same answer');
    out.push([asA.r, asA.text]);
    // Writing rows into shop A.
    const op = B.dev.saleOp();
    for (const c of op.changes) c.values.shop_id = A.shop.shop_id;
    const into = await send('POST', '/v1/push', B.dev.token, B.dev.pushBody([op]));
    assert.equal(into.r.status, 200);
    assert.equal(into.r.json.results[0].status, 'rejected');
    assert.equal(into.r.json.results[0].code, 'shop_mismatch');
    out.push([into.r, into.text]);
    // Voiding A's order by its id.
    const voidOp = B.dev.op([{ table: 'sales_orders', id: A.op.changes[0].id, values: { status: 'voided' } }]);
    const v = await send('POST', '/v1/push', B.dev.token, B.dev.pushBody([voidOp]));
    assert.equal(v.r.status, 200);
    assert.equal(v.r.json.results[0].status, 'rejected');
    out.push([v.r, v.text]);
    // A shop token and an operator token cannot push at all.
    for (const token of [B.shop.shop_token, server.operatorToken]) {
      const x = await send('POST', '/v1/push', token, A.dev.pushBody([]));
      assertProblem(assert, x.r, 403, 'forbidden', 'push with a non-device token');
      out.push([x.r, x.text]);
    }
    return out;
  },
  'POST /v1/pull': async () => {
    const asA = await send('POST', '/v1/pull', B.dev.token, A.dev.pullBody());
    assertProblem(assert, asA.r, 403, 'forbidden', 'pull as A');
    const own = await send('POST', '/v1/pull', B.dev.token, B.dev.pullBody(0, 5000));
    assert.equal(own.r.status, 200);
    for (const row of own.r.json.rows) {
      assert.ok(row.values.shop_id === undefined || row.values.shop_id === B.shop.shop_id,
        `B pulled ${row.table}/${row.id} of another shop`);
    }
    assert.ok(own.r.json.rows.some((row) => row.table === 'sales_orders'), 'B does get its own sales');
    return [[asA.r, asA.text], [own.r, own.text]];
  },
  'POST /v1/shops': async () => {
    const out = [];
    for (const token of [B.shop.shop_token, B.dev.token]) {
      const x = await send('POST', '/v1/shops', token, { name: 'Take over' });
      assertProblem(assert, x.r, 403, 'forbidden', 'create shop');
      out.push([x.r, x.text]);
    }
    return out;
  },
  'GET /v1/shop': async () => {
    const out = [];
    for (const token of [B.shop.shop_token, B.dev.token]) {
      const x = await send('GET', `/v1/shop?shop_id=${A.shop.shop_id}`, token);
      assert.equal(x.r.status, 200);
      assert.equal(x.r.json.shop_id, B.shop.shop_id, 'a query parameter does not choose the shop');
      out.push([x.r, x.text]);
    }
    return out;
  },
  'POST /v1/devices': async () => {
    const named = await send('POST', '/v1/devices', B.shop.shop_token, { name: 'Spy', shop_id: A.shop.shop_id });
    assertProblem(assert, named.r, 400, 'bad_request', 'register naming A');
    const x = await send('POST', '/v1/devices', B.dev.token, { name: 'Spy' });
    assertProblem(assert, x.r, 403, 'forbidden', 'register with a device token');
    const own = await send('POST', '/v1/devices', B.shop.shop_token, { name: 'New B till' });
    assert.equal(own.r.status, 201);
    assert.equal(own.r.json.shop_id, B.shop.shop_id);
    return [[named.r, named.text], [x.r, x.text], [own.r, own.text]];
  },
  'POST /v1/recover': async () => {
    const withToken = await send('POST', '/v1/recover', B.shop.shop_token, { recovery_code: B.shop.shop_token });
    assertProblem(assert, withToken.r, 401, 'unauthorized', 'a shop token is not a recovery code');
    const extra = await send('POST', '/v1/recover', undefined, { recovery_code: B.shop.recovery_code, shop_id: A.shop.shop_id });
    assertProblem(assert, extra.r, 400, 'bad_request', 'recover naming A');
    return [[withToken.r, withToken.text], [extra.r, extra.text]];
  },
  'POST /v1/tokens/revoke': async () => {
    const out = [];
    for (const token of [B.shop.shop_token, B.dev.token]) {
      const dev = await send('POST', '/v1/tokens/revoke', token, { device_id: A.dev.id });
      const none = await send('POST', '/v1/tokens/revoke', token, { device_id: unknownDevice });
      assertProblem(assert, dev.r, 404, 'not_found', 'revoke A\'s device');
      assert.equal(dev.r.text, none.r.text, 'A\'s device and a missing device get the same answer');
      const tok = await send('POST', '/v1/tokens/revoke', token, { token: A.dev.token });
      const noTok = await send('POST', '/v1/tokens/revoke', token, { token: unknownToken });
      assertProblem(assert, tok.r, 404, 'not_found', 'revoke A\'s token');
      assert.equal(tok.r.text, noTok.r.text, 'A\'s token and a missing token get the same answer');
      const shopTok = await send('POST', '/v1/tokens/revoke', token, { token: A.shop.shop_token });
      assert.equal(shopTok.r.text, noTok.r.text);
      out.push([dev.r, dev.text], [tok.r, tok.text], [shopTok.r, shopTok.text]);
    }
    return out;
  },
  'POST /v1/admin/catalog': async () => {
    const out = [];
    for (const token of [B.shop.shop_token, B.dev.token]) {
      const x = await send('POST', '/v1/admin/catalog', token, { changes: [
        { table: 'products', id: PRODUCTS[0].id, values: { price_minor: 1 } }] });
      assertProblem(assert, x.r, 403, 'forbidden', 'admin catalog');
      out.push([x.r, x.text]);
    }
    return out;
  },
  'POST /v1/admin/min-schema-version': async () => {
    const out = [];
    for (const token of [B.shop.shop_token, B.dev.token]) {
      const x = await send('POST', '/v1/admin/min-schema-version', token, { min_schema_version: 9 });
      assertProblem(assert, x.r, 403, 'forbidden', 'min schema');
      out.push([x.r, x.text]);
    }
    return out;
  },
  'GET /v1/admin/stats': async () => {
    const out = [];
    for (const token of [B.shop.shop_token, B.dev.token]) {
      const x = await send('GET', '/v1/admin/stats', token);
      assertProblem(assert, x.r, 403, 'forbidden', 'stats');
      out.push([x.r, x.text]);
    }
    return out;
  },
  'GET /v1/admin/shops': async () => {
    const out = [];
    for (const token of [B.shop.shop_token, B.dev.token]) {
      const x = await send('GET', '/v1/admin/shops', token);
      assertProblem(assert, x.r, 403, 'forbidden', 'list shops');
      out.push([x.r, x.text]);
    }
    return out;
  },
  'GET /*': async () => {
    const out = [];
    for (const p of ['/', `/v1/shops/${A.shop.shop_id}`, `/${A.shop.shop_id}`, '/v1/shop/devices']) {
      const x = await send('GET', p, B.dev.token);
      assert.equal(x.r.status, 404, `${p} (no --static here)`);
      out.push([x.r, x.text]);
    }
    return out;
  },
};

test('the router table lists every route, and every one has a cross-shop case here', () => {
  const routes = cli(['routes']);
  assert.equal(routes.code, 0, routes.stderr);
  const listed = routes.json.map((r) => `${r.method} ${r.path}`);
  assert.ok(listed.length >= 12, `routes: ${listed}`);
  for (const key of listed) assert.ok(attacks[key], `no cross-shop case for ${key}`);
  for (const key of Object.keys(attacks)) assert.ok(listed.includes(key), `case for a route not in the table: ${key}`);
  for (const r of routes.json) assert.match(r.access, /^(public|recovery_code|operator|shop|device|shop_or_device|any_token)$/);
});

test('shop B\'s credentials get nothing of shop A on any route, and A is untouched', async () => {
  const before = await A.dev2.pullAll();
  const routes = cli(['routes']).json;
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    const answers = await attacks[key]();
    assert.ok(answers.length > 0, key);
    for (const [r, text] of answers) assertNoLeak(r, text, key);
  }
  // A's credentials still work and A's data is what it was (plus nothing from B).
  const afterPull = await A.dev2.pullAll();
  assert.equal(afterPull.checksum, before.checksum, 'A\'s replica is unchanged');
  assert.deepEqual(countByTable(afterPull.rows), countByTable(before.rows));
  assert.equal(afterPull.rows.get(`sales_orders/${A.op.changes[0].id}`).values.status, 'completed');
  assert.equal((await hub.get('/v1/shop', A.shop.shop_token)).status, 200);
  assert.equal((await A.dev.pull()).status, 200, 'A\'s device token was not revoked');
});
