#include "core/sqlite_hub_store.h"

#include "core/kv_table.h"
#include "core/migrations.h"

namespace tillsync {

Status SqliteHubStore::Open(const std::string& path, const OpenOptions& options,
                            std::unique_ptr<SqliteHubStore>* out) {
  std::unique_ptr<SqliteHubStore> store(new SqliteHubStore());
  TS_RETURN_IF_ERROR(Database::Open(path, options, &store->db_));
  TS_RETURN_IF_ERROR(Migrate(store->db_.get()));
  // The migrations are the devices' schema too, and four of its indexes serve only a till's own
  // screens (a sale's lines and payments, stock by product, sales by time). No hub query reads
  // them (its pulls go through _ts_rows by scope and sequence; rows by primary key), yet every
  // pushed sale paid for their b-tree entries: dropping them took the writer from 266-308 to
  // 209-217 us of CPU per sale (bench_hub_writer, bench/README "Hub"). Idempotent, so every open
  // does it, old hub databases included; a hub-side query that needs one gets its own index.
  TS_RETURN_IF_ERROR(store->db_->Exec(
      "DROP INDEX IF EXISTS order_lines_by_order; DROP INDEX IF EXISTS payments_by_order;"
      " DROP INDEX IF EXISTS stock_movements_by_product; DROP INDEX IF EXISTS sales_orders_by_shop_time;"));
  // Savepoints (one per push of a group commit, one per operation) keep the original of every
  // page they touch in a statement journal. SQLite spills that journal to a temporary file past
  // 64 KiB, which a group of a few dozen sales passes: measured with perf, writing that temp
  // file was about 29% of the push writer's samples (6% left for the in-memory copy). In memory
  // it stays (bounded by the pages the group touches).
  TS_RETURN_IF_ERROR(store->db_->Exec("PRAGMA temp_store=MEMORY"));
  store->rows_ = std::make_unique<RowStore>(store->db_.get());
  *out = std::move(store);
  return Status::Ok();
}

// --- transactions and scopes ---------------------------------------------------------------

Status SqliteHubStore::BeginWrite() {
  if (writing_) return Status(ErrorCode::kInternal, "a write transaction is already open");
  TS_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  writing_ = true;
  batches_.push_back(std::make_unique<ChecksumBatch>(rows_.get()));
  return Status::Ok();
}

Status SqliteHubStore::Commit() {
  if (!writing_ || batches_.size() != 1)
    return Status(ErrorCode::kInternal, "commit without a write transaction, or with a scope open");
  Status s = batches_.back()->Flush();  // the transaction's checksum moves, one write per scope
  if (s.ok()) s = db_->Exec("COMMIT");
  if (!s.ok()) {
    Rollback();  // all or nothing: a failed commit keeps nothing
    return s;
  }
  batches_.clear();
  writing_ = false;
  return Status::Ok();
}

void SqliteHubStore::Rollback() {
  while (!batches_.empty()) batches_.pop_back();  // innermost first: each puts back its deltas
  if (writing_ && db_->InTransaction()) (void)db_->Exec("ROLLBACK");
  writing_ = false;
}

Status SqliteHubStore::BeginScope() {
  if (!writing_) return Status(ErrorCode::kInternal, "a scope needs a write transaction");
  TS_RETURN_IF_ERROR(db_->Exec("SAVEPOINT scope"));
  batches_.push_back(std::make_unique<ChecksumBatch>(rows_.get()));  // saves the pending deltas
  return Status::Ok();
}

Status SqliteHubStore::ReleaseScope() {
  if (batches_.size() < 2) return Status(ErrorCode::kInternal, "no scope to release");
  // Savepoints of one name nest: RELEASE and ROLLBACK TO act on the innermost open one.
  TS_RETURN_IF_ERROR(db_->Exec("RELEASE scope"));
  TS_RETURN_IF_ERROR(batches_.back()->Flush());  // nested: keeps its deltas in the enclosing level
  batches_.pop_back();
  return Status::Ok();
}

void SqliteHubStore::RollbackScope() {
  if (batches_.size() < 2) return;
  (void)db_->Exec("ROLLBACK TO scope");
  (void)db_->Exec("RELEASE scope");
  batches_.pop_back();  // unflushed: puts the deltas back as they were when the scope began
}

Status SqliteHubStore::BeginRead() { return db_->Exec("BEGIN"); }

void SqliteHubStore::EndRead() { (void)db_->Exec("COMMIT"); }

// --- rows ------------------------------------------------------------------------------------

Status SqliteHubStore::LoadRow(const TableSpec& spec, const std::string& id, StoredRow* out) {
  return rows_->Load(spec, id, out);
}

Status SqliteHubStore::LoadRowValues(const TableSpec& spec, const std::string& id, Json* values, bool* exists) {
  return rows_->LoadValues(spec, id, values, exists);
}

Status SqliteHubStore::LoadRowCells(const TableSpec& spec, const std::string& id, std::vector<ColumnValue>* cells,
                                    bool* exists) {
  return rows_->LoadCells(spec, id, cells, exists);
}

Status SqliteHubStore::StoreRow(const TableSpec& spec, const std::string& id, const StoredRow& before,
                                StoredRow* row) {
  return rows_->Store(spec, id, before, row);
}

Status SqliteHubStore::ScopeChecksum(const std::string& scope, uint64_t* sum) {
  return rows_->ScopeChecksum(scope, sum);
}

namespace {

// Appends the rows of a feed statement (columns: seq, tbl, id, version, clocks) to *out.
Status ReadFeedEntries(Statement* st, std::vector<FeedEntry>* out) {
  bool row = false;
  while (true) {
    Status s = st->Step(&row);
    if (!s.ok()) {
      st->Reset();
      return s;
    }
    if (!row) break;
    FeedEntry e;
    e.seq = st->Int(0);
    e.table = st->Text(1);
    e.id = st->Text(2);
    e.version = st->Int(3);
    e.clocks_json = st->Text(4);
    out->push_back(std::move(e));
  }
  st->Reset();
  return Status::Ok();
}

// The single integer a COUNT(*) statement gives.
Status ReadCount(Statement* st, int64_t* count) {
  bool row = false;
  Status s = st->Step(&row);
  *count = s.ok() && row ? st->Int(0) : 0;
  st->Reset();
  return s;
}

}  // namespace

Status SqliteHubStore::Feed(const std::string& scope, int64_t cursor, int64_t limit, std::vector<FeedEntry>* out) {
  // An index range scan on (scope, seq), already in seq order; it returns the row's metadata
  // too, so a row on the page then costs one primary-key read of its values.
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached(
      "SELECT seq, tbl, id, version, clocks FROM _ts_rows WHERE scope=?1 AND seq>?2 ORDER BY seq LIMIT ?3", &st));
  st->Bind(1, scope).Bind(2, cursor).Bind(3, limit);
  return ReadFeedEntries(st, out);
}

Status SqliteHubStore::FeedCount(const std::string& scope, int64_t cursor, int64_t* count) {
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached("SELECT COUNT(*) FROM _ts_rows WHERE scope=?1 AND seq>?2", &st));
  st->Bind(1, scope).Bind(2, cursor);
  return ReadCount(st, count);
}

Status SqliteHubStore::KeyFeed(const std::string& table, const std::string& after_id, int64_t limit,
                               std::vector<FeedEntry>* out) {
  // A range of _ts_rows' primary key (tbl, id): in key order with no sort, and only this table's
  // rows are read (a catalog table holds catalog rows only; scope='' says so anyway).
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached(
      "SELECT seq, tbl, id, version, clocks FROM _ts_rows WHERE tbl=?1 AND id>?2 AND scope='' ORDER BY id LIMIT ?3",
      &st));
  st->Bind(1, table).Bind(2, after_id).Bind(3, limit);
  return ReadFeedEntries(st, out);
}


// --- exactly-once bookkeeping ----------------------------------------------------------------

Status SqliteHubStore::FindDeviceCursor(const std::string& device_id, DeviceCursor* out) {
  *out = DeviceCursor();
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached("SELECT shop_id, last_seq FROM _hub_devices WHERE device_id=?1", &st));
  st->Bind(1, device_id);
  bool row = false;
  Status s = st->Step(&row);
  if (s.ok() && row) {
    out->found = true;
    out->shop_id = st->Text(0);
    out->last_seq = st->Int(1);
  }
  st->Reset();
  return s;
}

Status SqliteHubStore::AddDeviceCursor(const std::string& device_id, const std::string& shop_id) {
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached("INSERT INTO _hub_devices (device_id, shop_id, last_seq) VALUES (?1, ?2, 0)", &st));
  st->Bind(1, device_id).Bind(2, shop_id);
  return st->Run();
}

Status SqliteHubStore::SetDeviceCursor(const std::string& device_id, int64_t last_seq) {
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached("UPDATE _hub_devices SET last_seq=?2 WHERE device_id=?1", &st));
  st->Bind(1, device_id).Bind(2, last_seq);
  return st->Run();
}

Status SqliteHubStore::FindOp(const std::string& device_id, int64_t seq, OpRecord* out) {
  *out = OpRecord();
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached("SELECT hash, answer FROM _hub_ops WHERE device_id=?1 AND seq=?2", &st));
  st->Bind(1, device_id).Bind(2, seq);
  bool row = false;
  Status s = st->Step(&row);
  if (s.ok() && row) {
    out->found = true;
    out->hash = uint64_t(st->Int(0));  // stored as the signed 64-bit pattern of the hash
    out->answer = st->Text(1);
  }
  st->Reset();
  return s;
}

Status SqliteHubStore::RecordOp(const std::string& device_id, int64_t seq, uint64_t hash, const std::string& answer) {
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached("INSERT INTO _hub_ops (device_id, seq, hash, answer) VALUES (?1, ?2, ?3, ?4)", &st));
  st->Bind(1, device_id).Bind(2, seq).Bind(3, int64_t(hash)).Bind(4, answer);
  return st->Run();
}

// --- hub state and listings ------------------------------------------------------------------

Status SqliteHubStore::LoadHubState(std::string* hlc, int64_t* last_seq) {
  bool found = false;
  hlc->clear();
  TS_RETURN_IF_ERROR(KvGet(db_.get(), "hub_hlc", hlc, &found));
  if (!found) hlc->clear();
  std::string seq;
  TS_RETURN_IF_ERROR(KvGet(db_.get(), "hub_seq", &seq, &found));
  *last_seq = found ? std::stoll(seq) : 0;
  return Status::Ok();
}

Status SqliteHubStore::SaveHubState(const std::string& hlc, int64_t last_seq) {
  TS_RETURN_IF_ERROR(KvPut(db_.get(), "hub_hlc", hlc));
  return KvPut(db_.get(), "hub_seq", std::to_string(last_seq));
}

Status SqliteHubStore::AddOpCounters(int64_t applied, int64_t rejected, int64_t conflicted) {
  const std::pair<const char*, int64_t> counters[] = {
      {"ops_applied", applied}, {"ops_rejected", rejected}, {"ops_conflict", conflicted}};
  for (const auto& [key, delta] : counters) {
    if (delta == 0) continue;
    Statement* st = nullptr;
    TS_RETURN_IF_ERROR(db_->Cached(
        "INSERT INTO _ts_kv (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = value + ?2", &st));
    st->Bind(1, std::string_view(key)).Bind(2, delta);
    TS_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}

Status SqliteHubStore::ReadStats(HubStats* out) {
  *out = HubStats();
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare(
      "SELECT (SELECT COUNT(*) FROM shops), (SELECT COUNT(*) FROM _hub_devices), (SELECT COUNT(*) FROM _ts_rows),"
      " (SELECT value FROM _ts_kv WHERE key='ops_applied'), (SELECT value FROM _ts_kv WHERE key='ops_rejected'),"
      " (SELECT value FROM _ts_kv WHERE key='ops_conflict')", &st));
  bool row = false;
  TS_RETURN_IF_ERROR(st.Step(&row));
  out->shops = st.Int(0);
  out->devices = st.Int(1);
  out->rows = st.Int(2);
  out->ops_applied = st.Int(3);
  out->ops_rejected = st.Int(4);
  out->ops_conflicted = st.Int(5);
  return Status::Ok();
}

Status SqliteHubStore::ListShops(std::vector<ShopRecord>* out) {
  out->clear();
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare("SELECT id, name, currency, created_at FROM shops ORDER BY created_at, id", &st));
  bool row = false;
  while (true) {
    TS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) break;
    out->push_back({st.Text(0), st.Text(1), st.Text(2), st.Int(3)});
  }
  return Status::Ok();
}

Status SqliteHubStore::ListDevices(const std::string& shop_id, std::vector<DeviceRecord>* out) {
  out->clear();
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare(
      "SELECT id, shop_id, name, receipt_prefix, created_at FROM devices WHERE shop_id=?1 ORDER BY created_at, id", &st));
  st.Bind(1, shop_id);
  bool row = false;
  while (true) {
    TS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) break;
    out->push_back({st.Text(0), st.Text(1), st.Text(2), st.Text(3), st.Int(4)});
  }
  return Status::Ok();
}

Status SqliteHubStore::FindShop(const std::string& shop_id, bool* found, ShopRecord* out) {
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare("SELECT id, name, currency, created_at FROM shops WHERE id=?1", &st));
  st.Bind(1, shop_id);
  TS_RETURN_IF_ERROR(st.Step(found));
  if (*found) *out = ShopRecord{st.Text(0), st.Text(1), st.Text(2), st.Int(3)};
  return Status::Ok();
}

Status SqliteHubStore::FindDevice(const std::string& device_id, bool* found, DeviceRecord* out) {
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare("SELECT id, shop_id, name, receipt_prefix, created_at FROM devices WHERE id=?1", &st));
  st.Bind(1, device_id);
  TS_RETURN_IF_ERROR(st.Step(found));
  if (*found) *out = {st.Text(0), st.Text(1), st.Text(2), st.Text(3), st.Int(4)};
  return Status::Ok();
}

Status SqliteHubStore::CountDevices(const std::string& shop_id, int64_t* out) {
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare("SELECT COUNT(*) FROM devices WHERE shop_id=?1", &st));
  st.Bind(1, shop_id);
  bool row = false;
  TS_RETURN_IF_ERROR(st.Step(&row));
  *out = st.Int(0);
  return Status::Ok();
}

Status SqliteHubStore::CanonicalDump(const std::vector<std::string>& scopes, std::string* out) {
  return CanonicalDumpOf(db_.get(), scopes, out);
}

}  // namespace tillsync
