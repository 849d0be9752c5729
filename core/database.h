// Database: a thin owner of one SQLite connection, plus prepared statements and transactions.
// SQLite result codes become Status values here and only here (StatusFromSqlite). The storage
// seam is SQLite's own VFS, chosen by name when the database is opened: the OPFS VFS in the
// browser, "unix" natively, a fault-injecting VFS in tests. The core never learns what OPFS is.
// Threading: one Database per thread; statements belong to their Database.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tillsync {

// Maps an SQLite result code (extended or primary) to a Status with a stable code.
Status StatusFromSqlite(int rc, std::string_view context, sqlite3* db = nullptr);

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view value);
  // Binds the bytes without copying them: the caller keeps them alive and unchanged until the
  // statement is reset or rebound (a row bound, run and reset in one call). Saves SQLite a copy
  // per text value, which a 5,000-row pull page binds about 20,000 times.
  Statement& BindStatic(int index, std::string_view value);
  Statement& BindNull(int index);

  // Runs one step. Returns true in *has_row when a row is ready to read.
  Status Step(bool* has_row);
  // Steps until done; for statements that return no rows.
  Status Run();
  // Clears bindings and rewinds so the statement can run again.
  void Reset();

  bool IsNull(int column) const;
  int64_t Int(int column) const;
  std::string Text(int column) const;
  int ColumnCount() const;
  const char* ColumnName(int column) const;
  // 1 = integer, 3 = text, 5 = null (SQLite's fundamental types; blobs and floats are not used).
  int ColumnType(int column) const;

  sqlite3_stmt* raw() const { return stmt_; }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

struct OpenOptions {
  std::string vfs;              // empty: SQLite's default VFS for the platform
  bool create = true;
  // Journal and durability settings applied at open. Each is a PRAGMA statement or empty.
  std::string journal_mode = "WAL";
  std::string synchronous = "FULL";
  bool exclusive_locking = false;  // locking_mode=EXCLUSIVE, set before the first WAL access
  // PRAGMA wal_autocheckpoint: the WAL size, in pages, at which a commit copies it into the
  // database file. 0 leaves SQLite's default (1000 pages).
  int64_t wal_autocheckpoint_pages = 0;
};

class Database {
 public:
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  static Status Open(const std::string& path, const OpenOptions& options,
                     std::unique_ptr<Database>* out);

  Status Exec(std::string_view sql);
  // Prepares a statement that the caller owns.
  Status Prepare(std::string_view sql, Statement* out);
  // A statement cached by its SQL text, reset and ready to bind. Owned by the Database; valid
  // until the next Cached() call with the same text (do not hold two uses of one text at once).
  Status Cached(const char* sql, Statement** out);

  int64_t Changes() const;
  int64_t LastInsertRowid() const;
  bool InTransaction() const;
  // How many transactions this connection has rolled back, by ROLLBACK or by an error (SQLite's
  // rollback hook; a ROLLBACK TO a savepoint is not counted). What a caller keeps in memory of
  // the database is stale once this moves: the rollback may have undone what it wrote.
  uint64_t rollbacks() const { return rollbacks_; }
  sqlite3* raw() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  Database() = default;
  static void CountRollback(void* self);
  sqlite3* db_ = nullptr;
  uint64_t rollbacks_ = 0;
  std::string path_;
  std::unordered_map<const char*, std::unique_ptr<Statement>> cache_;
};

// A write transaction (BEGIN IMMEDIATE) that rolls back unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Database* db) : db_(db) {}
  ~Transaction();
  Status Begin();
  Status Commit();
  void Rollback();

 private:
  Database* db_;
  bool open_ = false;
};

// A nested savepoint, for all-or-nothing pieces inside a transaction.
class Savepoint {
 public:
  Savepoint(Database* db, const char* name) : db_(db), name_(name) {}
  ~Savepoint();
  Status Begin();
  Status Release();
  // Undoes everything since Begin and ends the savepoint. An error here (the undo could not be
  // read back) leaves the enclosing transaction unusable: the caller must fail it.
  Status RollbackTo();

 private:
  Database* db_;
  const char* name_;
  bool open_ = false;
};

}  // namespace tillsync
