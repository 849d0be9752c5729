// engine.js: the JS face of the engine bindings (wasm/bindings.cc, section "engine"). One Engine
// is one open device database, known to wasm by a small integer id; close() frees it. Every
// binding answers JSON text {"ok":true,"result":...} or {"ok":false,"code","message","detail"};
// this layer parses it and throws TillsyncError on failure, so callers get plain values back.
// Used by the worker (worker/owner.js) and by the Node tests of the wasm module.
// Threading: the module is single-threaded; an Engine belongs to the worker that opened it.
import { TillsyncError } from './errors.js';

function unwrap(text) {
  const r = JSON.parse(text);
  if (!r.ok) throw new TillsyncError(r.code, r.message, r.detail ?? undefined);
  return r.result;
}

const str = (v) => (v === undefined || v === null ? '' : String(v));

const UTF8 = new TextEncoder();

// Calls fn(address, size) with `text` as UTF-8 bytes in the module's memory, freed afterwards.
// The bindings take large text (pull pages, push answers, bulk writes, sqlBatch rows) this way
// because Embind 3.1.6 copies a string argument with a JS loop over every character (about
// 20 ms for a 1.8 MB pull page); TextEncoder.encodeInto is native (0.1 ms). See InputText in
// wasm/bindings.cc.
// `text` may also be the UTF-8 bytes themselves (a Uint8Array, e.g. a pull answer read with
// arrayBuffer()): they are copied in as they are, with no decode to a string and encode back.
// The engine checks them as it parses (the page scanner refuses malformed UTF-8).
export function withUtf8(M, text, fn) {
  if (text instanceof Uint8Array) {
    const at = M._malloc(text.length + 1);
    if (at === 0) throw new TillsyncError('too_large', `${text.length} bytes do not fit in the engine's memory`);
    try {
      M.HEAPU8.set(text, at);
      return fn(at, text.length);
    } finally {
      M._free(at);
    }
  }
  text = String(text);
  // Room for ASCII first (JSON from the hub nearly always is); UTF-8 needs at most 3 bytes per
  // UTF-16 code unit, so a second try with that much always fits.
  for (const room of [text.length + 1, text.length * 3 + 1]) {
    const at = M._malloc(room);
    if (at === 0) throw new TillsyncError('too_large', `${text.length} characters do not fit in the engine's memory`);
    const { read, written } = UTF8.encodeInto(text, M.HEAPU8.subarray(at, at + room));  // HEAPU8 after _malloc: growth replaces it
    if (read === text.length) {
      try {
        return fn(at, written);
      } finally {
        M._free(at);
      }
    }
    M._free(at);
  }
  throw new Error('unreachable: 3 bytes per UTF-16 code unit always fit');
}

export class Engine {
  // options: {identity, vfs, journal_mode, synchronous, exclusive_locking, wal_autocheckpoint, clock, push_batch,
  // pull_limit} (snake_case, as wasm/bindings.cc reads them).
  static open(M, path, options = {}) {
    const r = unwrap(M.engineOpen(path, JSON.stringify(options)));
    return new Engine(M, r.device, r.identity, r.schema_version);
  }

  static info(M) { return unwrap(M.engineInfo()); }

  // Deletes a closed database's files (database, WAL, journal).
  static deleteDatabase(M, path) { return unwrap(M.engineDeleteDatabase(path)); }

  constructor(M, id, identity, schemaVersion) {
    this.M = M;
    this.id = id;
    this.identity = identity;
    this.schemaVersion = schemaVersion;
  }

  close() {
    if (this.id < 0) return;
    const id = this.id;
    this.id = -1;
    unwrap(this.M.engineClose(id));
  }

  setClock(nowMs) { return unwrap(this.M.engineSetClock(this.id, nowMs)); }
  settings() { return unwrap(this.M.engineSettings(this.id)); }
  putSetting(key, value) { return unwrap(this.M.engineSettingPut(this.id, key, JSON.stringify(value))); }

  // Mutating calls take a request id chosen before the first attempt: a retry with the same id
  // answers {seq, replayed: true} instead of writing twice (see bindings.cc).
  write(changes, requestId) {
    return unwrap(withUtf8(this.M, JSON.stringify(changes), (at, size) => this.M.engineWrite(this.id, at, size, str(requestId))));
  }
  recordSale(sale, requestId) { return unwrap(this.M.engineRecordSale(this.id, JSON.stringify(sale), str(requestId))); }
  voidSale(orderId, requestId) { return unwrap(this.M.engineVoidSale(this.id, str(orderId), str(requestId))); }
  refundSale(orderId, requestId) { return unwrap(this.M.engineRefundSale(this.id, str(orderId), str(requestId))); }
  receiveStock(productId, qty, requestId) { return unwrap(this.M.engineStock(this.id, 'receive', str(productId), Number(qty), str(requestId))); }
  adjustStock(productId, delta, requestId) { return unwrap(this.M.engineStock(this.id, 'adjust', str(productId), Number(delta), str(requestId))); }
  recordExpense(description, amountMinor, requestId) {
    return unwrap(this.M.engineRecordExpense(this.id, str(description), Number(amountMinor), str(requestId)));
  }
  newRowId() { return unwrap(this.M.engineNewRowId(this.id)); }
  query(sql, params = []) { return unwrap(this.M.engineQuery(this.id, str(sql), JSON.stringify(params ?? []))); }

  // {body, count, last_seq}: the oldest pending operations, or with afterSeq (the last_seq of the
  // push before, still awaiting its answer) the batch after them (core/device.h BuildPushAfter).
  buildPush(afterSeq = 0) { return unwrap(this.M.engineBuildPush(this.id, Number(afterSeq))); }
  handlePushResponse(body) { return unwrap(withUtf8(this.M, body, (at, size) => this.M.engineHandlePushResponse(this.id, at, size))); }
  buildPull() { return unwrap(this.M.engineBuildPull(this.id)); }
  // body: the answer's text or its UTF-8 bytes. Returns {more, rows, remaining, checksum_checked,
  // repair_started, tables} (tables: the names of the tables the page brought rows of).
  handlePullResponse(body) { return unwrap(withUtf8(this.M, body, (at, size) => this.M.engineHandlePullResponse(this.id, at, size))); }
  hasPending() { return unwrap(this.M.engineHasPending(this.id)); }
  syncStarted() { return unwrap(this.M.engineSyncStarted(this.id)); }
  syncSucceeded() { return unwrap(this.M.engineSyncSucceeded(this.id)); }
  syncFailed(code, message, detail, network) {
    return unwrap(this.M.engineSyncFailed(this.id, str(code), str(message),
      detail === undefined || detail === null ? '' : JSON.stringify(detail), !!network));
  }
  status() { return unwrap(this.M.engineStatus(this.id)); }

  conflicts() { return unwrap(this.M.engineConflicts(this.id)); }
  resolveConflict(conflictId, values, requestId) {
    return unwrap(this.M.engineResolveConflict(this.id, Number(conflictId), JSON.stringify(values), str(requestId)));
  }
  quarantine() { return unwrap(this.M.engineQuarantine(this.id)); }
  retryQuarantined(seq, requestId) { return unwrap(this.M.engineRetryQuarantined(this.id, Number(seq), str(requestId))); }
  discardQuarantined(seq) { return unwrap(this.M.engineDiscardQuarantined(this.id, Number(seq))); }
  outbox() { return unwrap(this.M.engineOutbox(this.id)); }
  syncLog() { return unwrap(this.M.engineSyncLog(this.id)); }
  canonicalDump() { return unwrap(this.M.engineCanonicalDump(this.id)); }
}
