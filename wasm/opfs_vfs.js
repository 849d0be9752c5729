/*
 * opfs_vfs.js: the JS half of tillsync's "opfs" SQLite VFS, an access-handle pool on the
 * browser's Origin Private File System. An Emscripten --js-library (see wasm/CMakeLists.txt).
 *
 * MATCHED PAIR. This file and wasm/opfs_vfs.c are one component cut in two by the wasm/JS
 * boundary. Every function that crosses it is listed in ONE place in each file: the BOUNDARY
 * block just below, and the BOUNDARY block in opfs_vfs.c. The failure categories (E*) and the
 * limits (MAX_SLOTS, NAME_MAX) are repeated there and must keep the same values. Change both
 * files in the same commit.
 *
 * What this side does: owns the pool of FileSystemSyncAccessHandles and all byte I/O. It never
 * throws into wasm: each boundary function catches everything and returns a failure category,
 * keeping the message for xGetLastError. Which SQLite code a category becomes is decided in
 * opfs_vfs.c, once.
 *
 * Public JS API, added to the module object:
 *   await Module.installOpfsPool({directory: 'tillsync', capacity: 6, coalesceWrites: false})
 *       Acquires the handles (async) and registers the VFS "opfs". Must finish before any
 *       database is opened with vfs "opfs". coalesceWrites: see "Write coalescing" below.
 *       `directory` is an OPFS path (created under navigator.storage.getDirectory()) or any object with the FileSystemDirectoryHandle shape
 *       (entries(), getFileHandle(name, {create})) whose file handles give objects with the
 *       FileSystemSyncAccessHandle shape: that is how tests inject wasm/memory_access_handle.js.
 *       `capacity` is a minimum: existing pool files are all acquired, so data never hides.
 *       Rejects (and holds nothing) when another tab or worker holds the files.
 *   Module.releaseOpfsPool()   closes every handle so another tab/worker can take over.
 *                              Throws if a file is still open (close the databases first).
 *   Module.opfsPoolInfo()      {directory, capacity, files: [{slot, fileName, name, size, open}]}
 *   Module.opfsPoolStats()     counts of OPFS calls {read, write, flush, truncate, getSize,
 *                              flushSkipped}, bytesWritten, and the milliseconds spent inside
 *                              the handles' read/write/flush calls {readMs, writeMs, flushMs}
 *                              (what a slow download pays to storage, apart from its CPU);
 *                              resetOpfsPoolStats() zeroes them.
 *
 * Write coalescing (opt-in). A WAL commit is a run of appends (a 24-byte frame
 * header, then the page, for every page the transaction changed) followed by one sync. Each
 * handle.write() costs 24-46 us in Chromium whatever its size, so a sale touching 20 pages paid
 * about 40 writes. With coalesceWrites, contiguous writes to a file are gathered in memory and
 * reach OPFS as ONE write just before the flush (or
 * earlier: when a read or truncate touches the file, a non-contiguous write arrives, the buffer
 * passes 1 MiB, or the file closes). Nothing is durable before the flush either way, so a crash
 * loses exactly what it would have lost without coalescing. The price: a full quota is reported
 * by xSync (SQLITE_FULL at COMMIT) instead of by the xWrite that ran out, which SQLite handles
 * the same way (the transaction rolls back). Every file of the pool gathers contiguous writes:
 * the WAL's appends, and the runs of adjacent pages a checkpoint copies into the database file
 * (in page order); a write that does not continue the run sends the run first, so scattered
 * writes cost exactly what they cost without coalescing.
 *
 * Pool file format (one OPFS file per slot, named tsopfs-NNN.slot):
 *   bytes [0, 4096)   header; bytes [4096, ...) the SQLite file's bytes, so SQLite offset X is
 *                     pool file offset 4096 + X. 4096 keeps SQLite pages block-aligned on disk.
 *   header, little-endian:
 *     0  8  magic "tsopfs1\0"
 *     8  4  u32 header format version = 1
 *     12 4  u32 SQLite open flags the file was created with (kept for diagnosis)
 *     16 4  u32 byte length L of the name in UTF-8; 0 means the slot is free
 *     20 4  u32 FNV-1a 32 of bytes [0, 20) followed by the L name bytes
 *     24 L  the SQLite file name, UTF-8
 *   A header whose magic, version, length or checksum does not check out means "free slot": a
 *   torn or foreign header must never make the pool invent a file name.
 *
 * Threading: one dedicated worker; every boundary function is synchronous.
 */

// ---- BOUNDARY (must match the BOUNDARY block in opfs_vfs.c) -----------------------------------
//  C -> JS (implemented below):
//    int    tsopfs_open(const char *zName, int flags, int create)   slot >= 0 or E*
//    int    tsopfs_close(int slot)                                  0 or E*
//    int    tsopfs_read(int slot, void *pBuf, int n, double offset) bytes read or E*
//    int    tsopfs_write(int slot, const void *pBuf, int n, double offset)  n, or E*
//    int    tsopfs_truncate(int slot, double size)                  0 or E*
//    int    tsopfs_sync(int slot)                                   0 or E*
//    double tsopfs_size(int slot)                                   bytes or E*
//    int    tsopfs_delete(const char *zName)                        0 or E*
//    int    tsopfs_access(const char *zName)                        1 exists, 0 not
//    void   tsopfs_set_error(const char *zMessage)
//    void   tsopfs_last_error(char *zBuf, int nBuf)
//  JS -> C:
//    int    tillsync_opfs_register(void)    called by installOpfsPool once the handles are held
//  Shared constants: MAX_SLOTS = 64, NAME_MAX = 512, EIO -1, EFULL -2, ENOENT -3, EPOOLFULL -4,
//  ENOPOOL -5, ENAMETOOLONG -6.
//
// Emscripten 3.1.6 trap: library objects are serialised with Function.prototype.toString, so
// every method below is written `name: function (...) {...}` (shorthand methods would not
// survive), and nothing may refer to a variable outside the object.

mergeInto(LibraryManager.library, {
  $TSOPFS: {
    MAX_SLOTS: 64,
    NAME_MAX: 512,
    HEADER_SIZE: 4096,
    HEADER_FIXED: 24,
    MAGIC: [0x74, 0x73, 0x6f, 0x70, 0x66, 0x73, 0x31, 0x00], // "tsopfs1\0"
    VERSION: 1,
    EIO: -1,
    EFULL: -2,
    ENOENT: -3,
    EPOOLFULL: -4,
    ENOPOOL: -5,
    ENAMETOOLONG: -6,
    COALESCE_MAX: 1 << 20,
    pool: null,
    lastError: '',
    encoder: null,
    decoder: null,

    // Records a failure and returns its category. QuotaExceededError is the one exception with a
    // meaning of its own (storage full); every other exception is an I/O error.
    fail: function (op, slotOrName, e) {
      var where = typeof slotOrName === 'string' ? '"' + slotOrName + '"' : TSOPFS.describe(slotOrName);
      var what = e && e.name ? e.name + ': ' + e.message : String(e);
      TSOPFS.lastError = 'opfs ' + op + ' ' + where + ': ' + what;
      return e && e.name === 'QuotaExceededError' ? TSOPFS.EFULL : TSOPFS.EIO;
    },
    refuse: function (category, message) {
      TSOPFS.lastError = 'opfs: ' + message;
      return category;
    },
    describe: function (slot) {
      var s = TSOPFS.pool && TSOPFS.pool.slots[slot];
      return s ? '"' + s.name + '" (' + s.fileName + ')' : 'slot ' + slot;
    },
    utf8: function (str) {
      if (!TSOPFS.encoder) TSOPFS.encoder = new TextEncoder();
      return TSOPFS.encoder.encode(str);
    },
    fnv1a: function (bytes, seed) {
      var h = seed;
      for (var i = 0; i < bytes.length; i++) {
        h ^= bytes[i];
        h = Math.imul(h, 0x01000193) >>> 0;
      }
      return h;
    },
    countCall: function (kind) {
      TSOPFS.pool.stats[kind]++;
    },

    // Writes a slot's gathered appends (write coalescing) to OPFS. Returns 0 or a category. The
    // buffer is dropped even on failure: SQLite gets the error and rolls the transaction back,
    // so those bytes must not reach the file later either.
    flushPending: function (slot) {
      var s = TSOPFS.pool.slots[slot];
      var p = s.pend;
      if (!p || p.len === 0) return 0;
      s.pend = null;
      try {
        TSOPFS.countCall('write');
        TSOPFS.pool.stats.bytesWritten += p.len;
        var t0 = performance.now();
        var wrote = s.handle.write(p.buf.subarray(0, p.len), { at: TSOPFS.HEADER_SIZE + p.at });
        TSOPFS.pool.stats.writeMs += performance.now() - t0;
        s.spare = p.buf;
        if (wrote !== p.len) {
          TSOPFS.lastError = 'opfs write ' + TSOPFS.describe(slot) + ': short write: wrote ' + wrote +
            ' of ' + p.len + ' gathered bytes at offset ' + p.at + ' (storage quota full?)';
          try { TSOPFS.countCall('getSize'); s.size = Math.max(0, s.handle.getSize() - TSOPFS.HEADER_SIZE); } catch (ignored) {}
          return TSOPFS.EFULL;
        }
        return 0;
      } catch (e) {
        try { TSOPFS.countCall('getSize'); s.size = Math.max(0, s.handle.getSize() - TSOPFS.HEADER_SIZE); } catch (ignored) {}
        return TSOPFS.fail('write', slot, e);
      }
    },

    // Appends n bytes at offset to the slot's gathering buffer (the caller checked contiguity).
    gather: function (s, pBuf, n, offset) {
      var p = s.pend;
      if (!p) {
        var buf = s.spare && s.spare.length >= n ? s.spare : new Uint8Array(Math.max(65536, n));
        s.spare = null;
        p = s.pend = { at: offset, len: 0, buf: buf };
      }
      if (p.len + n > p.buf.length) {
        var bigger = new Uint8Array(Math.max(p.buf.length * 2, p.len + n));
        bigger.set(p.buf.subarray(0, p.len));
        p.buf = bigger;
      }
      p.buf.set(HEAPU8.subarray(pBuf, pBuf + n), p.len);
      p.len += n;
    },

    // Parses a pool file's header; returns {name, flags} ('' name = free slot).
    readHeader: function (handle) {
      var hdr = new Uint8Array(TSOPFS.HEADER_FIXED + TSOPFS.NAME_MAX);
      var got = handle.read(hdr, { at: 0 });
      if (got < TSOPFS.HEADER_FIXED) return { name: '', flags: 0 };
      for (var i = 0; i < 8; i++) if (hdr[i] !== TSOPFS.MAGIC[i]) return { name: '', flags: 0 };
      var dv = new DataView(hdr.buffer);
      var len = dv.getUint32(16, true);
      if (dv.getUint32(8, true) !== TSOPFS.VERSION || len > TSOPFS.NAME_MAX) return { name: '', flags: 0 };
      if (len === 0 || got < TSOPFS.HEADER_FIXED + len) return { name: '', flags: 0 };
      var nameBytes = hdr.subarray(TSOPFS.HEADER_FIXED, TSOPFS.HEADER_FIXED + len);
      var sum = TSOPFS.fnv1a(nameBytes, TSOPFS.fnv1a(hdr.subarray(0, 20), 0x811c9dc5));
      if (sum !== dv.getUint32(20, true)) return { name: '', flags: 0 };
      if (!TSOPFS.decoder) TSOPFS.decoder = new TextDecoder('utf-8', { fatal: true });
      var name;
      try { name = TSOPFS.decoder.decode(nameBytes); } catch (e) { return { name: '', flags: 0 }; }
      return { name: name, flags: dv.getUint32(12, true) };
    },

    // Writes a slot's header; name '' frees the slot. Returns 0 or a category.
    writeHeader: function (s, name, flags) {
      var nameBytes = TSOPFS.utf8(name);
      var hdr = new Uint8Array(TSOPFS.HEADER_FIXED + nameBytes.length);
      hdr.set(TSOPFS.MAGIC, 0);
      var dv = new DataView(hdr.buffer);
      dv.setUint32(8, TSOPFS.VERSION, true);
      dv.setUint32(12, flags >>> 0, true);
      dv.setUint32(16, nameBytes.length, true);
      hdr.set(nameBytes, TSOPFS.HEADER_FIXED);
      dv.setUint32(20, TSOPFS.fnv1a(nameBytes, TSOPFS.fnv1a(hdr.subarray(0, 20), 0x811c9dc5)), true);
      TSOPFS.countCall('write');
      var wrote = s.handle.write(hdr, { at: 0 });
      s.dirty = true;
      if (wrote !== hdr.length) {
        return TSOPFS.refuse(TSOPFS.EFULL, 'short write of the pool header of ' + s.fileName +
          ': wrote ' + wrote + ' of ' + hdr.length + ' bytes (storage quota full?)');
      }
      return 0;
    },

    openDirectory: async function (path) {
      if (typeof navigator === 'undefined' || !navigator.storage || !navigator.storage.getDirectory) {
        throw new Error('OPFS is not available here (no navigator.storage.getDirectory); ' +
          'pass a directory handle as `directory`');
      }
      var dir = await navigator.storage.getDirectory();
      var parts = path.split('/').filter(function (p) { return p.length > 0; });
      for (var i = 0; i < parts.length; i++) dir = await dir.getDirectoryHandle(parts[i], { create: true });
      return dir;
    },

    install: async function (opts) {
      opts = opts || {};
      if (TSOPFS.pool) throw new Error('the OPFS pool is already installed; release it first');
      var capacity = opts.capacity === undefined ? 6 : opts.capacity;
      if (!(Number.isInteger(capacity) && capacity >= 1 && capacity <= TSOPFS.MAX_SLOTS)) {
        throw new RangeError('OPFS pool capacity must be an integer in [1, ' + TSOPFS.MAX_SLOTS + ']');
      }
      var spec = opts.directory === undefined ? 'tillsync' : opts.directory;
      var coalesce = opts.coalesceWrites === true;
      var dir = typeof spec === 'string' ? await TSOPFS.openDirectory(spec) : spec;
      var label = typeof spec === 'string' ? spec : (spec.name || '(directory handle)');

      var fileNames = [];
      for await (var entry of dir.entries()) {
        if (entry[1].kind === 'file' && /^tsopfs-\d{3}\.slot$/.test(entry[0])) fileNames.push(entry[0]);
      }
      fileNames.sort(); // stable slot numbers across reloads make diagnostics readable
      for (var n = 0; fileNames.length < capacity && n < 1000; n++) {
        var candidate = 'tsopfs-' + String(n).padStart(3, '0') + '.slot';
        if (fileNames.indexOf(candidate) < 0) fileNames.push(candidate);
      }
      if (fileNames.length > TSOPFS.MAX_SLOTS) {
        throw new RangeError('the OPFS directory "' + label + '" holds ' + fileNames.length +
          ' pool files, more than the ' + TSOPFS.MAX_SLOTS + ' this build supports');
      }

      // Acquire every handle before any database opens. Handles are exclusive: if another tab's
      // worker holds one, give back what we took so the other owner is not starved either.
      var slots = [];
      try {
        for (var i = 0; i < fileNames.length; i++) {
          var fh = await dir.getFileHandle(fileNames[i], { create: true });
          var handle = await fh.createSyncAccessHandle();
          slots.push({ fileName: fileNames[i], handle: handle, name: '', flags: 0, size: 0,
                       dirty: false, openCount: 0, unlinked: false,
                       coalesce: false, pend: null, spare: null });
        }
      } catch (e) {
        for (var j = 0; j < slots.length; j++) { try { slots[j].handle.close(); } catch (ignored) {} }
        var err = new Error('could not acquire the OPFS pool in "' + label + '" (is another tab or ' +
          'worker holding it?): ' + (e && e.name ? e.name + ': ' + e.message : String(e)));
        err.name = 'OpfsPoolBusyError';
        err.cause = e;
        throw err;
      }

      var byName = new Map();
      try {
        for (var k = 0; k < slots.length; k++) {
          var s = slots[k];
          var hdr = TSOPFS.readHeader(s.handle);
          // Two slots claiming one name cannot come from this code (a deletion is flushed before
          // the name is reused), but if a foreign writer made it so, the first slot wins.
          if (hdr.name !== '' && !byName.has(hdr.name)) {
            s.name = hdr.name;
            s.flags = hdr.flags;
            s.size = Math.max(0, s.handle.getSize() - TSOPFS.HEADER_SIZE);
            byName.set(hdr.name, k);
          }
        }
      } catch (e) {
        for (var m = 0; m < slots.length; m++) { try { slots[m].handle.close(); } catch (ignored) {} }
        throw new Error('could not read the OPFS pool headers in "' + label + '": ' +
          (e && e.name ? e.name + ': ' + e.message : String(e)));
      }

      TSOPFS.pool = {
        directory: label, slots: slots, byName: byName, coalesce: coalesce,
        stats: { read: 0, write: 0, flush: 0, truncate: 0, getSize: 0, flushSkipped: 0, bytesWritten: 0,
          readMs: 0, writeMs: 0, flushMs: 0 },
      };
      var rc = _tillsync_opfs_register();
      if (rc !== 0) {
        TSOPFS.release();
        throw new Error('sqlite3_vfs_register("opfs") failed with SQLite code ' + rc);
      }
      return TSOPFS.info();
    },

    release: function () {
      var P = TSOPFS.pool;
      if (!P) return;
      var open = P.slots.filter(function (s) { return s.openCount > 0; });
      if (open.length > 0) {
        throw new Error('cannot release the OPFS pool: files still open: ' +
          open.map(function (s) { return '"' + s.name + '"'; }).join(', ') + ' (close the databases first)');
      }
      var failures = [];
      for (var k = 0; k < P.slots.length; k++) {
        if (TSOPFS.flushPending(k) < 0) failures.push(P.slots[k].fileName + ': ' + TSOPFS.lastError);
      }
      for (var i = 0; i < P.slots.length; i++) {
        // close() flushes per the File System spec; a failure is reported, not swallowed, since
        // it can mean lost data. The pool is gone either way: the handles are unusable.
        try { P.slots[i].handle.close(); } catch (e) { failures.push(P.slots[i].fileName + ': ' + e); }
      }
      TSOPFS.pool = null;
      if (failures.length) throw new Error('closing OPFS pool handles failed: ' + failures.join('; '));
    },

    info: function () {
      var P = TSOPFS.pool;
      if (!P) return null;
      return {
        directory: P.directory,
        capacity: P.slots.length,
        files: P.slots.map(function (s, i) {
          return { slot: i, fileName: s.fileName, name: s.name, size: s.size, open: s.openCount };
        }),
      };
    },
  },

  $TSOPFS__postset:
    "Module['installOpfsPool'] = function (opts) { return TSOPFS.install(opts); };\n" +
    "Module['releaseOpfsPool'] = function () { TSOPFS.release(); };\n" +
    "Module['opfsPoolInfo'] = function () { return TSOPFS.info(); };\n" +
    "Module['opfsPoolStats'] = function () { return TSOPFS.pool ? Object.assign({}, TSOPFS.pool.stats) : null; };\n" +
    "Module['resetOpfsPoolStats'] = function () { if (TSOPFS.pool) for (var k in TSOPFS.pool.stats) TSOPFS.pool.stats[k] = 0; };",

  // installOpfsPool calls the C registration, so the C export must be kept alive with it.
  $TSOPFS__deps: ['tillsync_opfs_register'],

  tsopfs_open__deps: ['$TSOPFS'],
  tsopfs_open: function (zName, flags, create) {
    var name = UTF8ToString(zName);
    var P = TSOPFS.pool;
    if (!P) return TSOPFS.refuse(TSOPFS.ENOPOOL, 'cannot open "' + name + '": the OPFS pool is not installed (await installOpfsPool first) or was released');
    try {
      var slot = P.byName.get(name);
      if (slot === undefined) {
        if (!create) return TSOPFS.refuse(TSOPFS.ENOENT, 'cannot open "' + name + '": no such file');
        if (TSOPFS.utf8(name).length > TSOPFS.NAME_MAX) {
          return TSOPFS.refuse(TSOPFS.ENAMETOOLONG, 'cannot create "' + name + '": name longer than ' + TSOPFS.NAME_MAX + ' bytes');
        }
        slot = P.slots.findIndex(function (s) { return s.name === '' && s.openCount === 0; });
        if (slot < 0) {
          return TSOPFS.refuse(TSOPFS.EPOOLFULL, 'cannot create "' + name + '": the OPFS pool is full (' +
            P.slots.length + ' files in use: ' + P.slots.map(function (s) { return s.name; }).join(', ') +
            '); install the pool with a larger capacity');
        }
        var s = P.slots[slot];
        // A reused slot may hold a previous file's bytes (a deletion whose truncate was lost):
        // cut them first, so a new file is always empty.
        TSOPFS.countCall('truncate');
        s.handle.truncate(TSOPFS.HEADER_SIZE);
        s.size = 0;
        // No flush here: SQLite syncs a new journal/WAL before it relies on it, and that flush
        // carries this header too.
        var rc = TSOPFS.writeHeader(s, name, flags);
        if (rc < 0) return rc;
        s.name = name;
        s.flags = flags;
        s.unlinked = false;
        P.byName.set(name, slot);
      }
      P.slots[slot].openCount++;
      P.slots[slot].coalesce = P.coalesce;
      return slot;
    } catch (e) {
      return TSOPFS.fail('open', name, e);
    }
  },

  tsopfs_close__deps: ['$TSOPFS'],
  tsopfs_close: function (slot) {
    var P = TSOPFS.pool;
    if (!P) return TSOPFS.refuse(TSOPFS.ENOPOOL, 'close: the OPFS pool was released while a file was open');
    var s = P.slots[slot];
    s.openCount--;
    if (s.pend && !s.unlinked) {
      var prc = TSOPFS.flushPending(slot);
      if (prc < 0) return prc;
    }
    if (s.openCount === 0 && s.unlinked) {
      s.pend = null;
      // Last close of a file deleted while open (POSIX unlink semantics): now drop its bytes.
      s.unlinked = false;
      try {
        TSOPFS.countCall('truncate');
        s.handle.truncate(TSOPFS.HEADER_SIZE);
        s.size = 0;
      } catch (e) {
        return TSOPFS.fail('close', slot, e);
      }
    }
    return 0;
  },

  tsopfs_read__deps: ['$TSOPFS'],
  tsopfs_read: function (slot, pBuf, n, offset) {
    var P = TSOPFS.pool;
    if (!P) return TSOPFS.refuse(TSOPFS.ENOPOOL, 'read: the OPFS pool was released');
    var s = P.slots[slot];
    if (s.pend && offset < s.pend.at + s.pend.len && offset + n > s.pend.at) {
      var frc = TSOPFS.flushPending(slot); // the read must see the gathered bytes
      if (frc < 0) return frc;
    }
    try {
      // HEAPU8 is re-read on every call: memory growth replaces the buffer under old views.
      var view = HEAPU8.subarray(pBuf, pBuf + n);
      var got = 0;
      while (got < n) {
        TSOPFS.countCall('read');
        var t0 = performance.now();
        var r = s.handle.read(got === 0 ? view : view.subarray(got), { at: TSOPFS.HEADER_SIZE + offset + got });
        P.stats.readMs += performance.now() - t0;
        if (!(r > 0)) break; // 0 at end of file; the C side zero-fills the rest
        got += r;
      }
      return got;
    } catch (e) {
      return TSOPFS.fail('read', slot, e);
    }
  },

  tsopfs_write__deps: ['$TSOPFS'],
  tsopfs_write: function (slot, pBuf, n, offset) {
    var P = TSOPFS.pool;
    if (!P) return TSOPFS.refuse(TSOPFS.ENOPOOL, 'write: the OPFS pool was released');
    var s = P.slots[slot];
    if (s.coalesce) {
      var p = s.pend;
      if (p && (offset !== p.at + p.len || p.len + n > TSOPFS.COALESCE_MAX)) {
        var crc = TSOPFS.flushPending(slot);
        if (crc < 0) return crc;
      }
      TSOPFS.gather(s, pBuf, n, offset);
      s.dirty = true;
      if (offset + n > s.size) s.size = offset + n;
      return n;
    }
    try {
      TSOPFS.countCall('write');
      P.stats.bytesWritten += n;
      s.dirty = true;
      var t0 = performance.now();
      var wrote = s.handle.write(HEAPU8.subarray(pBuf, pBuf + n), { at: TSOPFS.HEADER_SIZE + offset });
      P.stats.writeMs += performance.now() - t0;
      if (wrote !== n) {
        // No retry: Chromium reports a full quota as a short count, and a retry would only
        // write garbage further. Refresh the cached size from the truth instead.
        TSOPFS.lastError = 'opfs write ' + TSOPFS.describe(slot) + ': short write: wrote ' + wrote +
          ' of ' + n + ' bytes at offset ' + offset + ' (storage quota full?)';
        try { TSOPFS.countCall('getSize'); s.size = Math.max(0, s.handle.getSize() - TSOPFS.HEADER_SIZE); } catch (ignored) {}
        return TSOPFS.EFULL;
      }
      if (offset + n > s.size) s.size = offset + n;
      return n;
    } catch (e) {
      try { TSOPFS.countCall('getSize'); s.size = Math.max(0, s.handle.getSize() - TSOPFS.HEADER_SIZE); } catch (ignored) {}
      return TSOPFS.fail('write', slot, e);
    }
  },

  tsopfs_truncate__deps: ['$TSOPFS'],
  tsopfs_truncate: function (slot, size) {
    var P = TSOPFS.pool;
    if (!P) return TSOPFS.refuse(TSOPFS.ENOPOOL, 'truncate: the OPFS pool was released');
    var s = P.slots[slot];
    var trc = TSOPFS.flushPending(slot);
    if (trc < 0) return trc;
    try {
      TSOPFS.countCall('truncate');
      s.dirty = true;
      s.handle.truncate(TSOPFS.HEADER_SIZE + size);
      s.size = size;
      return 0;
    } catch (e) {
      try { TSOPFS.countCall('getSize'); s.size = Math.max(0, s.handle.getSize() - TSOPFS.HEADER_SIZE); } catch (ignored) {}
      return TSOPFS.fail('truncate', slot, e);
    }
  },

  tsopfs_sync__deps: ['$TSOPFS'],
  tsopfs_sync: function (slot) {
    var P = TSOPFS.pool;
    if (!P) return TSOPFS.refuse(TSOPFS.ENOPOOL, 'sync: the OPFS pool was released');
    var s = P.slots[slot];
    var src = TSOPFS.flushPending(slot);
    if (src < 0) return src;
    // Flush skipping: every write to this file goes through this pool (its handle is exclusive), so
    // a slot with no write/truncate since its last successful flush has nothing to make
    // durable. Skipping saves a 65-100 us flush() that SQLite asks for, e.g. on the database
    // file of a WAL-mode commit that touched only the WAL.
    if (!s.dirty) { P.stats.flushSkipped++; return 0; }
    try {
      TSOPFS.countCall('flush');
      var t0 = performance.now();
      s.handle.flush();
      P.stats.flushMs += performance.now() - t0;
      s.dirty = false;
      return 0;
    } catch (e) {
      return TSOPFS.fail('flush', slot, e);
    }
  },

  tsopfs_size__deps: ['$TSOPFS'],
  tsopfs_size: function (slot) {
    var P = TSOPFS.pool;
    if (!P) return TSOPFS.refuse(TSOPFS.ENOPOOL, 'size: the OPFS pool was released');
    // Cached: exact, because this pool is the only writer of its files (exclusive handles), and
    // it spares a getSize() call on every xFileSize SQLite makes per transaction.
    return P.slots[slot].size;
  },

  tsopfs_delete__deps: ['$TSOPFS'],
  tsopfs_delete: function (zName) {
    var name = UTF8ToString(zName);
    var P = TSOPFS.pool;
    if (!P) return TSOPFS.refuse(TSOPFS.ENOPOOL, 'cannot delete "' + name + '": the OPFS pool is not installed');
    var slot = P.byName.get(name);
    if (slot === undefined) return TSOPFS.refuse(TSOPFS.ENOENT, 'cannot delete "' + name + '": no such file');
    var s = P.slots[slot];
    s.pend = null; // the file's bytes are going away: gathered appends to it are moot
    try {
      // Order matters: the cleared header is what frees the slot after a crash, so it goes
      // first; then the bytes are dropped (unless the file is still open); then one flush
      // makes the deletion durable, because in journal_mode=DELETE it is the commit.
      var rc = TSOPFS.writeHeader(s, '', 0);
      if (rc < 0) return rc;
      P.byName.delete(name);
      s.name = '';
      s.flags = 0;
      if (s.openCount > 0) {
        s.unlinked = true;
      } else {
        TSOPFS.countCall('truncate');
        s.handle.truncate(TSOPFS.HEADER_SIZE);
        s.size = 0;
      }
      TSOPFS.countCall('flush');
      s.handle.flush();
      s.dirty = false;
      return 0;
    } catch (e) {
      return TSOPFS.fail('delete', name, e);
    }
  },

  tsopfs_access__deps: ['$TSOPFS'],
  tsopfs_access: function (zName) {
    var P = TSOPFS.pool;
    return P && P.byName.has(UTF8ToString(zName)) ? 1 : 0;
  },

  tsopfs_set_error__deps: ['$TSOPFS'],
  tsopfs_set_error: function (zMessage) {
    TSOPFS.lastError = UTF8ToString(zMessage);
  },

  tsopfs_last_error__deps: ['$TSOPFS'],
  tsopfs_last_error: function (zBuf, nBuf) {
    stringToUTF8(TSOPFS.lastError, zBuf, nBuf);
  },
});
