// A loopback HTTP proxy between the browser and the hub, for the crash tests. The browser loads
// the app from the proxy's origin, so the page, its worker and every sync request go through it.
// A test can arm it to stall the next push:
//   - 'before': hold the push request, never forward it (the hub never sees it);
//   - 'after':  forward it, let the hub commit and answer, and hold the answer (the hub applied
//               the operations but the device never hears so: the "answer that never arrived").
// It can also refuse every push for a while (blockPushes), to keep sales pending while the page
// and the rest of the app work normally, hold every pull until told (holdPulls: a download that
// starts before the screen a test watches exists, and would otherwise be over before it), or
// drop every connection (setDown): no network.
// The held request's promise `stalled` resolves when the stall happened, so the test can kill
// the browser at exactly that point. Everything else passes straight through.
import http from 'node:http';

export async function startProxy(targetUrl) {
  const target = new URL(targetUrl);
  let armed = null;  // {mode, resolve}
  let blocked = false;  // every push answered 503 (the hub "down" for uploads only)
  let down = false;     // every request's connection dropped: no network at all
  let pullsHeld = false;  // pulls wait in `waitingPulls` until holdPulls(false)
  const waitingPulls = [];
  const held = new Set();
  const server = http.createServer((req, res) => {
    if (down) { req.socket.destroy(); return; }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (blocked && req.url.startsWith('/v1/push')) {
        res.writeHead(503, { 'Content-Type': 'application/problem+json', 'Retry-After': '1' });
        res.end(JSON.stringify({ type: 'urn:tillsync:problem:busy', title: 'Blocked by the test proxy', status: 503,
          code: 'busy', detail: 'uploads are blocked by the test' }));
        return;
      }
      if (pullsHeld && req.url.startsWith('/v1/pull')) {
        waitingPulls.push(() => forward(body));
        return;
      }
      forward(body);
    });
    const forward = (body) => {
      const stall = req.method === 'POST' && req.url.startsWith('/v1/push') && armed ? armed : null;
      if (stall) armed = null;
      if (stall?.mode === 'before') {
        held.add(res);
        stall.resolve({ mode: 'before' });
        return;  // never forwarded, never answered
      }
      const headers = { ...req.headers, host: target.host };
      const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers },
        (upRes) => {
          const out = [];
          upRes.on('data', (c) => out.push(c));
          upRes.on('end', () => {
            if (stall?.mode === 'after') {
              held.add(res);
              stall.resolve({ mode: 'after', status: upRes.statusCode, body: Buffer.concat(out).toString('utf8') });
              return;  // the hub committed; the device never gets the answer
            }
            res.writeHead(upRes.statusCode, upRes.headers);
            res.end(Buffer.concat(out));
          });
        });
      up.on('error', () => { res.writeHead(502); res.end(); });
      up.end(body);
    };
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    server,
    /** Stalls the next push; resolves with {mode, ...} once it is stalled. */
    stallNextPush(mode) {
      return new Promise((resolve) => { armed = { mode, resolve }; });
    },
    disarm() { armed = null; },
    /**
     * While true, every connection is dropped, whoever makes it: the page, its worker and the
     * service worker alike (Playwright's offline emulation does not reach a service worker's
     * Background Sync, so a test that needs "no network" for the whole browser uses this too).
     */
    setDown(on) {
      down = on;
      if (on) server.closeAllConnections?.();
    },
    /** While true, every push is answered 503 and never reaches the hub. */
    blockPushes(on) { blocked = on; },
    /** While true, pulls are held (not forwarded); false forwards the held ones and lets the rest through. */
    holdPulls(on) {
      pullsHeld = on;
      if (!on) for (const go of waitingPulls.splice(0)) go();
    },
    releaseHeld() {
      for (const res of held) res.destroy();
      held.clear();
    },
    async close() {
      this.releaseHeld();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
