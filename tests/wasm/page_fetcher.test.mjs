// worker/page_fetcher.js: the helper that reads pull pages on another thread, and the owner's
// side of it. In the browser the two ends are a worker and its nested helper worker; here they
// are the two ports of a MessageChannel (the same postMessage / transfer semantics), against a
// small HTTP server on 127.0.0.1. The owner's download through it runs in owner_sync.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { AsideFetcher, servePageFetches } from '../../worker/page_fetcher.js';

let server;
let base;
const slowRequests = new Set();

before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      if (req.url === '/echo') {
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'X-Seen-Auth': req.headers.authorization ?? '' });
        res.end(JSON.stringify({ method: req.method, body, text: 'caf\u00e9 \u20ac' }));
      } else if (req.url === '/refused') {
        res.writeHead(409, { 'Content-Type': 'application/problem+json' });
        res.end('{"code":"conflict"}');
      } else if (req.url === '/empty') {
        res.writeHead(204);
        res.end();
      } else if (req.url === '/slow') {
        slowRequests.add(res);  // answered by the test, or never
        res.on('close', () => slowRequests.delete(res));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  for (const res of slowRequests) res.destroy();
  await new Promise((resolve) => server.close(resolve));
});

// A helper on the other end of a MessageChannel; `counts.helper` counts the requests it served.
function channelHelper(counts) {
  const { port1, port2 } = new MessageChannel();
  servePageFetches(port1, (url, init) => { counts.helper++; return fetch(url, init); });
  port2.terminate = () => { port1.close(); port2.close(); };
  return port2;
}

function fetcher() {
  const counts = { helper: 0, fallback: 0, started: 0 };
  const aside = new AsideFetcher(() => { counts.started++; return channelHelper(counts); },
    (url, init) => { counts.fallback++; return fetch(url, init); });
  return { aside, counts };
}

const post = (body, extra = {}) => ({ method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer t0k' }, body, ...extra });

test('AnAnswerReadByTheHelperArrivesAsAResponseWithItsStatusHeadersAndBytes', async () => {
  const { aside, counts } = fetcher();
  try {
    const res = await aside.fetch(`${base}/echo`, post('{"cursor":5}'));
    assert.equal(res.status, 200);
    assert.equal(res.ok, true);
    assert.equal(res.headers.get('x-seen-auth'), 'Bearer t0k', 'the request headers reached the server');
    const bytes = new Uint8Array(await res.arrayBuffer());
    const answer = JSON.parse(new TextDecoder().decode(bytes));
    assert.deepEqual(answer, { method: 'POST', body: '{"cursor":5}', text: 'caf\u00e9 \u20ac' });
    // A refusal keeps its status and body (the owner reads the problem's code from it).
    const refused = await aside.fetch(`${base}/refused`, post('{}'));
    assert.equal(refused.status, 409);
    assert.deepEqual(await refused.json(), { code: 'conflict' });
    const empty = await aside.fetch(`${base}/empty`, post('{}'));
    assert.equal(empty.status, 204);
    assert.deepEqual(counts, { helper: 3, fallback: 0, started: 1 }, 'one helper, started once, served all three');
    assert.deepEqual(aside.stats, { helper: 3, ownThread: 0, broken: false });
  } finally {
    aside.close();
  }
});

test('ANetworkFailureInTheHelperRejectsAsFetchWould', async () => {
  const { aside } = fetcher();
  const closed = http.createServer();
  await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = closed.address().port;
  await new Promise((resolve) => closed.close(resolve));  // nothing listens there now
  try {
    await assert.rejects(aside.fetch(`http://127.0.0.1:${port}/echo`, post('{}')), (e) => e instanceof TypeError);
  } finally {
    aside.close();
  }
});

test('AnAbortRejectsWithAbortErrorAndStopsTheHelpersRequest', async () => {
  const { aside } = fetcher();
  try {
    const abort = new AbortController();
    const answer = aside.fetch(`${base}/slow`, post('{}', { signal: abort.signal }));
    while (slowRequests.size === 0) await new Promise((r) => setTimeout(r, 5));
    abort.abort();
    await assert.rejects(answer, (e) => e.name === 'AbortError');
    // The helper aborted its own fetch: the server sees the connection close.
    const deadline = Date.now() + 5000;
    while (slowRequests.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(slowRequests.size, 0);
    // Already aborted: rejected at once, nothing sent.
    await assert.rejects(aside.fetch(`${base}/echo`, post('{}', { signal: abort.signal })), (e) => e.name === 'AbortError');
  } finally {
    aside.close();
  }
});

test('WhenTheHelperDiesItsRequestsInFlightAndLaterOnesAreFetchedOnTheOwnersThread', async () => {
  const { aside, counts } = fetcher();
  try {
    const inFlight = aside.fetch(`${base}/slow`, post('{"page":1}'));
    while (slowRequests.size === 0) await new Promise((r) => setTimeout(r, 5));
    aside.helper.onerror({ preventDefault() {} });  // what a crashed or unloadable worker raises
    // Refetched on this thread: the server now holds that request too (beside the helper's, whose
    // answer has nowhere to go); answer both.
    const deadline = Date.now() + 5000;
    while (slowRequests.size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(counts.fallback, 1);
    assert.equal(slowRequests.size, 2);
    for (const res of slowRequests) { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('late page'); }
    assert.equal(await (await inFlight).text(), 'late page');
    const later = await aside.fetch(`${base}/echo`, post('{}'));
    assert.equal(later.status, 200);
    assert.equal(counts.fallback, 2);
    assert.equal(counts.started, 1, 'a broken helper is not started again');
    assert.deepEqual(aside.stats, { helper: 0, ownThread: 2, broken: true });
  } finally {
    aside.close();
  }
});

test('WhereNoHelperCanStartEveryRequestIsFetchedOnTheOwnersThread', async () => {
  let fallback = 0;
  const aside = new AsideFetcher(() => { throw new Error('Worker is not defined'); },
    (url, init) => { fallback++; return fetch(url, init); });
  const res = await aside.fetch(`${base}/echo`, post('{}'));
  assert.equal(res.status, 200);
  assert.equal(fallback, 1);
  assert.deepEqual(aside.stats, { helper: 0, ownThread: 1, broken: true });
  aside.close();
});
