// bindings.cc: the ONE file where tillsync's wasm module speaks Embind.
//
// Rules for everything in here (CanvasKit's habit): bindings return plain data (numbers,
// strings, arrays, Uint8Array copies, plain objects) and errors as {code, message}; they never
// hand JS an Embind object that leaks unless JS calls delete(). Nothing in here throws: the
// module is built with -fno-exceptions, like the core.
//
// Sections:
//   1. Result helpers
//   2. vfsContract: drives a registered SQLite VFS directly (xOpen, xRead, ...) for the VFS
//      contract suite in tests/vfs_contract/. Test-facing, not product API.
//   3. sql: a tiny SQL runner (open a database by VFS name, exec, query rows as plain arrays)
//      for durability tests and bench/opfs_commit.mjs. Test-facing, not product API.
//   4. Engine bindings: to come (owned by the engine work; add them as a new section).
//
// Threading: one dedicated worker, single-threaded (SQLITE_THREADSAFE=0).

#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "sqlite3.h"

using emscripten::val;

namespace {

// ---- 1. Result helpers ------------------------------------------------------------------------

val Result(int code, const std::string& message) {
  val r = val::object();
  r.set("code", code);
  r.set("message", message);
  return r;
}

val Ok() { return Result(SQLITE_OK, ""); }

// A fresh JS Uint8Array holding a copy of [data, data + n): JS owns it, nothing to free.
val CopyToUint8Array(const void* data, size_t n) {
  val out = val::global("Uint8Array").new_(n);
  out.call<void>("set", val(emscripten::typed_memory_view(n, static_cast<const uint8_t*>(data))));
  return out;
}

std::vector<uint8_t> CopyFromUint8Array(const val& bytes) {
  size_t n = bytes["length"].as<size_t>();
  std::vector<uint8_t> out(n);
  val(emscripten::typed_memory_view(n, out.data())).call<void>("set", bytes);
  return out;
}

// The message the VFS kept for its last failure (xGetLastError), or "".
std::string VfsLastError(sqlite3_vfs* vfs) {
  if (!vfs || !vfs->xGetLastError) return "";
  char buf[1024];
  buf[0] = 0;
  vfs->xGetLastError(vfs, sizeof(buf), buf);
  buf[sizeof(buf) - 1] = 0;
  return buf;
}

// ---- 2. vfsContract ---------------------------------------------------------------------------
// Files are plain integer ids into a table, not Embind objects; vfsContractCloseAll() frees
// whatever a failed test left open.

struct ContractFile {
  sqlite3_vfs* vfs = nullptr;
  sqlite3_file* file = nullptr;  // sqlite3_malloc'd, vfs->szOsFile bytes
  char* name = nullptr;          // sqlite3_mprintf'd: xOpen's zName must stay put until xClose,
                                 // which a std::string inside a growing vector would not
};
std::vector<ContractFile> g_files;

ContractFile* FileById(int id) {
  if (id < 0 || id >= static_cast<int>(g_files.size()) || !g_files[id].file) return nullptr;
  return &g_files[id];
}

val NoSuchFile() { return Result(SQLITE_MISUSE, "vfsContract: no open file with that id"); }

// Result for one VFS call: the code, plus the VFS's message when it failed.
val VfsResult(sqlite3_vfs* vfs, int rc) {
  return Result(rc, rc == SQLITE_OK ? "" : VfsLastError(vfs));
}

val vfsContractOpen(std::string vfsName, std::string name, int flags) {
  sqlite3_vfs* vfs = sqlite3_vfs_find(vfsName.c_str());
  if (!vfs) return Result(SQLITE_ERROR, "no such vfs: " + vfsName);
  sqlite3_file* file = static_cast<sqlite3_file*>(sqlite3_malloc(vfs->szOsFile));
  if (!file) return Result(SQLITE_NOMEM, "out of memory");
  memset(file, 0, vfs->szOsFile);
  int id = static_cast<int>(g_files.size());
  for (int i = 0; i < id; i++) {
    if (!g_files[i].file) { id = i; break; }
  }
  if (id == static_cast<int>(g_files.size())) g_files.emplace_back();
  ContractFile& entry = g_files[id];
  entry.vfs = vfs;
  entry.name = sqlite3_mprintf("%s", name.c_str());
  int outFlags = 0;
  int rc = vfs->xOpen(vfs, entry.name, file, flags, &outFlags);
  if (rc != SQLITE_OK) {
    if (file->pMethods) file->pMethods->xClose(file);  // contract: xClose iff pMethods is set
    sqlite3_free(file);
    sqlite3_free(entry.name);
    entry = ContractFile();
    return VfsResult(vfs, rc);
  }
  entry.file = file;
  val r = Ok();
  r.set("file", id);
  r.set("outFlags", outFlags);
  return r;
}

val vfsContractClose(int id) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  int rc = f->file->pMethods->xClose(f->file);
  sqlite3_vfs* vfs = f->vfs;
  sqlite3_free(f->file);
  sqlite3_free(f->name);
  *f = ContractFile();
  return VfsResult(vfs, rc);
}

void vfsContractCloseAll() {
  for (size_t i = 0; i < g_files.size(); i++) {
    if (g_files[i].file) vfsContractClose(static_cast<int>(i));
  }
}

val vfsContractRead(int id, double offset, int n) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  // Poison the buffer first: a VFS that forgets to zero-fill a short read must fail the
  // contract, which a buffer that happened to be zero already would hide.
  std::vector<uint8_t> buf(static_cast<size_t>(n), 0xA5);
  int rc = f->file->pMethods->xRead(f->file, buf.data(), n, static_cast<sqlite3_int64>(offset));
  val r = VfsResult(f->vfs, rc);
  r.set("bytes", CopyToUint8Array(buf.data(), buf.size()));
  return r;
}

val vfsContractWrite(int id, double offset, val bytes) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  std::vector<uint8_t> buf = CopyFromUint8Array(bytes);
  int rc = f->file->pMethods->xWrite(f->file, buf.data(), static_cast<int>(buf.size()),
                                     static_cast<sqlite3_int64>(offset));
  return VfsResult(f->vfs, rc);
}

val vfsContractTruncate(int id, double size) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  int rc = f->file->pMethods->xTruncate(f->file, static_cast<sqlite3_int64>(size));
  return VfsResult(f->vfs, rc);
}

val vfsContractSync(int id, int flags) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  return VfsResult(f->vfs, f->file->pMethods->xSync(f->file, flags));
}

val vfsContractSize(int id) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  sqlite3_int64 size = -1;
  int rc = f->file->pMethods->xFileSize(f->file, &size);
  val r = VfsResult(f->vfs, rc);
  r.set("size", static_cast<double>(size));
  return r;
}

val vfsContractLock(int id, int level) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  return VfsResult(f->vfs, f->file->pMethods->xLock(f->file, level));
}

val vfsContractUnlock(int id, int level) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  return VfsResult(f->vfs, f->file->pMethods->xUnlock(f->file, level));
}

val vfsContractCheckReservedLock(int id) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  int reserved = -1;
  int rc = f->file->pMethods->xCheckReservedLock(f->file, &reserved);
  val r = VfsResult(f->vfs, rc);
  r.set("reserved", reserved);
  return r;
}

// Only integer-valued opcodes (LOCKSTATE, ...): enough for the contract.
val vfsContractFileControlInt(int id, int op, int arg) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  int value = arg;
  int rc = f->file->pMethods->xFileControl(f->file, op, &value);
  val r = Result(rc, "");
  r.set("value", value);
  return r;
}

val vfsContractCharacteristics(int id) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  val r = Ok();
  r.set("sectorSize", f->file->pMethods->xSectorSize(f->file));
  r.set("deviceCharacteristics", f->file->pMethods->xDeviceCharacteristics(f->file));
  return r;
}

val vfsContractAccess(std::string vfsName, std::string name, int flags) {
  sqlite3_vfs* vfs = sqlite3_vfs_find(vfsName.c_str());
  if (!vfs) return Result(SQLITE_ERROR, "no such vfs: " + vfsName);
  int exists = -1;
  int rc = vfs->xAccess(vfs, name.c_str(), flags, &exists);
  val r = VfsResult(vfs, rc);
  r.set("exists", exists);
  return r;
}

val vfsContractDelete(std::string vfsName, std::string name) {
  sqlite3_vfs* vfs = sqlite3_vfs_find(vfsName.c_str());
  if (!vfs) return Result(SQLITE_ERROR, "no such vfs: " + vfsName);
  return VfsResult(vfs, vfs->xDelete(vfs, name.c_str(), 1));
}

val vfsContractLastError(std::string vfsName) {
  sqlite3_vfs* vfs = sqlite3_vfs_find(vfsName.c_str());
  if (!vfs) return Result(SQLITE_ERROR, "no such vfs: " + vfsName);
  return Result(SQLITE_OK, VfsLastError(vfs));
}

// The SQLite constants the suite needs, so no test hard-codes a number.
val sqliteConstants() {
  val c = val::object();
#define TS_CONST(name) c.set(#name, name)
  TS_CONST(SQLITE_OK); TS_CONST(SQLITE_ERROR); TS_CONST(SQLITE_BUSY); TS_CONST(SQLITE_FULL);
  TS_CONST(SQLITE_CANTOPEN); TS_CONST(SQLITE_NOTFOUND); TS_CONST(SQLITE_MISUSE);
  TS_CONST(SQLITE_IOERR); TS_CONST(SQLITE_IOERR_READ); TS_CONST(SQLITE_IOERR_SHORT_READ);
  TS_CONST(SQLITE_IOERR_WRITE); TS_CONST(SQLITE_IOERR_FSYNC); TS_CONST(SQLITE_IOERR_TRUNCATE);
  TS_CONST(SQLITE_IOERR_FSTAT); TS_CONST(SQLITE_IOERR_DELETE); TS_CONST(SQLITE_IOERR_DELETE_NOENT);
  TS_CONST(SQLITE_IOERR_CLOSE);
  TS_CONST(SQLITE_OPEN_READONLY); TS_CONST(SQLITE_OPEN_READWRITE); TS_CONST(SQLITE_OPEN_CREATE);
  TS_CONST(SQLITE_OPEN_EXCLUSIVE); TS_CONST(SQLITE_OPEN_DELETEONCLOSE);
  TS_CONST(SQLITE_OPEN_MAIN_DB); TS_CONST(SQLITE_OPEN_MAIN_JOURNAL); TS_CONST(SQLITE_OPEN_WAL);
  TS_CONST(SQLITE_LOCK_NONE); TS_CONST(SQLITE_LOCK_SHARED); TS_CONST(SQLITE_LOCK_RESERVED);
  TS_CONST(SQLITE_LOCK_PENDING); TS_CONST(SQLITE_LOCK_EXCLUSIVE);
  TS_CONST(SQLITE_SYNC_NORMAL); TS_CONST(SQLITE_SYNC_FULL);
  TS_CONST(SQLITE_FCNTL_LOCKSTATE); TS_CONST(SQLITE_FCNTL_CHUNK_SIZE);
  TS_CONST(SQLITE_ACCESS_EXISTS); TS_CONST(SQLITE_ACCESS_READWRITE);
  TS_CONST(SQLITE_IOCAP_ATOMIC); TS_CONST(SQLITE_IOCAP_SAFE_APPEND);
  TS_CONST(SQLITE_IOCAP_SEQUENTIAL); TS_CONST(SQLITE_IOCAP_POWERSAFE_OVERWRITE);
  TS_CONST(SQLITE_IOCAP_UNDELETABLE_WHEN_OPEN); TS_CONST(SQLITE_IOCAP_SUBPAGE_READ);
#undef TS_CONST
  return c;
}

// ---- 3. sql: a tiny SQL runner ----------------------------------------------------------------
// Databases are integer ids, like the files above. Errors carry SQLite's extended code, its
// message, and `detail`: the VFS's own last message when the failure came from storage.

struct SqlDb {
  sqlite3* db = nullptr;
  std::string vfsName;
};
std::vector<SqlDb> g_dbs;

SqlDb* DbById(int id) {
  if (id < 0 || id >= static_cast<int>(g_dbs.size()) || !g_dbs[id].db) return nullptr;
  return &g_dbs[id];
}

bool IsStorageError(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN ||
         primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

val SqlError(SqlDb* d, int rc) {
  val r = Result(rc, d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
  r.set("detail", IsStorageError(rc) ? VfsLastError(sqlite3_vfs_find(d->vfsName.c_str())) : "");
  return r;
}

val sqlOpen(std::string path, std::string vfsName) {
  SqlDb entry;
  entry.vfsName = vfsName;
  int rc = sqlite3_open_v2(path.c_str(), &entry.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                           vfsName.empty() ? nullptr : vfsName.c_str());
  if (entry.db) sqlite3_extended_result_codes(entry.db, 1);
  if (rc != SQLITE_OK) {
    val r = SqlError(&entry, rc);
    sqlite3_close_v2(entry.db);
    return r;
  }
  int id = static_cast<int>(g_dbs.size());
  for (int i = 0; i < id; i++) {
    if (!g_dbs[i].db) { id = i; break; }
  }
  if (id == static_cast<int>(g_dbs.size())) g_dbs.emplace_back();
  g_dbs[id] = entry;
  val r = Ok();
  r.set("db", id);
  return r;
}

val sqlExec(int id, std::string sql) {
  SqlDb* d = DbById(id);
  if (!d) return Result(SQLITE_MISUSE, "sql: no open database with that id");
  int rc = sqlite3_exec(d->db, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqlError(d, sqlite3_extended_errcode(d->db));
  val r = Ok();
  r.set("changes", sqlite3_changes(d->db));
  return r;
}

// Runs every statement in `sql`; the rows and column names of the last one that returned rows.
val sqlQuery(int id, std::string sql) {
  SqlDb* d = DbById(id);
  if (!d) return Result(SQLITE_MISUSE, "sql: no open database with that id");
  val rows = val::array();
  val columns = val::array();
  const char* tail = sql.c_str();
  while (tail && *tail) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(d->db, tail, -1, &stmt, &tail);
    if (rc != SQLITE_OK) return SqlError(d, sqlite3_extended_errcode(d->db));
    if (!stmt) continue;  // whitespace or a comment
    int ncol = sqlite3_column_count(stmt);
    bool first = true;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (first) {
        rows = val::array();
        columns = val::array();
        for (int c = 0; c < ncol; c++) columns.call<void>("push", std::string(sqlite3_column_name(stmt, c)));
        first = false;
      }
      val row = val::array();
      for (int c = 0; c < ncol; c++) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_INTEGER:  // as a JS number: exact to 2^53, enough for tests
            row.call<void>("push", static_cast<double>(sqlite3_column_int64(stmt, c)));
            break;
          case SQLITE_FLOAT:
            row.call<void>("push", sqlite3_column_double(stmt, c));
            break;
          case SQLITE_TEXT:
            row.call<void>("push", std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, c)),
                                               sqlite3_column_bytes(stmt, c)));
            break;
          case SQLITE_BLOB:
            row.call<void>("push", CopyToUint8Array(sqlite3_column_blob(stmt, c),
                                                    sqlite3_column_bytes(stmt, c)));
            break;
          default:
            row.call<void>("push", val::null());
        }
      }
      rows.call<void>("push", row);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return SqlError(d, sqlite3_extended_errcode(d->db));
  }
  val r = Ok();
  r.set("columns", columns);
  r.set("rows", rows);
  return r;
}

val sqlClose(int id) {
  SqlDb* d = DbById(id);
  if (!d) return Result(SQLITE_MISUSE, "sql: no open database with that id");
  int rc = sqlite3_close(d->db);
  if (rc != SQLITE_OK) return SqlError(d, rc);  // e.g. BUSY: a statement is still open
  *d = SqlDb();
  return Ok();
}

}  // namespace

EMSCRIPTEN_BINDINGS(tillsync) {
  using emscripten::function;
  // 1. helpers
  function("sqliteConstants", &sqliteConstants);
  // 2. vfsContract
  function("vfsContractOpen", &vfsContractOpen);
  function("vfsContractClose", &vfsContractClose);
  function("vfsContractCloseAll", &vfsContractCloseAll);
  function("vfsContractRead", &vfsContractRead);
  function("vfsContractWrite", &vfsContractWrite);
  function("vfsContractTruncate", &vfsContractTruncate);
  function("vfsContractSync", &vfsContractSync);
  function("vfsContractSize", &vfsContractSize);
  function("vfsContractLock", &vfsContractLock);
  function("vfsContractUnlock", &vfsContractUnlock);
  function("vfsContractCheckReservedLock", &vfsContractCheckReservedLock);
  function("vfsContractFileControlInt", &vfsContractFileControlInt);
  function("vfsContractCharacteristics", &vfsContractCharacteristics);
  function("vfsContractAccess", &vfsContractAccess);
  function("vfsContractDelete", &vfsContractDelete);
  function("vfsContractLastError", &vfsContractLastError);
  // 3. sql
  function("sqlOpen", &sqlOpen);
  function("sqlExec", &sqlExec);
  function("sqlQuery", &sqlQuery);
  function("sqlClose", &sqlClose);
  // 4. engine bindings: add here.
}
