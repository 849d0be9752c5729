// SqliteHubStore: the HubStore of one SQLite connection, built from RowStore and the hub's own
// tables (_hub_devices, _hub_ops, _ts_kv). Write transactions are BEGIN IMMEDIATE with the
// durability of the connection's OpenOptions (synchronous=FULL for the hub); scopes are
// savepoints. Checksum moves are batched for the whole write transaction (one write per scope
// at Commit instead of two statements per row); each scope saves the pending deltas and puts
// them back when it is rolled back, so it drops only its own.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/database.h"
#include "core/hub_store.h"
#include "core/row_store.h"

namespace tillsync {

class SqliteHubStore : public HubStore {
 public:
  // Opens (creating if needed) and migrates the database at `path`.
  static Status Open(const std::string& path, const OpenOptions& options, std::unique_ptr<SqliteHubStore>* out);

  Status BeginWrite() override;
  Status Commit() override;
  void Rollback() override;
  Status BeginScope() override;
  Status ReleaseScope() override;
  void RollbackScope() override;
  Status BeginRead() override;
  void EndRead() override;

  Status LoadRow(const TableSpec& spec, const std::string& id, StoredRow* out) override;
  Status LoadRowValues(const TableSpec& spec, const std::string& id, Json* values, bool* exists) override;
  Status LoadRowCells(const TableSpec& spec, const std::string& id, std::vector<ColumnValue>* cells,
                      bool* exists) override;
  Status StoreRow(const TableSpec& spec, const std::string& id, const StoredRow& before, StoredRow* row) override;
  Status ScopeChecksum(const std::string& scope, uint64_t* sum) override;

  Status Feed(const std::string& scope, int64_t cursor, int64_t limit, std::vector<FeedEntry>* out) override;
  Status FeedCount(const std::string& scope, int64_t cursor, int64_t* count) override;
  Status KeyFeed(const std::string& table, const std::string& after_id, int64_t limit,
                 std::vector<FeedEntry>* out) override;

  Status FindDeviceCursor(const std::string& device_id, DeviceCursor* out) override;
  Status AddDeviceCursor(const std::string& device_id, const std::string& shop_id) override;
  Status SetDeviceCursor(const std::string& device_id, int64_t last_seq) override;
  Status FindOp(const std::string& device_id, int64_t seq, OpRecord* out) override;
  Status RecordOp(const std::string& device_id, int64_t seq, uint64_t hash, const std::string& answer) override;

  Status LoadHubState(std::string* hlc, int64_t* last_seq) override;
  Status SaveHubState(const std::string& hlc, int64_t last_seq) override;
  Status AddOpCounters(int64_t applied, int64_t rejected, int64_t conflicted) override;

  Status ReadStats(HubStats* out) override;
  Status ListShops(std::vector<ShopRecord>* out) override;
  Status ListDevices(const std::string& shop_id, std::vector<DeviceRecord>* out) override;
  Status FindShop(const std::string& shop_id, bool* found, ShopRecord* out) override;
  Status FindDevice(const std::string& device_id, bool* found, DeviceRecord* out) override;
  Status CountDevices(const std::string& shop_id, int64_t* out) override;
  Status CanonicalDump(const std::vector<std::string>& scopes, std::string* out) override;

  // The connection, for what is SQLite-specific and outside the sync logic: the server tunes
  // it and attaches WAL maintenance before handing the store to Hub::Open (server/serve.cc),
  // and tests inspect tables through it. Hub itself never sees it.
  Database* db() { return db_.get(); }

 private:
  SqliteHubStore() = default;

  std::unique_ptr<Database> db_;
  std::unique_ptr<RowStore> rows_;
  // One entry per open scope: its savepoint's ChecksumBatch state is the pending deltas of
  // the enclosing level when it began, owned here instead of on a caller's stack.
  std::vector<std::unique_ptr<ChecksumBatch>> batches_;
  bool writing_ = false;
};

}  // namespace tillsync
