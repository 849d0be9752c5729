#include "core/database.h"

#include <sqlite3.h>

#include "core/sql_rows.h"

namespace tillsync {

Status StatusFromSqlite(int rc, std::string_view context, sqlite3* db) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
  std::string message(context);
  message += ": ";
  message += (db != nullptr) ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_FULL: return Status(ErrorCode::kStorageFull, "storage is full; " + message);
    case SQLITE_IOERR: return Status(ErrorCode::kIoError, message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Status(ErrorCode::kCorrupt, message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Status(ErrorCode::kBusy, message);
    case SQLITE_CANTOPEN: return Status(ErrorCode::kIoError, message);
    case SQLITE_CONSTRAINT: return Status(ErrorCode::kBadValue, message);
    default: return Status(ErrorCode::kInternal, message);
  }
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}
Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}
Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::Bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), int(value.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindStatic(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), int(value.size()), SQLITE_STATIC);
  return *this;
}
Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Status Statement::Step(bool* has_row) {
  int rc = sqlite3_step(stmt_);
  *has_row = (rc == SQLITE_ROW);
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) return Status::Ok();
  Status s = StatusFromSqlite(rc, sqlite3_sql(stmt_), db_);
  sqlite3_reset(stmt_);
  return s;
}
Status Statement::Run() {
  bool row = true;
  while (row) TS_RETURN_IF_ERROR(Step(&row));
  return Status::Ok();
}
void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}
bool Statement::IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }
std::string Statement::Text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  if (p == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(stmt_, column)));
}
int Statement::ColumnCount() const { return sqlite3_column_count(stmt_); }
const char* Statement::ColumnName(int column) const { return sqlite3_column_name(stmt_, column); }
int Statement::ColumnType(int column) const { return sqlite3_column_type(stmt_, column); }

Database::~Database() {
  cache_.clear();  // statements must be finalized before the connection closes
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Status Database::Open(const std::string& path, const OpenOptions& options,
                      std::unique_ptr<Database>* out) {
  std::unique_ptr<Database> db(new Database());
  db->path_ = path;
  int flags = SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db->db_, flags,
                           options.vfs.empty() ? nullptr : options.vfs.c_str());
  if (rc != SQLITE_OK) return StatusFromSqlite(rc, "open " + path, db->db_);
  sqlite3_extended_result_codes(db->db_, 1);
  sqlite3_busy_timeout(db->db_, 5000);
  sqlite3_rollback_hook(db->db_, &Database::CountRollback, db.get());
  rc = RegisterSqlRows(db->db_);  // tillsync_rows(?): core/sql_rows.h
  if (rc != SQLITE_OK) return StatusFromSqlite(rc, "open " + path, db->db_);
  // EXCLUSIVE must come before the first WAL access: SQLite then keeps the WAL index in heap
  // memory and needs no shared-memory file (the browser VFS has none).
  if (options.exclusive_locking) TS_RETURN_IF_ERROR(db->Exec("PRAGMA locking_mode=EXCLUSIVE"));
  if (!options.journal_mode.empty()) {
    Statement st;
    TS_RETURN_IF_ERROR(db->Prepare("PRAGMA journal_mode=" + options.journal_mode, &st));
    bool row = false;
    TS_RETURN_IF_ERROR(st.Step(&row));
  }
  if (!options.synchronous.empty())
    TS_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=" + options.synchronous));
  if (options.wal_autocheckpoint_pages > 0)
    TS_RETURN_IF_ERROR(db->Exec("PRAGMA wal_autocheckpoint=" + std::to_string(options.wal_autocheckpoint_pages)));
  TS_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=OFF; PRAGMA trusted_schema=OFF"));
  *out = std::move(db);
  return Status::Ok();
}

void Database::CountRollback(void* self) { ++static_cast<Database*>(self)->rollbacks_; }

Status Database::Exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  return StatusFromSqlite(rc, text.substr(0, 60), db_);
}

Status Database::Prepare(std::string_view sql, Statement* out) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), int(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return StatusFromSqlite(rc, sql.substr(0, 80), db_);
  *out = Statement(db_, stmt);
  return Status::Ok();
}

Status Database::Cached(const char* sql, Statement** out) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    auto st = std::make_unique<Statement>();
    TS_RETURN_IF_ERROR(Prepare(sql, st.get()));
    it = cache_.emplace(sql, std::move(st)).first;
  } else {
    it->second->Reset();
  }
  *out = it->second.get();
  return Status::Ok();
}

int64_t Database::Changes() const { return sqlite3_changes64(db_); }
int64_t Database::LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
bool Database::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

namespace {

// BEGIN and COMMIT run once per write (twice per sale): prepared once and kept, not parsed by
// sqlite3_exec every time.
Status RunCached(Database* db, const char* sql) {
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db->Cached(sql, &st));
  return st->Run();
}

}  // namespace

Transaction::~Transaction() { Rollback(); }
Status Transaction::Begin() {
  TS_RETURN_IF_ERROR(RunCached(db_, "BEGIN IMMEDIATE"));
  open_ = true;
  return Status::Ok();
}
Status Transaction::Commit() {
  Status s = RunCached(db_, "COMMIT");
  if (s.ok()) open_ = false;
  return s;  // on failure the destructor rolls back: all or nothing
}
void Transaction::Rollback() {
  if (open_ && db_->InTransaction()) (void)db_->Exec("ROLLBACK");
  open_ = false;
}

Savepoint::~Savepoint() { (void)RollbackTo(); }
Status Savepoint::Begin() {
  TS_RETURN_IF_ERROR(db_->Exec(std::string("SAVEPOINT ") + name_));
  open_ = true;
  return Status::Ok();
}
Status Savepoint::Release() {
  TS_RETURN_IF_ERROR(db_->Exec(std::string("RELEASE ") + name_));
  open_ = false;
  return Status::Ok();
}
Status Savepoint::RollbackTo() {
  if (!open_) return Status::Ok();
  open_ = false;
  Status undone = db_->Exec(std::string("ROLLBACK TO ") + name_);
  Status released = db_->Exec(std::string("RELEASE ") + name_);
  return undone.ok() ? released : undone;
}

}  // namespace tillsync
