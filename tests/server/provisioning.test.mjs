// Provisioning, credentials and their life cycle: shops, devices, recovery codes, revocation,
// expiry, and that secrets are stored only as hashes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { HubClient, assertProblem, cli, startServer } from './hub_harness.mjs';

let server;
let hub;
before(async () => { server = await startServer(); hub = new HubClient(server); });
after(async () => { await server?.stop(); });

test('health answers without credentials and names the protocol and schema versions', async () => {
  const r = await hub.get('/v1/health');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ok');
  assert.equal(r.json.protocol, 1);
  assert.equal(r.json.schema_version, 1);
  assert.equal(r.json.min_schema_version, 1);
});

test('a fresh hub prints one operator token, with its prefix', () => {
  assert.match(server.operatorToken, /^tsk_op_[0-9a-f]{64}$/);
});

test('the operator creates a shop and gets a shop token and a one-time recovery code', async () => {
  const r = await hub.post('/v1/shops', server.operatorToken, { name: 'Corner Deli', currency: 'GBP' });
  assert.equal(r.status, 201, r.text);
  assert.match(r.json.shop_id, /^shop_[0-9a-f]{16}$/);
  assert.equal(r.json.name, 'Corner Deli');
  assert.equal(r.json.currency, 'GBP');
  assert.match(r.json.shop_token, /^tsk_shop_[0-9a-f]{64}$/);
  assert.match(r.json.recovery_code, /^tsk_rec_[0-9a-f]{64}$/);
  const again = await hub.post('/v1/shops', server.operatorToken, { name: 'Corner Deli', currency: 'GBP' });
  assert.notEqual(again.json.shop_id, r.json.shop_id, 'every shop gets its own id');
  assert.notEqual(again.json.shop_token, r.json.shop_token);
});

test('shop creation refuses bad names and currencies, and non-operators', async () => {
  assertProblem(assert, await hub.post('/v1/shops', server.operatorToken, { name: '' }), 400, 'bad_value');
  assertProblem(assert, await hub.post('/v1/shops', server.operatorToken, { name: 'x'.repeat(121) }), 400, 'bad_value');
  assertProblem(assert, await hub.post('/v1/shops', server.operatorToken, { name: 'A', currency: 'eur' }), 400, 'bad_value');
  assertProblem(assert, await hub.post('/v1/shops', server.operatorToken, { name: 'A', owner: 'x' }), 400, 'bad_request');
  assertProblem(assert, await hub.post('/v1/shops', server.operatorToken, { name: 7 }), 400, 'bad_request');
  const shop = await hub.createShop('Refuser');
  assertProblem(assert, await hub.post('/v1/shops', shop.shop_token, { name: 'Mine' }), 403, 'forbidden');
  assertProblem(assert, await hub.post('/v1/shops', undefined, { name: 'Mine' }), 401, 'unauthorized');
});

test('a shop token registers devices with distinct receipt prefixes; the shop comes from the token', async () => {
  const shop = await hub.createShop('Bakery', 'EUR');
  const a = await hub.post('/v1/devices', shop.shop_token, { name: 'Front till' });
  assert.equal(a.status, 201, a.text);
  assert.match(a.json.device_id, /^dev_[0-9a-f]{16}$/);
  assert.match(a.json.device_token, /^tsk_dev_[0-9a-f]{64}$/);
  assert.equal(a.json.shop_id, shop.shop_id);
  assert.equal(a.json.shop_name, 'Bakery');
  assert.equal(a.json.currency, 'EUR');
  assert.equal(a.json.receipt_prefix, 'D1');
  const b = await hub.post('/v1/devices', shop.shop_token, { name: 'Back till' });
  assert.equal(b.json.receipt_prefix, 'D2');
  // A body naming a shop is refused outright, not silently ignored.
  assertProblem(assert, await hub.post('/v1/devices', shop.shop_token, { name: 'X', shop_id: 'shop_0' }), 400, 'bad_request');
  // Other roles may not register devices.
  assertProblem(assert, await hub.post('/v1/devices', a.json.device_token, { name: 'X' }), 403, 'forbidden');
  assertProblem(assert, await hub.post('/v1/devices', server.operatorToken, { name: 'X' }), 403, 'forbidden');

  const info = await hub.get('/v1/shop', a.json.device_token);
  assert.equal(info.status, 200);
  assert.equal(info.json.shop_id, shop.shop_id);
  assert.equal(info.json.device_id, a.json.device_id);
  assert.deepEqual(info.json.devices.map((d) => [d.name, d.receipt_prefix, d.active]),
    [['Front till', 'D1', true], ['Back till', 'D2', true]]);
  const byShop = await hub.get('/v1/shop', shop.shop_token);
  assert.equal(byShop.json.name, 'Bakery');
});

test('tokens and recovery codes are stored only as SHA-256 hashes', async () => {
  const shop = await hub.createShop('Hash check');
  const dev = await hub.post('/v1/devices', shop.shop_token, { name: 'T' });
  const bytes = Buffer.concat([fs.readFileSync(server.dbPath),
    fs.existsSync(`${server.dbPath}-wal`) ? fs.readFileSync(`${server.dbPath}-wal`) : Buffer.alloc(0)]);
  for (const secret of [shop.shop_token, shop.recovery_code, dev.json.device_token, server.operatorToken]) {
    const secretPart = secret.slice(secret.lastIndexOf('_') + 1);
    assert.equal(bytes.indexOf(secretPart), -1, `the database holds the secret of ${secret.slice(0, 9)}`);
  }
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256').update(dev.json.device_token).digest('hex');
  assert.notEqual(bytes.indexOf(hash), -1, 'the hash of the device token is what is stored');
});

test('a recovery code issues new shop credentials once and revokes the old ones; devices keep working', async () => {
  const shop = await hub.createShop('Recoverable');
  const dev = await hub.registerDevice(shop.shop_token, 'Till');
  const r = await hub.post('/v1/recover', undefined, { recovery_code: shop.recovery_code });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.shop_id, shop.shop_id);
  assert.match(r.json.shop_token, /^tsk_shop_/);
  assert.match(r.json.recovery_code, /^tsk_rec_/);
  assert.notEqual(r.json.recovery_code, shop.recovery_code);

  const old = await hub.get('/v1/shop', shop.shop_token);
  assertProblem(assert, old, 401, 'unauthorized');
  assert.equal(old.json.reason, 'revoked');
  assert.equal((await hub.get('/v1/shop', r.json.shop_token)).status, 200);
  // The spent code is refused, the same way as a code that never existed.
  const spent = await hub.post('/v1/recover', undefined, { recovery_code: shop.recovery_code });
  assertProblem(assert, spent, 401, 'unauthorized');
  const never = await hub.post('/v1/recover', undefined, { recovery_code: `tsk_rec_${'0'.repeat(64)}` });
  assert.equal(never.json.detail, spent.json.detail);
  // A recovery code is not a bearer token.
  assertProblem(assert, await hub.get('/v1/shop', r.json.recovery_code), 401, 'unauthorized');
  // The device was not affected.
  assert.equal((await dev.pull()).status, 200);
  // The new code works once more.
  const again = await hub.post('/v1/recover', undefined, { recovery_code: r.json.recovery_code });
  assert.equal(again.status, 200);
  assertProblem(assert, await hub.get('/v1/shop', r.json.shop_token), 401, 'unauthorized');
  assertProblem(assert, await hub.post('/v1/recover', undefined, { code: 'x' }), 400, 'bad_request');
});

test('a shop revokes its device; the device is refused with 401 revoked from then on', async () => {
  const shop = await hub.createShop('Revoker');
  const dev = await hub.registerDevice(shop.shop_token, 'Lost tablet');
  assert.equal((await dev.pull()).status, 200);
  const r = await hub.post('/v1/tokens/revoke', shop.shop_token, { device_id: dev.id });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.revoked, 1);
  const refused = await dev.pull();
  assertProblem(assert, refused, 401, 'unauthorized');
  assert.equal(refused.json.reason, 'revoked');
  assert.equal(refused.headers['www-authenticate'], 'Bearer');
  const push = await dev.push([dev.saleOp()]);
  assertProblem(assert, push, 401, 'unauthorized');
  const info = await hub.get('/v1/shop', shop.shop_token);
  assert.equal(info.json.devices[0].active, false);
  // Revoking again revokes nothing more.
  assert.equal((await hub.post('/v1/tokens/revoke', shop.shop_token, { device_id: dev.id })).json.revoked, 0);
});

test('a device may revoke its own token, the operator any token', async () => {
  const shop = await hub.createShop('Self revoke');
  const dev = await hub.registerDevice(shop.shop_token, 'A');
  const other = await hub.registerDevice(shop.shop_token, 'B');
  // A device cannot revoke another device of its own shop.
  assertProblem(assert, await hub.post('/v1/tokens/revoke', dev.token, { token: other.token }), 404, 'not_found');
  assertProblem(assert, await hub.post('/v1/tokens/revoke', dev.token, { device_id: other.id }), 404, 'not_found');
  assert.equal((await hub.post('/v1/tokens/revoke', dev.token, { token: dev.token })).json.revoked, 1);
  assertProblem(assert, await dev.pull(), 401, 'unauthorized');
  assert.equal((await hub.post('/v1/tokens/revoke', server.operatorToken, { token: other.token })).json.revoked, 1);
  assertProblem(assert, await other.pull(), 401, 'unauthorized');
  assertProblem(assert, await hub.post('/v1/tokens/revoke', shop.shop_token, { token: 'x', device_id: 'y' }), 400, 'bad_request');
  assertProblem(assert, await hub.post('/v1/tokens/revoke', shop.shop_token, { device_id: 'bad id!' }), 400, 'bad_id');
});

test('rotate-token on the command line works beside a running server; an expired token is refused', async () => {
  const shop = await hub.createShop('Rotating');
  const dev = await hub.registerDevice(shop.shop_token, 'T');
  const rotated = cli(['rotate-token', '--db', server.dbPath, '--device', dev.id, '--ttl-seconds', '2']);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(rotated.json.token, /^tsk_dev_/);
  assertProblem(assert, await dev.pull(), 401, 'unauthorized');
  dev.token = rotated.json.token;
  assert.equal((await dev.pull()).status, 200, 'the new token works at once');
  await new Promise((r) => setTimeout(r, 2300));
  const expired = await dev.pull();
  assertProblem(assert, expired, 401, 'unauthorized');
  assert.equal(expired.json.reason, 'expired');
});

test('unknown and malformed credentials are refused alike, without echoing them', async () => {
  const fake = `tsk_dev_${'ab'.repeat(32)}`;
  const unknown = await hub.post('/v1/pull', fake, {});
  assertProblem(assert, unknown, 401, 'unauthorized');
  assert.equal(unknown.json.reason, 'unknown');
  assert.ok(!unknown.text.includes('abab'), 'the token is not echoed');
  const garbage = await hub.post('/v1/pull', 'not a token at all', {});
  assertProblem(assert, garbage, 401, 'unauthorized');
  assert.equal(garbage.json.detail, unknown.json.detail);
  const basic = await hub.post('/v1/pull', undefined, {}, { headers: { Authorization: 'Basic dXNlcjpwYXNz' } });
  assertProblem(assert, basic, 401, 'unauthorized');
});
