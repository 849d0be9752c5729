// The page the browser suites (e2e/store.test.mjs) drive: it imports the BUILT npm package
// (dist/ served under /tillsync/ by the real hub's --static, so page, worker, wasm and the hub API
// share one origin, as in a deployment) and exposes a few helpers on window for page.evaluate.
import * as tillsync from '/tillsync/index.js';

window.tillsync = tillsync;
window.statuses = [];
window.progress = [];
window.changes = [];
window.callErrors = [];

window.openTill = async (options = {}) => {
  window.store = await tillsync.openStore({ workerUrl: '/tillsync/worker.js', wasmUrl: '/tillsync/tillsync.wasm',
    writeDebounceMs: 50, ...options });
  window.store.onStatus((s) => window.statuses.push(s));
  window.store.onProgress((p) => window.progress.push(p));
  window.store.onChange((t) => window.changes.push(t));
  return window.store.identity;
};

// Runs store[method](...args); resolves {ok, result} or {ok: false, code, message} so the test
// sees TillsyncError codes (page.evaluate would flatten the error).
window.run = async (method, ...args) => {
  try {
    return { ok: true, result: await window.store[method](...args) };
  } catch (e) {
    window.callErrors.push(`${e.code}: ${e.message}`);
    return { ok: false, code: e.code, message: e.message, name: e.name };
  }
};

window.ready = true;
