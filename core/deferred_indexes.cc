#include "core/deferred_indexes.h"

#include <utility>

#include "core/cold_code.h"

namespace tillsync {

namespace {

constexpr char kKeyPrefix[] = "deferred_index:";
// The key range of the records: ';' is the byte after ':'.
constexpr char kKeyEnd[] = "deferred_index;";

struct IndexDefinition {
  std::string name;
  std::string sql;
};

// Reads every (name, sql) row of `st`, the name without its first `name_skip` bytes. The
// statement is read to the end and reset before any DROP or CREATE runs: SQLite refuses to change
// the schema while a statement of the connection is still reading it.
TS_COLD Status ReadDefinitions(Statement* st, size_t name_skip, std::vector<IndexDefinition>* out) {
  bool row = false;
  while (true) {
    Status s = st->Step(&row);
    if (!s.ok() || !row) {
      st->Reset();
      return s;
    }
    out->push_back(IndexDefinition{st->Text(0).substr(name_skip), st->Text(1)});
  }
}

TS_COLD Status IndexesOf(Database* db, const std::string& table, std::vector<IndexDefinition>* out) {
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db->Cached(
      "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name=?1 AND sql IS NOT NULL ORDER BY name", &st));
  st->Bind(1, table);
  return ReadDefinitions(st, 0, out);
}

TS_COLD Status IndexExists(Database* db, const std::string& name, bool* exists) {
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db->Cached("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type='index' AND name=?1)", &st));
  st->Bind(1, name);
  bool row = false;
  Status s = st->Step(&row);
  *exists = s.ok() && row && st->Int(0) == 1;
  st->Reset();
  return s;
}

TS_COLD Status Records(Database* db, std::vector<IndexDefinition>* out) {
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db->Cached("SELECT key, value FROM _ts_kv WHERE key >= ?1 AND key < ?2 ORDER BY key", &st));
  st->BindStatic(1, kKeyPrefix).BindStatic(2, kKeyEnd);
  return ReadDefinitions(st, sizeof kKeyPrefix - 1, out);
}

}  // namespace

TS_COLD Status DeferIndexesForBulkRows(Database* db, const std::vector<std::string>& tables, int64_t rows_to_come,
                               int64_t* deferred) {
  *deferred = 0;
  std::vector<IndexDefinition> drop;
  for (const std::string& table : tables) {
    std::vector<IndexDefinition> indexes;
    TS_RETURN_IF_ERROR(IndexesOf(db, table, &indexes));
    if (indexes.empty()) continue;  // none left to set aside (or deferred already)
    // Counts no further than it needs to: a table of a million rows is not scanned to learn
    // that it holds more than the download brings. Table names come from TableSpec, never from
    // input; one prepare per table that still has indexes.
    Statement held;
    TS_RETURN_IF_ERROR(db->Prepare("SELECT COUNT(*) FROM (SELECT 1 FROM " + table + " LIMIT ?1)", &held));
    held.Bind(1, rows_to_come + 1);
    bool row = false;
    TS_RETURN_IF_ERROR(held.Step(&row));
    if (!row || held.Int(0) > rows_to_come) continue;
    for (IndexDefinition& d : indexes) drop.push_back(std::move(d));
  }
  for (const IndexDefinition& d : drop) {
    // The record first, in the same transaction as the drop: whatever commits, commits both.
    Statement* put = nullptr;
    TS_RETURN_IF_ERROR(db->Cached("INSERT OR REPLACE INTO _ts_kv (key, value) VALUES (?1, ?2)", &put));
    put->Bind(1, kKeyPrefix + d.name).Bind(2, d.sql);
    TS_RETURN_IF_ERROR(put->Run());
    put->Reset();
    // The name is SQLite's own (from sqlite_master), quoted as an identifier all the same.
    std::string quoted = "\"";
    for (char c : d.name) quoted += (c == '"') ? std::string("\"\"") : std::string(1, c);
    quoted += "\"";
    TS_RETURN_IF_ERROR(db->Exec("DROP INDEX " + quoted));
    ++*deferred;
  }
  return Status::Ok();
}

TS_COLD Status RestoreDeferredIndexes(Database* db, int64_t* restored) {
  *restored = 0;
  std::vector<IndexDefinition> records;
  TS_RETURN_IF_ERROR(Records(db, &records));
  for (const IndexDefinition& r : records) {
    bool exists = false;
    TS_RETURN_IF_ERROR(IndexExists(db, r.name, &exists));
    // Present already only if something else built it meanwhile: then it stays as it is.
    if (!exists) TS_RETURN_IF_ERROR(db->Exec(r.sql));
    Statement* del = nullptr;
    TS_RETURN_IF_ERROR(db->Cached("DELETE FROM _ts_kv WHERE key=?1", &del));
    del->Bind(1, kKeyPrefix + r.name);
    TS_RETURN_IF_ERROR(del->Run());
    del->Reset();
    ++*restored;
  }
  return Status::Ok();
}

TS_COLD Status DeferredIndexNames(Database* db, std::vector<std::string>* names) {
  names->clear();
  std::vector<IndexDefinition> records;
  TS_RETURN_IF_ERROR(Records(db, &records));
  for (IndexDefinition& r : records) names->push_back(std::move(r.name));
  return Status::Ok();
}

}  // namespace tillsync
