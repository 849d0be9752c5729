// worker.js: the dedicated worker that owns the database (one per origin and store name; the
// tabs elect which tab starts it, see index.js). It loads the wasm module, hands everything to a
// DatabaseOwner (owner.js) and speaks this message protocol with the tab that started it:
//   tab -> worker: {type:'init', config}  {type:'call', key, method, args, requestId}
//                  {type:'notify', event: 'online'|'offline'|'visible'}  {type:'close', key}
//   worker -> tab: {type:'ready', identity, status} | {type:'initError', error}
//                  {type:'reply', key, ok, result | error}
//                  {type:'event', kind: 'status'|'progress'|'change', payload}
// Calls that arrive before init finishes wait for it (messages are handled in order).
import createTillsyncModule from '../build-wasm/tillsync.mjs';
import { DatabaseOwner } from './owner.js';
import { OutboxMirror } from './outbox_mirror.js';
import { TillsyncError } from './errors.js';

let owner = null;
let ready = null;

async function init(config) {
  const wasmUrl = config.wasmUrl ? new URL(config.wasmUrl, self.location.href).href
    : new URL('./tillsync.wasm', import.meta.url).href;
  const module = await createTillsyncModule({
    // Emscripten looks for "tillsync.wasm" beside its own script; the app says where it is.
    locateFile: (file) => (file.endsWith('.wasm') ? wasmUrl : file),
  });
  owner = new DatabaseOwner({
    module,
    emit: (kind, payload) => self.postMessage({ type: 'event', kind, payload }),
    mirror: typeof indexedDB === 'undefined' ? null : new OutboxMirror(config.name || 'tillsync'),
    online: typeof navigator === 'undefined' ? true : navigator.onLine,
  });
  return owner.open(config);
}

self.addEventListener('online', () => owner && owner.notify('online'));
self.addEventListener('offline', () => owner && owner.notify('offline'));

self.onmessage = async (event) => {
  const msg = event.data;
  if (msg.type === 'init') {
    ready = init(msg.config);
    try {
      const info = await ready;
      self.postMessage({ type: 'ready', ...info });
    } catch (e) {
      self.postMessage({ type: 'initError', error: TillsyncError.from(e).toPlain() });
    }
    return;
  }
  if (!ready) return;
  try {
    await ready;
  } catch (e) {
    if (msg.key !== undefined) self.postMessage({ type: 'reply', key: msg.key, ok: false, error: TillsyncError.from(e).toPlain() });
    return;
  }
  if (msg.type === 'notify') { owner.notify(msg.event); return; }
  if (msg.type === 'close') {
    await owner.close();
    self.postMessage({ type: 'reply', key: msg.key, ok: true, result: null });
    return;
  }
  if (msg.type === 'call') {
    try {
      const result = await owner.call(msg.method, msg.args, msg.requestId);
      self.postMessage({ type: 'reply', key: msg.key, ok: true, result });
    } catch (e) {
      self.postMessage({ type: 'reply', key: msg.key, ok: false, error: TillsyncError.from(e).toPlain() });
    }
  }
};
