// The hub gzips its JSON answers itself (server/answer_gzip.h, at a faster zlib level than the
// HTTP library's fixed one): a client that accepts gzip gets exactly the JSON a client without it
// gets, compressed once (one Content-Encoding, a gzip stream that inflates to that JSON), labelled
// so that the library does not compress it again; "gzip;q=0" and no Accept-Encoding get the
// plain JSON; problem answers stay as they were.
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { after, before, test } from 'node:test';
import { HubClient, PRODUCTS, startServer } from './hub_harness.mjs';

let server;
let hub;
let device;
before(async () => {
  server = await startServer();
  hub = new HubClient(server);
  const shop = await hub.createShop('Gzip');
  // Enough rows for a page of a few hundred KB, like a download's.
  await hub.addProducts(PRODUCTS);
  for (let k = 0; k < 2; k++) {
    await hub.addProducts(Array.from({ length: 1000 }, (_, i) => ({ id: `p-z${k}-${i}`, name: `Zipped product ${i}`,
      price: 100 + i, tax_bp: 700 })));
  }
  device = await hub.registerDevice(shop.shop_token, 'Gzip till');
});
after(async () => { await server?.stop(); });

// A pull with the given Accept-Encoding (none when undefined); the answer's bytes as sent.
function pull(acceptEncoding, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body ?? { v: 2, device_id: device.reg.device_id, schema_version: 1, cursor: 0, limit: 5000 });
    const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data),
      Authorization: `Bearer ${device.reg.device_token}` };
    if (acceptEncoding !== undefined) headers['Accept-Encoding'] = acceptEncoding;
    const req = http.request(`${server.url}/v1/pull`, { method: 'POST', headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, bytes: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

const count = (r, name) => r.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === name).length;

test('APullAnswerIsGzippedOnceAndInflatesToThePlainAnswer', async () => {
  const plain = await pull(undefined);
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.headers['content-type'], 'application/json; charset=utf-8');
  const json = JSON.parse(plain.bytes.toString('utf8'));
  assert.ok(json.tables.length > 0 && plain.bytes.length > 100000, `a big page (${plain.bytes.length} bytes)`);

  for (const accept of ['gzip', 'gzip, deflate, br', 'deflate, gzip;q=0.5', 'GZIP']) {
    const zipped = await pull(accept);
    assert.equal(zipped.status, 200, accept);
    assert.equal(zipped.headers['content-encoding'], 'gzip', accept);
    assert.equal(count(zipped, 'content-encoding'), 1, `${accept}: one Content-Encoding`);
    assert.equal(count(zipped, 'content-type'), 1, `${accept}: one Content-Type`);
    assert.equal(zipped.headers['content-type'], 'application/json; charset=utf-8', accept);
    assert.match(zipped.headers.vary ?? '', /Accept-Encoding/, accept);
    assert.ok(zipped.bytes.length < plain.bytes.length / 4, `${accept}: compressed (${zipped.bytes.length} bytes)`);
    // Compressed once: one inflate gives the JSON (the page's hub_hlc moves between pulls).
    const inflated = JSON.parse(zlib.gunzipSync(zipped.bytes).toString('utf8'));
    assert.deepEqual({ ...inflated, hub_hlc: '' }, { ...json, hub_hlc: '' }, accept);
  }
});

test('GzipRefusedWithQualityZeroOrNotOfferedGetsThePlainAnswer', async () => {
  for (const accept of ['gzip;q=0', 'gzip; q=0.000', 'identity', 'br', 'deflate']) {
    const r = await pull(accept);
    assert.equal(r.status, 200, accept);
    assert.equal(r.headers['content-encoding'], undefined, accept);
    assert.ok(JSON.parse(r.bytes.toString('utf8')).tables, accept);
  }
});

test('AProblemAnswerIsNotCompressed', async () => {
  const r = await pull('gzip', { v: 99, device_id: device.reg.device_id, schema_version: 1, cursor: 0 });
  assert.equal(r.status, 400);
  assert.equal(r.headers['content-encoding'], undefined);
  assert.match(r.headers['content-type'], /^application\/problem\+json/);
  assert.equal(JSON.parse(r.bytes.toString('utf8')).code, 'bad_version');
});
