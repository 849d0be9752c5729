// The PWA's static files: one process on one port is the whole product. MIME types (wasm must be
// application/wasm), the app shell for / and for client-side routes, no-cache on index.html and
// sw.js, ETag revalidation, and no way out of the --static directory.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { HubClient, assertProblem, request, startServer, tempDir } from './hub_harness.mjs';

let server;
let hub;
let root;
const files = {
  'index.html': '<!doctype html><title>tillsync</title>',
  'sw.js': 'self.addEventListener("fetch", () => {});',
  'app.mjs': 'export const x = 1;',
  'worker.js': 'postMessage(1);',
  'tillsync.wasm': Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]),
  'manifest.webmanifest': '{"name":"tillsync"}',
  'icons/icon-192.png': Buffer.from([0x89, 0x50, 0x4e, 0x47]),
  'style.css': 'body{}',
};
before(async () => {
  const dir = tempDir('static');
  root = path.join(dir, 'dist');
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'outside the root');
  fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'link.txt'));
  server = await startServer({ dir, args: ['--static', root] });
  hub = new HubClient(server);
});
after(async () => { await server?.stop(); });

const cases = [
  ['/', 'text/html; charset=utf-8', 'index.html', 'no-cache'],
  ['/index.html', 'text/html; charset=utf-8', 'index.html', 'no-cache'],
  ['/sw.js', 'text/javascript; charset=utf-8', 'sw.js', 'no-cache'],
  ['/app.mjs', 'text/javascript; charset=utf-8', 'app.mjs'],
  ['/worker.js', 'text/javascript; charset=utf-8', 'worker.js'],
  ['/tillsync.wasm', 'application/wasm', 'tillsync.wasm'],
  ['/manifest.webmanifest', 'application/manifest+json', 'manifest.webmanifest'],
  ['/icons/icon-192.png', 'image/png', 'icons/icon-192.png'],
  ['/style.css', 'text/css; charset=utf-8', 'style.css'],
  ['/sales/today', 'text/html; charset=utf-8', 'index.html', 'no-cache'],
];
for (const [p, type, file, cache] of cases) {
  test(`GET ${p} serves ${file} as ${type}`, async () => {
    const r = await request(hub.url + p);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], type);
    assert.equal(r.text, Buffer.from(files[file]).toString('utf8'));
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.match(r.headers.etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    if (cache) assert.equal(r.headers['cache-control'], cache);
    assert.equal(r.headers['cache-control'].split(',').length, 1, 'one Cache-Control value');
  });
}

test('a matching If-None-Match gets 304; HEAD gets headers only', async () => {
  const first = await request(`${hub.url}/tillsync.wasm`);
  const again = await request(`${hub.url}/tillsync.wasm`, { headers: { 'If-None-Match': first.headers.etag } });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  const head = await request(`${hub.url}/tillsync.wasm`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-type'], 'application/wasm');
  assert.equal(head.text, '');
});

function rawGet(p) {
  return new Promise((resolve) => {
    const s = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('close', () => resolve(data));
    s.write(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  });
}

test('paths cannot leave the static root, by dots, encoded dots or symlinks', async () => {
  for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/icons/../../secret.txt',
    '/link.txt', '/%2e%2e%2fhub.db', '/../hub.db']) {
    const data = await rawGet(p);
    assert.match(data, /^HTTP\/1\.1 404/, `${p}: ${data.slice(0, 80)}`);
    assert.ok(!data.includes('outside the root'), p);
    assert.ok(!data.includes('SQLite format'), p);
  }
  assert.equal((await request(`${hub.url}/missing.js`)).status, 404);
});

test('API paths never fall back to the app shell', async () => {
  const r = await request(`${hub.url}/v1/unknown`);
  assertProblem(assert, r, 404, 'not_found');
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal((await request(`${hub.url}/v1/health`)).json.status, 'ok');
});
