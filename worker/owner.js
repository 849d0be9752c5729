// owner.js: the database owner. Everything the dedicated worker does, written without worker
// globals so Node tests can run it on the in-memory OPFS fake against a real hub: it acquires
// the OPFS pool, opens the engine, answers calls, and runs the sync loop. worker/worker.js wires
// it to postMessage; worker/index.js (the page side) elects which tab's worker is the owner.
//
// The sync loop (one cycle at a time; a trigger during a cycle runs one more cycle after it):
//
//     triggers: open | online | tab visible | local write (debounced) | period | retry timer
//                  | sync() called
//     cycle:    SyncStarted
//               push:  BuildPush -> POST /v1/push -> HandlePushResponse   (while ops remain; the
//                      next body is built after the last one's ops while the POST is out)
//               pull:  BuildPull -> POST /v1/pull -> HandlePullResponse   (while more)
//               ok   -> SyncSucceeded                          -> idle, retry timer cleared
//               fail -> SyncFailed(code, network?)             -> offline | failed: retry after the
//                       engine's backoff (status.next_retry_delay_ms) | update_required: no
//                       automatic retry (pending operations are kept)
//
// No transaction is held across a request: the engine hands out bytes and takes bytes back, and
// local writes run between the awaits of a cycle. A crash anywhere leaves the outbox as it was;
// the next cycle resends the same operation ids and the hub answers replays with its first answer.
//
// Threading: single-threaded (one worker). The OPFS pool and the engine belong to this owner.
import { Engine } from './engine.js';
import { TillsyncError } from './errors.js';

// Journal and durability settings of the browser database. Measured in headless Chromium on real
// OPFS (bench/README.md, "Browser"; bench/opfs_commit.mjs): a durable commit costs about what its
// OPFS flushes cost (0.25-0.46 ms each), so the winner is the mode with the fewest flushes.
//   - journal_mode=WAL + locking_mode=EXCLUSIVE: a commit appends its pages to the WAL and syncs
//     it once (1 flush); EXCLUSIVE keeps the WAL index in heap memory, which this VFS needs (no
//     shared memory) and which no other connection could use anyway (the pool is exclusive).
//     DELETE/TRUNCATE journals need 3-4 flushes per commit (journal, database, journal reset).
//   - synchronous=FULL: the WAL is flushed at every commit, so a sale the UI shows as recorded
//     survives a crash (NORMAL would only flush at checkpoints: fast, but not durable).
//   - coalesceWrites (wasm/opfs_vfs.js): the WAL appends of one commit (2 per changed page) reach
//     OPFS as one write; a sale touches ~20 pages, so this turns ~40 write calls into 1.
//   - wal_autocheckpoint 2000 pages: SQLite checkpoints when the WAL reaches 1000 pages by
//     default, i.e. 4 MB at our 4096-byte pages (8 MB at the 8192 of the official package's
//     build). At 8 MB too, a bulk write (a 10,000-row insert, a catalog download) stops for a
//     checkpoint half as often, and a page many commits rewrite (an index's right edge, the
//     outbox) is copied into the database file half as often; a sale that triggers a checkpoint
//     copies up to 8 MB instead of 4, once per about 95 sales instead of 48 (bench/README
//     "Session 9 (lead)": the 10,000-row insert and the sale's p50/p99 with both settings).
//   - push_batch 500 and pull_limit 5000, the protocol's maxima (core/protocol.h): a tablet on
//     shop Wi-Fi pays a round trip per request (20-50 ms), and the hub an fsync per push, so a
//     first download of 100,000 products takes 20 requests instead of 100 and 10,000 queued
//     sales 20 pushes instead of 50. A push the hub refuses as too large (413) is retried in
//     smaller batches (DatabaseOwner.shrinkPushBatch).
export const BROWSER_OPEN_OPTIONS = Object.freeze({
  vfs: 'opfs',
  journal_mode: 'WAL',
  synchronous: 'FULL',
  exclusive_locking: true,
  wal_autocheckpoint: 2000,
  push_batch: 500,
  pull_limit: 5000,
});

export const DEFAULT_SYNC_INTERVAL_MS = 5 * 60 * 1000;
export const DEFAULT_WRITE_DEBOUNCE_MS = 300;
const POOL_CAPACITY = 6;           // database + WAL + journal + temp files, with room to spare
const POOL_ACQUIRE_TIMEOUT_MS = 15000;
const FETCH_TIMEOUT_MS = 30000;
const SALE_TABLES = ['sales_orders', 'order_lines', 'payments', 'stock_movements'];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A failed HTTP exchange as {code, message, detail, network}. Problem bodies
// (application/problem+json) carry the hub's stable `code`; 426 also names min_schema_version.
async function failureOf(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON: a proxy's page, say */ }
  if (body && typeof body.code === 'string') {
    const detail = body.min_schema_version !== undefined ? { min_schema_version: body.min_schema_version } : null;
    return { code: body.code, message: `hub answered ${res.status}: ${body.detail || body.title || body.code}`, detail, network: false };
  }
  const code = res.status === 426 ? 'update_required' : res.status === 401 ? 'unauthorized'
    : res.status === 429 || res.status === 503 ? 'busy' : 'internal';
  return { code, message: `hub answered HTTP ${res.status}`, detail: null, network: false };
}

const UTF8_DECODER = new TextDecoder();

// The request for the page after the answer `bytes` (UTF-8), if the hub says there is one, so it
// can be fetched while the engine applies `bytes`; null when it cannot tell. The answer is canonical JSON with
// sorted keys (schema/protocol.md), so its top-level "cursor", "more" and "snapshot" (the position
// in a first download sent in key order) come before the rows ("rows" in a version 1 page,
// "tables" in a columnar page, whose runs hold "rows" keys of their own further on) and are the
// first matches: inside rows, quotes in text values are escaped and no column is named cursor,
// more or snapshot. Only a guess: the owner uses the request only if the engine then asks for
// it, byte for byte (so its keys are written sorted, as the engine writes them).
function nextPullBody(body, bytes) {
  // The top-level keys before the rows fit in the first few hundred bytes; only those are
  // decoded (a 0.5 MB page as a string would cost more than the rest of this together).
  const text = UTF8_DECODER.decode(bytes.subarray(0, 4096));
  const at = [text.indexOf('"rows":'), text.indexOf('"tables":')].filter((i) => i >= 0);
  if (at.length === 0) return null;
  const head = text.slice(0, Math.min(...at));
  const cursor = /"cursor":(\d+)/.exec(head);
  if (!cursor || !/"more":true/.test(head)) return null;
  const snapshot = /"snapshot":("(?:[^"\\]|\\.)*")/.exec(head);
  try {
    const next = { ...JSON.parse(body), cursor: Number(cursor[1]) };
    if (snapshot) next.snapshot = JSON.parse(snapshot[1]);
    else delete next.snapshot;
    const sorted = Object.fromEntries(Object.entries(next).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return JSON.stringify(sorted);
  } catch {
    return null;
  }
}

export class DatabaseOwner {
  // module: an instantiated wasm module (wasm/bindings.cc + wasm/opfs_vfs.js).
  // emit(kind, payload): 'status' | 'progress' | 'change' events for the tabs.
  // mirror: optional {put(entry), clear()} (worker/outbox_mirror.js) for the service worker.
  constructor({ module, emit = () => {}, fetchImpl = (...a) => fetch(...a), mirror = null, online = true }) {
    this.M = module;
    this.emit = emit;
    this.fetch = fetchImpl;
    this.mirror = mirror;
    this.online = online;
    // What the browser says (navigator.onLine and its events), apart from `online`, which a failed
    // fetch also clears: only the browser's own "offline" is sure enough to stop retrying.
    this.browserOnline = online;
    this.engine = null;
    this.hub = null;
    this.cycle = null;        // the running sync cycle (a promise)
    this.again = false;       // a trigger arrived during the cycle
    this.closed = false;
    this.timers = { debounce: null, period: null, retry: null, status: null };
    this.retryAt = 0;
    this.inFlight = new Set();  // AbortControllers of the requests in flight (close aborts them)
  }

  // config: {name, hub?: HubCredentials, syncIntervalMs?, writeDebounceMs?, directory?, clock?,
  //          syncOnOpen?}
  // `directory`: an OPFS path (default "tillsync/<name>") or a directory handle (tests).
  async open(config) {
    const name = config.name || 'tillsync';
    this.config = {
      syncIntervalMs: config.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS,
      writeDebounceMs: config.writeDebounceMs ?? DEFAULT_WRITE_DEBOUNCE_MS,
    };
    await this.acquirePool(config.directory ?? `tillsync/${name}`);
    const hub = config.hub;
    // config.engine: engine option overrides (tests), e.g. {pull_limit: 1000}.
    const options = { ...BROWSER_OPEN_OPTIONS, ...(config.engine ?? {}) };
    if (hub) {
      for (const k of ['url', 'shopId', 'deviceId', 'deviceToken', 'receiptPrefix']) {
        if (typeof hub[k] !== 'string' || hub[k] === '') {
          throw new TillsyncError('bad_request', `hub.${k} is required (a string, as registerDevice() returns it)`);
        }
      }
      options.identity = { device_id: hub.deviceId, shop_id: hub.shopId, receipt_prefix: hub.receiptPrefix,
        currency: hub.currency || 'EUR' };
    }
    if (config.clock) options.clock = config.clock;
    this.openOptions = options;
    try {
      this.engine = Engine.open(this.M, 'store.db', options);
      if (hub) {
        // A token rotation or a moved hub updates what is stored; the identity cannot change
        // (the engine refused a different device id above with code "forbidden").
        this.engine.putSetting('hub', { url: hub.url.replace(/\/+$/, ''), token: hub.deviceToken, shopName: hub.shopName ?? null });
      }
      this.hub = this.engine.settings().hub ?? null;
    } catch (e) {
      this.releasePool();
      throw e;
    }
    if (this.hub) {
      this.schedulePeriod();
      // syncOnOpen: false is for benchmarks that time one sync() from its start; not public API.
      if (config.syncOnOpen !== false) this.trigger('open');
    }
    return { identity: this.identityInfo(), status: this.statusInfo() };
  }

  // The pool's handles are exclusive. After a handover the previous owner's worker may still be
  // shutting down and holding them for a moment, so acquisition is retried quietly: the tabs
  // see a slower first answer, never an access-handle error.
  async acquirePool(directory) {
    const deadline = Date.now() + POOL_ACQUIRE_TIMEOUT_MS;
    for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
      try {
        await this.M.installOpfsPool({ directory, capacity: POOL_CAPACITY, coalesceWrites: true });
        return;
      } catch (e) {
        if (e.name !== 'OpfsPoolBusyError' || Date.now() > deadline) {
          throw new TillsyncError(e.name === 'OpfsPoolBusyError' ? 'busy' : 'io_error',
            `could not open the local database: ${e.message}`);
        }
        await sleep(wait);
      }
    }
  }

  releasePool() {
    try { this.M.releaseOpfsPool(); } catch { /* nothing was held, or already released */ }
  }

  identityInfo() {
    const id = this.engine.identity;
    return { deviceId: id.device_id, shopId: id.shop_id, receiptPrefix: id.receipt_prefix, currency: id.currency,
      local: !this.hub };
  }

  statusInfo() {
    const s = this.engine.status();
    return {
      state: s.state,
      online: this.online,
      pending: s.pending,
      quarantined: s.quarantined,
      openConflicts: s.open_conflicts,
      lastSyncedAt: s.last_synced_ms || null,
      lastError: s.last_error_code ? { code: s.last_error_code, message: s.last_error_message } : null,
      successes: s.successes,
      failures: s.failures,
      conflicts: s.conflicts,
      nextRetryInMs: this.retryAt ? Math.max(0, this.retryAt - Date.now()) : 0,
      minSchemaVersion: s.state === 'update_required' ? s.min_schema_version : null,
      schemaVersion: this.engine.schemaVersion,
    };
  }

  // Status events are coalesced: a burst of writes makes one event, not one per write.
  emitStatusSoon() {
    if (this.timers.status || this.closed) return;
    this.timers.status = setTimeout(() => {
      this.timers.status = null;
      if (!this.closed) this.emit('status', this.statusInfo());
    }, 0);
  }

  // --- Calls from the tabs ----------------------------------------------------------------------
  async call(method, args = [], requestId = '') {
    if (this.closed || !this.engine) throw new TillsyncError('closed', 'the store is closed');
    const e = this.engine;
    const wrote = (result, tables) => {
      if (!result.replayed) this.afterWrite(tables);
      return result;
    };
    switch (method) {
      case 'hello': return { identity: this.identityInfo(), status: this.statusInfo() };
      case 'write': {
        const changes = args[0];
        const tables = Array.isArray(changes) ? [...new Set(changes.map((c) => c && c.table))] : [];
        return wrote(e.write(changes, requestId), tables);
      }
      case 'recordSale': return wrote(e.recordSale(args[0], requestId), SALE_TABLES);
      case 'voidSale': return wrote(e.voidSale(args[0], requestId), ['sales_orders', 'stock_movements']);
      case 'refundSale': return wrote(e.refundSale(args[0], requestId), ['sales_orders', 'stock_movements']);
      case 'receiveStock': return wrote(e.receiveStock(args[0], args[1], requestId), ['stock_movements']);
      case 'adjustStock': return wrote(e.adjustStock(args[0], args[1], requestId), ['stock_movements']);
      case 'recordExpense': return wrote(e.recordExpense(args[0], args[1], requestId), ['expenses']);
      case 'query': return e.query(args[0], args[1] ?? []);
      case 'sync': await this.syncNow(); return this.statusInfo();
      case 'status': return this.statusInfo();
      case 'conflicts': return e.conflicts();
      case 'resolveConflict': {
        const c = e.conflicts().find((x) => x.id === args[0]);
        return wrote(e.resolveConflict(args[0], args[1], requestId), c ? [c.table_name] : []);
      }
      case 'quarantine': return e.quarantine();
      case 'retryQuarantined': {
        const q = e.quarantine().find((x) => x.seq === args[0]);
        const tables = q && q.op && Array.isArray(q.op.changes) ? [...new Set(q.op.changes.map((c) => c.table))] : [];
        return wrote(e.retryQuarantined(args[0], requestId), tables);
      }
      case 'discardQuarantined': e.discardQuarantined(args[0]); this.afterWrite([]); return null;
      case 'outbox': return e.outbox();
      case 'syncLog': return e.syncLog();
      case 'clearLocalData': return this.clearLocalData(args[0] || {});
      // Diagnostics (a debug panel, benchmarks): OPFS calls made so far and where the last sync
      // cycle spent its time; not in index.d.ts.
      case 'diagnostics': return { opfs: this.M.opfsPoolStats(), lastCycle: this.lastCycle ?? null };
      default: throw new TillsyncError('bad_request', `no such call: ${method}`);
    }
  }

  afterWrite(tables) {
    if (tables.length) this.emit('change', tables);
    this.emitStatusSoon();
    if (!this.hub) return;
    // Debounced: a burst of scans and a sale make one sync, shortly after the last of them.
    clearTimeout(this.timers.debounce);
    this.timers.debounce = setTimeout(() => {
      this.timers.debounce = null;
      this.updateMirror();
      this.trigger('write');
    }, this.config.writeDebounceMs);
  }

  // Events relayed from the tabs (the worker may not see them itself): 'online', 'offline',
  // 'visible'.
  notify(event) {
    if (event === 'online') this.online = this.browserOnline = true;
    if (event === 'offline') this.online = this.browserOnline = false;
    this.emitStatusSoon();
    if (event === 'online' || event === 'visible') this.trigger(event);
  }

  // --- The sync loop ------------------------------------------------------------------------
  trigger(why) {
    if (!this.hub || this.closed) return;
    if (this.cycle) { this.again = true; return; }
    // An automatic trigger waits out the backoff of a failed cycle, except when the network came
    // back (the failure was most likely the network itself). While the browser itself says it is
    // offline, automatic cycles would only fail: wait for its "online" event (sync() still runs).
    if (why !== 'online' && why !== 'manual' && this.retryAt > Date.now()) return;
    if (why !== 'online' && why !== 'manual' && this.browserOnline === false) return;
    this.cycle = this.runCycles().finally(() => { this.cycle = null; });
  }

  async syncNow() {
    if (!this.hub) return;
    if (this.cycle) {
      // A cycle is running: the caller wants one that starts after its call, so it sees every
      // write made so far.
      this.again = true;
      await this.cycle;
      if (this.cycle) await this.cycle;
      return;
    }
    this.retryAt = 0;
    this.trigger('manual');
    await this.cycle;
  }

  async runCycles() {
    do {
      this.again = false;
      await this.runOneCycle();
    } while (this.again && !this.closed && this.engine.status().state !== 'update_required'
             && !(this.retryAt > Date.now()));
  }

  async post(route, body) {
    const abort = new AbortController();
    this.inFlight.add(abort);
    const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
    try {
      return await this.fetch(this.hub.url + route, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.hub.token}` },
        body,
        signal: abort.signal,
        cache: 'no-store',
      });
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(abort);
    }
  }

  async runOneCycle() {
    clearTimeout(this.timers.retry);
    this.retryAt = 0;
    // Every write made so far goes out in this cycle: a debounced trigger still pending for them
    // would only run another cycle after it (and pull again, which a caller that wanted one sync
    // does not expect). A write during the cycle sets its own. The mirror is updated at the end.
    clearTimeout(this.timers.debounce);
    this.timers.debounce = null;
    const cycle = { startedAt: Date.now(), ms: 0, pushMs: 0, pullMs: 0, networkMs: 0, engineMs: 0, pushNetworkMs: 0,
      pushEngineMs: 0, pushed: 0, pulled: 0, requests: 0, firstPageMs: null, pageWaitsMs: [] };
    this.lastCycle = cycle;
    const timed = async (what, fn) => {
      const t0 = performance.now();
      try { return await fn(); } finally { cycle[what] += performance.now() - t0; }
    };
    const timedSync = (what, fn) => {
      const t0 = performance.now();
      try { return fn(); } finally { cycle[what] += performance.now() - t0; }
    };
    this.engine.syncStarted();
    this.emit('status', this.statusInfo());
    try {
      // Push everything queued, oldest first. While one push is on the wire (the hub applying it
      // is most of a large upload), the engine builds the next body from the operations after
      // it, so building costs no time of its own; that body is used only after a 200 answer,
      // which answers every operation of the push before (schema/protocol.md), and dropped on
      // anything else.
      let total = this.engine.status().pending;
      let done = 0;
      let next = null;  // the body built during the previous push: {body, count, last_seq}
      for (;;) {
        if (this.closed) throw new TillsyncError('closed', 'the store closed during a sync');
        const batch = next ?? timedSync('engineMs', () => this.engine.buildPush());
        next = null;
        const { body, count } = batch;
        if (count === 0) break;
        if (done + count > total) total = done + count;  // written during this cycle
        // Progress only for uploads of more than one batch: {done: 0} first, then one event per
        // acknowledged batch.
        if (done === 0 && total > count) this.emit('progress', { phase: 'upload', done, total });
        const sent = this.post('/v1/push', body).then(async (res) => ({ res, answer: res.ok ? await res.text() : null }));
        sent.catch(() => {});  // awaited below; a failure before then is not "unhandled"
        const t0 = performance.now();
        const building = cycle.engineMs;
        let following = null;
        try {
          if (count === this.openOptions.push_batch) following = timedSync('engineMs', () => this.engine.buildPush(batch.last_seq));
        } catch { /* built again after this answer is recorded, and reported then */ }
        const { res, answer } = await sent;
        // The wait for the answer beyond the build that overlapped it.
        cycle.networkMs += Math.max(0, performance.now() - t0 - (cycle.engineMs - building));
        if (res.status === 413 && this.shrinkPushBatch(count)) continue;
        if (!res.ok) throw await failureOf(res);
        cycle.requests++;
        await timed('engineMs', () => this.engine.handlePushResponse(answer));
        done += count;
        cycle.pushed += count;
        if (following && following.count > 0) next = following;
        if (total > count) this.emit('progress', { phase: 'upload', done, total });
        this.emitStatusSoon();
      }
      cycle.pushMs = Date.now() - cycle.startedAt;
      // The push phase's own split (the totals below run on through the pull).
      cycle.pushNetworkMs = cycle.networkMs;
      cycle.pushEngineMs = cycle.engineMs;
      // Pull until the hub says there is no more. While the engine applies one page, the next is
      // already being fetched (the hub builds it meanwhile): a long first download then costs
      // about max(network + hub, engine) per page instead of their sum. The request in flight
      // is only used when it is byte for byte the one the engine asks for after the apply, so a
      // failed apply, a repair or a changed cursor simply drops it.
      let rows = 0;
      const changed = new Set();
      // Pages are read as bytes and handed to the engine as they are (no decode to a string and
      // encode back).
      let prefetch = null;  // { body, answer: Promise<{res, bytes} | {error}> }
      const fetchPage = (body) => this.post('/v1/pull', body)
        .then(async (res) => (res.ok ? { res, bytes: new Uint8Array(await res.arrayBuffer()) } : { res, bytes: null }))
        .catch((error) => ({ error }));
      for (;;) {
        if (this.closed) throw new TillsyncError('closed', 'the store closed during a sync');
        const { body } = await timed('engineMs', () => this.engine.buildPull());
        let page;
        const waitedBefore = cycle.networkMs;
        if (prefetch && prefetch.body === body) page = await timed('networkMs', () => prefetch.answer);
        else page = await timed('networkMs', () => fetchPage(body));
        if (cycle.firstPageMs === null) cycle.firstPageMs = cycle.networkMs - waitedBefore;  // no overlap possible
        else cycle.pageWaitsMs.push(Math.round((cycle.networkMs - waitedBefore) * 10) / 10);  // what the overlap left
        prefetch = null;
        if (page.error) throw page.error;
        if (!page.res.ok) throw await failureOf(page.res);
        const { bytes } = page;
        cycle.requests++;
        const next = nextPullBody(body, bytes);
        if (next) prefetch = { body: next, answer: fetchPage(next) };
        const outcome = await timed('engineMs', () => this.engine.handlePullResponse(bytes));
        cycle.pulled += outcome.rows;
        if (outcome.rows > 0) {
          for (const table of outcome.tables) changed.add(table);
          rows += outcome.rows;
          if (outcome.more || rows > outcome.rows) {
            this.emit('progress', { phase: 'download', done: rows, total: rows + outcome.remaining });
          }
        }
        if (outcome.repair_started) rows = 0;
        if (!outcome.more) break;
      }
      if (prefetch) await prefetch.answer;  // settled (never rejects); nothing of it is used
      cycle.pullMs = Date.now() - cycle.startedAt - cycle.pushMs;
      this.engine.syncSucceeded();
      if (changed.size) this.emit('change', [...changed].sort());
    } catch (err) {
      const f = err instanceof TillsyncError ? { code: err.code, message: err.message, detail: err.detail, network: false }
        : err && err.network !== undefined ? err
        // fetch() rejects with a TypeError when the hub cannot be reached at all (offline, DNS,
        // refused connection), and with an AbortError on our timeout.
        : { code: 'io_error', message: `hub unreachable: ${err && err.message ? err.message : err}`, detail: null, network: true };
      if (f.network) this.online = false;
      if (!this.closed) {
        this.engine.syncFailed(f.code, f.message, f.detail, f.network);
        const s = this.engine.status();
        if (s.state !== 'update_required' && s.next_retry_delay_ms > 0) {
          this.retryAt = Date.now() + s.next_retry_delay_ms;
          this.timers.retry = setTimeout(() => { this.retryAt = 0; this.trigger('retry'); }, s.next_retry_delay_ms);
        }
      }
    }
    cycle.ms = Date.now() - cycle.startedAt;
    if (!this.closed) {
      if (this.online === false && this.engine.status().state === 'idle') this.online = true;
      this.emit('status', this.statusInfo());
      await this.updateMirror();
    }
  }

  // The hub refused a push body as too large (413): the engine batches by operation count, and a
  // few big catalog operations can pass the hub's byte limit. Reopen the engine with a smaller
  // batch (the batch size is fixed when a Device opens) and try again; a batch of one that is
  // still too large is a real failure. Synchronous from close to open, so no call interleaves.
  shrinkPushBatch(count) {
    if (count <= 1) return false;
    const batch = Math.max(1, Math.floor(count / 4));
    this.engine.close();
    this.openOptions = { ...this.openOptions, push_batch: batch, identity: undefined };
    this.engine = Engine.open(this.M, 'store.db', this.openOptions);
    return true;
  }

  schedulePeriod() {
    clearInterval(this.timers.period);
    if (this.config.syncIntervalMs > 0) {
      this.timers.period = setInterval(() => this.trigger('period'), this.config.syncIntervalMs);
    }
  }

  // The next push, where the service worker can send it with no tab open (worker/README.md).
  async updateMirror() {
    if (!this.mirror || !this.hub || this.closed) return;
    try {
      const { body, count } = this.engine.buildPush();
      if (count === 0) await this.mirror.clear();
      else await this.mirror.put({ url: `${this.hub.url}/v1/push`, token: this.hub.token, body, count });
    } catch { /* the mirror is an optimisation; the outbox in the database is the truth */ }
  }

  async clearLocalData({ force = false } = {}) {
    const s = this.engine.status();
    if (!force && (s.pending > 0 || s.quarantined > 0)) {
      throw new TillsyncError('unsynced_data', `${s.pending} operation(s) not yet on the hub and ${s.quarantined} ` +
        'quarantined; sync (or pass {force: true}) before clearing local data', { pending: s.pending, quarantined: s.quarantined });
    }
    await this.close({ keepPool: true });
    Engine.deleteDatabase(this.M, 'store.db');
    if (this.mirror) await this.mirror.clear().catch(() => {});
    this.releasePool();
    return null;
  }

  async close({ keepPool = false } = {}) {
    if (this.closed) return;
    this.closed = true;
    for (const t of Object.values(this.timers)) { clearTimeout(t); clearInterval(t); }
    for (const abort of this.inFlight) abort.abort();
    if (this.cycle) await this.cycle.catch(() => {});
    if (this.engine) this.engine.close();
    if (!keepPool) this.releasePool();
  }
}
