// RowStore: reads and writes replicated rows together with their sync metadata, the same way on
// the hub and on a device. A stored row is its domain columns (in the table named by its
// TableSpec) plus one _ts_rows entry: scope, hub sequence, hub version, column clocks and the
// row's hash. Every write also moves the scope's checksum by the difference of the old and new
// row hash, so "sum of row hashes of what a shop can see" is always at hand on both sides
// without a scan; the pull answer carries it so a device can detect divergence. The hub keeps
// the checksums in _ts_checksum; a device keeps its two in _ts_kv (see ChecksumHome).
//
// Column clocks are stored compactly: {"*": clock} is the clock of every column not listed.
// The caller owns the transaction. Borrowed Database; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string_view>
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

// Which rows get an _ts_rows entry. The hub needs one for every row (its pull index by
// sequence). A device needs one only where it merges by column clocks or hub versions
// (last-writer-wins, hub-wins, manual, custom tables): its sales, lines, payments, expenses and
// movements are immutable or state machines, so their scope and hash come from their values.
// That saves a sale eight metadata rows and their index entries on every tablet.
enum class RowMeta { kEveryRow, kMergedRowsOnly };

// Where the scope checksums live. The hub has a checksum per shop plus the catalog's, in their
// own table. A device has two (the catalog's and its shop's) and moves one with every local
// write, beside the counters it writes in _ts_kv anyway: keeping the sums in _ts_kv too (keys
// "checksum:" + scope, the sum as decimal text) makes a sale dirty one small-table page, not
// two.
enum class ChecksumHome { kChecksumTable, kKvTable };

class RowStore {
 public:
  explicit RowStore(Database* db, RowMeta meta = RowMeta::kEveryRow,
                    ChecksumHome checksum_home = ChecksumHome::kChecksumTable)
      : db_(db), meta_(meta), checksum_home_(checksum_home) {}

  // True when rows of this table carry an _ts_rows entry in this store.
  bool KeepsMeta(const TableSpec& spec) const;

  Status Load(const TableSpec& spec, const std::string& id, StoredRow* out);
  // The domain columns only (no metadata): for readers that already hold the row's _ts_rows
  // entry, such as the hub assembling a pull page from its (scope, seq) index.
  Status LoadValues(const TableSpec& spec, const std::string& id, Json* values, bool* exists);
  // The same, typed: one cell per column in spec.columns order (the hub's version 2 pull page is
  // written from these without a Json object per row).
  Status LoadCells(const TableSpec& spec, const std::string& id, std::vector<ColumnValue>* cells, bool* exists);
  // Writes `row` over `before` (as loaded), recomputing row->hash and moving the checksum.
  Status Store(const TableSpec& spec, const std::string& id, const StoredRow& before, StoredRow* row);
  // Stores a row the caller knows cannot exist yet (an id this device has just minted), without
  // loading it first. A plain INSERT, not an upsert: should the row exist after all, the write
  // fails (kBadValue, a constraint error) instead of overwriting it.
  Status Insert(const TableSpec& spec, const std::string& id, StoredRow* row);
  // Stores a new row straight from a change's values (some or all of the table's columns, the
  // rest null) for a table whose rows carry no _ts_rows entry in this store (!KeepsMeta), under
  // an id the caller knows is new (a device's freshly minted id): what MergeChange followed by
  // Insert stores for such a row (the same bound values, the same hash, the same checksum move;
  // a plain INSERT, refused if the id is taken after all), without building the normalized row
  // and its column clocks, which nothing keeps for such a table: the values as typed cells, then
  // InsertTyped. *handled is false, and nothing is written, when the table keeps metadata, the
  // values name anything but its columns, hold anything but integers, texts and nulls, or leave a
  // required column out or null: the caller then merges and stores as usual (and MergeChange
  // refuses what it refuses, with its own messages).
  Status InsertChange(const TableSpec& spec, const std::string& id, const Json& values, bool* handled);
  // The same from typed cells (core/typed_change.h: `cells` in the order of spec.columns, a null
  // cell a column left out), bound and hashed without a Json object: every sale row comes this
  // way. Only for a table whose rows carry no _ts_rows entry in this store (kInternal
  // otherwise); a required column left out is refused with MergeChange's code and message for a
  // new row, as the Json path refuses it.
  Status InsertTyped(const TableSpec& spec, const std::string& id, const std::vector<ColumnValue>& cells);
  // Inserts a row from typed values (`values` in the order of spec.columns; a pulled row of a
  // columnar page) when the replica does not hold its id yet: bound directly and hashed without
  // building JSON (the same hash RowHash gives for the same values). `clocks_text` is the
  // compact clocks as text. *inserted is false, and nothing is written, when the id is held
  // already (or the row breaks a constraint): the caller then loads and merges it as usual. So
  // a new row costs one b-tree descent instead of a read before the write.
  Status InsertIfAbsent(const TableSpec& spec, const std::string& id, const std::vector<ColumnValue>& values,
                        int64_t seq, int64_t version, std::string_view clocks_text, bool* inserted);
  // One row for InsertAllIfAbsent, as views of the caller's data (alive for the call).
  struct NewRow {
    const std::string* id;
    const std::vector<ColumnValue>* values;  // in spec.columns order
    int64_t seq, version;
    std::string_view clocks_text;
  };
  // InsertIfAbsent for many rows of one table as ONE statement (core/sql_rows.h: the cursors stay
  // on the leaf the last row went to, which is where the next goes when rows come in key order).
  // All or nothing: when any row is held already (or breaks a constraint) nothing is written
  // (*all_inserted false; a savepoint undoes the statement) and the caller takes the rows one by
  // one with InsertIfAbsent, merging the held ones as before.
  Status InsertAllIfAbsent(const TableSpec& spec, const std::vector<NewRow>& rows, bool* all_inserted);
  // What InsertAllIfAbsent works out per inserted row for its metadata and sums.
  struct NewRowFacts {
    uint64_t hash = 0;
    const std::string* scope = nullptr;  // TypedScope's: into the row's values, or a static ""
  };
  // The hash RowHash gives for the row whose values are `values` (in spec.columns order).
  uint64_t TypedRowHash(const TableSpec& spec, const std::string& id, const std::vector<ColumnValue>& values);
  // True when storing `after` over `before` would change nothing (a pulled copy of a row this
  // replica already holds exactly): the caller may skip the write.
  bool Unchanged(const TableSpec& spec, const StoredRow& before, const StoredRow& after) const;
  // Deletes every replicated row and its metadata (device repair before a full re-download).
  Status RemoveAll();

  Status ScopeChecksum(const std::string& scope, uint64_t* sum);

  // kKvTable mode: moves sums a database written before that mode holds in _ts_checksum into
  // _ts_kv, adding each to the sum already there (an older build writing beside a newer one
  // leaves a part in each; their sum is the scope's), and empties _ts_checksum. Call inside a
  // transaction. Idempotent: with _ts_checksum empty it changes nothing. *moved: scopes moved.
  Status MoveTableChecksumsToKv(int64_t* moved);

  // Held sums (a device's write path): while holding, a scope's sum once read lives in memory
  // and every move of it stays there instead of being written to _ts_kv; the caller persists
  // the held sums itself (a device in its newest outbox row, see Device::WriteInTxn) or writes
  // them with SaveHeldChecksums. So every reader and writer of this store sees the current sum,
  // however it is persisted. The caller also owns rollback: a transaction that rolls back
  // leaves held sums it moved, to be replaced (SetHeldChecksums) or dropped (DropHeldChecksums).
  void HoldChecksums() { holding_ = true; }
  const std::map<std::string, uint64_t>& held_checksums() const { return held_; }
  void SetHeldChecksums(std::map<std::string, uint64_t> sums) { held_ = std::move(sums); }
  void DropHeldChecksums() { held_.clear(); }
  // Writes the held sums to _ts_kv (inside the caller's transaction) and holds none.
  Status SaveHeldChecksums();
  // The _ts_kv key of a scope's sum (kKvTable mode).
  static std::string ChecksumKvKey(const std::string& scope);

  // Bulk mode for applying a large page: checksum deltas collect in memory and are written by
  // FlushChecksums() (call it before committing) instead of two statements per row. Discard
  // them with CancelBatch() when the transaction rolls back.
  // In bulk mode InsertIfAbsent also queues the rows' _ts_rows entries (copies) and writes them
  // kMetaRowsPerStatement at a time with one multi-row statement (a statement's setup, halt and
  // reset were paid per row otherwise). Every read or write of _ts_rows here, and
  // FlushChecksums, writes the queued ones first; WriteQueuedMeta() does it on demand.
  void BeginBatch() { batching_ = true; }
  bool batching() const { return batching_; }
  Status FlushChecksums();
  Status WriteQueuedMeta();
  void CancelBatch() {
    batching_ = false;
    pending_.clear();
    queued_count_ = 0;
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
    Statement select, upsert, insert, insert_if_absent;
    Statement insert_all_if_absent;  // INSERT OR IGNORE ... SELECT FROM tillsync_rows(?1); prepared at first use
    // The table's columns in the order a Json object iterates its keys (sorted by name), each
    // with its bind index in upsert/insert: a row holding exactly these keys binds in one pass
    // over its object, without a lookup per column.
    std::vector<std::pair<std::string, int>> by_name;
    // For hashing typed values: per column in name order, its index in spec.columns and the text
    // that precedes its value in the canonical JSON ('{"name":' for the first, ',"name":' after).
    std::vector<std::pair<size_t, std::string>> canonical_keys;
  };
  Status Write(const TableSpec& spec, const std::string& id, const StoredRow& before, bool must_be_new,
               StoredRow* row);
  Status StatementsFor(const TableSpec& spec, TableStatements** out);
  // StatementsFor's first use of a table on this connection: builds and prepares its statements.
  static Status PrepareTableStatements(Database* db, const TableSpec& spec, TableStatements* st);
  // InsertAllIfAbsent's statement for the table, prepared at its first use.
  static Status PrepareInsertAll(Database* db, const TableSpec& spec, Statement* out);
  // "" for catalog tables, else the text of the row's shop_id cell ("" when not text).
  static const std::string& TypedScope(const TableSpec& spec, const std::vector<ColumnValue>& values);
  // RowHash's value for a row whose canonical values text is `text`.
  static uint64_t HashOfCanonicalText(const TableSpec& spec, const std::string& id, std::string_view text);

  // What follows a new row's insert: its _ts_rows entry (queued in bulk mode) and its hash added
  // to its scope's sum.
  Status RecordNewRow(const TableSpec& spec, const std::string& id, const std::vector<ColumnValue>& values,
                      int64_t seq, int64_t version, std::string_view clocks_text);
  Status MoveChecksum(const std::string& scope, uint64_t delta);
  // The scope's sum as stored (no pending deltas).
  Status StoredChecksum(const std::string& scope, uint64_t* sum);
  Status PutStoredChecksum(const std::string& scope, uint64_t sum);
  Status StoreMeta(const TableSpec& spec, const std::string& id, const StoredRow& row);
  // InsertAllIfAbsent's _ts_rows entries (hashes and scopes in new_rows_facts_) as one statement.
  Status StoreNewRowsMeta(const TableSpec& spec, const std::vector<NewRow>& rows);
  Status StoreMetaText(const TableSpec& spec, const std::string& id, const std::string& scope, int64_t seq,
                       int64_t version, std::string_view clocks_text, uint64_t hash);
  Status StoreMetaTextRow(const char* table, const std::string& id, const std::string& scope, int64_t seq,
                          int64_t version, std::string_view clocks_text, uint64_t hash);

  Database* db_;
  RowMeta meta_;
  ChecksumHome checksum_home_;
  std::map<std::string, TableStatements> statements_;
  // The last table StatementsFor found (map nodes never move): a pull page's rows are all of one
  // table, and the lookup by name was a string compare per row and call.
  const char* last_table_ = nullptr;
  TableStatements* last_statements_ = nullptr;
  // The _ts_rows upsert of StoreMetaText, kept here rather than looked up in the Database's cache
  // for every pulled row; always left reset (its texts are bound static).
  Statement meta_upsert_;
  bool meta_upsert_ready_ = false;
  // Bulk mode's queued _ts_rows entries (see BeginBatch), and their multi-row upsert.
  struct QueuedMeta {
    const char* table = nullptr;
    std::string id, scope, clocks_text;  // copies: a caller's texts may not outlive its call
    int64_t seq = 0, version = 0;
    uint64_t hash = 0;
  };
  static constexpr size_t kMetaRowsPerStatement = 32;
  std::vector<QueuedMeta> queued_meta_;  // kMetaRowsPerStatement slots, reused (their buffers too)
  size_t queued_count_ = 0;
  Statement meta_upsert_many_;
  Statement meta_upsert_rows_;  // StoreNewRowsMeta's; prepared at first use
  std::vector<NewRowFacts> new_rows_facts_;  // InsertAllIfAbsent's, reused
  bool meta_upsert_many_ready_ = false;
  std::string clocks_text_;  // reused buffer for the clocks column of _ts_rows
  std::string values_text_;  // reused buffer for a typed row's canonical JSON (its hash)
  bool batching_ = false;
  std::map<std::string, uint64_t> pending_;  // scope -> delta not yet written (bulk mode)
  bool holding_ = false;
  std::map<std::string, uint64_t> held_;  // scope -> current sum, not in _ts_kv (held sums)
  friend class ChecksumBatch;                // saves and restores pending_ around savepoints
};

// Scoped bulk mode: collects checksum deltas until Flush(); discards them if the scope ends
// without a flush (the transaction or savepoint is being rolled back). Nested guards defer to
// the outermost one, which writes everything at its Flush(); a nested guard that ends without
// a flush puts the pending deltas back as they were when it began, so a savepoint rolled back
// inside a larger batch (one push of a group commit, one rejected operation) drops only its own.
class ChecksumBatch {
 public:
  explicit ChecksumBatch(RowStore* rows) : rows_(rows), owner_(!rows->batching()) {
    if (owner_) rows_->BeginBatch();
    else saved_ = rows_->pending_;
  }
  ~ChecksumBatch() {
    if (flushed_) return;
    if (owner_) rows_->CancelBatch();
    else rows_->pending_ = std::move(saved_);
  }
  ChecksumBatch(const ChecksumBatch&) = delete;
  ChecksumBatch& operator=(const ChecksumBatch&) = delete;
  Status Flush() {
    flushed_ = true;
    return owner_ ? rows_->FlushChecksums() : Status::Ok();
  }

 private:
  RowStore* rows_;
  bool owner_;
  bool flushed_ = false;
  std::map<std::string, uint64_t> saved_;  // nested: the pending deltas when this guard began
};

// Canonical dump of the rows of the given scopes, from any database (hub or device): one sorted
// line per row, "table id values". Replicas are equal when their dumps are equal.
Status CanonicalDumpOf(Database* db, const std::vector<std::string>& scopes, std::string* out);

}  // namespace tillsync
