#include "server/wal_coalescing_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#include "core/database.h"  // StatusFromSqlite

namespace tillsync::server {
namespace {

// Above this many gathered bytes the run is written out at once, so a very large transaction
// does not hold its whole WAL in memory.
constexpr size_t kMaxGathered = 8u << 20;

std::atomic<int64_t> g_write_calls{0};
std::atomic<int64_t> g_writes_issued{0};

sqlite3_vfs* g_real = nullptr;  // the default VFS underneath
sqlite3_vfs g_vfs;
sqlite3_io_methods g_methods;

// Our file: its own header, then the real VFS's file object right after it (szOsFile covers both).
struct File {
  sqlite3_file base;
  sqlite3_file* real;
  bool wal;
  std::vector<unsigned char>* gathered;  // WAL files only: bytes written but not yet passed on
  sqlite3_int64 gathered_at;             // file offset of gathered->front()
};

constexpr size_t kHeaderSize = (sizeof(File) + 15) & ~size_t(15);

File* Of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }

// The unix VFS writes at most 128 KiB per call (it masks the length to 17 bits: SQLite itself
// never writes more than a page and its header at once), so the gathered run goes out in pieces
// of this size, still about 30 frames per system call instead of two per frame.
constexpr size_t kMaxWrite = 0x1ffff & ~size_t(4095);

int Flush(File* f) {
  if (f->gathered == nullptr || f->gathered->empty()) return SQLITE_OK;
  int rc = SQLITE_OK;
  const std::vector<unsigned char>& g = *f->gathered;
  for (size_t done = 0; done < g.size() && rc == SQLITE_OK; done += kMaxWrite) {
    size_t n = std::min(kMaxWrite, g.size() - done);
    rc = f->real->pMethods->xWrite(f->real, g.data() + done, int(n), f->gathered_at + sqlite3_int64(done));
    ++g_writes_issued;
  }
  f->gathered->clear();
  return rc;
}

int Close(sqlite3_file* file) {
  File* f = Of(file);
  int flushed = Flush(f);
  int rc = f->real->pMethods->xClose(f->real);
  delete f->gathered;
  f->gathered = nullptr;
  return flushed != SQLITE_OK ? flushed : rc;
}

int Read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  File* f = Of(file);
  int rc = Flush(f);
  if (rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, out, amount, offset);
}

int Write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  File* f = Of(file);
  if (!f->wal) return f->real->pMethods->xWrite(f->real, data, amount, offset);
  ++g_write_calls;
  std::vector<unsigned char>& g = *f->gathered;
  if (!g.empty() && offset != f->gathered_at + sqlite3_int64(g.size())) {
    int rc = Flush(f);  // not contiguous: what came before goes first, in order
    if (rc != SQLITE_OK) return rc;
  }
  if (g.empty()) f->gathered_at = offset;
  const auto* bytes = static_cast<const unsigned char*>(data);
  g.insert(g.end(), bytes, bytes + amount);
  return g.size() >= kMaxGathered ? Flush(f) : SQLITE_OK;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = Of(file);
  int rc = Flush(f);
  if (rc != SQLITE_OK) return rc;
  return f->real->pMethods->xTruncate(f->real, size);
}

int Sync(sqlite3_file* file, int flags) {
  File* f = Of(file);
  int rc = Flush(f);
  if (rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  File* f = Of(file);
  int rc = Flush(f);
  if (rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileSize(f->real, size);
}

int Lock(sqlite3_file* file, int level) { return Of(file)->real->pMethods->xLock(Of(file)->real, level); }
int Unlock(sqlite3_file* file, int level) { return Of(file)->real->pMethods->xUnlock(Of(file)->real, level); }
int CheckReservedLock(sqlite3_file* file, int* out) {
  return Of(file)->real->pMethods->xCheckReservedLock(Of(file)->real, out);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
  File* f = Of(file);
  int rc = Flush(f);
  if (rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileControl(f->real, op, arg);
}

int SectorSize(sqlite3_file* file) { return Of(file)->real->pMethods->xSectorSize(Of(file)->real); }
int DeviceCharacteristics(sqlite3_file* file) {
  return Of(file)->real->pMethods->xDeviceCharacteristics(Of(file)->real);
}
int ShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return Of(file)->real->pMethods->xShmMap(Of(file)->real, region, size, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  return Of(file)->real->pMethods->xShmLock(Of(file)->real, offset, n, flags);
}
void ShmBarrier(sqlite3_file* file) { Of(file)->real->pMethods->xShmBarrier(Of(file)->real); }
int ShmUnmap(sqlite3_file* file, int delete_flag) {
  return Of(file)->real->pMethods->xShmUnmap(Of(file)->real, delete_flag);
}
int Fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  File* f = Of(file);
  int rc = Flush(f);
  if (rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFetch(f->real, offset, amount, out);
}
int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  return Of(file)->real->pMethods->xUnfetch(Of(file)->real, offset, p);
}

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = Of(file);
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<unsigned char*>(file) + kHeaderSize);
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->gathered = nullptr;
  f->gathered_at = 0;
  f->base.pMethods = nullptr;
  std::memset(f->real, 0, size_t(g_real->szOsFile));
  int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // SQLite calls xClose after a failed open only through pMethods, which stays null here.
    if (f->real->pMethods != nullptr) f->real->pMethods->xClose(f->real);
    return rc;
  }
  if (f->wal) f->gathered = new (std::nothrow) std::vector<unsigned char>();
  if (f->wal && f->gathered == nullptr) {
    f->real->pMethods->xClose(f->real);
    return SQLITE_NOMEM;
  }
  f->base.pMethods = &g_methods;
  return SQLITE_OK;
}

// The rest of the VFS is the real one's.
int Delete(sqlite3_vfs*, const char* name, int sync_dir) { return g_real->xDelete(g_real, name, sync_dir); }
int Access(sqlite3_vfs*, const char* name, int flags, int* out) { return g_real->xAccess(g_real, name, flags, out); }
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) { return g_real->xFullPathname(g_real, name, n, out); }
void* DlOpen(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void DlError(sqlite3_vfs*, int n, char* out) { g_real->xDlError(g_real, n, out); }
void (*DlSym(sqlite3_vfs*, void* h, const char* sym))(void) { return g_real->xDlSym(g_real, h, sym); }
void DlClose(sqlite3_vfs*, void* h) { g_real->xDlClose(g_real, h); }
int Randomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int Sleep(sqlite3_vfs*, int us) { return g_real->xSleep(g_real, us); }
int CurrentTime(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int GetLastError(sqlite3_vfs*, int n, char* out) { return g_real->xGetLastError(g_real, n, out); }
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) { return g_real->xCurrentTimeInt64(g_real, out); }

Status DoRegister() {
  g_real = sqlite3_vfs_find(nullptr);
  if (g_real == nullptr) return Status(ErrorCode::kInternal, "no default SQLite VFS");
  if (g_real->iVersion < 2) return Status(ErrorCode::kInternal, "the default SQLite VFS is too old to wrap");
  // Methods of our files: version 3 (shared memory for WAL, memory-mapped reads) as the real ones.
  g_methods = sqlite3_io_methods{};
  g_methods.iVersion = 3;
  g_methods.xClose = Close;
  g_methods.xRead = Read;
  g_methods.xWrite = Write;
  g_methods.xTruncate = Truncate;
  g_methods.xSync = Sync;
  g_methods.xFileSize = FileSize;
  g_methods.xLock = Lock;
  g_methods.xUnlock = Unlock;
  g_methods.xCheckReservedLock = CheckReservedLock;
  g_methods.xFileControl = FileControl;
  g_methods.xSectorSize = SectorSize;
  g_methods.xDeviceCharacteristics = DeviceCharacteristics;
  g_methods.xShmMap = ShmMap;
  g_methods.xShmLock = ShmLock;
  g_methods.xShmBarrier = ShmBarrier;
  g_methods.xShmUnmap = ShmUnmap;
  g_methods.xFetch = Fetch;
  g_methods.xUnfetch = Unfetch;

  g_vfs = sqlite3_vfs{};
  g_vfs.iVersion = 2;  // through xCurrentTimeInt64; the system-call overrides stay the real VFS's
  g_vfs.szOsFile = int(kHeaderSize) + g_real->szOsFile;
  g_vfs.mxPathname = g_real->mxPathname;
  g_vfs.zName = WalCoalescingVfs::kName;
  g_vfs.xOpen = Open;
  g_vfs.xDelete = Delete;
  g_vfs.xAccess = Access;
  g_vfs.xFullPathname = FullPathname;
  g_vfs.xDlOpen = DlOpen;
  g_vfs.xDlError = DlError;
  g_vfs.xDlSym = DlSym;
  g_vfs.xDlClose = DlClose;
  g_vfs.xRandomness = Randomness;
  g_vfs.xSleep = Sleep;
  g_vfs.xCurrentTime = CurrentTime;
  g_vfs.xGetLastError = GetLastError;
  g_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  int rc = sqlite3_vfs_register(&g_vfs, 0);
  if (rc != SQLITE_OK) return StatusFromSqlite(rc, "register the WAL coalescing VFS");
  return Status::Ok();
}

}  // namespace

Status WalCoalescingVfs::Register(const char** name) {
  static std::once_flag once;
  static Status result;
  std::call_once(once, [] { result = DoRegister(); });
  if (name != nullptr) *name = kName;
  return result;
}

int64_t WalCoalescingVfs::write_calls() { return g_write_calls.load(); }
int64_t WalCoalescingVfs::writes_issued() { return g_writes_issued.load(); }

}  // namespace tillsync::server
