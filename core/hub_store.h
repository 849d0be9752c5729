// HubStore: what the hub's sync logic needs from storage, and nothing more. Hub keeps every
// rule (scoping, merge, exactly-once, replay answers, the hub sequence and clock, the pull page
// and checksum arithmetic); a store only keeps and finds things. SqliteHubStore is today's
// implementation; a PostgreSQL backend would be another HubStore (see server/README.md, "The
// storage boundary") and Hub would not change.
//
// One store per connection; not thread-safe. The push writer owns one, each reader its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/row_store.h"
#include "core/status.h"
#include "core/table_spec.h"

namespace tillsync {

struct ShopRecord {
  std::string id;
  std::string name;
  std::string currency;
  int64_t created_at = 0;
};

struct DeviceRecord {
  std::string id;
  std::string shop_id;
  std::string name;
  std::string receipt_prefix;
  int64_t created_at = 0;
};

struct HubStats {
  int64_t shops = 0, devices = 0, rows = 0, ops_applied = 0, ops_rejected = 0, ops_conflicted = 0;
  int64_t last_seq = 0;
};

// One row of a scope's change feed, with the metadata a pull answer carries (its values are
// read separately, only for the rows that make the page).
struct FeedEntry {
  int64_t seq = 0;
  int64_t version = 0;
  std::string table, id;
  std::string clocks_json;  // the row's compact column clocks as JSON text (parsed by the reader)
};

// Exactly-once bookkeeping of one device: its shop and the last operation seq applied.
struct DeviceCursor {
  bool found = false;
  std::string shop_id;
  int64_t last_seq = 0;
};

// The record of one received operation: its payload hash and its stored answer ("" = applied).
struct OpRecord {
  bool found = false;
  uint64_t hash = 0;
  std::string answer;
};

class HubStore {
 public:
  virtual ~HubStore() = default;

  // Write transactions. One per group commit (or admin write); Commit() returns only when the
  // transaction is durable, because the acknowledgement depends on it. On a failed Commit() the
  // transaction is rolled back: nothing of it stays. Scopes nest inside a write transaction: a
  // scope that ends with RollbackScope() undoes exactly its writes (rows, checksum moves, op
  // log, device cursors), and nothing written before it. Use WriteTransaction and StoreScope
  // below rather than these calls directly, so every early return rolls back.
  virtual Status BeginWrite() = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
  virtual Status BeginScope() = 0;
  virtual Status ReleaseScope() = 0;
  virtual void RollbackScope() = 0;
  // Reads: one consistent snapshot from BeginRead() until EndRead() (a pull's page, remaining
  // count and checksum must agree).
  virtual Status BeginRead() = 0;
  virtual void EndRead() = 0;

  // Rows with their sync metadata. StoreRow writes `row` over `before` (as loaded), recomputes
  // row->hash and moves the row's scope checksum by the hash difference (unsigned, mod 2^64).
  // ScopeChecksum sees every StoreRow before it in the same transaction.
  virtual Status LoadRow(const TableSpec& spec, const std::string& id, StoredRow* out) = 0;
  virtual Status LoadRowValues(const TableSpec& spec, const std::string& id, Json* values, bool* exists) = 0;
  // The same values typed, one cell per column in spec.columns order (integer, text or null, as
  // LoadRowValues gives them): what a version 2 pull page is written from.
  virtual Status LoadRowCells(const TableSpec& spec, const std::string& id, std::vector<ColumnValue>* cells,
                              bool* exists) = 0;
  virtual Status StoreRow(const TableSpec& spec, const std::string& id, const StoredRow& before,
                          StoredRow* row) = 0;
  virtual Status ScopeChecksum(const std::string& scope, uint64_t* sum) = 0;

  // The change feed: rows of one scope with seq > cursor, appended to *out in seq order, at most
  // `limit` of them; FeedCount counts all of them. Hub merges the catalog's and the shop's feed.
  virtual Status Feed(const std::string& scope, int64_t cursor, int64_t limit, std::vector<FeedEntry>* out) = 0;
  virtual Status FeedCount(const std::string& scope, int64_t cursor, int64_t* count) = 0;
  // The catalog in key order, for a large first download (Hub::Pull, "snapshot"): the catalog
  // rows of `table` whose id sorts after `after_id` ("" = from the first), in id order (bytewise),
  // at most `limit` of them.
  virtual Status KeyFeed(const std::string& table, const std::string& after_id, int64_t limit,
                         std::vector<FeedEntry>* out) = 0;

  // Exactly-once bookkeeping.
  virtual Status FindDeviceCursor(const std::string& device_id, DeviceCursor* out) = 0;
  virtual Status AddDeviceCursor(const std::string& device_id, const std::string& shop_id) = 0;
  virtual Status SetDeviceCursor(const std::string& device_id, int64_t last_seq) = 0;
  virtual Status FindOp(const std::string& device_id, int64_t seq, OpRecord* out) = 0;
  virtual Status RecordOp(const std::string& device_id, int64_t seq, uint64_t hash, const std::string& answer) = 0;

  // Hub state: its clock (text, "" if never saved) and last sequence, read at open and written
  // in every write transaction; operation counters.
  virtual Status LoadHubState(std::string* hlc, int64_t* last_seq) = 0;
  virtual Status SaveHubState(const std::string& hlc, int64_t last_seq) = 0;
  virtual Status AddOpCounters(int64_t applied, int64_t rejected, int64_t conflicted) = 0;

  // Listings for the operator and the server (shops and devices are replicated rows written
  // through StoreRow; these only read them). last_seq of the stats is the hub's, not the store's.
  virtual Status ReadStats(HubStats* out) = 0;
  virtual Status ListShops(std::vector<ShopRecord>* out) = 0;
  virtual Status ListDevices(const std::string& shop_id, std::vector<DeviceRecord>* out) = 0;
  virtual Status FindShop(const std::string& shop_id, bool* found, ShopRecord* out) = 0;
  virtual Status FindDevice(const std::string& device_id, bool* found, DeviceRecord* out) = 0;
  virtual Status CountDevices(const std::string& shop_id, int64_t* out) = 0;
  // Canonical dump of the rows of the given scopes (see CanonicalDumpOf).
  virtual Status CanonicalDump(const std::vector<std::string>& scopes, std::string* out) = 0;
};

// A write transaction that rolls back unless committed.
class WriteTransaction {
 public:
  explicit WriteTransaction(HubStore* store) : store_(store) {}
  ~WriteTransaction() {
    if (open_) store_->Rollback();
  }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  Status Begin() {
    Status s = store_->BeginWrite();
    open_ = s.ok();
    return s;
  }
  Status Commit() {
    open_ = false;  // a failed commit has rolled back already
    return store_->Commit();
  }
  void Rollback() {
    if (!open_) return;
    open_ = false;
    store_->Rollback();
  }

 private:
  HubStore* store_;
  bool open_ = false;
};

// A scope that undoes its writes unless released.
class StoreScope {
 public:
  explicit StoreScope(HubStore* store) : store_(store) {}
  ~StoreScope() { RollbackTo(); }
  StoreScope(const StoreScope&) = delete;
  StoreScope& operator=(const StoreScope&) = delete;
  Status Begin() {
    Status s = store_->BeginScope();
    open_ = s.ok();
    return s;
  }
  Status Release() {
    Status s = store_->ReleaseScope();
    if (s.ok()) open_ = false;  // else the destructor rolls the scope back
    return s;
  }
  void RollbackTo() {
    if (!open_) return;
    open_ = false;
    store_->RollbackScope();
  }

 private:
  HubStore* store_;
  bool open_ = false;
};

// A read snapshot that ends when it goes out of scope.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(HubStore* store) : store_(store) {}
  ~ReadSnapshot() {
    if (open_) store_->EndRead();
  }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;
  Status Begin() {
    Status s = store_->BeginRead();
    open_ = s.ok();
    return s;
  }

 private:
  HubStore* store_;
  bool open_ = false;
};

}  // namespace tillsync
