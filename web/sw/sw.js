// The POS service worker. Three jobs, and one thing it never does:
//   1. Precache the app shell (HTML, JS, CSS, manifest, icons) and the engine (worker script +
//      .wasm) at install, so the till starts with no network, even in a run where no tab has
//      been online.
//   2. Serve them cache-first; hub API calls (/v1/...) always go to the network untouched.
//   3. Background Sync: upload pending sales when no tab is open (background_upload.js).
//   Never: open the database. OPFS sync access handles are exclusive and belong to the
//   dedicated worker the package runs; a second opener would break it.
//
// Versions: __VERSION__ and __PRECACHE__ are filled in by scripts/build-web.sh from the built
// files' contents, so a rebuilt app is a byte-different sw.js and the browser installs it as a
// new version. A new version waits until a tab says "skip-waiting" (the "update available"
// banner), and on activation it keeps the previous version's cache as well as its own: a tab
// still running the old version may fetch a file of it later (see web/src/lib/sw_client.js),
// and must not find it gone. Older caches are deleted.
import { uploadPending } from './background_upload.js';

/* global __VERSION__, __PRECACHE__ */
const VERSION = __VERSION__;
const PRECACHE = __PRECACHE__;
const PREFIX = 'tillsync-shell-';
const CACHE = PREFIX + VERSION;
const META = 'tillsync-sw-meta';
const SCOPE = new URL(self.registration.scope);

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // cache: 'reload' bypasses the HTTP cache, so the precache holds exactly this build.
    await cache.addAll(PRECACHE.map((p) => new Request(new URL(p, SCOPE), { cache: 'reload' })));
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    // Activation order is remembered in a small meta cache: keep this version and the one
    // before it, delete the rest.
    const meta = await caches.open(META);
    const res = await meta.match('versions');
    const history = res ? await res.json() : [];
    const next = [...history.filter((v) => v !== VERSION), VERSION].slice(-2);
    await meta.put('versions', new Response(JSON.stringify(next)));
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && !next.includes(name.slice(PREFIX.length))) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data?.type === 'skip-waiting') self.skipWaiting();
});

function isApi(url) {
  return url.pathname.startsWith(`${SCOPE.pathname}v1/`) || url.pathname.startsWith('/v1/');
}

async function fromCache(request) {
  // This version's cache first, then any kept version's (an old tab's files).
  return (await (await caches.open(CACHE)).match(request, { ignoreSearch: true }))
    ?? caches.match(request, { ignoreSearch: true });
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== SCOPE.origin || isApi(url)) return;
  if (request.mode === 'navigate') {
    // Every page of the app is the one index.html (routes live in the #hash).
    event.respondWith((async () => (await fromCache(new URL('index.html', SCOPE).href)) ?? fetch(request))());
    return;
  }
  event.respondWith((async () => {
    const hit = await fromCache(request);
    if (hit) return hit;
    return fetch(request);
  })());
});

self.addEventListener('sync', (event) => {
  if (event.tag === 'tillsync-upload') event.waitUntil(uploadPending());
});
