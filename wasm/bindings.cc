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
//   4. sqlBatch: one prepared statement run over many parameter rows inside one transaction,
//      the row loop kept in wasm (bench/browser.mjs compares it with a per-row JS loop); a
//      plain INSERT runs as one INSERT ... SELECT over the rows (table function
//      tillsync_rows), so its cursors stay open from row to row.
//   5. engine: the Device side of core/ (open, writes, reads, sync bytes, status, conflicts,
//      quarantine) for worker/. Product API; its JS face is worker/engine.js.
//
// Threading: one dedicated worker, single-threaded (SQLITE_THREADSAFE=0).

#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/cold_code.h"
#include "core/device.h"
#include "core/env.h"
#include "core/json_reader.h"
#include "core/migrations.h"
#include "core/protocol.h"
#include "core/sql_rows.h"
#include "core/status.h"
#include "sqlite3.h"

using emscripten::val;

// Bindings off the hot paths (the sale, sqlBatch, engine reads, sync pages) are marked TS_COLD
// (core/cold_code.h: compiled for size): opening, settings, the test-facing VFS contract and SQL
// runner, conflicts, quarantine, listings, error answers.

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
TS_COLD std::string VfsLastError(sqlite3_vfs* vfs) {
  if (!vfs || !vfs->xGetLastError) return "";
  char buf[1024];
  buf[0] = 0;
  vfs->xGetLastError(vfs, sizeof(buf), buf);
  buf[sizeof(buf) - 1] = 0;
  return buf;
}

// Large text arguments (a pull page of about 1.8 MB, a push answer, sqlBatch's rows, a bulk
// write) arrive as UTF-8 bytes the caller already placed in wasm memory (worker/engine.js
// withUtf8), as (address, size), not as a std::string: Embind 3.1.6 copies a std::string
// argument with a JS loop over every character (lengthBytesUTF8, then stringToUTF8), about 20 ms
// for one 1.8 MB page, where the caller's TextEncoder.encodeInto takes 0.1 ms. The bytes belong
// to the caller and stay valid for the call only.
std::string_view InputText(uintptr_t at, size_t size) {
  return size == 0 ? std::string_view() : std::string_view(reinterpret_cast<const char*>(at), size);
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

TS_COLD ContractFile* FileById(int id) {
  if (id < 0 || id >= static_cast<int>(g_files.size()) || !g_files[id].file) return nullptr;
  return &g_files[id];
}

TS_COLD val NoSuchFile() { return Result(SQLITE_MISUSE, "vfsContract: no open file with that id"); }

// Result for one VFS call: the code, plus the VFS's message when it failed.
TS_COLD val VfsResult(sqlite3_vfs* vfs, int rc) {
  return Result(rc, rc == SQLITE_OK ? "" : VfsLastError(vfs));
}

TS_COLD val vfsContractOpen(std::string vfsName, std::string name, int flags) {
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

TS_COLD val vfsContractClose(int id) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  int rc = f->file->pMethods->xClose(f->file);
  sqlite3_vfs* vfs = f->vfs;
  sqlite3_free(f->file);
  sqlite3_free(f->name);
  *f = ContractFile();
  return VfsResult(vfs, rc);
}

TS_COLD void vfsContractCloseAll() {
  for (size_t i = 0; i < g_files.size(); i++) {
    if (g_files[i].file) vfsContractClose(static_cast<int>(i));
  }
}

TS_COLD val vfsContractRead(int id, double offset, int n) {
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

TS_COLD val vfsContractWrite(int id, double offset, val bytes) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  std::vector<uint8_t> buf = CopyFromUint8Array(bytes);
  int rc = f->file->pMethods->xWrite(f->file, buf.data(), static_cast<int>(buf.size()),
                                     static_cast<sqlite3_int64>(offset));
  return VfsResult(f->vfs, rc);
}

TS_COLD val vfsContractTruncate(int id, double size) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  int rc = f->file->pMethods->xTruncate(f->file, static_cast<sqlite3_int64>(size));
  return VfsResult(f->vfs, rc);
}

TS_COLD val vfsContractSync(int id, int flags) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  return VfsResult(f->vfs, f->file->pMethods->xSync(f->file, flags));
}

TS_COLD val vfsContractSize(int id) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  sqlite3_int64 size = -1;
  int rc = f->file->pMethods->xFileSize(f->file, &size);
  val r = VfsResult(f->vfs, rc);
  r.set("size", static_cast<double>(size));
  return r;
}

TS_COLD val vfsContractLock(int id, int level) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  return VfsResult(f->vfs, f->file->pMethods->xLock(f->file, level));
}

TS_COLD val vfsContractUnlock(int id, int level) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  return VfsResult(f->vfs, f->file->pMethods->xUnlock(f->file, level));
}

TS_COLD val vfsContractCheckReservedLock(int id) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  int reserved = -1;
  int rc = f->file->pMethods->xCheckReservedLock(f->file, &reserved);
  val r = VfsResult(f->vfs, rc);
  r.set("reserved", reserved);
  return r;
}

// Only integer-valued opcodes (LOCKSTATE, ...): enough for the contract.
TS_COLD val vfsContractFileControlInt(int id, int op, int arg) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  int value = arg;
  int rc = f->file->pMethods->xFileControl(f->file, op, &value);
  val r = Result(rc, "");
  r.set("value", value);
  return r;
}

TS_COLD val vfsContractCharacteristics(int id) {
  ContractFile* f = FileById(id);
  if (!f) return NoSuchFile();
  val r = Ok();
  r.set("sectorSize", f->file->pMethods->xSectorSize(f->file));
  r.set("deviceCharacteristics", f->file->pMethods->xDeviceCharacteristics(f->file));
  return r;
}

TS_COLD val vfsContractAccess(std::string vfsName, std::string name, int flags) {
  sqlite3_vfs* vfs = sqlite3_vfs_find(vfsName.c_str());
  if (!vfs) return Result(SQLITE_ERROR, "no such vfs: " + vfsName);
  int exists = -1;
  int rc = vfs->xAccess(vfs, name.c_str(), flags, &exists);
  val r = VfsResult(vfs, rc);
  r.set("exists", exists);
  return r;
}

TS_COLD val vfsContractDelete(std::string vfsName, std::string name) {
  sqlite3_vfs* vfs = sqlite3_vfs_find(vfsName.c_str());
  if (!vfs) return Result(SQLITE_ERROR, "no such vfs: " + vfsName);
  return VfsResult(vfs, vfs->xDelete(vfs, name.c_str(), 1));
}

TS_COLD val vfsContractLastError(std::string vfsName) {
  sqlite3_vfs* vfs = sqlite3_vfs_find(vfsName.c_str());
  if (!vfs) return Result(SQLITE_ERROR, "no such vfs: " + vfsName);
  return Result(SQLITE_OK, VfsLastError(vfs));
}

// The SQLite constants the suite needs, so no test hard-codes a number.
TS_COLD val sqliteConstants() {
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
  bool batchRowsModule = false;  // tillsync_rows registered on db (sqlBatch's fast path)
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

TS_COLD val SqlError(SqlDb* d, int rc) {
  val r = Result(rc, d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
  r.set("detail", IsStorageError(rc) ? VfsLastError(sqlite3_vfs_find(d->vfsName.c_str())) : "");
  return r;
}

TS_COLD val sqlOpen(std::string path, std::string vfsName) {
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

TS_COLD val sqlClose(int id) {
  SqlDb* d = DbById(id);
  if (!d) return Result(SQLITE_MISUSE, "sql: no open database with that id");
  int rc = sqlite3_close(d->db);
  if (rc != SQLITE_OK) return SqlError(d, rc);  // e.g. BUSY: a statement is still open
  *d = SqlDb();
  return Ok();
}


// ---- 4. sqlBatch ------------------------------------------------------------------------------
// Runs `sql` (one statement with ? parameters) once per element of the rows (UTF-8 JSON text at
// rows_at, see InputText: a JSON array of
// arrays of numbers, strings, booleans or nulls), between BEGIN and COMMIT, preparing it once.
// The loop stays inside wasm: calling SQLite from JS once per bind/step/reset costs about 10 us a
// row (TOOLCHAIN.md), which is most of the time of a 10,000-row import done the JS way. The rows
// are read by the small scanner below, straight into sqlite3_bind_*: building an nlohmann DOM
// first took 60 % of the whole batch (measured: 60 of 98 ms for 10,000 rows of 5 values).

// One JSON value as the scanner read it. Unescaped text points into the caller's bytes, which
// outlive the call; escaped text (copied) into the scanner's own buffer, which the next string
// overwrites.
struct ScannedValue {
  enum Kind { kNull, kInteger, kReal, kText } kind = kNull;
  int64_t integer = 0;
  double real = 0;
  std::string_view text;
  bool copied = false;
};

// A cursor over JSON text that reads exactly the grammar sqlBatch accepts.
struct RowScanner {
  const char* p;
  const char* end;
  std::string text;  // the last string value, unescaped

  void Skip() {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  }
  bool Eat(char c) {
    Skip();
    if (p < end && *p == c) { p++; return true; }
    return false;
  }
  bool Word(const char* w) {
    size_t n = strlen(w);
    if (size_t(end - p) < n || memcmp(p, w, n) != 0) return false;
    p += n;
    return true;
  }
  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool Hex4(unsigned* out) {
    if (end - p < 4) return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
      int h = Hex(p[i]);
      if (h < 0) return false;
      v = v * 16 + unsigned(h);
    }
    p += 4;
    *out = v;
    return true;
  }
  void Utf8(unsigned cp) {
    if (cp < 0x80) text += char(cp);
    else if (cp < 0x800) { text += char(0xC0 | (cp >> 6)); text += char(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) {
      text += char(0xE0 | (cp >> 12)); text += char(0x80 | ((cp >> 6) & 0x3F)); text += char(0x80 | (cp & 0x3F));
    } else {
      text += char(0xF0 | (cp >> 18)); text += char(0x80 | ((cp >> 12) & 0x3F));
      text += char(0x80 | ((cp >> 6) & 0x3F)); text += char(0x80 | (cp & 0x3F));
    }
  }
  // After the opening quote. A string without escapes (nearly every one) is left in place: *out
  // points into the caller's bytes, which outlive the statement's use of the binding (the whole
  // call), so it can bind as SQLITE_STATIC, with no copy. Only an escaped string is unescaped
  // into `text` (*copied), which the next string overwrites, so SQLite must copy that one.
  bool String(std::string_view* out, bool* copied) {
    *copied = false;
    const char* start = p;
    while (p < end && *p != '"' && *p != '\\') p++;
    if (p >= end) return false;
    if (*p == '"') {
      *out = std::string_view(start, size_t(p - start));
      p++;
      return true;
    }
    text.assign(start, size_t(p - start));
    while (p < end) {
      const char* run = p;
      while (p < end && *p != '"' && *p != '\\') p++;
      text.append(run, size_t(p - run));
      if (p >= end) return false;
      if (*p++ == '"') {
        *out = text;
        *copied = true;
        return true;
      }
      if (p >= end) return false;
      char c = *p++;
      switch (c) {
        case '"': case '\\': case '/': text += c; break;
        case 'b': text += '\b'; break;
        case 'f': text += '\f'; break;
        case 'n': text += '\n'; break;
        case 'r': text += '\r'; break;
        case 't': text += '\t'; break;
        case 'u': {
          unsigned cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
            const char* save = p;
            p += 2;
            unsigned lo = 0;
            if (Hex4(&lo) && lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            else p = save;
          }
          Utf8(cp);
          break;
        }
        default: return false;
      }
    }
    return false;
  }
  // One value, read into *v (see ScannedValue for where its text lives).
  bool Scan(ScannedValue* v) {
    Skip();
    if (p >= end) return false;
    if (*p == '"') {
      p++;
      v->kind = ScannedValue::kText;
      return String(&v->text, &v->copied);
    }
    v->copied = false;
    if (Word("null")) { v->kind = ScannedValue::kNull; return true; }
    if (Word("true")) { v->kind = ScannedValue::kInteger; v->integer = 1; return true; }
    if (Word("false")) { v->kind = ScannedValue::kInteger; v->integer = 0; return true; }
    const char* start = p;
    bool integer = true;
    bool plain = true;  // only digits after an optional leading '-'
    if (p < end && *p == '-') p++;
    const char* digits = p;
    while (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-')) {
      if (*p == '.' || *p == 'e' || *p == 'E') integer = false;
      if (*p < '0' || *p > '9') plain = false;
      p++;
    }
    if (p == start) return false;
    size_t size = size_t(p - start);
    // The common case, read without a copy: at most 18 characters always fit in int64.
    if (plain && p > digits && size < 19) {
      int64_t n = 0;
      for (const char* d = digits; d < p; d++) n = n * 10 + (*d - '0');
      v->kind = ScannedValue::kInteger;
      v->integer = *start == '-' ? -n : n;
      return true;
    }
    std::string number(start, size);
    char* stop = nullptr;
    if (integer && number.size() < 19) {
      v->kind = ScannedValue::kInteger;
      v->integer = strtoll(number.c_str(), &stop, 10);
    } else {
      v->kind = ScannedValue::kReal;
      v->real = strtod(number.c_str(), &stop);
    }
    return stop == number.c_str() + number.size();
  }
  // One value, bound to parameter `index` of `stmt` (index 0 or past the last: read, not bound).
  bool Value(sqlite3_stmt* stmt, int index) {
    ScannedValue v;
    if (!Scan(&v)) return false;
    switch (v.kind) {
      case ScannedValue::kNull: sqlite3_bind_null(stmt, index); break;
      case ScannedValue::kInteger: sqlite3_bind_int64(stmt, index, v.integer); break;
      case ScannedValue::kReal: sqlite3_bind_double(stmt, index, v.real); break;
      case ScannedValue::kText:
        sqlite3_bind_text(stmt, index, v.text.data(), int(v.text.size()), v.copied ? SQLITE_TRANSIENT : SQLITE_STATIC);
        break;
    }
    return true;
  }
};

// The rows as a table: sqlBatch's fast path for a plain INSERT. Run once per row, an INSERT
// opens its table's and indexes' cursors, seeks each from the root and closes them again at
// sqlite3_reset: for `products` (a rowid table, its text primary key's index and two more
// indexes) that is four cursors and four descents a row. Run as ONE statement, `INSERT INTO t
// (a, b) SELECT c0, c1 FROM tillsync_rows(?)` (core/sql_rows.h, the table-valued function the
// engine's pull uses too), the cursors stay open and positioned from row to row, so SQLite's own
// shortcuts apply. The source below scans each JSON row when the statement steps to it; its
// values are the columns c0, c1, ... (a short row's missing values are NULL, a long row's extra
// values are read and ignored: what the per-row binds did). Only `INSERT|REPLACE [OR x] INTO
// name [(columns)] VALUES (?, ..., ?)` is rewritten (RowsInsertAsSelect); anything else (UPDATE,
// ON CONFLICT, RETURNING, numbered parameters, expressions) runs per row as before.
constexpr int kBatchRowsColumns = tillsync::kSqlRowsColumns;  // widest VALUES list the fast path takes

class BatchRows : public tillsync::SqlRowSource {
 public:
  explicit BatchRows(RowScanner* in) : in_(in) {}
  int columns = 0;  // the statement's c0 .. c(columns - 1): only those are read back
  bool syntax = false;  // a malformed row ended the statement (sqlBatch reports the syntax error)
  double count = 0;

  // The first call reads past the array's '[' (already eaten by sqlBatch) to the first row or
  // the closing ']'; later calls need the ',' between rows or the final ']'.
  bool Next() override {
    if (started_ ? !in_->Eat(',') : in_->Eat(']')) {
      if (started_ && !in_->Eat(']')) syntax = true;
      return false;
    }
    started_ = true;
    if (!ScanRow()) {
      syntax = true;
      return false;
    }
    count++;
    return true;
  }
  bool failed() const override { return syntax; }
  tillsync::SqlCell Cell(int column) const override {
    tillsync::SqlCell cell;
    if (column >= columns) return cell;
    const ScannedValue& v = values_[column];
    switch (v.kind) {
      case ScannedValue::kNull: break;
      case ScannedValue::kInteger: cell.kind = tillsync::SqlCell::Kind::kInt; cell.integer = v.integer; break;
      case ScannedValue::kReal: cell.kind = tillsync::SqlCell::Kind::kReal; cell.real = v.real; break;
      // In place: the caller's bytes (or this row's escaped copy) stay put while the row is used.
      case ScannedValue::kText: cell.kind = tillsync::SqlCell::Kind::kText; cell.text = v.text; break;
    }
    return cell;
  }

 private:
  // Scans the row at the scanner (its '[' to its ']') into values_.
  bool ScanRow() {
    if (!in_->Eat('[')) return false;
    int index = 0;
    if (!in_->Eat(']')) {
      do {
        ScannedValue v;
        if (!in_->Scan(&v)) return false;
        if (index < columns) {
          if (v.kind == ScannedValue::kText && v.copied) {
            escaped_[index].assign(v.text.data(), v.text.size());
            v.text = escaped_[index];
          }
          values_[index] = v;
        }
        index++;
      } while (in_->Eat(','));
      if (!in_->Eat(']')) return false;
    }
    for (int rest = index; rest < columns; rest++) values_[rest].kind = ScannedValue::kNull;
    return true;
  }

  RowScanner* in_;
  bool started_ = false;
  ScannedValue values_[kBatchRowsColumns];
  std::string escaped_[kBatchRowsColumns];  // an escaped string's bytes, per column (the scanner's buffer is shared)
};

bool IsSqlSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

bool EqualsWord(std::string_view token, const char* word) {
  size_t n = strlen(word);
  if (token.size() != n) return false;
  for (size_t i = 0; i < n; i++) {
    if (toupper(static_cast<unsigned char>(token[i])) != word[i]) return false;
  }
  return true;
}

// `INSERT|REPLACE [OR x] INTO name [(columns)] VALUES (?, ..., ?)` (nothing after but spaces and
// one ';') as `... SELECT c0, ..., cN-1 FROM tillsync_rows(?)`; false for anything else.
// Deliberately narrow: the part before VALUES may hold no parenthesis but the column list, no
// quote but identifiers' double quotes, no comment, and none of the words that would make it
// more than a target (SELECT, VALUES, WITH, DEFAULT, ...). A rewrite SQLite refuses to prepare
// falls back to the statement as given, so its error is the caller's own.
bool RowsInsertAsSelect(std::string_view sql, std::string* out, int* columns) {
  size_t tail = sql.size();
  while (tail > 0 && IsSqlSpace(sql[tail - 1])) tail--;
  if (tail > 0 && sql[tail - 1] == ';') tail--;
  while (tail > 0 && IsSqlSpace(sql[tail - 1])) tail--;
  if (tail == 0 || sql[tail - 1] != ')') return false;
  // Back over "(?, ?, ..., ?)".
  size_t at = tail - 1;
  int parameters = 0;
  bool wantParameter = true;
  while (at > 0) {
    char c = sql[--at];
    if (IsSqlSpace(c)) continue;
    if (c == '?' && wantParameter) { parameters++; wantParameter = false; continue; }
    if (c == ',' && !wantParameter) { wantParameter = true; continue; }
    if (c == '(' && !wantParameter) break;
    return false;
  }
  if (sql[at] != '(' || parameters == 0 || parameters > kBatchRowsColumns) return false;
  size_t valuesEnd = at;
  while (valuesEnd > 0 && IsSqlSpace(sql[valuesEnd - 1])) valuesEnd--;
  if (valuesEnd < 6 || !EqualsWord(sql.substr(valuesEnd - 6, 6), "VALUES")) return false;
  std::string_view head = sql.substr(0, valuesEnd - 6);
  if (head.empty() || !(IsSqlSpace(head.back()) || head.back() == ')')) return false;
  // The head: words, identifiers, dots, commas and one column list.
  static const char* const kRefused[] = {"SELECT", "VALUES", "WITH", "DEFAULT", "UNION", "FROM", "RETURNING", "ON", "WHERE"};
  int opened = 0;
  bool columnListDone = false;
  size_t i = 0;
  std::vector<std::string_view> words;
  while (i < head.size()) {
    char c = head[i];
    if (IsSqlSpace(c) || c == '.' || c == ',') { i++; continue; }
    if (c == '(') {
      if (opened || columnListDone) return false;
      opened = 1;
      i++;
      continue;
    }
    if (c == ')') {
      if (!opened) return false;
      opened = 0;
      columnListDone = true;
      i++;
      continue;
    }
    if (columnListDone) return false;  // nothing after the column list but VALUES
    if (c == '"') {  // a quoted identifier ("" inside is a quote)
      size_t j = i + 1;
      for (;;) {
        if (j >= head.size()) return false;
        if (head[j] == '"') {
          if (j + 1 < head.size() && head[j + 1] == '"') { j += 2; continue; }
          break;
        }
        j++;
      }
      i = j + 1;
      continue;
    }
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80))) return false;
    size_t j = i;
    while (j < head.size() && (isalnum(static_cast<unsigned char>(head[j])) || head[j] == '_' || (head[j] & 0x80))) j++;
    words.push_back(head.substr(i, j - i));
    i = j;
  }
  if (opened || words.empty() || !(EqualsWord(words[0], "INSERT") || EqualsWord(words[0], "REPLACE"))) return false;
  for (std::string_view w : words) {
    for (const char* refused : kRefused) {
      if (EqualsWord(w, refused)) return false;
    }
  }
  out->assign(head);
  if (!IsSqlSpace(out->back())) *out += ' ';
  *out += "SELECT ";
  for (int k = 0; k < parameters; k++) {
    if (k) *out += ", ";
    *out += "c" + std::to_string(k);
  }
  *out += " FROM tillsync_rows(?)";
  *columns = parameters;
  return true;
}

val sqlBatch(int id, std::string sql, uintptr_t rows_at, size_t rows_size) {
  SqlDb* d = DbById(id);
  if (!d) return Result(SQLITE_MISUSE, "sql: no open database with that id");
  std::string_view rows = InputText(rows_at, rows_size);
  RowScanner in{rows.data(), rows.data() + rows.size(), {}};
  if (!in.Eat('[')) return Result(SQLITE_MISUSE, "sqlBatch: rows must be a JSON array of arrays");
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_exec(d->db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  // A plain INSERT runs as one INSERT ... SELECT over the rows (see BatchRows above).
  BatchRows batchRows(&in);
  bool asOneStatement = false;
  std::string asSelect;
  if (rc == SQLITE_OK && RowsInsertAsSelect(sql, &asSelect, &batchRows.columns)) {
    if (!d->batchRowsModule) d->batchRowsModule = tillsync::RegisterSqlRows(d->db) == SQLITE_OK;
    if (d->batchRowsModule && sqlite3_prepare_v2(d->db, asSelect.c_str(), -1, &stmt, nullptr) == SQLITE_OK && stmt) {
      asOneStatement = tillsync::BindSqlRows(stmt, 1, &batchRows) == SQLITE_OK;
    }
    if (!asOneStatement) {
      sqlite3_finalize(stmt);
      stmt = nullptr;
    }
  }
  if (rc == SQLITE_OK && !asOneStatement) rc = sqlite3_prepare_v2(d->db, sql.c_str(), -1, &stmt, nullptr);
  const int parameters = stmt ? sqlite3_bind_parameter_count(stmt) : 0;
  double count = 0;
  bool syntax = false;
  if (asOneStatement) {
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) rc = SQLITE_OK;
    syntax = batchRows.syntax;
    count = batchRows.count;
  } else if (rc == SQLITE_OK && !in.Eat(']')) {
    do {
      if (!in.Eat('[')) { syntax = true; break; }
      int index = 0;
      if (!in.Eat(']')) {
        do {
          if (!in.Value(stmt, ++index)) { syntax = true; break; }
        } while (in.Eat(','));
        if (syntax || !in.Eat(']')) { syntax = true; break; }
      }
      // A row that binds every parameter replaces all of the last row's values, so no
      // sqlite3_clear_bindings per row: a shorter row gets NULL for the rest, as after a clear.
      for (int rest = index + 1; rest <= parameters; rest++) sqlite3_bind_null(stmt, rest);
      rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE || rc == SQLITE_ROW) rc = SQLITE_OK;
      sqlite3_reset(stmt);
      count++;
    } while (rc == SQLITE_OK && in.Eat(','));
    if (!syntax && rc == SQLITE_OK && !in.Eat(']')) syntax = true;
  }
  val err = val::undefined();
  if (syntax) err = Result(SQLITE_MISUSE, "sqlBatch: rows must be a JSON array of arrays of numbers, strings, booleans or nulls");
  else if (rc != SQLITE_OK) err = SqlError(d, sqlite3_extended_errcode(d->db));
  sqlite3_finalize(stmt);
  if (err.isUndefined()) {
    rc = sqlite3_exec(d->db, "COMMIT", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) {
      val r = Ok();
      r.set("rows", count);
      return r;
    }
    err = SqlError(d, sqlite3_extended_errcode(d->db));
  }
  if (!sqlite3_get_autocommit(d->db)) sqlite3_exec(d->db, "ROLLBACK", nullptr, nullptr, nullptr);
  return err;
}

// ---- 5. engine --------------------------------------------------------------------------------
// Devices are small integer ids into a registry: engineOpen hands one out, engineClose frees it
// (engineCloseAll frees every one, for a worker that hands the database over). No Embind object
// ever reaches JS, so nothing leaks when JS forgets a delete().
//
// Every call takes plain values (numbers, strings, JSON text) and returns JSON TEXT:
//     {"ok":true,"result":...}
//     {"ok":false,"code":"totals_mismatch","message":"...","detail":{...}|null}
// `code` is the core's stable ErrorCode name (core/status.h). Text, not val objects: a query of
// 1,000 rows then crosses the boundary as one string and one JSON.parse, where building it with
// val::set would be thousands of calls into JS. Integers travel as JSON numbers: exact up to
// 2^53, which money (at most 10^12 minor units) and sequence numbers stay far below.
//
// Idempotent retries of mutating calls. A tab that lost its answer (the owner tab closed
// mid-call, the worker was handed over) sends the same call again with the same request id,
// chosen before the first attempt. Exactly-once needs the "this request was done" record to
// commit in the SAME transaction as the write, but Device::Write owns its transaction. So the
// record is written by a TEMP trigger on the outbox insert that every write makes: the trigger
// reads the request in progress through the SQL function tsw_request() and stores
// (request id -> operation seq) in _tsw_requests. A retry finds it and answers with that seq
// instead of writing again. Sales also carry an order id the core itself dedupes (SaleInput).

using tillsync::Device;
using tillsync::DeviceIdentity;
using tillsync::DeviceOptions;
using tillsync::ErrorCode;
using tillsync::Json;
using tillsync::JsonReader;
using tillsync::Status;

// Prepared read statements of engineQuery, most recently used first. Finalized before the
// Device closes its connection (see ~Engine).
struct QueryCache {
  static constexpr size_t kSize = 24;
  std::vector<std::pair<std::string, sqlite3_stmt*>> entries;
  ~QueryCache() { Clear(); }
  void Clear() {
    for (auto& e : entries) sqlite3_finalize(e.second);
    entries.clear();
  }
};

struct Engine {
  std::unique_ptr<tillsync::ManualEnv> manual_env;  // set when opened with a fixed clock (tests)
  std::unique_ptr<Device> device;
  std::string request_id;  // the mutating call in progress, read by tsw_request()
  QueryCache queries;
  ~Engine() { queries.Clear(); }  // statements first, then the connection (device)
};
std::vector<std::unique_ptr<Engine>> g_engines;

std::string OkText(Json result) {
  Json out = Json::object();
  out["ok"] = true;
  out["result"] = std::move(result);
  return tillsync::DumpJson(out);
}

TS_COLD std::string ErrorText(const Status& s, const std::string& vfs_message = "") {
  Json detail = nullptr;
  if (!s.detail().empty()) {
    Json parsed;
    detail = tillsync::ParseJson(s.detail(), &parsed).ok() ? parsed : Json(s.detail());
  }
  // Storage failures: the VFS's own words (e.g. "short write ... (storage quota full?)") are
  // what a developer needs; SQLite's message alone says only "database or disk is full".
  if (!vfs_message.empty()) {
    if (!detail.is_object()) detail = Json::object();
    detail["storage"] = vfs_message;
  }
  Json out = {{"ok", false}, {"code", s.code_name()}, {"message", s.message()}, {"detail", detail}};
  return tillsync::DumpJson(out);
}

std::string StatusText(const Status& s, Json result) {
  if (s.ok()) return OkText(std::move(result));
  std::string vfs;
  if (s.code() == ErrorCode::kStorageFull || s.code() == ErrorCode::kIoError || s.code() == ErrorCode::kCorrupt)
    vfs = VfsLastError(sqlite3_vfs_find(nullptr));
  return ErrorText(s, vfs);
}

Engine* EngineById(int id) {
  if (id < 0 || id >= static_cast<int>(g_engines.size()) || !g_engines[id]) return nullptr;
  return g_engines[id].get();
}

TS_COLD std::string NoEngine() { return ErrorText(Status(ErrorCode::kNotOpen, "no open database with that id")); }

// Integers arrive from JS as doubles; anything that is not an exact integer is refused, never
// truncated (a quantity of 2.5 must not become 2).
bool ExactInt(double v, int64_t* out) {
  if (!(v >= -9007199254740991.0 && v <= 9007199254740991.0)) return false;
  int64_t i = static_cast<int64_t>(v);
  if (static_cast<double>(i) != v) return false;
  *out = i;
  return true;
}

Status ParseArg(std::string_view text, Json* out, const char* what) {
  Status s = tillsync::ParseJson(text, out);
  if (!s.ok()) return Status(ErrorCode::kBadJson, std::string(what) + " is not valid JSON: " + s.message());
  return Status::Ok();
}

void TswRequest(sqlite3_context* ctx, int, sqlite3_value**) {
  Engine* e = static_cast<Engine*>(sqlite3_user_data(ctx));
  if (e->request_id.empty()) sqlite3_result_null(ctx);
  else sqlite3_result_text(ctx, e->request_id.data(), static_cast<int>(e->request_id.size()), SQLITE_TRANSIENT);
}

// The worker's own tables beside the engine's: _tsw_requests (above) and _tsw_settings (the hub
// URL and device token the worker syncs with; the identity itself lives in the core's _ts_kv).
TS_COLD Status InstallWorkerTables(Engine* e) {
  tillsync::Database* db = e->device->db();
  TS_RETURN_IF_ERROR(db->Exec(
      "CREATE TABLE IF NOT EXISTS _tsw_settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID"));
  TS_RETURN_IF_ERROR(db->Exec(
      "CREATE TABLE IF NOT EXISTS _tsw_requests (request_id TEXT PRIMARY KEY NOT NULL, seq INTEGER NOT NULL,"
      " at INTEGER NOT NULL) WITHOUT ROWID"));
  // INNOCUOUS: the database opens with trusted_schema=OFF, under which only innocuous functions
  // may run inside triggers.
  int rc = sqlite3_create_function(db->raw(), "tsw_request", 0, SQLITE_UTF8 | SQLITE_INNOCUOUS, e, TswRequest,
                                   nullptr, nullptr);
  if (rc != SQLITE_OK) return tillsync::StatusFromSqlite(rc, "tsw_request", db->raw());
  TS_RETURN_IF_ERROR(db->Exec(
      "CREATE TEMP TRIGGER IF NOT EXISTS _tsw_request_seq AFTER INSERT ON main._ts_outbox"
      " WHEN tsw_request() IS NOT NULL BEGIN"
      " INSERT OR IGNORE INTO _tsw_requests (request_id, seq, at) VALUES (tsw_request(), NEW.seq, NEW.created_at);"
      " END"));
  // Retries come seconds after the first attempt; a week of records is plenty and stays small.
  return db->Exec("DELETE FROM _tsw_requests WHERE at < (SELECT MAX(at) FROM _tsw_requests) - 604800000");
}

// The start of every mutating call, one copy for all of them rather than one inlined into each
// (about 700 bytes of .wasm each): finds the engine, checks the request id, and answers a
// request id seen before with its first answer's seq. Returns the engine to run the call on
// (with its request id set), or nullptr with the answer in *answer.
Engine* BeginMutating(int id, const std::string& request_id, std::string* answer) {
  Engine* e = EngineById(id);
  if (!e) {
    *answer = NoEngine();
    return nullptr;
  }
  if (request_id.size() > 128) {
    *answer = ErrorText(Status(ErrorCode::kBadId, "request id longer than 128 bytes"));
    return nullptr;
  }
  if (!request_id.empty()) {
    tillsync::Statement* st = nullptr;
    Status s = e->device->db()->Cached("SELECT seq FROM _tsw_requests WHERE request_id=?1", &st);
    bool row = false;
    if (s.ok()) {
      st->Bind(1, std::string_view(request_id));
      s = st->Step(&row);
    }
    if (!s.ok()) {
      *answer = StatusText(s, nullptr);
      return nullptr;
    }
    if (row) {
      Json r = {{"seq", st->Int(0)}, {"replayed", true}};
      st->Reset();
      *answer = OkText(r);
      return nullptr;
    }
    st->Reset();
  }
  e->request_id = request_id;
  return e;
}

// Runs a mutating call once per request id. `body` returns the JSON text answer.
template <typename Body>
std::string Mutating(int id, const std::string& request_id, Body body) {
  std::string answer;
  Engine* e = BeginMutating(id, request_id, &answer);
  if (!e) return answer;
  std::string out = body(e);
  e->request_id.clear();
  return out;
}

Json WriteResultJson(const tillsync::WriteResult& w) { return Json{{"seq", w.seq}, {"hlc", w.hlc}}; }

// {"identity":{device_id, shop_id, receipt_prefix, currency}, "vfs", "journal_mode",
//  "synchronous", "exclusive_locking", "wal_autocheckpoint" (pages), "clock":{"now_ms","seed"},
//  "push_batch", "pull_limit", "page_size" (new databases only)}
TS_COLD Status ParseOpenOptions(const Json& o, DeviceIdentity* identity, DeviceOptions* options, Engine* e,
                        int64_t* page_size) {
  JsonReader r(o, "options");
  TS_RETURN_IF_ERROR(r.ExpectObject({"identity", "vfs", "journal_mode", "synchronous", "exclusive_locking",
                                     "wal_autocheckpoint", "clock", "push_batch", "pull_limit", "page_size"}));
  if (r.Has("identity")) {
    const Json* id = nullptr;
    TS_RETURN_IF_ERROR(r.Object("identity", &id));
    JsonReader ir(*id, "options.identity");
    TS_RETURN_IF_ERROR(ir.ExpectObject({"device_id", "shop_id", "receipt_prefix", "currency"}));
    if (ir.Has("device_id")) TS_RETURN_IF_ERROR(ir.String("device_id", &identity->device_id, 64));
    if (ir.Has("shop_id")) TS_RETURN_IF_ERROR(ir.String("shop_id", &identity->shop_id, 64));
    if (ir.Has("receipt_prefix")) TS_RETURN_IF_ERROR(ir.String("receipt_prefix", &identity->receipt_prefix, 16));
    if (ir.Has("currency")) TS_RETURN_IF_ERROR(ir.String("currency", &identity->currency, 3));
  }
  if (r.Has("vfs")) TS_RETURN_IF_ERROR(r.String("vfs", &options->open.vfs, 64));
  if (r.Has("journal_mode")) TS_RETURN_IF_ERROR(r.String("journal_mode", &options->open.journal_mode, 16));
  if (r.Has("synchronous")) TS_RETURN_IF_ERROR(r.String("synchronous", &options->open.synchronous, 16));
  bool present = false;
  TS_RETURN_IF_ERROR(r.Bool("exclusive_locking", &options->open.exclusive_locking, &present));
  int64_t n = 0;
  TS_RETURN_IF_ERROR(r.OptionalInt("wal_autocheckpoint", &n, &present));
  if (present) {
    if (n < 1 || n > 1000000) return Status(ErrorCode::kBadValue, "wal_autocheckpoint must be 1 to 1000000 pages");
    options->open.wal_autocheckpoint_pages = n;
  }
  TS_RETURN_IF_ERROR(r.OptionalInt("push_batch", &n, &present));
  if (present) {
    if (n < 1 || n > int64_t(tillsync::kMaxOpsPerPush)) return Status(ErrorCode::kBadValue, "push_batch out of range");
    options->push_batch = size_t(n);
  }
  TS_RETURN_IF_ERROR(r.OptionalInt("pull_limit", &n, &present));
  if (present) {
    if (n < 1 || n > tillsync::kMaxPullLimit) return Status(ErrorCode::kBadValue, "pull_limit out of range");
    options->pull_limit = n;
  }
  TS_RETURN_IF_ERROR(r.OptionalInt("page_size", page_size, &present));
  if (present && (*page_size < 512 || *page_size > 65536 || (*page_size & (*page_size - 1)) != 0))
    return Status(ErrorCode::kBadValue, "page_size must be a power of two from 512 to 65536");
  if (r.Has("clock")) {
    const Json* c = nullptr;
    TS_RETURN_IF_ERROR(r.Object("clock", &c));
    JsonReader cr(*c, "options.clock");
    TS_RETURN_IF_ERROR(cr.ExpectObject({"now_ms", "seed"}));
    int64_t now = 0, seed = 1;
    TS_RETURN_IF_ERROR(cr.Int("now_ms", &now));
    TS_RETURN_IF_ERROR(cr.OptionalInt("seed", &seed, &present));
    e->manual_env = std::make_unique<tillsync::ManualEnv>(now, uint64_t(seed));
    options->env = e->manual_env.get();
  }
  return Status::Ok();
}

TS_COLD Json IdentityJson(const DeviceIdentity& id) {
  return Json{{"device_id", id.device_id}, {"shop_id", id.shop_id}, {"receipt_prefix", id.receipt_prefix},
              {"currency", id.currency}};
}

// page_size applies to a database being created: SQLite fixes it with the first page written,
// so it is set here, on a connection of our own, before the engine creates its schema. An
// existing database keeps the page size it was created with.
TS_COLD Status PrepareNewDatabase(const std::string& path, const std::string& vfs_name, int64_t page_size) {
  if (page_size == 0) return Status::Ok();
  sqlite3_vfs* vfs = sqlite3_vfs_find(vfs_name.empty() ? nullptr : vfs_name.c_str());
  if (!vfs) return Status(ErrorCode::kBadValue, "no such vfs: " + vfs_name);
  int exists = 0;
  if (vfs->xAccess(vfs, path.c_str(), SQLITE_ACCESS_EXISTS, &exists) != SQLITE_OK || exists) return Status::Ok();
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs->zName);
  std::string sql = "PRAGMA page_size=" + std::to_string(page_size) + "; CREATE TABLE _tsw_page(x); DROP TABLE _tsw_page;";
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  Status s = tillsync::StatusFromSqlite(rc, "page_size", db);
  sqlite3_close_v2(db);
  return s;
}

TS_COLD std::string engineOpen(std::string path, std::string optionsJson) {
  auto e = std::make_unique<Engine>();
  Json o;
  DeviceIdentity identity;
  DeviceOptions options;
  int64_t page_size = 0;
  Status s = ParseArg(optionsJson.empty() ? "{}" : optionsJson, &o, "options");
  if (s.ok()) s = ParseOpenOptions(o, &identity, &options, e.get(), &page_size);
  if (s.ok()) s = PrepareNewDatabase(path, options.open.vfs, page_size);
  if (s.ok()) s = Device::Open(path, identity, options, &e->device);
  if (s.ok()) s = InstallWorkerTables(e.get());
  if (!s.ok()) return StatusText(s, nullptr);
  int id = static_cast<int>(g_engines.size());
  for (int i = 0; i < id; i++) {
    if (!g_engines[i]) { id = i; break; }
  }
  if (id == static_cast<int>(g_engines.size())) g_engines.emplace_back();
  Json result = {{"device", id}, {"identity", IdentityJson(e->device->identity())},
                 {"schema_version", tillsync::LatestSchemaVersion()}};
  g_engines[id] = std::move(e);
  return OkText(result);
}

// All worker settings as one object {key: value}.
TS_COLD std::string engineSettings(int id) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  tillsync::Statement st;
  Status s = e->device->db()->Prepare("SELECT key, value FROM _tsw_settings", &st);
  Json out = Json::object();
  bool row = false;
  while (s.ok()) {
    s = st.Step(&row);
    if (!s.ok() || !row) break;
    Json v;
    if (tillsync::ParseJson(st.Text(1), &v).ok()) out[st.Text(0)] = std::move(v);
  }
  return StatusText(s, std::move(out));
}

// Stores one setting (value: JSON text), durable on return.
TS_COLD std::string engineSettingPut(int id, std::string key, std::string valueJson) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  Json v;
  Status s = ParseArg(valueJson, &v, "value");
  tillsync::Statement st;
  if (s.ok()) s = e->device->db()->Prepare("INSERT OR REPLACE INTO _tsw_settings (key, value) VALUES (?1, ?2)", &st);
  if (s.ok()) s = st.Bind(1, key).Bind(2, tillsync::DumpJson(v)).Run();
  return StatusText(s, nullptr);
}

// Deletes a CLOSED database's files (the database, its WAL and rollback journal) through the
// default VFS; files that are not there are fine. Refused while an engine has it open.
TS_COLD std::string engineDeleteDatabase(std::string path) {
  for (const auto& e : g_engines) {
    if (e && e->device->db()->path() == path) {
      return ErrorText(Status(ErrorCode::kBusy, "the database is open; close it first"));
    }
  }
  sqlite3_vfs* vfs = sqlite3_vfs_find(nullptr);
  for (const char* suffix : {"", "-wal", "-journal"}) {
    std::string name = path + suffix;
    int rc = vfs->xDelete(vfs, name.c_str(), 1);
    if (rc != SQLITE_OK && rc != SQLITE_IOERR_DELETE_NOENT) {
      return ErrorText(Status(ErrorCode::kIoError, "could not delete " + name), VfsLastError(vfs));
    }
  }
  return OkText(nullptr);
}

TS_COLD std::string engineClose(int id) {
  if (!EngineById(id)) return NoEngine();
  g_engines[id].reset();  // finalizes the statements and closes the connection
  return OkText(nullptr);
}

TS_COLD void engineCloseAll() {
  for (auto& e : g_engines) e.reset();
}

TS_COLD std::string engineInfo() {
  return OkText(Json{{"schema_version", tillsync::LatestSchemaVersion()},
                     {"protocol_version", tillsync::kProtocolVersion},
                     {"sqlite_version", sqlite3_libversion()}});
}

// Moves a fixed (test) clock; refused for a device on the real clock.
TS_COLD std::string engineSetClock(int id, double now_ms) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  int64_t now = 0;
  if (!e->manual_env) return ErrorText(Status(ErrorCode::kBadRequest, "this device runs on the real clock"));
  if (!ExactInt(now_ms, &now)) return ErrorText(Status(ErrorCode::kBadValue, "now_ms must be an integer"));
  e->manual_env->SetNow(now);
  return OkText(nullptr);
}

Status ParseChanges(std::string_view text, std::vector<tillsync::Change>* out) {
  Json j;
  TS_RETURN_IF_ERROR(ParseArg(text, &j, "changes"));
  if (!j.is_array()) return Status(ErrorCode::kBadRequest, "changes must be an array");
  for (size_t i = 0; i < j.size(); i++) {
    std::string path = "changes[" + std::to_string(i) + "]";
    JsonReader r(j[i], path);
    TS_RETURN_IF_ERROR(r.ExpectObject({"table", "id", "values", "base_version"}));
    tillsync::Change c;
    TS_RETURN_IF_ERROR(r.String("table", &c.table, 64));
    TS_RETURN_IF_ERROR(r.String("id", &c.id, 1024));
    const Json* values = nullptr;
    TS_RETURN_IF_ERROR(r.Object("values", &values));
    c.values = *values;
    bool has = false;
    TS_RETURN_IF_ERROR(r.OptionalInt("base_version", &c.base_version, &has));
    if (!has) c.base_version = -1;
    out->push_back(std::move(c));
  }
  return Status::Ok();
}

std::string engineWrite(int id, uintptr_t changes_at, size_t changes_size, std::string requestId) {
  return Mutating(id, requestId, [&](Engine* e) {
    std::vector<tillsync::Change> changes;
    tillsync::WriteResult w;
    Status s = ParseChanges(InputText(changes_at, changes_size), &changes);
    if (s.ok()) s = e->device->Write(std::move(changes), &w);
    return StatusText(s, WriteResultJson(w));
  });
}

// {"lines":[{"product_id","qty"}], "payments":[{"method","amount_minor","tendered_minor"}],
//  "customer_id", "order_id"}
Status ParseSale(const std::string& text, tillsync::SaleInput* sale) {
  Json j;
  TS_RETURN_IF_ERROR(ParseArg(text, &j, "sale"));
  JsonReader r(j, "sale");
  TS_RETURN_IF_ERROR(r.ExpectObject({"lines", "payments", "customer_id", "order_id"}));
  const Json* lines = nullptr;
  TS_RETURN_IF_ERROR(r.Array("lines", &lines, 1000));
  for (size_t i = 0; i < lines->size(); i++) {
    JsonReader lr((*lines)[i], "sale.lines[" + std::to_string(i) + "]");
    TS_RETURN_IF_ERROR(lr.ExpectObject({"product_id", "qty"}));
    tillsync::SaleLineInput line;
    TS_RETURN_IF_ERROR(lr.String("product_id", &line.product_id, 64));
    TS_RETURN_IF_ERROR(lr.Int("qty", &line.qty));
    sale->lines.push_back(line);
  }
  bool present = false;
  if (r.Has("payments")) {
    const Json* pays = nullptr;
    TS_RETURN_IF_ERROR(r.Array("payments", &pays, 100));
    for (size_t i = 0; i < pays->size(); i++) {
      JsonReader pr((*pays)[i], "sale.payments[" + std::to_string(i) + "]");
      TS_RETURN_IF_ERROR(pr.ExpectObject({"method", "amount_minor", "tendered_minor"}));
      tillsync::PaymentInput pay;
      if (pr.Has("method")) TS_RETURN_IF_ERROR(pr.String("method", &pay.method, 16));
      TS_RETURN_IF_ERROR(pr.OptionalInt("amount_minor", &pay.amount_minor, &present));
      if (present && pay.amount_minor < 0) return Status(ErrorCode::kBadAmount, "amount_minor must not be negative");
      TS_RETURN_IF_ERROR(pr.OptionalInt("tendered_minor", &pay.tendered_minor, &present));
      if (present && pay.tendered_minor < 0) return Status(ErrorCode::kBadAmount, "tendered_minor must not be negative");
      sale->payments.push_back(pay);
    }
  }
  if (r.Has("customer_id")) TS_RETURN_IF_ERROR(r.String("customer_id", &sale->customer_id, 64));
  if (r.Has("order_id")) TS_RETURN_IF_ERROR(r.String("order_id", &sale->order_id, 64));
  return Status::Ok();
}

// The sale's answer, the bytes OkText(Json{...}) gives for it (keys in nlohmann's sorted order,
// strings escaped by AppendJsonString, DumpJson's own encoder), written straight: the Json object
// cost a sale eight map nodes, their key strings and the serializer (about 3 % of a sale's CPU in
// Node). wasm/tests check the answer field by field; tests/wasm/engine.test.mjs byte for byte.
std::string SaleAnswerText(const tillsync::SaleResult& res) {
  std::string out;
  out.reserve(200 + res.order_id.size() + res.receipt_no.size());
  auto number = [&out](const char* key, int64_t v) {
    out += key;
    out += std::to_string(v);
  };
  number("{\"ok\":true,\"result\":{\"change_minor\":", res.change_minor);
  number(",\"created_at\":", res.created_at);
  out += ",\"order_id\":";
  tillsync::AppendJsonString(res.order_id, &out);
  out += ",\"receipt_no\":";
  tillsync::AppendJsonString(res.receipt_no, &out);
  number(",\"seq\":", res.seq);
  number(",\"subtotal_minor\":", res.subtotal_minor);
  number(",\"tax_minor\":", res.tax_minor);
  number(",\"total_minor\":", res.total_minor);
  out += "}}";
  return out;
}

std::string engineRecordSale(int id, std::string saleJson, std::string requestId) {
  return Mutating(id, requestId, [&](Engine* e) {
    tillsync::SaleInput sale;
    tillsync::SaleResult res;
    Status s = ParseSale(saleJson, &sale);
    if (s.ok()) s = e->device->RecordSale(sale, &res);
    if (!s.ok()) return StatusText(s, nullptr);
    return SaleAnswerText(res);
  });
}

TS_COLD std::string engineVoidSale(int id, std::string orderId, std::string requestId) {
  return Mutating(id, requestId, [&](Engine* e) {
    tillsync::WriteResult w;
    return StatusText(e->device->VoidSale(orderId, &w), WriteResultJson(w));
  });
}

TS_COLD std::string engineRefundSale(int id, std::string orderId, std::string requestId) {
  return Mutating(id, requestId, [&](Engine* e) {
    tillsync::WriteResult w;
    return StatusText(e->device->RefundSale(orderId, &w), WriteResultJson(w));
  });
}

// kind: "receive" | "adjust". Quantities are checked to be exact integers here, then ranged by
// the core.
TS_COLD std::string engineStock(int id, std::string kind, std::string productId, double qty, std::string requestId) {
  return Mutating(id, requestId, [&](Engine* e) {
    int64_t n = 0;
    tillsync::WriteResult w;
    Status s = ExactInt(qty, &n) ? Status::Ok() : Status(ErrorCode::kBadQuantity, "quantity must be an integer");
    if (s.ok()) {
      if (kind == "receive") s = e->device->ReceiveStock(productId, n, &w);
      else if (kind == "adjust") s = e->device->AdjustStock(productId, n, &w);
      else s = Status(ErrorCode::kBadRequest, "stock kind must be receive or adjust");
    }
    return StatusText(s, WriteResultJson(w));
  });
}

TS_COLD std::string engineRecordExpense(int id, std::string description, double amountMinor, std::string requestId) {
  return Mutating(id, requestId, [&](Engine* e) {
    int64_t n = 0;
    tillsync::WriteResult w;
    Status s = ExactInt(amountMinor, &n)
                   ? e->device->RecordExpense(description, n, &w)
                   : Status(ErrorCode::kFloatMoney, "amount_minor must be an integer number of minor units");
    return StatusText(s, WriteResultJson(w));
  });
}

std::string engineNewRowId(int id) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  std::string row_id;
  Status s = e->device->NewRowId(&row_id);
  return StatusText(s, row_id);
}

// Appends `v` to `out` as a JSON string.
void JsonString(std::string* out, const char* v, size_t n) {
  out->push_back('"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == '"' || c == '\\') { out->push_back('\\'); out->push_back(char(c)); }
    else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out->append(buf);
    } else out->push_back(char(c));
  }
  out->push_back('"');
}

// engineQuery: the same contract as Device::Query (read-only statements, positional parameters
// that are integers, strings, booleans or null, rows as objects; the same error codes), but
// faster on the path every screen of a POS takes: statements are prepared once and kept (LRU),
// parameters are scanned straight into sqlite3_bind_*, and the answer is written as JSON text
// directly, without building an nlohmann DOM per row and then serialising it.
std::string engineQuery(int id, std::string sql, std::string paramsJson) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  sqlite3* db = e->device->db()->raw();
  QueryCache& cache = e->queries;
  sqlite3_stmt* stmt = nullptr;
  for (size_t i = 0; i < cache.entries.size(); i++) {
    if (cache.entries[i].first == sql) {
      stmt = cache.entries[i].second;
      if (i > 0) std::rotate(cache.entries.begin(), cache.entries.begin() + long(i), cache.entries.begin() + long(i) + 1);
      break;
    }
  }
  if (!stmt) {
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.c_str(), int(sql.size()), &stmt, &tail);
    if (rc != SQLITE_OK) return StatusText(tillsync::StatusFromSqlite(rc, sql, db), nullptr);
    if (!stmt) return ErrorText(Status(ErrorCode::kBadRequest, "empty statement"));
    if (!sqlite3_stmt_readonly(stmt)) {
      sqlite3_finalize(stmt);
      return ErrorText(Status(ErrorCode::kForbidden, "queries are read-only; write through the engine so changes sync"));
    }
    if (cache.entries.size() == QueryCache::kSize) {
      sqlite3_finalize(cache.entries.back().second);
      cache.entries.pop_back();
    }
    cache.entries.insert(cache.entries.begin(), {sql, stmt});
  }
  // Parameters: count them while binding, then compare with what the statement expects.
  sqlite3_clear_bindings(stmt);
  int expected = sqlite3_bind_parameter_count(stmt);
  int given = 0;
  std::string params = paramsJson.empty() ? "[]" : paramsJson;
  RowScanner in{params.data(), params.data() + params.size(), {}};
  if (!in.Eat('[')) return ErrorText(Status(ErrorCode::kBadRequest, "params must be an array"));
  bool syntax = false;
  if (!syntax && !in.Eat(']')) {
    do {
      in.Skip();
      const char* at = in.p;
      // Floats are refused (money is integer minor units); the scanner would bind them.
      const char* q = at;
      if (q < in.end && *q == '-') q++;
      bool numeric = q < in.end && *q >= '0' && *q <= '9';
      if (numeric) {
        while (q < in.end && *q >= '0' && *q <= '9') q++;
        if (q < in.end && (*q == '.' || *q == 'e' || *q == 'E'))
          return ErrorText(Status(ErrorCode::kBadValue, "parameters must be integers, strings, booleans or null"));
        errno = 0;
        strtoll(at, nullptr, 10);
        if (errno == ERANGE) return ErrorText(Status(ErrorCode::kBadValue, "parameter out of range"));
      } else if (at < in.end && (*at == '[' || *at == '{')) {
        return ErrorText(Status(ErrorCode::kBadValue, "parameters must be integers, strings, booleans or null"));
      }
      ++given;
      if (given <= expected) {
        if (!in.Value(stmt, given)) { syntax = true; break; }
      } else if (!in.Value(stmt, 0)) {  // index 0 binds nothing: just read past it; the count check
        syntax = true;                     // below reports the mismatch
        break;
      }
    } while (in.Eat(','));
    if (!syntax && !in.Eat(']')) syntax = true;
  }
  if (syntax) {
    sqlite3_clear_bindings(stmt);
    return ErrorText(Status(ErrorCode::kBadJson, "params is not valid JSON: expected an array of integers, strings, booleans or null"));
  }
  if (given != expected) {
    sqlite3_clear_bindings(stmt);
    return ErrorText(Status(ErrorCode::kBadRequest, "statement has " + std::to_string(expected) + " parameters, " +
                                                        std::to_string(given) + " given"));
  }
  std::string out = "{\"ok\":true,\"result\":[";
  int ncol = sqlite3_column_count(stmt);
  std::vector<std::string> names(static_cast<size_t>(ncol));
  for (int c = 0; c < ncol; c++) {
    const char* name = sqlite3_column_name(stmt, c);
    JsonString(&names[size_t(c)], name, strlen(name));
    names[size_t(c)].push_back(':');
  }
  int rc;
  bool first = true;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    out += first ? "{" : ",{";
    first = false;
    for (int c = 0; c < ncol; c++) {
      if (c) out.push_back(',');
      out += names[size_t(c)];
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_INTEGER: out += std::to_string(sqlite3_column_int64(stmt, c)); break;
        case SQLITE_FLOAT: {
          double v = sqlite3_column_double(stmt, c);
          if (v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308) { out += "null"; break; }
          char buf[32];
          snprintf(buf, sizeof buf, "%.17g", v);
          out += buf;
          break;
        }
        case SQLITE_NULL: out += "null"; break;
        default:
          JsonString(&out, reinterpret_cast<const char*>(sqlite3_column_text(stmt, c)), size_t(sqlite3_column_bytes(stmt, c)));
      }
    }
    out.push_back('}');
  }
  if (rc != SQLITE_DONE) {
    Status s = tillsync::StatusFromSqlite(rc, sql, db);
    sqlite3_reset(stmt);
    return StatusText(s, nullptr);
  }
  sqlite3_reset(stmt);
  out += "]}";
  return out;
}

// after_seq: 0 for the oldest pending operations, else the last_seq of the push before (see
// Device::BuildPushAfter); a double because seqs stay far below 2^53.
std::string engineBuildPush(int id, double after_seq) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  std::string body;
  int64_t count = 0;
  int64_t last_seq = 0;
  Status s = e->device->BuildPushAfter(int64_t(after_seq), &body, &count, &last_seq);
  return StatusText(s, Json{{"body", body}, {"count", count}, {"last_seq", last_seq}});
}

std::string engineHandlePushResponse(int id, uintptr_t body_at, size_t body_size) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  return StatusText(e->device->HandlePushResponse(InputText(body_at, body_size)), nullptr);
}

std::string engineBuildPull(int id) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  std::string body;
  Status s = e->device->BuildPull(&body);
  return StatusText(s, Json{{"body", body}});
}

std::string engineHandlePullResponse(int id, uintptr_t body_at, size_t body_size) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  tillsync::PullOutcome o;
  Status s = e->device->HandlePullResponse(InputText(body_at, body_size), &o);
  return StatusText(s, Json{{"more", o.more}, {"rows", o.rows}, {"remaining", o.remaining},
                            {"checksum_checked", o.checksum_checked}, {"repair_started", o.repair_started},
                            {"tables", o.tables}});
}

std::string engineHasPending(int id) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  return OkText(e->device->HasPending());
}

std::string engineSyncStarted(int id) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  e->device->SyncStarted();
  return OkText(nullptr);
}

std::string engineSyncSucceeded(int id) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  return StatusText(e->device->SyncSucceeded(), nullptr);
}

// `code` is a stable error code name (e.g. from a problem+json answer, or "io_error" for a
// network failure); `detail` JSON object text or "".
TS_COLD std::string engineSyncFailed(int id, std::string code, std::string message, std::string detail, bool network) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  Status why(tillsync::ErrorCodeFromName(code), message, detail);
  return StatusText(e->device->SyncFailed(why, network), nullptr);
}

std::string engineStatus(int id) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  tillsync::SyncStatus st;
  Status s = e->device->GetStatus(&st);
  return StatusText(s, Json{{"state", tillsync::SyncStateName(st.state)}, {"pending", st.pending},
                            {"quarantined", st.quarantined}, {"open_conflicts", st.open_conflicts},
                            {"last_synced_ms", st.last_synced_ms}, {"last_error_code", st.last_error_code},
                            {"last_error_message", st.last_error_message}, {"successes", st.successes},
                            {"failures", st.failures}, {"conflicts", st.conflicts}, {"repairs", st.repairs},
                            {"next_retry_delay_ms", st.next_retry_delay_ms},
                            {"min_schema_version", st.min_schema_version}});
}

// Rows whose listed columns hold JSON text get those columns parsed, so JS receives objects.
TS_COLD Json ParseColumns(Json rows, std::initializer_list<const char*> columns) {
  for (Json& row : rows) {
    for (const char* c : columns) {
      auto it = row.find(c);
      if (it == row.end() || !it->is_string()) continue;
      Json parsed;
      if (tillsync::ParseJson(it->get_ref<const std::string&>(), &parsed).ok()) *it = std::move(parsed);
    }
  }
  return rows;
}

TS_COLD std::string engineConflicts(int id) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  Json rows;
  Status s = e->device->ListConflicts(&rows);
  return StatusText(s, s.ok() ? ParseColumns(std::move(rows), {"mine", "theirs"}) : Json());
}

TS_COLD std::string engineResolveConflict(int id, double conflictId, std::string valuesJson, std::string requestId) {
  return Mutating(id, requestId, [&](Engine* e) {
    int64_t cid = 0;
    Json values;
    tillsync::WriteResult w;
    Status s = ExactInt(conflictId, &cid) ? ParseArg(valuesJson, &values, "values")
                                          : Status(ErrorCode::kBadValue, "conflict id must be an integer");
    if (s.ok()) s = e->device->ResolveConflict(cid, values, &w);
    return StatusText(s, WriteResultJson(w));
  });
}

TS_COLD std::string engineQuarantine(int id) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  Json rows;
  Status s = e->device->ListQuarantine(&rows);
  return StatusText(s, s.ok() ? ParseColumns(std::move(rows), {"op"}) : Json());
}

TS_COLD std::string engineRetryQuarantined(int id, double seq, std::string requestId) {
  return Mutating(id, requestId, [&](Engine* e) {
    int64_t n = 0;
    tillsync::WriteResult w;
    Status s = ExactInt(seq, &n) ? e->device->RetryQuarantined(n, &w)
                                 : Status(ErrorCode::kBadValue, "seq must be an integer");
    return StatusText(s, WriteResultJson(w));
  });
}

TS_COLD std::string engineDiscardQuarantined(int id, double seq) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  int64_t n = 0;
  Status s = ExactInt(seq, &n) ? e->device->DiscardQuarantined(n) : Status(ErrorCode::kBadValue, "seq must be an integer");
  return StatusText(s, nullptr);
}

TS_COLD std::string engineOutbox(int id) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  Json rows;
  Status s = e->device->ListOutbox(&rows);
  return StatusText(s, s.ok() ? ParseColumns(std::move(rows), {"op"}) : Json());
}

TS_COLD std::string engineSyncLog(int id) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  Json rows;
  Status s = e->device->SyncLog(&rows);
  return StatusText(s, std::move(rows));
}

// The canonical dump and checksum of the local replica: the same text the native build prints
// for the same operations (tests/wasm/parity.test.mjs compares them).
TS_COLD std::string engineCanonicalDump(int id) {
  Engine* e = EngineById(id);
  if (!e) return NoEngine();
  std::string dump;
  uint64_t sum = 0;
  Status s = e->device->CanonicalDump(&dump);
  if (s.ok()) s = e->device->LocalChecksum(&sum);
  return StatusText(s, Json{{"dump", dump}, {"checksum", tillsync::ChecksumHex(sum)}});
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
  // 4. sqlBatch
  function("sqlBatch", &sqlBatch);
  // 5. engine
  function("engineInfo", &engineInfo);
  function("engineOpen", &engineOpen);
  function("engineClose", &engineClose);
  function("engineDeleteDatabase", &engineDeleteDatabase);
  function("engineCloseAll", &engineCloseAll);
  function("engineSetClock", &engineSetClock);
  function("engineSettings", &engineSettings);
  function("engineSettingPut", &engineSettingPut);
  function("engineWrite", &engineWrite);
  function("engineRecordSale", &engineRecordSale);
  function("engineVoidSale", &engineVoidSale);
  function("engineRefundSale", &engineRefundSale);
  function("engineStock", &engineStock);
  function("engineRecordExpense", &engineRecordExpense);
  function("engineNewRowId", &engineNewRowId);
  function("engineQuery", &engineQuery);
  function("engineBuildPush", &engineBuildPush);
  function("engineHandlePushResponse", &engineHandlePushResponse);
  function("engineBuildPull", &engineBuildPull);
  function("engineHandlePullResponse", &engineHandlePullResponse);
  function("engineHasPending", &engineHasPending);
  function("engineSyncStarted", &engineSyncStarted);
  function("engineSyncSucceeded", &engineSyncSucceeded);
  function("engineSyncFailed", &engineSyncFailed);
  function("engineStatus", &engineStatus);
  function("engineConflicts", &engineConflicts);
  function("engineResolveConflict", &engineResolveConflict);
  function("engineQuarantine", &engineQuarantine);
  function("engineRetryQuarantined", &engineRetryQuarantined);
  function("engineDiscardQuarantined", &engineDiscardQuarantined);
  function("engineOutbox", &engineOutbox);
  function("engineSyncLog", &engineSyncLog);
  function("engineCanonicalDump", &engineCanonicalDump);
}
