// RowStore: reads and writes replicated rows together with their sync metadata, the same way on
// the hub and on a device. A stored row is its domain columns (in the table named by its
// TableSpec) plus one _ts_rows entry: scope, hub sequence, hub version, column clocks and the
// row's hash. Every write also moves the scope's checksum (_ts_checksum) by the difference of
// the old and new row hash, so "sum of row hashes of what a shop can see" is always at hand on
// both sides without a scan; the pull answer carries it so a device can detect divergence.
//
// Column clocks are stored compactly: {"*": clock} is the clock of every column not listed.
// The caller owns the transaction. Borrowed Database; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/database.h"
#include "core/json_reader.h"
#include "core/table_spec.h"

namespace tillsync {

struct StoredRow {
  bool exists = false;
  Json values = Json::object();  // every column of the table except id; absent columns are null
  Json clocks = Json::object();  // compact column clocks
  std::string scope;             // "" for catalog rows, else the shop id
  int64_t seq = 0;               // hub sequence of the row's latest change (0: never synced)
  int64_t version = 0;           // hub version, counts applied changes (manual rows' base)
  uint64_t hash = 0;

  // The clock of one column ("" when none).
  std::string ClockOf(const std::string& column) const;
};

class RowStore {
 public:
  explicit RowStore(Database* db) : db_(db) {}

  Status Load(const TableSpec& spec, const std::string& id, StoredRow* out);
  // Writes `row` over `before` (as loaded), recomputing row->hash and moving the checksum.
  Status Store(const TableSpec& spec, const std::string& id, const StoredRow& before, StoredRow* row);
  // Deletes every replicated row and its metadata (device repair before a full re-download).
  Status RemoveAll();

  Status ScopeChecksum(const std::string& scope, uint64_t* sum);

  // Bulk mode for applying a large page: checksum deltas collect in memory and are written by
  // FlushChecksums() (call it before committing) instead of two statements per row. Discard
  // them with CancelBatch() when the transaction rolls back.
  void BeginBatch() { batching_ = true; }
  Status FlushChecksums();
  void CancelBatch() {
    batching_ = false;
    pending_.clear();
  }

  static uint64_t RowHash(const TableSpec& spec, const std::string& id, const Json& values);
  // "" for catalog tables, the row's shop_id for shop tables.
  static std::string ScopeOf(const TableSpec& spec, const Json& values);
  // Makes values hold exactly the table's columns (missing ones null).
  static Json Normalize(const TableSpec& spec, const Json& values);
  // Compacts per-column clocks: the most common clock becomes "*".
  static Json CompactClocks(const TableSpec& spec, const std::map<std::string, std::string>& clocks);

 private:
  struct TableStatements {
    Statement select, upsert;
  };
  Status StatementsFor(const TableSpec& spec, TableStatements** out);

  Status MoveChecksum(const std::string& scope, uint64_t delta);

  Database* db_;
  std::map<std::string, TableStatements> statements_;
  bool batching_ = false;
  std::map<std::string, uint64_t> pending_;  // scope -> delta not yet written (bulk mode)
};

// Canonical dump of the rows of the given scopes, from any database (hub or device): one sorted
// line per row, "table id values". Replicas are equal when their dumps are equal.
Status CanonicalDumpOf(Database* db, const std::vector<std::string>& scopes, std::string* out);

}  // namespace tillsync
