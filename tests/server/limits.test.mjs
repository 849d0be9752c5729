// Transport limits: body size (413 before the body is read), chunked and compressed bodies,
// the per-token rate limit (429 with Retry-After), the per-address limit on failed credentials,
// and slow clients timing out while the hub keeps serving everyone else.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { HubClient, PRODUCTS, assertProblem, request, startServer } from './hub_harness.mjs';

let server;
let hub;
let shop;
before(async () => {
  server = await startServer({ args: ['--max-body-bytes', '65536', '--rate-limit', '1', '--rate-burst', '5',
    '--address-rate-limit', '1', '--address-burst', '4', '--read-timeout-ms', '400'] });
  hub = new HubClient(server);
  await hub.addProducts(PRODUCTS);
  shop = await hub.createShop('Limits');
});
after(async () => { await server?.stop(); });

const port = () => Number(new URL(server.url).port);

// Writes raw bytes on a fresh socket; resolves with what came back and when the server closed.
function raw(bytes, { waitMs = 3000 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = net.connect(port(), '127.0.0.1');
    let data = '';
    let done = false;
    const finish = (closedBy) => {
      if (done) return;
      done = true;
      s.destroy();
      resolve({ data, closedBy, ms: Date.now() - started });
    };
    s.on('data', (d) => { data += d; });
    s.on('close', () => finish('server'));
    s.on('error', () => finish('server'));
    s.write(bytes);
    setTimeout(() => finish('client'), waitMs);
  });
}

function parseStatus(data) {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
  const body = data.slice(data.indexOf('\r\n\r\n') + 4);
  let json;
  try { json = JSON.parse(body); } catch { json = undefined; }
  return { status: m ? Number(m[1]) : 0, json, head: data.slice(0, data.indexOf('\r\n\r\n')) };
}

test('a body over the limit is refused with 413 from its Content-Length alone, and the connection closed', async () => {
  const dev = await hub.registerDevice(shop.shop_token, 'Big');
  // Headers announce 50 MB but only a few bytes follow: the answer must not wait for the rest.
  const r = await raw(`POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${dev.token}\r\n`
    + 'Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{"v":1');
  const p = parseStatus(r.data);
  assert.equal(p.status, 413, r.data);
  assert.equal(p.json.code, 'too_large');
  assert.match(p.head, /Content-Type: application\/problem\+json/);
  assert.equal(r.closedBy, 'server', 'the server closed the connection instead of reading the body');
  assert.ok(r.ms < 2000, `answered in ${r.ms} ms`);
});

test('a client that asks Expect: 100-continue for a body over the limit gets 413 instead of the go-ahead', async () => {
  const dev = await hub.registerDevice(shop.shop_token, 'Polite');
  const r = await raw(`POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${dev.token}\r\n`
    + 'Content-Type: application/json\r\nContent-Length: 50000000\r\nExpect: 100-continue\r\n\r\n', { waitMs: 1500 });
  const p = parseStatus(r.data);
  assert.equal(p.status, 413, r.data);
  assert.equal(p.json.code, 'too_large');
  assert.ok(!r.data.includes('100 Continue'), 'no go-ahead was given');
});

test('a body just under the limit is read and judged on its content', async () => {
  const dev = await hub.registerDevice(shop.shop_token, 'Edge');
  const filler = 'x'.repeat(65536 - 100);
  const r = await request(`${hub.url}/v1/push`, { method: 'POST', token: dev.token, rawBody: `{"pad":"${filler}"}` });
  assertProblem(assert, r, 400, 'bad_request');
});

test('chunked and compressed request bodies are refused before reading', async () => {
  const dev = await hub.registerDevice(shop.shop_token, 'Chunky');
  const chunked = parseStatus((await raw(`POST /v1/pull HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${dev.token}\r\n`
    + 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"v":\r\n')).data);
  assert.equal(chunked.status, 411);
  assert.equal(chunked.json.code, 'bad_request');
  const gz = await request(`${hub.url}/v1/pull`, { method: 'POST', token: dev.token, rawBody: 'xx',
    headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' } });
  assertProblem(assert, gz, 415, 'bad_request');
  const noLength = parseStatus((await raw(`POST /v1/pull HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${dev.token}\r\n\r\n`)).data);
  assert.equal(noLength.status, 411);
});

test('a token over its rate gets 429 with Retry-After; other tokens are not affected', async () => {
  const noisy = await hub.registerDevice(shop.shop_token, 'Noisy');
  const quiet = await hub.registerDevice(shop.shop_token, 'Quiet');
  const answers = [];
  for (let i = 0; i < 8; i += 1) answers.push(await noisy.pull());
  const statuses = answers.map((a) => a.status);
  assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200], 'the burst is allowed');
  const limited = answers.find((a) => a.status === 429);
  assert.ok(limited, `statuses ${statuses}`);
  assertProblem(assert, limited, 429, 'busy');
  const retry = Number(limited.headers['retry-after']);
  assert.ok(Number.isInteger(retry) && retry >= 1, `Retry-After ${limited.headers['retry-after']}`);
  assert.equal((await quiet.pull()).status, 200, 'another device is served meanwhile');
  await new Promise((r) => setTimeout(r, retry * 1000 + 50));
  assert.equal((await noisy.pull()).status, 200, 'after waiting Retry-After the device is served again');
});

test('failed credentials are limited per client address', async () => {
  const statuses = [];
  for (let i = 0; i < 8; i += 1) statuses.push((await hub.get('/v1/shop', `tsk_shop_${String(i).repeat(64)}`)).status);
  assert.ok(statuses.slice(0, 4).every((s) => s === 401), `${statuses}`);
  assert.ok(statuses.includes(429), `guessing is slowed down: ${statuses}`);
  await new Promise((r) => setTimeout(r, 4100));  // let the address bucket refill for later tests
});

test('a client that stops mid-request is dropped after the read timeout; others are served meanwhile', async () => {
  const dev = await hub.registerDevice(shop.shop_token, 'Patient');
  const slow = raw('POST /v1/pull HTTP/1.1\r\nHost: x\r\nContent-', { waitMs: 5000 });
  const during = await dev.pull();
  assert.equal(during.status, 200, 'the hub serves others while a slow client hangs');
  const r = await slow;
  assert.equal(r.closedBy, 'server', 'the slow client was disconnected');
  assert.ok(r.ms >= 300 && r.ms < 3000, `after ${r.ms} ms`);
  const answer = parseStatus(r.data);
  assert.equal(answer.status, 400, r.data);
  assert.equal(answer.json.code, 'bad_request');
  assert.match(answer.head, /Connection: close/);
  // A client that sends headers and then only part of the body times out the same way.
  const partial = await raw(`POST /v1/pull HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${dev.token}\r\n`
    + 'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"v":1', { waitMs: 5000 });
  assert.equal(partial.closedBy, 'server');
  assert.ok(partial.ms < 3000, `after ${partial.ms} ms`);
});

test('unknown routes are 404 and wrong methods 405, as problem+json', async () => {
  assertProblem(assert, await hub.get('/v1/nothing-here'), 404, 'not_found');
  const wrong = await hub.get('/v1/push');
  assertProblem(assert, wrong, 405, 'bad_request');
  assert.equal(wrong.headers.allow, 'POST');
  assertProblem(assert, await request(`${hub.url}/v1/health`, { method: 'DELETE' }), 405, 'bad_request');
  assertProblem(assert, await request(`${hub.url}/v1/push`, { method: 'PUT', rawBody: '{}' }), 405, 'bad_request');
});
