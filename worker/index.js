// index.js: the page side of the npm package (types: index.d.ts). A web developer imports
// openStore() from here; everything else runs in the dedicated worker (worker.js) that owns the
// database.
//
// One owner per origin and store name. OPFS sync access handles are exclusive and exist only in
// dedicated workers, so exactly one tab may run the worker. The tabs elect it with a Web Lock
// ("tillsync-owner:<name>"): the tab holding the lock starts the worker and is the OWNER; the
// lock is released by the browser when that tab closes or crashes, and the next waiting tab gets
// it and starts its own worker. Other tabs send their calls to the owner over a BroadcastChannel:
//
//   tab --{call, to: owner, from, id, method, args, requestId}--> owner tab --> its worker
//   tab <--{reply, to, id, ok, result|error}-- owner tab <-- worker
//   every tab <--{event, kind, payload}-- owner tab  (status, progress, change)
//   {who} asks who the owner is; the owner answers {owner, ownerId} (also sent when it starts)
//
// No write lost, none duplicated: a call stays in this tab's `pending` map until a reply arrives.
// When a new owner announces itself, every unanswered call is sent again to it. Every mutating
// call carries a request id chosen HERE, before the first attempt, and the engine records it in
// the same transaction as the write (wasm/bindings.cc): if the old owner committed the write but
// died before replying, the new owner answers the retry with the first result instead of writing
// again. Sales also get their order id here, which the core itself dedupes.
import { TillsyncError } from './errors.js';

export { TillsyncError };

const MUTATING = new Set(['write', 'recordSale', 'voidSale', 'refundSale', 'receiveStock', 'adjustStock',
  'recordExpense', 'resolveConflict', 'retryQuarantined']);

function randomId(prefix) {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return prefix + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// Money and quantities are integers; anything else is refused before it leaves the tab.
function snakeSale(sale) {
  if (!sale || !Array.isArray(sale.lines)) throw new TillsyncError('bad_request', 'a sale needs lines: [{productId, qty}]');
  const out = {
    lines: sale.lines.map((l) => ({ product_id: l.productId, qty: l.qty })),
    order_id: sale.orderId || randomId('o'),
  };
  if (sale.payments) {
    out.payments = sale.payments.map((p) => {
      const q = { method: p.method };
      if (p.amountMinor !== undefined) q.amount_minor = p.amountMinor;
      if (p.tenderedMinor !== undefined) q.tendered_minor = p.tenderedMinor;
      return q;
    });
  }
  if (sale.customerId) out.customer_id = sale.customerId;
  return out;
}

function camelSale(r) {
  return { orderId: r.order_id, receiptNo: r.receipt_no, subtotalMinor: r.subtotal_minor, taxMinor: r.tax_minor,
    totalMinor: r.total_minor, changeMinor: r.change_minor, createdAt: r.created_at };
}

function changesOf(op) {
  return op && Array.isArray(op.changes) ? op.changes.map((c) => ({ table: c.table, id: c.id, values: c.values })) : [];
}

class StoreClient {
  constructor(name, options) {
    this.name = name;
    this.options = options;
    this.clientId = randomId('tab');
    this.channel = new BroadcastChannel(`tillsync:${name}`);
    this.pending = new Map();   // id -> {method, args, requestId, resolve, reject}
    this.nextId = 1;
    this.resent = 0;            // calls sent again to a new owner (diagnostics, tests)
    this.ownerId = null;
    this.ownerEpoch = 0;
    this.isOwner = false;
    this.worker = null;
    this.workerReady = false;
    this.releaseLock = null;
    this.lockAbort = new AbortController();
    this.closed = false;
    this.listeners = { status: new Set(), progress: new Set(), change: new Set() };
    this.resolvers = new Map();
    this.lastStatus = null;
    this.resolving = false;
    this.resolveAgain = false;  // a status with open conflicts came during a resolver run
    this.identity = null;
    this.onWindowEvent = this.onWindowEvent.bind(this);
  }

  async start() {
    this.channel.onmessage = (e) => this.onChannel(e.data);
    navigator.locks.request(`tillsync-owner:${this.name}`, { signal: this.lockAbort.signal }, () => this.becomeOwner())
      .catch((e) => { if (e.name !== 'AbortError') this.failAll(TillsyncError.from(e)); });
    this.channel.postMessage({ type: 'who' });
    addEventListener('online', this.onWindowEvent);
    addEventListener('offline', this.onWindowEvent);
    document.addEventListener('visibilitychange', this.onWindowEvent);
    // Ask once for persistent storage: only a page can (not a worker), and without it the
    // browser may evict the database under storage pressure. The answer is in storage().
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
    const hello = await this.call('hello');
    this.identity = Object.freeze({ ...hello.identity });
    this.setStatus(hello.status);
  }

  // ---- Ownership -------------------------------------------------------------------------------
  async becomeOwner() {
    if (this.closed) return;
    const url = this.options.workerUrl ?? new URL('./worker.js', import.meta.url);
    const worker = new Worker(url, { type: 'module', name: `tillsync:${this.name}` });
    this.worker = worker;
    worker.onmessage = (e) => this.onWorker(e.data);
    worker.onerror = (e) => {
      const error = new TillsyncError('internal', `the database worker failed: ${e.message || 'script error'}`);
      if (!this.workerReady) this.onWorker({ type: 'initError', error: error.toPlain() });
      else this.failAll(error);
    };
    const config = {
      name: this.name,
      hub: this.options.hub,
      syncIntervalMs: this.options.syncIntervalMs,
      writeDebounceMs: this.options.writeDebounceMs,
      syncOnOpen: this.options.syncOnOpen,
      wasmUrl: this.options.wasmUrl === undefined ? undefined : String(new URL(this.options.wasmUrl, location.href)),
    };
    const started = new Promise((resolve) => { this.onReady = resolve; });
    worker.postMessage({ type: 'init', config });
    await started;
    if (this.closed) return undefined;  // closed while the worker was starting: let the lock go
    // Hold the lock until close() (or until the browser drops it with the tab).
    return new Promise((resolve) => { this.releaseLock = resolve; });
  }

  onWorker(msg) {
    if (this.closed) return;
    if (msg.type === 'ready' || msg.type === 'initError') {
      if (msg.type === 'initError') this.initError = TillsyncError.fromPlain(msg.error);
      this.isOwner = true;
      this.workerReady = true;
      this.ownerId = this.clientId;
      this.ownerEpoch = Date.now();
      this.channel.postMessage({ type: 'owner', ownerId: this.clientId, epoch: this.ownerEpoch });
      for (const [id, entry] of this.pending) this.send(id, entry);
      this.onReady();
      return;
    }
    if (msg.type === 'reply') {
      const sep = msg.key.indexOf(':');
      const to = msg.key.slice(0, sep);
      const id = Number(msg.key.slice(sep + 1));
      if (to === this.clientId) this.settle(id, msg);
      else this.channel.postMessage({ type: 'reply', to, id, ok: msg.ok, result: msg.result, error: msg.error });
      return;
    }
    if (msg.type === 'event') {
      this.channel.postMessage(msg);
      this.deliver(msg.kind, msg.payload);
    }
  }

  onChannel(msg) {
    if (this.closed) return;
    switch (msg.type) {
      case 'who':
        if (this.isOwner) this.channel.postMessage({ type: 'owner', ownerId: this.clientId, epoch: this.ownerEpoch });
        break;
      case 'owner':
        // Owners follow one another (one lock); a late announcement of an earlier owner (an
        // answer to 'who' still in flight when it died) must not win over the current one.
        if (msg.ownerId === this.ownerId || msg.epoch < this.ownerEpoch) break;
        const handover = this.ownerId !== null;
        this.ownerId = msg.ownerId;
        this.ownerEpoch = msg.epoch;
        // A new owner: whatever the old one never answered goes to the new one (same request
        // ids, so a write the old owner did commit is answered, not repeated).
        for (const [id, entry] of this.pending) {
          this.send(id, entry);
          if (handover) this.resent++;
        }
        this.sendNotify(document.visibilityState === 'visible' ? 'visible' : null);
        break;
      case 'call':
        if (msg.to === this.clientId && this.isOwner) this.toWorker(`${msg.from}:${msg.id}`, msg);
        break;
      case 'notify':
        if (msg.to === this.clientId && this.isOwner && this.workerReady && !this.initError) {
          this.worker.postMessage({ type: 'notify', event: msg.event });
        }
        break;
      case 'reply':
        if (msg.to === this.clientId) this.settle(msg.id, msg);
        break;
      case 'event':
        this.deliver(msg.kind, msg.payload);
        break;
      default:
    }
  }

  toWorker(key, entry) {
    if (this.initError) {
      const sep = key.indexOf(':');
      const msg = { ok: false, error: this.initError.toPlain() };
      if (key.slice(0, sep) === this.clientId) this.settle(Number(key.slice(sep + 1)), msg);
      else this.channel.postMessage({ type: 'reply', to: key.slice(0, sep), id: Number(key.slice(sep + 1)), ...msg });
      return;
    }
    this.worker.postMessage({ type: 'call', key, method: entry.method, args: entry.args, requestId: entry.requestId });
  }

  send(id, entry) {
    if (this.isOwner && this.workerReady) this.toWorker(`${this.clientId}:${id}`, entry);
    else if (this.ownerId && this.ownerId !== this.clientId) {
      this.channel.postMessage({ type: 'call', to: this.ownerId, from: this.clientId, id,
        method: entry.method, args: entry.args, requestId: entry.requestId });
    }
    // else: no owner yet; sent when one announces itself.
  }

  call(method, ...args) {
    if (this.closed) return Promise.reject(new TillsyncError('closed', 'the store is closed'));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const entry = { method, args, requestId: MUTATING.has(method) ? randomId('rq') : '', resolve, reject };
      this.pending.set(id, entry);
      this.send(id, entry);
    });
  }

  settle(id, msg) {
    const entry = this.pending.get(id);
    if (!entry) return;  // answered already (a reply from an old owner after a retry, say)
    this.pending.delete(id);
    if (msg.ok) entry.resolve(msg.result);
    else entry.reject(TillsyncError.fromPlain(msg.error));
  }

  failAll(error) {
    for (const entry of this.pending.values()) entry.reject(error);
    this.pending.clear();
  }

  // ---- Events ----------------------------------------------------------------------------------
  onWindowEvent(e) {
    if (e.type === 'visibilitychange') {
      if (document.visibilityState === 'visible') this.sendNotify('visible');
    } else {
      this.sendNotify(e.type);
    }
  }

  sendNotify(event) {
    if (!event || this.closed) return;
    if (this.isOwner && this.workerReady && !this.initError) this.worker.postMessage({ type: 'notify', event });
    else if (this.ownerId) this.channel.postMessage({ type: 'notify', to: this.ownerId, event });
  }

  setStatus(s) {
    this.lastStatus = { ...s, isOwner: this.isOwner };
    for (const l of this.listeners.status) { try { l(this.lastStatus); } catch (e) { reportError(e); } }
    if (s.openConflicts > 0 && this.resolvers.size > 0) this.runResolvers();
  }

  deliver(kind, payload) {
    if (kind === 'status') { this.setStatus(payload); return; }
    for (const l of this.listeners[kind] ?? []) { try { l(payload); } catch (e) { reportError(e); } }
  }

  listen(kind, listener) {
    this.listeners[kind].add(listener);
    return () => this.listeners[kind].delete(listener);
  }

  // Resolvers run in the tab that registered them: conflicts are recorded by the worker, and
  // this tab resolves those of its tables with the merged row. A resolver that returns
  // undefined means last-writer-wins: this device's version is written again, on top of the
  // hub's current version.
  // A status that arrives during a run (a conflict recorded after this run read the list) makes
  // the run go round once more, instead of being dropped until some later status.
  async runResolvers() {
    if (this.resolving) {
      this.resolveAgain = true;
      return;
    }
    this.resolving = true;
    try {
      do {
        this.resolveAgain = false;
        try {
          const list = await this.call('conflicts');
          for (const c of list) {
            const resolver = this.resolvers.get(c.table_name);
            if (!resolver) continue;
            const merged = resolver(c.theirs, c.mine);
            await this.call('resolveConflict', c.id, merged === undefined ? c.mine : merged)
              .catch((e) => { if (e.code !== 'not_found') throw e; });  // another tab was faster
          }
        } catch (e) {
          reportError(e);
        }
      } while (this.resolveAgain && !this.closed);
    } finally {
      this.resolving = false;
    }
  }

  async close() {
    if (this.closed) return;
    if (this.isOwner && this.workerReady && !this.initError) {
      await new Promise((resolve) => {
        const id = this.nextId++;
        this.pending.set(id, { method: 'close', args: [], requestId: '', resolve, reject: resolve });
        this.worker.postMessage({ type: 'close', key: `${this.clientId}:${id}` });
      });
    }
    this.closed = true;
    this.failAll(new TillsyncError('closed', 'the store is closed'));
    removeEventListener('online', this.onWindowEvent);
    removeEventListener('offline', this.onWindowEvent);
    document.removeEventListener('visibilitychange', this.onWindowEvent);
    if (this.worker) this.worker.terminate();
    if (this.onReady) this.onReady();  // a worker still starting will never answer now
    this.lockAbort.abort();
    this.channel.close();
    // Last: another tab may take over only once our worker let go of the OPFS handles.
    if (this.releaseLock) this.releaseLock();
  }
}

class Store {
  constructor(client) {
    this._c = client;
    this.identity = client.identity;
  }

  write(changes) { return this._c.call('write', changes).then((r) => ({ seq: r.seq })); }
  recordSale(sale) {
    let input;
    try { input = snakeSale(sale); } catch (e) { return Promise.reject(e); }
    return this._c.call('recordSale', input).then(camelSale);
  }
  voidSale(orderId) { return this._c.call('voidSale', orderId).then((r) => ({ seq: r.seq })); }
  refundSale(orderId) { return this._c.call('refundSale', orderId).then((r) => ({ seq: r.seq })); }
  receiveStock(productId, qty) { return this._c.call('receiveStock', productId, qty).then((r) => ({ seq: r.seq })); }
  adjustStock(productId, delta) { return this._c.call('adjustStock', productId, delta).then((r) => ({ seq: r.seq })); }
  recordExpense(description, amountMinor) {
    return this._c.call('recordExpense', description, amountMinor).then((r) => ({ seq: r.seq }));
  }
  query(sql, params = []) { return this._c.call('query', sql, params); }

  sync() { return this._c.call('sync').then((s) => ({ ...s, isOwner: this._c.isOwner })); }
  status() { return this._c.call('status').then((s) => ({ ...s, isOwner: this._c.isOwner })); }
  onStatus(listener) {
    const off = this._c.listen('status', listener);
    if (this._c.lastStatus) listener(this._c.lastStatus);
    return off;
  }
  onProgress(listener) { return this._c.listen('progress', listener); }
  onChange(listener) { return this._c.listen('change', listener); }

  conflicts() {
    return this._c.call('conflicts').then((rows) => rows.map((c) => ({ id: c.id, table: c.table_name, rowId: c.row_id,
      mine: c.mine, theirs: c.theirs, createdAt: c.created_at })));
  }
  resolveConflict(id, values) { return this._c.call('resolveConflict', id, values).then((r) => ({ seq: r.seq })); }
  quarantine() {
    return this._c.call('quarantine').then((rows) => rows.map((q) => ({ seq: q.seq, code: q.code, reason: q.reason,
      changes: changesOf(q.op), createdAt: q.created_at })));
  }
  retryQuarantined(seq) { return this._c.call('retryQuarantined', seq).then((r) => ({ seq: r.seq })); }
  discardQuarantined(seq) { return this._c.call('discardQuarantined', seq).then(() => undefined); }
  registerResolver(table, resolver) {
    this._c.resolvers.set(table, resolver);
    if (this._c.lastStatus && this._c.lastStatus.openConflicts > 0) this._c.runResolvers();
  }

  outbox() {
    return this._c.call('outbox').then((rows) => rows.map((o) => ({ seq: o.seq, createdAt: o.created_at, changes: changesOf(o.op) })));
  }
  syncLog() { return this._c.call('syncLog').then((rows) => rows.map((r) => ({ at: r.at, kind: r.kind, detail: r.detail }))); }
  async storage() {
    const s = navigator.storage;
    const [persisted, estimate] = await Promise.all([
      s && s.persisted ? s.persisted().catch(() => false) : false,
      s && s.estimate ? s.estimate().catch(() => ({})) : {},
    ]);
    return { persisted: !!persisted, usage: estimate.usage ?? 0, quota: estimate.quota ?? 0 };
  }
  async clearLocalData(options = {}) {
    await this._c.call('clearLocalData', { force: !!options.force });
    await this._c.close();
  }
  close() { return this._c.close(); }
}

export async function openStore(options = {}) {
  if (typeof navigator === 'undefined' || !navigator.locks || typeof BroadcastChannel === 'undefined') {
    throw new TillsyncError('internal', 'openStore needs a browser page with Web Locks and BroadcastChannel');
  }
  const client = new StoreClient(options.name || 'tillsync', options);
  try {
    await client.start();
  } catch (e) {
    await client.close().catch(() => {});
    throw TillsyncError.from(e);
  }
  return new Store(client);
}

// ---- Provisioning: plain HTTP calls to the hub, no database involved ----------------------------
async function hubCall(hubUrl, route, token, body) {
  let res;
  try {
    res = await fetch(String(hubUrl).replace(/\/+$/, '') + route, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new TillsyncError('io_error', `hub unreachable: ${e.message}`);
  }
  let json = null;
  try { json = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    throw new TillsyncError(json && json.code ? json.code : 'internal',
      json && json.detail ? json.detail : `hub answered HTTP ${res.status}`, json ?? undefined);
  }
  return json;
}

export async function createShop(hubUrl, operatorToken, name, currency = 'EUR') {
  const r = await hubCall(hubUrl, '/v1/shops', operatorToken, { name, currency });
  return { shopId: r.shop_id, shopToken: r.shop_token, recoveryCode: r.recovery_code };
}

export async function registerDevice(hubUrl, shopToken, deviceName) {
  const r = await hubCall(hubUrl, '/v1/devices', shopToken, { name: deviceName });
  return { url: String(hubUrl).replace(/\/+$/, ''), shopId: r.shop_id, deviceId: r.device_id, deviceToken: r.device_token,
    receiptPrefix: r.receipt_prefix, currency: r.currency, shopName: r.shop_name };
}

export async function recoverShop(hubUrl, recoveryCode) {
  const r = await hubCall(hubUrl, '/v1/recover', null, { recovery_code: recoveryCode });
  return { shopId: r.shop_id, shopToken: r.shop_token, recoveryCode: r.recovery_code };
}
