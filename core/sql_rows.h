// SqlRows: rows held in C++ read by ONE SQL statement, as the table-valued function
// `tillsync_rows(?)`: `INSERT INTO t (a, b) SELECT c0, c1 FROM tillsync_rows(?1)` with the rows
// bound to ?1 (BindSqlRows).
//
// Why: an INSERT executed once per row opens its table's and indexes' cursors, seeks each from
// the b-tree's root and closes them again at every reset. Run as one statement over all the
// rows, the cursors stay open and positioned from row to row, so SQLite's own shortcuts apply:
// the rowid append, and an index key that goes right after the cursor's last entry needs no
// descent. A pulled page's rows arrive in key order (protocol version 3), so nearly every row
// goes right after the previous one. The rows are streamed (the source's Next), never copied
// into SQLite's memory first.
//
// The function's columns are c0 .. c(kSqlRowsColumns - 1); a source fills those it has and the
// rest read as NULL.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/database.h"
#include "core/status.h"

namespace tillsync {

constexpr int kSqlRowsColumns = 64;  // the widest row a statement can read

struct SqlCell {
  enum class Kind : uint8_t { kNull, kInt, kReal, kText };
  Kind kind = Kind::kNull;
  int64_t integer = 0;
  double real = 0;
  std::string_view text;  // must stay put until the source's next Next()
};

class SqlRowSource {
 public:
  virtual ~SqlRowSource() = default;
  // Steps to the first row on the first call, then to the next. False at the end, or when the
  // source fails (failed() then says so and the statement ends with an error).
  virtual bool Next() = 0;
  virtual bool failed() const { return false; }
  // A cell of the current row; column is in [0, kSqlRowsColumns).
  virtual SqlCell Cell(int column) const = 0;
};

// Makes `tillsync_rows` known to a connection: once per connection (Database::Open does it for
// every Database; registering again would replace the module under prepared statements).
// Returns an SQLite result code.
int RegisterSqlRows(sqlite3* db);

// Binds `rows` (alive and unread until the statement is reset) to the statement's parameter
// `index`, the argument of its `tillsync_rows(?index)`.
Status BindSqlRows(Statement* statement, int index, SqlRowSource* rows);
// The same for a statement outside a Database (the wasm bindings' SQL API); an SQLite result code.
int BindSqlRows(sqlite3_stmt* statement, int index, SqlRowSource* rows);

}  // namespace tillsync
