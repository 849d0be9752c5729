// page_fetcher.js: reading the hub's pull pages on a second thread while the engine applies one.
//
// Why: the owner worker fetches the next pull page while the engine applies the current one
// (owner.js), but applying is one synchronous wasm call of tens of milliseconds, and during it
// nothing on that thread reads the answer in flight. The browser holds a response body in a
// bounded pipe until script reads it, so most of a 0.5 MB page is only read, chunk by chunk,
// after the apply ends: a few milliseconds per page, 21 pages in a 100,000-product download.
// A helper worker reads the whole answer meanwhile and hands the bytes over (transferred, not
// copied), so the owner finds the next page complete when it asks for it.
//
// The helper is the same script as the owner (worker.js): started with a name that begins with
// FETCHER_NAME_PREFIX it serves fetches instead of owning a database, so an app serves no
// extra file and a worker-src 'self' policy allows it. Only requests that may be repeated go
// through it (pull pages are reads): if the helper cannot start or dies, what was in flight is
// fetched again on the owner's own thread, and so is everything after.

export const FETCHER_NAME_PREFIX = 'tillsync-fetch:';

// The helper's side. Messages in: {id, url, init} (init without a signal) and {abort: id}.
// Out: {id, status, statusText, headers: [[name, value]...], body: ArrayBuffer} (transferred)
// or {id, error: {name, message}}.
export function servePageFetches(scope, fetchImpl = (...a) => fetch(...a)) {
  const running = new Map();  // id -> AbortController
  scope.onmessage = async ({ data }) => {
    if (data.abort !== undefined) {
      running.get(data.abort)?.abort();
      return;
    }
    const { id, url, init } = data;
    const controller = new AbortController();
    running.set(id, controller);
    try {
      const res = await fetchImpl(url, { ...init, signal: controller.signal });
      const body = await res.arrayBuffer();
      scope.postMessage({ id, status: res.status, statusText: res.statusText, headers: [...res.headers], body }, [body]);
    } catch (e) {
      scope.postMessage({ id, error: { name: e?.name ?? 'Error', message: String(e?.message ?? e) } });
    } finally {
      running.delete(id);
    }
  };
}

function abortError() {
  return new DOMException('the request was aborted', 'AbortError');
}

// The owner's side: fetch(url, init) answered by the helper, as a Response built from the bytes.
// startHelper() returns a Worker-like object (postMessage, onmessage, onerror, terminate) or
// throws; fallbackFetch is the owner thread's own fetch. init.signal aborts as it does for fetch.
export class AsideFetcher {
  constructor(startHelper, fallbackFetch) {
    this.startHelper = startHelper;
    this.fallbackFetch = fallbackFetch;
    this.helper = null;
    this.broken = false;
    this.nextId = 1;
    this.pending = new Map();  // id -> {url, init, resolve, reject, signal, onAbort}
    // For diagnostics: answers the helper read, requests fetched on the owner's thread instead
    // (a fallback is silent otherwise), and whether the helper gave up.
    this.stats = { helper: 0, ownThread: 0, broken: false };
  }

  fetch(url, init = {}) {
    const helper = this.ensureHelper();
    if (!helper) return this.ownThreadFetch(url, init);
    const { signal, ...plain } = init;
    if (signal?.aborted) return Promise.reject(abortError());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const entry = { url, init, resolve, reject, signal, onAbort: null };
      if (signal) {
        entry.onAbort = () => {
          this.settle(id);
          helper.postMessage({ abort: id });
          reject(abortError());
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.pending.set(id, entry);
      // Relative to the owner's location, not the helper's (they are the same script, but say it).
      const absolute = globalThis.location ? new URL(url, globalThis.location.href).href : String(url);
      helper.postMessage({ id, url: absolute, init: plain });
    });
  }

  // Stops the helper; requests in flight are fetched on this thread instead.
  close() {
    this.broken = true;
    if (this.helper) this.helper.terminate();
    this.helper = null;
    this.refetchPending();
  }

  ensureHelper() {
    if (this.helper || this.broken) return this.helper;
    try {
      this.helper = this.startHelper();
    } catch {
      this.broken = true;  // no nested workers here: fetch on this thread from now on
      this.stats.broken = true;
      return null;
    }
    this.helper.onmessage = ({ data }) => this.answer(data);
    this.helper.onerror = (event) => {
      event?.preventDefault?.();  // handled: not an uncaught error of the owner
      this.stats.broken = true;
      this.close();
    };
    return this.helper;
  }

  answer({ id, error, status, statusText, headers, body }) {
    const entry = this.settle(id);
    if (!entry) return;  // aborted meanwhile
    this.stats.helper++;
    if (error) {
      entry.reject(error.name === 'AbortError' ? abortError() : new TypeError(error.message));
      return;
    }
    // A null-body status (204, 304) cannot carry even an empty body.
    const bytes = body && body.byteLength > 0 ? body : null;
    entry.resolve(new Response(bytes, { status, statusText, headers }));
  }

  settle(id) {
    const entry = this.pending.get(id);
    if (!entry) return null;
    this.pending.delete(id);
    if (entry.signal && entry.onAbort) entry.signal.removeEventListener('abort', entry.onAbort);
    return entry;
  }

  refetchPending() {
    for (const id of [...this.pending.keys()]) {
      const entry = this.settle(id);
      this.ownThreadFetch(entry.url, entry.init).then(entry.resolve, entry.reject);
    }
  }

  ownThreadFetch(url, init) {
    this.stats.ownThread++;
    return this.fallbackFetch(url, init);
  }
}
