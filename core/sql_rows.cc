#include "core/sql_rows.h"

#include <sqlite3.h>

#include <cstring>
#include <string>

namespace tillsync {

namespace {

// The pointer type sqlite3_bind_pointer / sqlite3_value_pointer match on: only a value bound
// with this exact string reaches the module, so SQL text can never forge a source.
constexpr const char* kSqlRowsPointerType = "tillsync-sql-rows";
// The hidden column holding the function's argument, after c0 .. c(kSqlRowsColumns - 1).
constexpr int kSourceColumn = kSqlRowsColumns;

struct SqlRowsCursor {
  sqlite3_vtab_cursor base;  // first: SQLite casts between the two
  SqlRowSource* rows = nullptr;
  sqlite3_int64 rowid = 0;
  bool eof = true;
};

int Connect(sqlite3* db, void*, int, const char* const*, sqlite3_vtab** out, char**) {
  std::string schema = "CREATE TABLE x(";
  for (int i = 0; i < kSqlRowsColumns; i++) schema += "c" + std::to_string(i) + ", ";
  schema += "source HIDDEN)";
  int rc = sqlite3_declare_vtab(db, schema.c_str());
  if (rc != SQLITE_OK) return rc;
  *out = static_cast<sqlite3_vtab*>(sqlite3_malloc(sizeof(sqlite3_vtab)));
  if (*out == nullptr) return SQLITE_NOMEM;
  std::memset(*out, 0, sizeof(sqlite3_vtab));
  return SQLITE_OK;
}

int Disconnect(sqlite3_vtab* vtab) {
  sqlite3_free(vtab);
  return SQLITE_OK;
}

// The one usable plan: the hidden source column given, as the function's argument.
int BestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  for (int i = 0; i < info->nConstraint; i++) {
    const auto& c = info->aConstraint[i];
    if (c.iColumn == kSourceColumn && c.op == SQLITE_INDEX_CONSTRAINT_EQ && c.usable) {
      info->aConstraintUsage[i].argvIndex = 1;
      info->aConstraintUsage[i].omit = 1;
      info->estimatedCost = 1;
      info->estimatedRows = 10000;
      return SQLITE_OK;
    }
  }
  return SQLITE_CONSTRAINT;
}

int Open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  auto* cursor = new SqlRowsCursor();
  *out = &cursor->base;
  return SQLITE_OK;
}

int Close(sqlite3_vtab_cursor* base) {
  delete reinterpret_cast<SqlRowsCursor*>(base);
  return SQLITE_OK;
}

// Moves the cursor to its source's next row; a failing source ends the statement with an error.
int Advance(SqlRowsCursor* cursor) {
  cursor->eof = !cursor->rows->Next();
  if (cursor->eof && cursor->rows->failed()) return SQLITE_ERROR;
  return SQLITE_OK;
}

int Filter(sqlite3_vtab_cursor* base, int, const char*, int argc, sqlite3_value** argv) {
  auto* cursor = reinterpret_cast<SqlRowsCursor*>(base);
  cursor->rows = argc == 1 ? static_cast<SqlRowSource*>(sqlite3_value_pointer(argv[0], kSqlRowsPointerType)) : nullptr;
  cursor->rowid = 0;
  cursor->eof = true;
  if (cursor->rows == nullptr) return SQLITE_MISUSE;  // no source bound (or SQL naming the function itself)
  return Advance(cursor);
}

int Next(sqlite3_vtab_cursor* base) {
  auto* cursor = reinterpret_cast<SqlRowsCursor*>(base);
  cursor->rowid++;
  return Advance(cursor);
}

int Eof(sqlite3_vtab_cursor* base) { return reinterpret_cast<SqlRowsCursor*>(base)->eof; }

int Column(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cursor = reinterpret_cast<SqlRowsCursor*>(base);
  if (column < 0 || column >= kSqlRowsColumns) {
    sqlite3_result_null(ctx);
    return SQLITE_OK;
  }
  const SqlCell cell = cursor->rows->Cell(column);
  switch (cell.kind) {
    case SqlCell::Kind::kNull: sqlite3_result_null(ctx); break;
    case SqlCell::Kind::kInt: sqlite3_result_int64(ctx, cell.integer); break;
    case SqlCell::Kind::kReal: sqlite3_result_double(ctx, cell.real); break;
    // In place: the source keeps the bytes put while the row is current.
    case SqlCell::Kind::kText: sqlite3_result_text(ctx, cell.text.data(), int(cell.text.size()), SQLITE_STATIC); break;
  }
  return SQLITE_OK;
}

int Rowid(sqlite3_vtab_cursor* base, sqlite3_int64* out) {
  *out = reinterpret_cast<SqlRowsCursor*>(base)->rowid;
  return SQLITE_OK;
}

sqlite3_module MakeModule() {
  sqlite3_module m{};
  m.iVersion = 1;
  m.xCreate = nullptr;  // eponymous only: there is no CREATE VIRTUAL TABLE of it
  m.xConnect = Connect;
  m.xBestIndex = BestIndex;
  m.xDisconnect = Disconnect;
  m.xOpen = Open;
  m.xClose = Close;
  m.xFilter = Filter;
  m.xNext = Next;
  m.xEof = Eof;
  m.xColumn = Column;
  m.xRowid = Rowid;
  return m;
}

const sqlite3_module kSqlRowsModule = MakeModule();

}  // namespace

int RegisterSqlRows(sqlite3* db) { return sqlite3_create_module(db, "tillsync_rows", &kSqlRowsModule, nullptr); }

int BindSqlRows(sqlite3_stmt* statement, int index, SqlRowSource* rows) {
  return sqlite3_bind_pointer(statement, index, rows, kSqlRowsPointerType, nullptr);
}

Status BindSqlRows(Statement* statement, int index, SqlRowSource* rows) {
  const int rc = BindSqlRows(statement->raw(), index, rows);
  return StatusFromSqlite(rc, "binding rows to a statement");
}

}  // namespace tillsync
