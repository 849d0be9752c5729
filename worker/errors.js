// errors.js: TillsyncError, the one error type of the package (see index.d.ts). `code` is one of
// the core's stable error codes (core/status.h, schema/protocol.md) or one of the few the JS
// layer adds: "unsynced_data" (clearLocalData refused), "closed" (the store was closed).
// Shared by the page module and the worker; plain data crosses postMessage and is rebuilt here.

export class TillsyncError extends Error {
  constructor(code, message, detail) {
    super(message);
    this.name = 'TillsyncError';
    this.code = code;
    if (detail !== undefined && detail !== null) this.detail = detail;
  }

  // What crosses postMessage / BroadcastChannel: structured clone keeps no class.
  toPlain() {
    return { code: this.code, message: this.message, detail: this.detail ?? null };
  }

  static fromPlain(p) {
    return new TillsyncError(p.code || 'internal', p.message || 'unknown error', p.detail ?? undefined);
  }

  // Any thrown value as a TillsyncError (programming errors become code "internal").
  static from(e) {
    if (e instanceof TillsyncError) return e;
    if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.message === 'string') {
      return new TillsyncError(e.code, e.message, e.detail ?? undefined);
    }
    return new TillsyncError('internal', e && e.message ? `${e.name || 'Error'}: ${e.message}` : String(e));
  }
}
