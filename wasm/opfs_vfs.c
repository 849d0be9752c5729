/*
 * opfs_vfs.c: the C half of tillsync's "opfs" SQLite VFS, an access-handle pool on the browser's
 * Origin Private File System (OPFS).
 *
 * MATCHED PAIR. This file and wasm/opfs_vfs.js are one component cut in two by the wasm/JS
 * boundary. Every function that crosses it is listed in ONE place in each file: the BOUNDARY
 * block below, and the BOUNDARY block at the top of opfs_vfs.js. The failure categories
 * (TSOPFS_E*) and the limits (TSOPFS_MAX_SLOTS, TSOPFS_MAX_NAME) are repeated there and must
 * keep the same values. Change both files in the same commit.
 *
 * Who does what.
 *   - opfs_vfs.js owns the pool: it opens an OPFS directory, pre-acquires a fixed set of
 *     FileSystemSyncAccessHandles before any database opens (installOpfsPool), maps SQLite file
 *     names to pool slots through a header at the start of each pool file, and does the byte I/O.
 *     It catches every JS exception and reports a failure CATEGORY (I/O error, quota full, no
 *     such file, ...) plus a message it keeps for xGetLastError. It knows no SQLite codes.
 *   - This file owns the SQLite contract: it turns each category into the SQLite code that the
 *     method at hand must return (xRead -> SQLITE_IOERR_READ, xSync -> SQLITE_IOERR_FSYNC, ...),
 *     zero-fills short reads, turns short writes into SQLITE_FULL, and keeps the lock state.
 *   So the SQLite code mapping lives here only, and the OPFS knowledge lives there only.
 *
 * Why a pool: FileSystemSyncAccessHandle is the only synchronous OPFS API, but acquiring one is
 * asynchronous. SQLite's VFS is synchronous. Acquiring every handle up front makes every VFS
 * call synchronous with no SharedArrayBuffer, no Atomics.wait and no COOP/COEP headers.
 *
 * Threading: single-threaded. The pool lives in one dedicated worker (sync access handles exist
 * only there) and SQLite is built with SQLITE_THREADSAFE=0.
 */
#include <string.h>
/* getentropy (Emscripten: crypto.getRandomValues), declared by unistd.h only under _GNU_SOURCE. */
extern int getentropy(void *buffer, size_t length);

#include <emscripten/emscripten.h>
#include <emscripten/html5.h> /* emscripten_date_now */

#include "sqlite3.h"

/* ---- BOUNDARY (must match the BOUNDARY block in opfs_vfs.js) ------------------------------ */

/* Limits shared with opfs_vfs.js. The name limit is what the pool file header can store. */
#define TSOPFS_MAX_SLOTS 64
#define TSOPFS_MAX_NAME 512

/* Failure categories. The JS side returns one of these (negative) instead of throwing. */
#define TSOPFS_EIO (-1)          /* any exception from OPFS; message kept */
#define TSOPFS_EFULL (-2)        /* QuotaExceededError or a short write count */
#define TSOPFS_ENOENT (-3)       /* no pool file holds that name */
#define TSOPFS_EPOOLFULL (-4)    /* every pool slot holds a file */
#define TSOPFS_ENOPOOL (-5)      /* installOpfsPool has not run, or the pool was released */
#define TSOPFS_ENAMETOOLONG (-6) /* name does not fit the pool file header */

/* C -> JS, implemented in opfs_vfs.js. Offsets and sizes travel as doubles: wasm32 has no
 * 64-bit JS parameter without -sWASM_BIGINT, and a double holds every offset up to 2^53. */
extern int tsopfs_open(const char *zName, int flags, int create); /* slot >= 0 or TSOPFS_E* */
extern int tsopfs_close(int slot);                                /* 0 or TSOPFS_E* */
extern int tsopfs_read(int slot, void *pBuf, int n, double offset);  /* bytes read or TSOPFS_E* */
extern int tsopfs_write(int slot, const void *pBuf, int n, double offset); /* bytes or E* */
extern int tsopfs_truncate(int slot, double size);                /* 0 or TSOPFS_E* */
extern int tsopfs_sync(int slot);                                 /* 0 or TSOPFS_E* */
extern double tsopfs_size(int slot);                              /* bytes or TSOPFS_E* */
extern int tsopfs_delete(const char *zName);                      /* 0 or TSOPFS_E* */
extern int tsopfs_access(const char *zName);                      /* 1 exists, 0 not */
extern void tsopfs_set_error(const char *zMessage);               /* C-side failure message */
extern void tsopfs_last_error(char *zBuf, int nBuf);              /* copy of the last message */

/* JS -> C: installOpfsPool calls this once the handles are acquired. */
EMSCRIPTEN_KEEPALIVE int tillsync_opfs_register(void);

/* ---- Lock table --------------------------------------------------------------------------- */

/* The pool is exclusive to one worker, so no other process can touch these files and OPFS needs
 * no OS locks. But two connections in the same worker can open the same database, and SQLite
 * (without shared cache) relies on the VFS to keep them apart, exactly as the unix VFS does for
 * two connections in one process. So this is SQLite's lock protocol, kept in memory per slot. */
typedef struct OpfsFile OpfsFile;
typedef struct SlotLock {
  int nShared;       /* connections holding SHARED or more */
  OpfsFile *pWriter; /* the one connection at RESERVED, PENDING or EXCLUSIVE, if any */
} SlotLock;
static SlotLock g_locks[TSOPFS_MAX_SLOTS];

struct OpfsFile {
  sqlite3_file base; /* must be first: SQLite casts sqlite3_file* to OpfsFile* */
  int slot;          /* pool slot in opfs_vfs.js */
  int eLock;         /* SQLITE_LOCK_NONE .. SQLITE_LOCK_EXCLUSIVE held by this connection */
  int flags;         /* the SQLITE_OPEN_* flags it was opened with */
  const char *zName; /* SQLite guarantees xOpen's zName stays valid until xClose */
  char zTemp[40];    /* generated name when SQLite opens a nameless temp file */
};

static int opfsLock(sqlite3_file *pFile, int eLock) {
  OpfsFile *p = (OpfsFile *)pFile;
  SlotLock *s = &g_locks[p->slot];
  if (p->eLock >= eLock) return SQLITE_OK;
  switch (eLock) {
    case SQLITE_LOCK_SHARED:
      /* A writer at PENDING or EXCLUSIVE keeps new readers out, so it can drain the old ones. */
      if (s->pWriter && s->pWriter != p && s->pWriter->eLock >= SQLITE_LOCK_PENDING) {
        return SQLITE_BUSY;
      }
      s->nShared++;
      p->eLock = SQLITE_LOCK_SHARED;
      return SQLITE_OK;
    case SQLITE_LOCK_RESERVED:
      if (s->pWriter && s->pWriter != p) return SQLITE_BUSY;
      s->pWriter = p;
      p->eLock = SQLITE_LOCK_RESERVED;
      return SQLITE_OK;
    case SQLITE_LOCK_EXCLUSIVE:
      /* SQLite asks for EXCLUSIVE from SHARED (a hot journal) or from RESERVED. */
      if (s->pWriter && s->pWriter != p) return SQLITE_BUSY;
      s->pWriter = p;
      if (s->nShared > 1) {
        /* Other readers remain: stay at PENDING (no new readers) and let SQLite retry. */
        p->eLock = SQLITE_LOCK_PENDING;
        return SQLITE_BUSY;
      }
      p->eLock = SQLITE_LOCK_EXCLUSIVE;
      return SQLITE_OK;
    default:
      return SQLITE_MISUSE; /* SQLite never asks for PENDING directly */
  }
}

static int opfsUnlock(sqlite3_file *pFile, int eLock) {
  OpfsFile *p = (OpfsFile *)pFile;
  SlotLock *s = &g_locks[p->slot];
  if (p->eLock <= eLock) return SQLITE_OK;
  if (p->eLock > SQLITE_LOCK_SHARED && s->pWriter == p) s->pWriter = 0;
  if (eLock == SQLITE_LOCK_NONE && p->eLock >= SQLITE_LOCK_SHARED) s->nShared--;
  p->eLock = eLock;
  return SQLITE_OK;
}

static int opfsCheckReservedLock(sqlite3_file *pFile, int *pResOut) {
  OpfsFile *p = (OpfsFile *)pFile;
  /* Like the unix VFS: true when any connection (this one included) holds RESERVED or more. */
  *pResOut = g_locks[p->slot].pWriter != 0;
  return SQLITE_OK;
}

/* ---- I/O methods -------------------------------------------------------------------------- */

static int opfsClose(sqlite3_file *pFile) {
  OpfsFile *p = (OpfsFile *)pFile;
  int rc = SQLITE_OK;
  opfsUnlock(pFile, SQLITE_LOCK_NONE);
  if (tsopfs_close(p->slot) < 0) rc = SQLITE_IOERR_CLOSE;
  if (p->flags & SQLITE_OPEN_DELETEONCLOSE) {
    int r = tsopfs_delete(p->zName);
    if (r < 0 && r != TSOPFS_ENOENT && rc == SQLITE_OK) rc = SQLITE_IOERR_DELETE;
  }
  return rc;
}

static int opfsRead(sqlite3_file *pFile, void *pBuf, int iAmt, sqlite3_int64 iOfst) {
  OpfsFile *p = (OpfsFile *)pFile;
  int n = tsopfs_read(p->slot, pBuf, iAmt, (double)iOfst);
  if (n < 0) return SQLITE_IOERR_READ;
  if (n < iAmt) {
    /* The VFS contract: the unread tail MUST be zeroed. SQLite relies on it when it reads a page
     * past the end of a file (a new page, a WAL header that is not there yet) and would
     * otherwise see stale heap bytes as data. */
    memset((char *)pBuf + n, 0, (size_t)(iAmt - n));
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

static int opfsWrite(sqlite3_file *pFile, const void *pBuf, int iAmt, sqlite3_int64 iOfst) {
  OpfsFile *p = (OpfsFile *)pFile;
  int n = tsopfs_write(p->slot, pBuf, iAmt, (double)iOfst);
  /* Chromium reports a full quota either as QuotaExceededError or as a short count. Both are
   * SQLITE_FULL, which SQLite turns into a rolled-back statement and "database or disk is full",
   * instead of a silent hole in the file. */
  if (n == TSOPFS_EFULL) return SQLITE_FULL;
  if (n < 0) return SQLITE_IOERR_WRITE;
  if (n != iAmt) return SQLITE_FULL; /* defensive: the JS side already maps short writes */
  return SQLITE_OK;
}

static int opfsTruncate(sqlite3_file *pFile, sqlite3_int64 size) {
  OpfsFile *p = (OpfsFile *)pFile;
  int r = tsopfs_truncate(p->slot, (double)size);
  if (r == TSOPFS_EFULL) return SQLITE_FULL; /* growing a file can hit the quota too */
  return r < 0 ? SQLITE_IOERR_TRUNCATE : SQLITE_OK;
}

static int opfsSync(sqlite3_file *pFile, int flags) {
  OpfsFile *p = (OpfsFile *)pFile;
  /* FULL, NORMAL and DATAONLY all become one flush(): OPFS has no cheaper barrier, and the pool
   * header lives in the same file, so metadata and data are flushed together anyway. */
  (void)flags;
  int r = tsopfs_sync(p->slot);
  if (r == TSOPFS_EFULL) return SQLITE_FULL;
  return r < 0 ? SQLITE_IOERR_FSYNC : SQLITE_OK;
}

static int opfsFileSize(sqlite3_file *pFile, sqlite3_int64 *pSize) {
  OpfsFile *p = (OpfsFile *)pFile;
  double size = tsopfs_size(p->slot);
  if (size < 0) return SQLITE_IOERR_FSTAT;
  *pSize = (sqlite3_int64)size;
  return SQLITE_OK;
}

static int opfsFileControl(sqlite3_file *pFile, int op, void *pArg) {
  OpfsFile *p = (OpfsFile *)pFile;
  switch (op) {
    case SQLITE_FCNTL_LOCKSTATE:
      *(int *)pArg = p->eLock;
      return SQLITE_OK;
    case SQLITE_FCNTL_VFSNAME:
      *(char **)pArg = sqlite3_mprintf("opfs");
      return SQLITE_OK;
    default:
      /* NOTFOUND tells SQLite to fall back to its default behaviour, which is right for every
       * other opcode (size hints, chunk size, persist-WAL, ...): nothing about OPFS changes them. */
      return SQLITE_NOTFOUND;
  }
}

static int opfsSectorSize(sqlite3_file *pFile) {
  (void)pFile;
  /* 4096 matches the block size under OPFS on every desktop/mobile filesystem we target, and the
   * pool header is 4096 bytes so file offsets SQLite sees stay block-aligned on disk. */
  return 4096;
}

static int opfsDeviceCharacteristics(sqlite3_file *pFile) {
  (void)pFile;
  /* Only what we can defend:
   *  - POWERSAFE_OVERWRITE: writing some bytes never damages neighbouring bytes on power loss.
   *    SQLite's own unix VFS assumes this by default on the same hardware, and it lets WAL frames
   *    skip padding to sector boundaries (fewer bytes, fewer writes per commit).
   *  - SUBPAGE_READ: reads of any size at any offset are fine for this VFS.
   * Not claimed, on purpose:
   *  - ATOMIC*: OPFS promises no atomic page writes; SQLite must keep journaling.
   *  - SEQUENTIAL: Chromium's OPFS goes through the OS page cache, which can reorder writes
   *    between flushes; claiming it would let SQLite skip the journal/WAL-header syncs that
   *    order its commits, and a crash could then corrupt the database.
   *  - SAFE_APPEND: nothing guarantees the file length grows only after the data is on disk.
   *  - UNDELETABLE_WHEN_OPEN: a pool file can be deleted while open (POSIX unlink semantics). */
  return SQLITE_IOCAP_POWERSAFE_OVERWRITE | SQLITE_IOCAP_SUBPAGE_READ;
}

static const sqlite3_io_methods kOpfsIoMethods = {
    1, /* iVersion 1: no xShm*, no xFetch. WAL therefore needs locking_mode=EXCLUSIVE, which
          keeps the WAL index in heap memory; that is the mode this VFS is built for. */
    opfsClose,
    opfsRead,
    opfsWrite,
    opfsTruncate,
    opfsSync,
    opfsFileSize,
    opfsLock,
    opfsUnlock,
    opfsCheckReservedLock,
    opfsFileControl,
    opfsSectorSize,
    opfsDeviceCharacteristics,
    0, 0, 0, 0, /* xShmMap, xShmLock, xShmBarrier, xShmUnmap */
    0, 0        /* xFetch, xUnfetch */
};

/* ---- VFS methods -------------------------------------------------------------------------- */

static int opfsOpen(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *pFile, int flags,
                    int *pOutFlags) {
  OpfsFile *p = (OpfsFile *)pFile;
  (void)pVfs;
  /* pMethods stays NULL until the open succeeds, so SQLite does not call xClose on failure. */
  memset(p, 0, sizeof(*p));
  if (zName == 0) {
    /* SQLite asks for a nameless temp file (always DELETEONCLOSE). The pool needs a name to put
     * in the slot header; a random one cannot collide with a database name in practice. */
    sqlite3_uint64 r;
    sqlite3_randomness(sizeof(r), &r);
    sqlite3_snprintf(sizeof(p->zTemp), p->zTemp, "tsopfs-temp-%016llx", r);
    zName = p->zTemp;
  }
  if (strlen(zName) > TSOPFS_MAX_NAME) {
    tsopfs_set_error("opfs: file name longer than 512 bytes does not fit a pool slot");
    return SQLITE_CANTOPEN;
  }
  if ((flags & SQLITE_OPEN_EXCLUSIVE) && tsopfs_access(zName) == 1) {
    tsopfs_set_error("opfs: exclusive create of a file that already exists");
    return SQLITE_CANTOPEN;
  }
  int slot = tsopfs_open(zName, flags, (flags & SQLITE_OPEN_CREATE) != 0);
  if (slot == TSOPFS_EFULL) return SQLITE_FULL; /* the new slot's header did not fit the quota */
  if (slot < 0) return SQLITE_CANTOPEN;         /* message (pool full, no such file...) kept */
  if (slot >= TSOPFS_MAX_SLOTS) {               /* cannot happen: JS caps the capacity */
    tsopfs_close(slot);
    tsopfs_set_error("opfs: slot index beyond the C lock table");
    return SQLITE_CANTOPEN;
  }
  p->slot = slot;
  p->flags = flags;
  p->zName = zName;
  p->eLock = SQLITE_LOCK_NONE;
  p->base.pMethods = &kOpfsIoMethods;
  if (pOutFlags) *pOutFlags = flags;
  return SQLITE_OK;
}

static int opfsDelete(sqlite3_vfs *pVfs, const char *zName, int syncDir) {
  (void)pVfs;
  /* syncDir is ignored: the JS side always flushes a deletion, because deleting the rollback
   * journal IS the commit point of journal_mode=DELETE, and a lost deletion would roll a
   * committed sale back on the next open. */
  (void)syncDir;
  int r = tsopfs_delete(zName);
  if (r == TSOPFS_ENOENT) return SQLITE_IOERR_DELETE_NOENT;
  return r < 0 ? SQLITE_IOERR_DELETE : SQLITE_OK;
}

static int opfsAccess(sqlite3_vfs *pVfs, const char *zName, int flags, int *pResOut) {
  (void)pVfs;
  /* SQLITE_ACCESS_EXISTS and _READWRITE have the same answer: every pool file is writable. */
  (void)flags;
  *pResOut = tsopfs_access(zName) == 1;
  return SQLITE_OK;
}

static int opfsFullPathname(sqlite3_vfs *pVfs, const char *zName, int nOut, char *zOut) {
  (void)pVfs;
  /* The pool is a flat namespace keyed by the exact string: no directories, no normalisation.
   * "/a.db" and "a.db" are two different files, as the caller wrote them. */
  size_t n = strlen(zName);
  if ((int)n >= nOut) return SQLITE_CANTOPEN;
  memcpy(zOut, zName, n + 1);
  return SQLITE_OK;
}

static int opfsGetLastError(sqlite3_vfs *pVfs, int nBuf, char *zBuf) {
  (void)pVfs;
  if (nBuf > 0) tsopfs_last_error(zBuf, nBuf);
  return 0;
}

/* Randomness, sleep and time have nothing to do with OPFS, but this build has no other VFS to
 * borrow them from: SQLite is compiled with SQLITE_OS_OTHER=1 (no unix VFS, none of
 * Emscripten's file system code linked in), so "opfs" is the only VFS and provides them itself. */
static int opfsRandomness(sqlite3_vfs *pVfs, int nByte, char *zOut) {
  (void)pVfs;
  /* getentropy is crypto.getRandomValues underneath and takes at most 256 bytes a call. */
  int done = 0;
  while (done < nByte) {
    int n = nByte - done > 256 ? 256 : nByte - done;
    if (getentropy(zOut + done, (size_t)n) != 0) break;
    done += n;
  }
  return done;
}
static int opfsSleep(sqlite3_vfs *pVfs, int microseconds) {
  /* One thread, one connection per database: a busy wait could only wait for ourselves, so no
   * caller gains anything from sleeping. Report the time as slept, as SQLite expects. */
  (void)pVfs;
  return microseconds;
}
static int opfsCurrentTimeInt64(sqlite3_vfs *pVfs, sqlite3_int64 *pOut) {
  (void)pVfs;
  /* Julian day in milliseconds: Unix epoch ms + the Julian day of 1970-01-01 in ms. */
  *pOut = (sqlite3_int64)emscripten_date_now() + (sqlite3_int64)210866760000000LL;
  return SQLITE_OK;
}
static int opfsCurrentTime(sqlite3_vfs *pVfs, double *pOut) {
  sqlite3_int64 ms = 0;
  opfsCurrentTimeInt64(pVfs, &ms);
  *pOut = (double)ms / 86400000.0;
  return SQLITE_OK;
}

static sqlite3_vfs g_opfsVfs = {
    2,                       /* iVersion: 2 adds xCurrentTimeInt64 */
    sizeof(OpfsFile),        /* szOsFile */
    TSOPFS_MAX_NAME,         /* mxPathname */
    0,                       /* pNext */
    "opfs",                  /* zName */
    0,                       /* pAppData: unused */
    opfsOpen,
    opfsDelete,
    opfsAccess,
    opfsFullPathname,
    0, 0, 0, 0,              /* xDlOpen, xDlError, xDlSym, xDlClose: no extensions */
    opfsRandomness,
    opfsSleep,
    opfsCurrentTime,
    opfsGetLastError,
    opfsCurrentTimeInt64,
    0, 0, 0                  /* xSetSystemCall, xGetSystemCall, xNextSystemCall */
};

/* SQLITE_OS_OTHER=1: SQLite calls these from sqlite3_initialize() instead of registering its
 * own OS layer. "opfs" becomes the one and default VFS; until installOpfsPool has acquired the
 * handles, opening a file through it fails with a clear message (ENOPOOL). */
int sqlite3_os_init(void) { return sqlite3_vfs_register(&g_opfsVfs, 1); }
int sqlite3_os_end(void) { return SQLITE_OK; }

EMSCRIPTEN_KEEPALIVE int tillsync_opfs_register(void) {
  /* The VFS itself is registered by sqlite3_os_init; what the pool needs is SQLite initialised,
   * so that registration has happened before the first database opens. */
  int rc = sqlite3_initialize();
  if (rc != SQLITE_OK) return rc;
  return sqlite3_vfs_find("opfs") == &g_opfsVfs ? SQLITE_OK : SQLITE_ERROR;
}
