// memory_access_handle.js: an in-memory stand-in for OPFS, for tests of the "opfs" VFS
// (wasm/opfs_vfs.js) under Node and anywhere else without a real FileSystemSyncAccessHandle.
//
// It has the shapes the VFS's JS side uses and mimics their real semantics, because a fake that
// is kinder than Chromium would let VFS bugs through:
//   MemoryDirectory   like FileSystemDirectoryHandle: getFileHandle(name, {create}), entries(),
//                     keys(), values(), removeEntry(name), async iteration.
//   MemoryFileHandle  like FileSystemFileHandle: createSyncAccessHandle() is EXCLUSIVE, a second
//                     one fails with NoModificationAllowedError until the first is closed.
//   MemoryAccessHandle like FileSystemSyncAccessHandle: read(buf, {at}) returns fewer bytes past
//                     the end (0 at or beyond it); write(buf, {at}) past the end zero-fills the
//                     gap and extends; truncate(n) shrinks or zero-extends; getSize(); flush();
//                     close(), after which every call throws InvalidStateError. Without `at`,
//                     read/write use and advance the handle's cursor, as the real one does.
//
// Durability model (LevelDB's fault-injection idea): each file keeps the bytes last made durable
// by flush() (or close(), which flushes per the spec) and the list of writes since.
// MemoryDirectory.crash(keep) kills every open handle, as a killed browser plus a power cut
// would, and keeps the flushed bytes plus a chosen subset of the unflushed writes (none, all, or
// e.g. a random subset: the OS may have written any of them back, in any order).
//
// Faults: a FaultPlan makes calls fail on purpose, to test the VFS's error paths.
//   plan.failNext('write', {name: 'QuotaExceededError', count: 1})  next write(s) throw
//   plan.failNext('write', {file: 'tsopfs-000.slot', count: 99})   only writes to that file
//   plan.hook = (op, fileName) => {...}   sees every call first and may throw (crash loops)
//   plan.shortWrites(100)   every write stores at most 100 bytes and returns that count, as a
//                           full quota does in Chromium, until plan.clear()
// The same FaultPlan drives tests/vfs_contract/fault_injecting_directory.mjs around real OPFS.
//
// Threading: none; plain synchronous JS like the real sync access handle.

function domError(name, message) {
  // DOMException exists in browsers and in Node >= 17; the VFS only looks at .name and .message.
  if (typeof DOMException === 'function') return new DOMException(message, name);
  const e = new Error(message);
  e.name = name;
  return e;
}

export class FaultPlan {
  constructor() {
    this.clear();
  }

  // The next `count` calls of `op` ('read' | 'write' | 'truncate' | 'flush' | 'getSize' |
  // 'close') throw an error named `name` (default InvalidStateError, a generic I/O failure).
  // With `file`, only calls on the file of that name count (e.g. one pool file).
  failNext(op, { name = 'InvalidStateError', message = `injected ${op} failure`, count = 1, file = null } = {}) {
    this.failures.push({ op, name, message, count, file });
    return this;
  }

  // Every write stores at most `maxBytes` bytes and returns the short count (quota full).
  shortWrites(maxBytes) {
    this.writeLimit = maxBytes;
    return this;
  }

  clear() {
    this.hook = null; // optional (op, fileName) => void, called before every call; may throw
    this.failures = [];
    this.writeLimit = Infinity;
    this.injected = 0; // how many faults fired: lets a test prove its fault was reached
    return this;
  }

  // Called by handles before doing `op`; throws if a failure is planned for it.
  check(op, fileName) {
    if (this.hook) this.hook(op, fileName);
    const f = this.failures.find((x) => x.op === op && x.count > 0 && (x.file === null || x.file === fileName));
    if (!f) return;
    f.count--;
    this.injected++;
    throw domError(f.name, f.message);
  }

  // How many of `n` bytes a write may store.
  allowWrite(n) {
    if (n <= this.writeLimit) return n;
    this.injected++;
    return this.writeLimit;
  }
}

function viewBytes(buffer) {
  if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  throw new TypeError('buffer must be an ArrayBuffer or an ArrayBufferView');
}

function checkOffset(at) {
  if (at === undefined) return undefined;
  if (typeof at !== 'number' || !Number.isFinite(at) || at < 0 || !Number.isInteger(at)) {
    throw new TypeError(`invalid offset: ${at}`);
  }
  return at;
}

// The bytes of one file; shared by the successive handles opened on it.
class MemoryFile {
  constructor() {
    this.data = new Uint8Array(0);
    this.size = 0;
    this.durable = new Uint8Array(0); // what survives crash() for sure
    this.pending = []; // writes and truncates since the last flush, in order
    this.handle = null; // the one open access handle, if any
  }

  resize(n) {
    if (n > this.data.length) {
      const grown = new Uint8Array(Math.max(n, this.data.length * 2, 4096));
      grown.set(this.data.subarray(0, this.size));
      this.data = grown;
    } else if (n < this.size) {
      this.data.fill(0, n, this.size); // so a later extension reads zeros, not old bytes
    }
    this.size = n;
  }

  makeDurable() {
    this.durable = this.data.slice(0, this.size);
    this.pending = [];
  }

  // After a crash the file holds its durable bytes plus whichever unflushed operations the OS
  // happened to write back: any subset, in any order of completion (page caches reorder).
  crash(keep) {
    const kept = this.pending.filter((op, i) => keep(op, i));
    this.data = this.durable.slice();
    this.size = this.durable.length;
    this.pending = [];
    for (const op of kept) {
      if (op.kind === 'write') {
        if (op.at + op.bytes.length > this.size) this.resize(op.at + op.bytes.length);
        this.data.set(op.bytes, op.at);
      } else {
        this.resize(op.size);
      }
    }
    this.makeDurable();
  }
}

export class MemoryAccessHandle {
  constructor(name, file, faults) {
    this._name = name;
    this._file = file;
    this._faults = faults;
    this._cursor = 0;
    this._closed = false;
  }

  _live(op) {
    if (this._closed) throw domError('InvalidStateError', `The access handle was closed (${op}).`);
    this._faults.check(op, this._name);
    return this._file;
  }

  read(buffer, options = {}) {
    const f = this._live('read');
    const dst = viewBytes(buffer);
    const at = checkOffset(options.at) ?? this._cursor;
    const n = Math.max(0, Math.min(dst.length, f.size - at));
    if (n > 0) dst.set(f.data.subarray(at, at + n));
    this._cursor = at + n;
    return n;
  }

  write(buffer, options = {}) {
    const f = this._live('write');
    const src = viewBytes(buffer);
    const at = checkOffset(options.at) ?? this._cursor;
    const n = this._faults.allowWrite(src.length);
    if (n > 0) {
      if (at + n > f.size) f.resize(at + n); // the gap [size, at) reads as zeros
      f.data.set(n === src.length ? src : src.subarray(0, n), at);
      f.pending.push({ kind: 'write', at, bytes: src.slice(0, n) });
    }
    this._cursor = at + n;
    return n;
  }

  truncate(newSize) {
    const f = this._live('truncate');
    checkOffset(newSize);
    f.resize(newSize);
    f.pending.push({ kind: 'truncate', size: newSize });
    if (this._cursor > newSize) this._cursor = newSize;
  }

  getSize() {
    return this._live('getSize').size;
  }

  flush() {
    this._live('flush').makeDurable();
  }

  close() {
    if (this._closed) return; // closing twice is allowed, like the real handle
    this._faults.check('close', this._name);
    this._closed = true;
    this._file.makeDurable(); // the spec's close() flushes
    if (this._file.handle === this) this._file.handle = null;
  }
}

export class MemoryFileHandle {
  constructor(name, file, faults) {
    this.kind = 'file';
    this.name = name;
    this._file = file;
    this._faults = faults;
  }

  async createSyncAccessHandle() {
    if (this._file.handle) {
      throw domError('NoModificationAllowedError',
        'Access Handles cannot be created if there is another open Access Handle or Writable stream associated with the same file.');
    }
    const h = new MemoryAccessHandle(this.name, this._file, this._faults);
    this._file.handle = h;
    return h;
  }

  async getFile() {
    const f = this._file;
    return { size: f.size, arrayBuffer: async () => f.data.slice(0, f.size).buffer };
  }
}

export class MemoryDirectory {
  constructor(name = 'memory', { faults = new FaultPlan() } = {}) {
    this.kind = 'directory';
    this.name = name;
    this.faults = faults;
    this._files = new Map();
  }

  async getFileHandle(name, { create = false } = {}) {
    let f = this._files.get(name);
    if (!f) {
      if (!create) throw domError('NotFoundError', `A requested file or directory could not be found: ${name}`);
      f = new MemoryFile();
      this._files.set(name, f);
    }
    return new MemoryFileHandle(name, f, this.faults);
  }

  async removeEntry(name) {
    const f = this._files.get(name);
    if (!f) throw domError('NotFoundError', `A requested file or directory could not be found: ${name}`);
    if (f.handle) throw domError('NoModificationAllowedError', `${name} has an open access handle`);
    this._files.delete(name);
  }

  async *entries() {
    for (const name of [...this._files.keys()]) yield [name, new MemoryFileHandle(name, this._files.get(name), this.faults)];
  }

  async *keys() {
    for (const [name] of this._files) yield name;
  }

  async *values() {
    for await (const [, h] of this.entries()) yield h;
  }

  [Symbol.asyncIterator]() {
    return this.entries();
  }

  // Test helpers (not part of the OPFS shape).

  // A killed browser plus a power cut: every open handle is dead (further calls throw
  // InvalidStateError), every file can be opened again, and each file keeps its flushed bytes
  // plus the unflushed writes/truncates that `keep` selects (applied in the order issued):
  //   'none' (default)  all unflushed work is lost
  //   'all'             all of it reached the disk anyway
  //   (op, index) => boolean   any subset, e.g. a seeded random one (page cache writeback order)
  crash(keep = 'none') {
    const pick = keep === 'none' ? () => false : keep === 'all' ? () => true : keep;
    for (const f of this._files.values()) {
      if (f.handle) f.handle._closed = true;
      f.handle = null;
      f.crash(pick);
    }
  }

  // The current bytes of a file, for assertions about the on-disk format.
  bytesOf(name) {
    const f = this._files.get(name);
    return f ? f.data.slice(0, f.size) : null;
  }

  fileNames() {
    return [...this._files.keys()].sort();
  }
}
