#include "core/device.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

#include "core/cold_code.h"  // TS_COLD: opening, rare writes, conflicts, quarantine, listings
#include "core/deferred_indexes.h"
#include "core/kv_table.h"
#include "core/migrations.h"
#include "core/outbox_text.h"
#include "core/typed_change.h"

namespace tillsync {

const char* SyncStateName(SyncState s) {
  switch (s) {
    case SyncState::kIdle: return "idle";
    case SyncState::kSyncing: return "syncing";
    case SyncState::kOffline: return "offline";
    case SyncState::kFailed: return "failed";
    case SyncState::kUpdateRequired: return "update_required";
  }
  return "idle";
}

namespace {

// v in lower-case hex, zero-padded to at least `digits` (printf's "%0*llx", without its parser:
// a sale mints eight ids).
std::string Hex(uint64_t v, int digits) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
  const int n = int(r.ptr - buf);
  return n >= digits ? std::string(buf, r.ptr) : std::string(size_t(digits - n), '0') + std::string(buf, r.ptr);
}

int64_t IntOf(const Json& values, const char* key) {
  auto it = values.find(key);
  return (it != values.end() && it->is_number_integer()) ? it->get<int64_t>() : 0;
}

std::string TextOf(const Json& values, const char* key) {
  auto it = values.find(key);
  return (it != values.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

// Whether a statement's text is a plain read, judged before it is prepared: SQLite applies some
// PRAGMAs (synchronous=OFF, query_only=1, locking_mode=...) while compiling them, and
// sqlite3_stmt_readonly() also passes BEGIN, COMMIT, SAVEPOINT and ATTACH, which write no page
// but change how the engine's own transactions commit or leave one open. So the first keyword,
// after blanks and comments, must be SELECT, WITH or VALUES, or PRAGMA in its query form (no
// value given: no '=', and parentheses only for the introspection pragmas that take a name).
bool IsPlainRead(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (std::isspace(static_cast<unsigned char>(s[i]))) {
      ++i;
    } else if (s.compare(i, 2, "--") == 0) {
      size_t end = s.find('\n', i);
      i = end == std::string_view::npos ? s.size() : end + 1;
    } else if (s.compare(i, 2, "/*") == 0) {
      size_t end = s.find("*/", i + 2);
      i = end == std::string_view::npos ? s.size() : end + 2;
    } else {
      break;
    }
  }
  if (i == s.size()) return true;  // nothing to run: Prepare reports the empty statement
  auto word_at = [&](size_t* at) {
    std::string w;
    while (*at < s.size() && (std::isalnum(static_cast<unsigned char>(s[*at])) || s[*at] == '_'))
      w += char(std::tolower(static_cast<unsigned char>(s[(*at)++])));
    return w;
  };
  std::string first = word_at(&i);
  if (first == "select" || first == "with" || first == "values") return true;
  if (first != "pragma") return false;
  std::string_view rest = s.substr(i);
  if (rest.find('=') != std::string_view::npos) return false;
  if (rest.find('(') == std::string_view::npos) return true;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  std::string name = word_at(&i);
  if (i < s.size() && s[i] == '.') name = word_at(&++i);  // schema.pragma
  for (const char* reader : {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
                             "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check"})
    if (name == reader) return true;
  return false;
}

}  // namespace

// --- Opening --------------------------------------------------------------------------------

TS_COLD Status Device::Open(const std::string& path, const DeviceIdentity& identity, const DeviceOptions& options,
                    std::unique_ptr<Device>* out) {
  std::unique_ptr<Device> d(new Device());
  d->options_ = options;
  d->env_ = options.env ? options.env : SystemEnv();
  TS_RETURN_IF_ERROR(Database::Open(path, options.open, &d->db_));
  TS_RETURN_IF_ERROR(d->RestoreIndexesAtOpen());
  TS_RETURN_IF_ERROR(Migrate(d->db_.get()));
  // The migrations are the hub's schema too, and _ts_rows_by_scope_seq serves only the hub (its
  // pull pages read _ts_rows by scope and sequence). A device reads _ts_rows by primary key
  // alone, yet paid one more b-tree entry per row it keeps metadata for: 100,000 of them in an
  // initial download of the catalog (bench/README "Initial download through the core").
  // Idempotent, so every open does it, old device databases included.
  TS_RETURN_IF_ERROR(d->db_->Exec("DROP INDEX IF EXISTS _ts_rows_by_scope_seq"));
  d->rows_ = std::make_unique<RowStore>(d->db_.get(), RowMeta::kMergedRowsOnly, ChecksumHome::kKvTable);
  TS_RETURN_IF_ERROR(d->MoveOldChecksums());

  std::string stored_id;
  bool found = false;
  TS_RETURN_IF_ERROR(d->KvGet("device_id", &stored_id, &found));
  if (found) {
    if (!identity.device_id.empty() && identity.device_id != stored_id)
      return Status(ErrorCode::kForbidden, "this database belongs to device " + stored_id);
    d->identity_.device_id = stored_id;
    TS_RETURN_IF_ERROR(d->KvGet("shop_id", &d->identity_.shop_id, &found));
    TS_RETURN_IF_ERROR(d->KvGet("receipt_prefix", &d->identity_.receipt_prefix, &found));
    TS_RETURN_IF_ERROR(d->KvGet("currency", &d->identity_.currency, &found));
  } else {
    DeviceIdentity id = identity;
    if (id.device_id.empty()) {
      id.device_id = "local_" + Hex(d->env_->Random64(), 16);
      if (id.shop_id.empty()) id.shop_id = "local";
      if (id.receipt_prefix.empty()) id.receipt_prefix = "L";
    }
    if (!IsValidId(id.device_id) || !IsValidId(id.shop_id) || id.receipt_prefix.empty() ||
        id.receipt_prefix.size() > 16)
      return Status(ErrorCode::kBadId, "device identity needs valid device_id, shop_id and receipt_prefix");
    if (id.currency.size() != 3) return Status(ErrorCode::kBadValue, "currency must be a 3-letter code");
    Transaction txn(d->db_.get());
    TS_RETURN_IF_ERROR(txn.Begin());
    TS_RETURN_IF_ERROR(d->KvPut("device_id", id.device_id));
    TS_RETURN_IF_ERROR(d->KvPut("shop_id", id.shop_id));
    TS_RETURN_IF_ERROR(d->KvPut("receipt_prefix", id.receipt_prefix));
    TS_RETURN_IF_ERROR(d->KvPut("currency", id.currency));
    TS_RETURN_IF_ERROR(txn.Commit());
    d->identity_ = id;
  }
  d->clock_ = std::make_unique<HybridClock>(d->env_, d->identity_.device_id);
  d->backoff_ = std::make_unique<Backoff>(d->env_, options.backoff);
  TS_RETURN_IF_ERROR(d->LoadState());
  *out = std::move(d);
  return Status::Ok();
}

TS_COLD Status Device::RestoreIndexesAtOpen() {
  // Before the migrations, so a later one finds every index its predecessors made; only on a
  // database of a version this build knows (Migrate refuses a newer one untouched).
  int version = 0;
  TS_RETURN_IF_ERROR(SchemaVersion(db_.get(), &version));
  if (version < 1 || version > LatestSchemaVersion()) return Status::Ok();
  std::vector<std::string> deferred;
  TS_RETURN_IF_ERROR(DeferredIndexNames(db_.get(), &deferred));
  if (deferred.empty()) return Status::Ok();
  // A download that set them aside did not finish in this database's last session.
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  int64_t restored = 0;
  TS_RETURN_IF_ERROR(RestoreDeferredIndexes(db_.get(), &restored));
  return txn.Commit();
}

TS_COLD Status Device::MoveOldChecksums() {
  // Databases written before the device kept its checksums in _ts_kv have them in _ts_checksum.
  // One read tells; the move itself happens once per database.
  Statement* any = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached("SELECT EXISTS (SELECT 1 FROM _ts_checksum)", &any));
  bool row = false;
  TS_RETURN_IF_ERROR(any->Step(&row));
  const bool old_sums = row && any->Int(0) == 1;
  any->Reset();
  if (!old_sums) return Status::Ok();
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  int64_t moved = 0;
  TS_RETURN_IF_ERROR(rows_->MoveTableChecksumsToKv(&moved));
  return txn.Commit();
}

Status Device::LoadWriteState() {
  if (counters_loaded_ && counters_rollbacks_ == db_->rollbacks()) return Status::Ok();
  counters_rollbacks_ = db_->rollbacks();
  int64_t stored_next = 0;
  TS_RETURN_IF_ERROR(KvInt("next_seq", &stored_next));
  next_seq_ = std::max<int64_t>(stored_next, 1);
  TS_RETURN_IF_ERROR(KvInt("receipt_counter", &receipt_counter_));
  rows_->DropHeldChecksums();
  carried_row_counter_ = 0;
  carried_hlc_.clear();
  Statement* tail = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached("SELECT seq, op FROM _ts_outbox ORDER BY seq DESC LIMIT 1", &tail));
  bool row = false;
  TS_RETURN_IF_ERROR(tail->Step(&row));
  if (row && tail->Int(0) >= stored_next) {
    // Written after _ts_kv's state: the row's is the newer. (A row written before this form
    // carries none; its write stored next_seq past it, so it never gets here.)
    next_seq_ = tail->Int(0) + 1;
    OutboxState carried;
    bool found = false;
    Status read = ReadOutboxState(tail->Text(1), OutboxWriter{identity_.shop_id, identity_.device_id}, &carried,
                                  &carried_hlc_, &found);
    tail->Reset();
    if (!read.ok()) return Status(ErrorCode::kCorrupt, "newest outbox entry unreadable: " + read.message());
    if (found) {
      rows_->SetHeldChecksums(std::move(carried.sums));
      receipt_counter_ = std::max(receipt_counter_, carried.receipt_counter);
      carried_row_counter_ = carried.row_counter;
    } else {
      carried_hlc_.clear();
    }
  }
  tail->Reset();
  counters_loaded_ = true;
  return Status::Ok();
}

Status Device::SaveWriteState() {
  TS_RETURN_IF_ERROR(LoadWriteState());
  TS_RETURN_IF_ERROR(rows_->SaveHeldChecksums());
  // Same keys and text as KvPut writes them.
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached("INSERT OR REPLACE INTO _ts_kv (key, value) VALUES ('next_seq', ?1), ('hlc', ?2),"
                                 " ('row_counter', ?3), ('receipt_counter', ?4)", &st));
  st->Bind(1, std::to_string(next_seq_)).Bind(2, clock_->last().ToString()).Bind(3, std::to_string(id_counter_))
      .Bind(4, std::to_string(receipt_counter_));
  return st->Run();
}

TS_COLD Status Device::LoadState() {
  std::string text;
  bool found = false;
  TS_RETURN_IF_ERROR(KvGet("hlc", &text, &found));
  HlcTimestamp ts;
  if (found && HlcTimestamp::Parse(text, &ts).ok()) clock_->Restore(ts);
  int64_t n = 0;
  TS_RETURN_IF_ERROR(KvInt("row_counter", &id_counter_));
  TS_RETURN_IF_ERROR(KvInt("backoff_failures", &n));
  backoff_->set_failures(int(n));
  TS_RETURN_IF_ERROR(KvInt("min_schema_version", &n));
  state_ = (n > LatestSchemaVersion()) ? SyncState::kUpdateRequired : SyncState::kIdle;
  // Local writes keep their state in the newest outbox row (WriteInTxn): when that row is newer
  // than _ts_kv, its counters and clock win (all of them only ever grow), and _ts_kv is brought
  // up to date once, here, so every later reader finds it there. Idempotent: a crash before the
  // commit leaves the row as the newer state, and the next open does the same again.
  rows_->HoldChecksums();
  TS_RETURN_IF_ERROR(LoadWriteState());
  if (!carried_hlc_.empty() || carried_row_counter_ > 0 || !rows_->held_checksums().empty()) {
    id_counter_ = std::max(id_counter_, carried_row_counter_);
    HlcTimestamp carried;
    if (HlcTimestamp::Parse(carried_hlc_, &carried).ok() && clock_->last() < carried) clock_->Restore(carried);
    Transaction txn(db_.get());
    TS_RETURN_IF_ERROR(txn.Begin());
    TS_RETURN_IF_ERROR(SaveWriteState());
    TS_RETURN_IF_ERROR(txn.Commit());
  }
  return Status::Ok();
}

Status Device::KvGet(const char* key, std::string* out, bool* found) { return tillsync::KvGet(db_.get(), key, out, found); }
Status Device::KvPut(const char* key, const std::string& value) { return tillsync::KvPut(db_.get(), key, value); }
Status Device::KvInt(const char* key, int64_t* out) { return tillsync::KvInt(db_.get(), key, out); }
Status Device::KvAdd(const char* key, int64_t delta) { return tillsync::KvAdd(db_.get(), key, delta); }

Status Device::Log(const std::string& kind, const std::string& detail) {
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached("INSERT INTO _ts_sync_log (at, kind, detail) VALUES (?1, ?2, ?3)", &st));
  st->Bind(1, env_->NowMillis()).Bind(2, kind).Bind(3, detail.substr(0, 500));
  TS_RETURN_IF_ERROR(st->Run());
  // Keep the newest 300 entries: the debug panel needs recent history, not an unbounded log.
  return db_->Exec("DELETE FROM _ts_sync_log WHERE id <= (SELECT MAX(id) FROM _ts_sync_log) - 300");
}

Status Device::NewRowId(std::string* out) {
  TS_RETURN_IF_ERROR(MintRowId(out));
  if (new_ids_.capacity() == 0) new_ids_.reserve(8);
  new_ids_.push_back(*out);
  return Status::Ok();
}

Status Device::MintRowId(std::string* out) {
  ++id_counter_;
  // "<device id>-<counter in hex>", written in place (a sale mints eight: no temporaries).
  char hex[24];
  const auto r = std::to_chars(hex, hex + sizeof hex, uint64_t(id_counter_), 16);
  out->reserve(identity_.device_id.size() + 1 + size_t(r.ptr - hex));
  out->assign(identity_.device_id);
  out->push_back('-');
  out->append(hex, r.ptr);
  // Inside a write transaction the counter is persisted once, with the rows that use the ids,
  // by the outbox row (QueueInTxn; a sale takes eight ids: one write, not eight). Outside, now.
  if (db_->InTransaction()) return Status::Ok();
  return KvPut("row_counter", std::to_string(id_counter_));
}

// --- The write path -------------------------------------------------------------------------

Status Device::BeginLocalOperation(size_t change_count, int64_t* seq, int64_t* wall_ms, std::string* hlc) {
  if (change_count == 0) return ErrorWithMessage(ErrorCode::kBadRequest, {"a write needs at least one change"});
  if (change_count > kMaxChangesPerOperation)
    return ErrorWithMessage(ErrorCode::kTooLarge,
                            {"a write may hold at most ", std::to_string(kMaxChangesPerOperation), " changes"});
  TS_RETURN_IF_ERROR(LoadWriteState());
  *seq = next_seq_;
  *wall_ms = env_->NowMillis();
  *hlc = clock_->Now().ToString();
  return Status::Ok();
}

Status Device::WriteInTxn(std::vector<Change> changes, WriteResult* out, int64_t receipt_counter) {
  // Whatever happens here, the ids known to be new are used up (or, on failure, rolled back
  // with the transaction): later writes load their rows again.
  std::vector<std::string> new_ids;
  new_ids.swap(new_ids_);
  Operation op;
  TS_RETURN_IF_ERROR(BeginLocalOperation(changes.size(), &op.seq, &op.wall_ms, &op.hlc));
  Caller self{identity_.shop_id, identity_.device_id, false};

  // A change creates a row without reading it first when its id is known to be new and no
  // earlier change of this operation names the same row (a void's stock movements, a stock
  // receipt: a read saved each; a sale's rows take WriteTypedInTxn, which reads none). Should
  // such a row exist after all, RowStore::Insert refuses to overwrite it.
  std::vector<bool> fresh(changes.size(), false);
  for (size_t i = 0; i < changes.size(); ++i) {
    const Change& c = changes[i];
    if (std::find(new_ids.begin(), new_ids.end(), c.id) == new_ids.end()) continue;
    bool repeated = false;
    for (size_t j = 0; j < i && !repeated; ++j) repeated = changes[j].id == c.id && changes[j].table == c.table;
    fresh[i] = !repeated;
  }

  std::vector<StoredRow> currents(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    Change& c = changes[i];
    const TableSpec* spec = FindTable(c.table);
    if (spec == nullptr) return Status(ErrorCode::kUnknownTable, "unknown table " + c.table);
    if (!IsValidId(c.id)) return Status(ErrorCode::kBadId, c.table + " id must be 1 to 64 characters of A-Z a-z 0-9 _ . : -");
    if (!fresh[i]) TS_RETURN_IF_ERROR(rows_->Load(*spec, c.id, &currents[i]));
    const StoredRow& cur = currents[i];
    if (spec->scope == Scope::kShop && !cur.exists && !c.values.contains("shop_id")) c.values["shop_id"] = identity_.shop_id;
    if (spec->tracking) {
      if (!cur.exists) c.values["origin_shop_id"] = identity_.shop_id;
      c.values["last_modified_shop_id"] = identity_.shop_id;
      c.values["last_modified_at"] = op.wall_ms;
    }
    if ((spec->rule == MergeRule::kManual || spec->rule == MergeRule::kCustom) && c.base_version < 0)
      c.base_version = cur.exists ? cur.version : 0;
    TS_RETURN_IF_ERROR(ValidateChangeValues(*spec, c, "changes[" + std::to_string(i) + "]"));
  }
  op.changes = std::move(changes);
  TS_RETURN_IF_ERROR(ValidateOperation(op, self));

  MergeOptions opts;
  opts.check_base_version = false;  // the local replica is this device's own latest intent
  ChecksumBatch checksums(rows_.get());
  for (size_t i = 0; i < op.changes.size(); ++i) {
    const Change& c = op.changes[i];
    const TableSpec& spec = *FindTable(c.table);
    if (fresh[i]) {
      // A new row under a minted id: with no row to merge with,
      // a table that keeps no clocks here takes it as given (anything unusual, such as a
      // required column left out, goes the merge way below and is refused there).
      bool stored = false;
      TS_RETURN_IF_ERROR(rows_->InsertChange(spec, c.id, c.values, &stored));
      if (stored) continue;
    }
    // A later change of the same operation may touch a row an earlier one wrote: reload then.
    StoredRow current;
    if (i > 0 && !fresh[i]) TS_RETURN_IF_ERROR(rows_->Load(spec, c.id, &current));
    else current = std::move(currents[i]);
    if (current.exists && spec.scope == Scope::kShop && current.scope != identity_.shop_id)
      return Status(ErrorCode::kShopMismatch, c.table + " " + c.id + " belongs to another shop");
    StoredRow next;
    MergeOutcome outcome;
    TS_RETURN_IF_ERROR(MergeChange(spec, current, c, ColumnClock(spec, op.hlc, false), opts, &outcome, &next));
    if (outcome != MergeOutcome::kApplied) continue;
    if (fresh[i]) TS_RETURN_IF_ERROR(rows_->Insert(spec, c.id, &next));
    else TS_RETURN_IF_ERROR(rows_->Store(spec, c.id, current, &next));
  }
  // The checksums this write moved stay held in memory (RowStore::HoldChecksums), and the
  // write's state (those sums, the id and receipt counters; next_seq and the clock are the row's
  // own seq and hlc) rides in its outbox row: a write dirties no _ts_kv page (a sale wrote one
  // 4 KiB page there for about 100 bytes of counters). LoadWriteState reads it back.
  TS_RETURN_IF_ERROR(checksums.Flush());
  const OutboxWriter writer{identity_.shop_id, identity_.device_id};
  std::string text = OutboxText(op, writer);
  return QueueInTxn(writer, op.seq, op.hlc, op.wall_ms, receipt_counter, &text, out);
}

Status Device::QueueInTxn(const OutboxWriter& writer, int64_t seq, const std::string& hlc, int64_t wall_ms,
                          int64_t receipt_counter, std::string* text, WriteResult* out) {
  OutboxState state;
  state.sums = rows_->held_checksums();
  state.row_counter = id_counter_;
  state.receipt_counter = receipt_counter > 0 ? receipt_counter : receipt_counter_;
  const bool carried = AppendOutboxState(state, writer, text);
  // The outbox row commits with the rows it describes: a write is never shown without being
  // queued, and never queued without being written.
  Statement* ins = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached("INSERT INTO _ts_outbox (seq, op, created_at) VALUES (?1, ?2, ?3)", &ins));
  // The text (about 1.3 KB for a sale) is bound without a copy; reset before `text` goes.
  ins->Bind(1, seq).BindStatic(2, *text).Bind(3, wall_ms);
  Status inserted = ins->Run();
  ins->Reset();
  TS_RETURN_IF_ERROR(inserted);
  // As written; should the transaction roll back, LoadWriteState reads them again.
  next_seq_ = seq + 1;
  if (receipt_counter > 0) receipt_counter_ = receipt_counter;
  // A state the row cannot carry (a sum of a scope that is neither the catalog nor this shop,
  // which validation never lets through) goes to _ts_kv, as before the row carried it.
  if (!carried) TS_RETURN_IF_ERROR(SaveWriteState());
  if (out != nullptr) {
    out->seq = seq;
    out->hlc = hlc;
  }
  return Status::Ok();
}

Status Device::WriteTypedInTxn(std::vector<TypedChange> changes, WriteResult* out, int64_t receipt_counter) {
  // Every row here is new by the caller's word (RecordSale: ids just minted by MintRowId, or a
  // caller's order id seen absent in this transaction), so none is loaded first; the list of
  // ids known to be new, which WriteInTxn consults, is used up all the same.
  new_ids_.clear();
  // WriteInTxn's steps in its order, so a refusal is the one it gives for the same changes.
  TypedOperation op;
  TS_RETURN_IF_ERROR(BeginLocalOperation(changes.size(), &op.seq, &op.wall_ms, &op.hlc));
  Caller self{identity_.shop_id, identity_.device_id, false};
  for (size_t i = 0; i < changes.size(); ++i) {
    TypedChange& c = changes[i];
    const TableSpec& spec = *c.spec;
    // Rows with metadata or tracking columns are merged and stamped, by WriteInTxn only.
    if (rows_->KeepsMeta(spec) || spec.tracking)
      return ErrorWithMessage(ErrorCode::kInternal, {"typed rows are for tables without row metadata, not ", spec.name});
    if (!IsValidId(c.id))
      return ErrorWithMessage(ErrorCode::kBadId, {spec.name, " id must be 1 to 64 characters of A-Z a-z 0-9 _ . : -"});
    if (spec.scope == Scope::kShop) {
      ColumnValue* shop = CellOf(c, "shop_id");
      if (shop != nullptr && shop->kind == ColumnValue::Kind::kNull) {
        shop->kind = ColumnValue::Kind::kText;
        shop->text = identity_.shop_id;
      }
    }
    TS_RETURN_IF_ERROR(ValidateTypedChangeValues(c, i));
  }
  op.changes = std::move(changes);
  TS_RETURN_IF_ERROR(ValidateTypedOperation(op, self));
  ChecksumBatch checksums(rows_.get());
  for (const TypedChange& c : op.changes) TS_RETURN_IF_ERROR(rows_->InsertTyped(*c.spec, c.id, c.cells));
  TS_RETURN_IF_ERROR(checksums.Flush());
  const OutboxWriter writer{identity_.shop_id, identity_.device_id};
  std::string text = TypedOutboxText(op, writer);
  return QueueInTxn(writer, op.seq, op.hlc, op.wall_ms, receipt_counter, &text, out);
}

Status Device::Write(std::vector<Change> changes, WriteResult* out) {
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  HlcTimestamp clock_before = clock_->last();
  Status s = WriteInTxn(std::move(changes), out);
  if (s.ok()) s = txn.Commit();
  if (!s.ok()) clock_->Restore(clock_before);
  return s;
}

Status Device::RecordSale(const SaleInput& sale, SaleResult* out) {
  if (sale.lines.empty()) return Status(ErrorCode::kBadRequest, "a sale needs at least one line");
  if (sale.lines.size() > 60) return Status(ErrorCode::kTooLarge, "a sale may have at most 60 lines");
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  HlcTimestamp clock_before = clock_->last();
  int64_t counter_before = id_counter_;
  auto fail = [&](Status s) {
    clock_->Restore(clock_before);
    id_counter_ = counter_before;
    new_ids_.clear();
    return s;
  };

  SaleResult result;
  result.created_at = env_->NowMillis();
  if (!sale.order_id.empty()) {
    if (!IsValidId(sale.order_id)) return fail(Status(ErrorCode::kBadId, "order id must be 1 to 64 characters of A-Z a-z 0-9 _ . : -"));
    StoredRow existing;
    TS_RETURN_IF_ERROR(rows_->Load(*FindTable("sales_orders"), sale.order_id, &existing));
    if (existing.exists) {
      if (existing.scope != identity_.shop_id) return fail(Status(ErrorCode::kBadId, "order id is taken"));
      // A retry of a sale already recorded: answer with it, write nothing.
      result.order_id = sale.order_id;
      result.receipt_no = TextOf(existing.values, "receipt_no");
      result.subtotal_minor = IntOf(existing.values, "subtotal_minor");
      result.tax_minor = IntOf(existing.values, "tax_minor");
      result.total_minor = IntOf(existing.values, "total_minor");
      result.created_at = IntOf(existing.values, "created_at");
      Statement ch;
      TS_RETURN_IF_ERROR(db_->Prepare("SELECT COALESCE(SUM(change_minor), 0) FROM payments WHERE order_id=?1", &ch));
      ch.Bind(1, sale.order_id);
      bool row = false;
      TS_RETURN_IF_ERROR(ch.Step(&row));
      result.change_minor = ch.Int(0);
      *out = result;
      return Status::Ok();
    }
    result.order_id = sale.order_id;
  } else {
    TS_RETURN_IF_ERROR(MintRowId(&result.order_id));
  }
  TS_RETURN_IF_ERROR(LoadWriteState());
  const int64_t receipt = receipt_counter_ + 1;  // stored by WriteInTxn, in its counters statement
  char num[32];
  std::snprintf(num, sizeof num, "%06lld", static_cast<long long>(receipt));
  result.receipt_no = identity_.receipt_prefix + "-" + num;

  // The rows as typed cells (core/typed_change.h), not Json objects: a Json row cost a node and a
  // key string per value, built, validated, hashed and written out again. Sized once: the order,
  // a line and a movement per line, a payment or more (no regrowth moving the rows built).
  // Each column's place in its table, found once: the tables never change.
  static const TableSpec* const kOrders = FindTable("sales_orders");
  static const TableSpec* const kLines = FindTable("order_lines");
  static const TableSpec* const kPayments = FindTable("payments");
  static const TableSpec* const kMovements = FindTable("stock_movements");
  static const struct {
    size_t device_id, receipt_no, status, subtotal, tax, total, currency, created_at, customer_id;
  } kOrder = {ColumnIndex(*kOrders, "device_id"), ColumnIndex(*kOrders, "receipt_no"),
              ColumnIndex(*kOrders, "status"), ColumnIndex(*kOrders, "subtotal_minor"),
              ColumnIndex(*kOrders, "tax_minor"), ColumnIndex(*kOrders, "total_minor"),
              ColumnIndex(*kOrders, "currency"), ColumnIndex(*kOrders, "created_at"),
              ColumnIndex(*kOrders, "customer_id")};
  static const struct {
    size_t order_id, product_id, name, qty, unit_price, tax, line_total;
  } kLine = {ColumnIndex(*kLines, "order_id"), ColumnIndex(*kLines, "product_id"), ColumnIndex(*kLines, "name"),
             ColumnIndex(*kLines, "qty"), ColumnIndex(*kLines, "unit_price_minor"), ColumnIndex(*kLines, "tax_minor"),
             ColumnIndex(*kLines, "line_total_minor")};
  static const struct {
    size_t order_id, method, amount, tendered, change;
  } kPayment = {ColumnIndex(*kPayments, "order_id"), ColumnIndex(*kPayments, "method"),
                ColumnIndex(*kPayments, "amount_minor"), ColumnIndex(*kPayments, "tendered_minor"),
                ColumnIndex(*kPayments, "change_minor")};
  static const struct {
    size_t product_id, qty_delta, kind, ref_id, created_at;
  } kMovement = {ColumnIndex(*kMovements, "product_id"), ColumnIndex(*kMovements, "qty_delta"),
                 ColumnIndex(*kMovements, "kind"), ColumnIndex(*kMovements, "ref_id"),
                 ColumnIndex(*kMovements, "created_at")};
  std::vector<TypedChange> changes;
  changes.reserve(1 + 2 * sale.lines.size() + std::max<size_t>(1, sale.payments.size()));
  changes.push_back(NewTypedChange(*kOrders, result.order_id));
  std::vector<TypedChange> movements;
  movements.reserve(sale.lines.size());
  for (const SaleLineInput& line : sale.lines) {
    if (line.qty < 1 || line.qty > kMaxQuantity)
      return fail(Status(ErrorCode::kBadQuantity, "quantity must be 1 to " + std::to_string(kMaxQuantity)));
    if (!IsValidId(line.product_id)) return fail(Status(ErrorCode::kBadId, "bad product id"));
    // Pricing needs four columns of the product, not its sync metadata: read just those.
    Statement* product = nullptr;
    TS_RETURN_IF_ERROR(db_->Cached("SELECT name, price_minor, tax_rate_bp, active FROM products WHERE id=?1", &product));
    product->Bind(1, line.product_id);
    bool found = false;
    TS_RETURN_IF_ERROR(product->Step(&found));
    if (!found) return fail(Status(ErrorCode::kNotFound, "no product " + line.product_id));
    std::string name = product->Text(0);
    const int64_t unit = product->Int(1), tax_rate_bp = product->Int(2), active = product->Int(3);
    product->Reset();
    if (active != 1) return fail(Status(ErrorCode::kBadValue, "product " + line.product_id + " is not for sale"));
    int64_t line_total = line.qty * unit;  // <= 10^6 * 10^12, fits in int64
    // Tax per line, rounded half up, computed in 128 bits: 10^18 * 10^4 overflows int64.
    __int128 t = (__int128)line_total * tax_rate_bp + 5000;
    int64_t tax = int64_t(t / 10000);
    result.subtotal_minor += line_total;
    result.tax_minor += tax;
    if (result.subtotal_minor + result.tax_minor > kMaxMoney)
      return fail(Status(ErrorCode::kBadAmount, "sale total is larger than allowed"));
    std::string line_id, move_id;
    TS_RETURN_IF_ERROR(MintRowId(&line_id));
    TS_RETURN_IF_ERROR(MintRowId(&move_id));
    TypedChange& l = changes.emplace_back(NewTypedChange(*kLines, std::move(line_id)));
    SetText(l, kLine.order_id, result.order_id);
    SetText(l, kLine.product_id, line.product_id);
    SetText(l, kLine.name, name);
    SetInt(l, kLine.qty, line.qty);
    SetInt(l, kLine.unit_price, unit);
    SetInt(l, kLine.tax, tax);
    SetInt(l, kLine.line_total, line_total);
    TypedChange& m = movements.emplace_back(NewTypedChange(*kMovements, std::move(move_id)));
    SetText(m, kMovement.product_id, line.product_id);
    SetInt(m, kMovement.qty_delta, -line.qty);
    SetText(m, kMovement.kind, "sale");
    SetText(m, kMovement.ref_id, result.order_id);
    SetInt(m, kMovement.created_at, result.created_at);
  }
  result.total_minor = result.subtotal_minor + result.tax_minor;
  std::vector<PaymentInput> payments = sale.payments;
  if (payments.empty()) payments.push_back(PaymentInput{});
  int64_t left = result.total_minor;
  for (const PaymentInput& pay : payments) {
    if (pay.method != "cash" && pay.method != "card" && pay.method != "other")
      return fail(Status(ErrorCode::kBadValue, "payment method must be cash, card or other"));
    int64_t amount = pay.amount_minor < 0 ? left : pay.amount_minor;
    if (amount > left) return fail(Status(ErrorCode::kTotalsMismatch, "payments exceed the total"));
    int64_t tendered = amount, change = 0;
    if (pay.method == "cash" && pay.tendered_minor >= 0) {
      if (pay.tendered_minor < amount) return fail(Status(ErrorCode::kBadAmount, "cash handed over is less than the amount"));
      if (pay.tendered_minor > kMaxMoney) return fail(Status(ErrorCode::kBadAmount, "cash handed over is larger than allowed"));
      tendered = pay.tendered_minor;
      change = tendered - amount;
    }
    left -= amount;
    result.change_minor += change;
    std::string pay_id;
    TS_RETURN_IF_ERROR(MintRowId(&pay_id));
    TypedChange& p = changes.emplace_back(NewTypedChange(*kPayments, std::move(pay_id)));
    SetText(p, kPayment.order_id, result.order_id);
    SetText(p, kPayment.method, pay.method);
    SetInt(p, kPayment.amount, amount);
    SetInt(p, kPayment.tendered, tendered);
    SetInt(p, kPayment.change, change);
  }
  if (left != 0) return fail(Status(ErrorCode::kTotalsMismatch, "payments do not cover the total"));
  TypedChange& order = changes[0];
  SetText(order, kOrder.device_id, identity_.device_id);
  SetText(order, kOrder.receipt_no, result.receipt_no);
  SetText(order, kOrder.status, "completed");
  SetInt(order, kOrder.subtotal, result.subtotal_minor);
  SetInt(order, kOrder.tax, result.tax_minor);
  SetInt(order, kOrder.total, result.total_minor);
  SetText(order, kOrder.currency, identity_.currency);
  SetInt(order, kOrder.created_at, result.created_at);
  if (!sale.customer_id.empty()) SetText(order, kOrder.customer_id, sale.customer_id);
  for (TypedChange& m : movements) changes.push_back(std::move(m));
  WriteResult wr;
  Status s = WriteTypedInTxn(std::move(changes), &wr, receipt);
  if (s.ok()) s = txn.Commit();
  if (!s.ok()) return fail(s);
  result.seq = wr.seq;
  *out = result;
  return Status::Ok();
}

TS_COLD Status Device::MoveSaleStatus(const std::string& order_id, const char* status, const char* movement_kind,
                              WriteResult* out) {
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  HlcTimestamp clock_before = clock_->last();
  StoredRow order;
  if (!IsValidId(order_id)) return Status(ErrorCode::kBadId, "bad order id");
  TS_RETURN_IF_ERROR(rows_->Load(*FindTable("sales_orders"), order_id, &order));
  if (!order.exists || order.scope != identity_.shop_id) return Status(ErrorCode::kNotFound, "no sale " + order_id);
  std::string current = TextOf(order.values, "status");
  if (current != "completed")
    return Status(ErrorCode::kStatusRegression, "sale " + TextOf(order.values, "receipt_no") + " is already " + current);
  std::vector<Change> changes;
  changes.push_back(Change{"sales_orders", order_id, Json{{"status", status}}});
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare("SELECT product_id, qty FROM order_lines WHERE order_id=?1 ORDER BY id", &st));
  st.Bind(1, order_id);
  int64_t now = env_->NowMillis();
  bool row = false;
  while (true) {
    TS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) break;
    std::string move_id;
    TS_RETURN_IF_ERROR(NewRowId(&move_id));
    changes.push_back(Change{"stock_movements", move_id,
                             Json{{"product_id", st.Text(0)}, {"qty_delta", st.Int(1)}, {"kind", movement_kind},
                                  {"ref_id", order_id}, {"created_at", now}}});
  }
  Status s = WriteInTxn(std::move(changes), out);
  if (s.ok()) s = txn.Commit();
  if (!s.ok()) clock_->Restore(clock_before);
  return s;
}

TS_COLD Status Device::VoidSale(const std::string& order_id, WriteResult* out) {
  return MoveSaleStatus(order_id, "voided", "void", out);
}
TS_COLD Status Device::RefundSale(const std::string& order_id, WriteResult* out) {
  return MoveSaleStatus(order_id, "refunded", "refund", out);
}

TS_COLD Status Device::ReceiveStock(const std::string& product_id, int64_t qty, WriteResult* out) {
  if (qty < 1 || qty > kMaxQuantity) return Status(ErrorCode::kBadQuantity, "received quantity must be 1 to " + std::to_string(kMaxQuantity));
  std::string id;
  TS_RETURN_IF_ERROR(NewRowId(&id));
  return Write({Change{"stock_movements", id,
                       Json{{"product_id", product_id}, {"qty_delta", qty}, {"kind", "receipt"},
                            {"created_at", env_->NowMillis()}}}},
               out);
}

TS_COLD Status Device::AdjustStock(const std::string& product_id, int64_t delta, WriteResult* out) {
  if (delta == 0) return Status(ErrorCode::kBadQuantity, "an adjustment must change the stock");
  std::string id;
  TS_RETURN_IF_ERROR(NewRowId(&id));
  return Write({Change{"stock_movements", id,
                       Json{{"product_id", product_id}, {"qty_delta", delta}, {"kind", "adjustment"},
                            {"created_at", env_->NowMillis()}}}},
               out);
}

TS_COLD Status Device::RecordExpense(const std::string& description, int64_t amount_minor, WriteResult* out) {
  std::string id;
  TS_RETURN_IF_ERROR(NewRowId(&id));
  return Write({Change{"expenses", id,
                       Json{{"device_id", identity_.device_id}, {"description", description},
                            {"amount_minor", amount_minor}, {"created_at", env_->NowMillis()}}}},
               out);
}

// --- Reads ----------------------------------------------------------------------------------

Status Device::Query(std::string_view sql, const Json& params, Json* rows) {
  const Status read_only(ErrorCode::kForbidden, "queries are read-only; write through the engine so changes sync");
  if (!IsPlainRead(sql)) return read_only;  // before Prepare: see IsPlainRead
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare(sql, &st));
  if (st.raw() == nullptr) return Status(ErrorCode::kBadRequest, "empty statement");
  if (!sqlite3_stmt_readonly(st.raw())) return read_only;
  if (!params.is_array() && !params.is_null()) return Status(ErrorCode::kBadRequest, "params must be an array");
  int expected = sqlite3_bind_parameter_count(st.raw());
  int given = params.is_array() ? int(params.size()) : 0;
  if (given != expected)
    return Status(ErrorCode::kBadRequest, "statement has " + std::to_string(expected) + " parameters, " +
                                              std::to_string(given) + " given");
  for (int i = 0; i < given; ++i) {
    const Json& p = params[size_t(i)];
    if (p.is_number_integer()) {
      if (p.is_number_unsigned() && p.get<uint64_t>() > uint64_t(INT64_MAX))
        return Status(ErrorCode::kBadValue, "parameter out of range");
      st.Bind(i + 1, p.get<int64_t>());
    } else if (p.is_string()) st.Bind(i + 1, std::string_view(p.get_ref<const std::string&>()));
    else if (p.is_null()) st.BindNull(i + 1);
    else if (p.is_boolean()) st.Bind(i + 1, int64_t(p.get<bool>() ? 1 : 0));
    else return Status(ErrorCode::kBadValue, "parameters must be integers, strings, booleans or null");
  }
  *rows = Json::array();
  bool row = false;
  while (true) {
    TS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) break;
    Json obj = Json::object();
    for (int c = 0; c < st.ColumnCount(); ++c) {
      switch (sqlite3_column_type(st.raw(), c)) {
        case SQLITE_INTEGER: obj[st.ColumnName(c)] = st.Int(c); break;
        case SQLITE_FLOAT: obj[st.ColumnName(c)] = sqlite3_column_double(st.raw(), c); break;
        case SQLITE_NULL: obj[st.ColumnName(c)] = nullptr; break;
        default: obj[st.ColumnName(c)] = st.Text(c); break;
      }
    }
    rows->push_back(std::move(obj));
  }
  return Status::Ok();
}

// --- Sync -----------------------------------------------------------------------------------

bool Device::HasPending() {
  Statement* st = nullptr;
  if (!db_->Cached("SELECT EXISTS (SELECT 1 FROM _ts_outbox)", &st).ok()) return false;
  bool row = false;
  bool pending = st->Step(&row).ok() && row && st->Int(0) == 1;
  st->Reset();
  return pending;
}

Status Device::BuildPush(std::string* body, int64_t* count) {
  int64_t last_seq = 0;
  return BuildPushAfter(0, body, count, &last_seq);
}

Status Device::BuildPushAfter(int64_t after_seq, std::string* body, int64_t* count, int64_t* last_seq) {
  PushRequest req;
  req.device_id = identity_.device_id;
  req.schema_version = LatestSchemaVersion();
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached("SELECT seq, op FROM _ts_outbox WHERE seq > ?2 ORDER BY seq LIMIT ?1", &st));
  st->Bind(1, int64_t(options_.push_batch)).Bind(2, after_seq);
  bool row = false;
  *last_seq = after_seq;
  while (true) {
    TS_RETURN_IF_ERROR(st->Step(&row));
    if (!row) break;
    Operation op;
    Status s = OperationFromOutboxText(st->Text(1), OutboxWriter{identity_.shop_id, identity_.device_id}, "outbox", &op);
    if (!s.ok()) {
      st->Reset();
      return Status(ErrorCode::kCorrupt, "outbox entry unreadable: " + s.message());
    }
    *last_seq = st->Int(0);
    req.ops.push_back(std::move(op));
  }
  st->Reset();
  *count = int64_t(req.ops.size());
  *body = EncodePushRequest(req);
  return Status::Ok();
}

Status Device::StoreWireRow(const WireRow& w) {
  const TableSpec* spec = FindTable(w.table);
  if (spec == nullptr) return Status(ErrorCode::kUnknownTable, "unknown table " + w.table);
  StoredRow local;
  TS_RETURN_IF_ERROR(rows_->Load(*spec, w.id, &local));
  StoredRow remote;
  remote.exists = true;
  remote.values = RowStore::Normalize(*spec, w.values);
  remote.clocks = w.clocks;
  remote.version = w.version;
  remote.seq = w.seq;
  return rows_->Store(*spec, w.id, local, &remote);
}

TS_COLD Status Device::RecordConflicts(const OpResult& result, const Operation& op) {
  for (const WireRow& theirs : result.current) {
    const TableSpec* spec = FindTable(theirs.table);
    if (spec == nullptr) return Status(ErrorCode::kUnknownTable, "unknown table " + theirs.table);
    StoredRow mine;
    TS_RETURN_IF_ERROR(rows_->Load(*spec, theirs.id, &mine));
    Statement* ins = nullptr;
    TS_RETURN_IF_ERROR(db_->Cached(
        "INSERT INTO _ts_conflicts (tbl, row_id, mine, theirs, theirs_version, seq, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &ins));
    ins->Bind(1, theirs.table).Bind(2, theirs.id).Bind(3, DumpJson(mine.values))
        .Bind(4, DumpJson(RowStore::Normalize(*spec, theirs.values))).Bind(5, theirs.version)
        .Bind(6, op.seq).Bind(7, env_->NowMillis());
    TS_RETURN_IF_ERROR(ins->Run());
    int64_t conflict_id = db_->LastInsertRowid();
    // The replica shows the hub's version until a person (or a resolver) decides.
    TS_RETURN_IF_ERROR(StoreWireRow(theirs));
    TS_RETURN_IF_ERROR(KvAdd("stat_conflicts", 1));
    TS_RETURN_IF_ERROR(Log("conflict", theirs.table + " " + theirs.id));
    const Resolver* resolver = resolvers_.Find(theirs.table);
    Json merged;
    if (resolver != nullptr && (*resolver)(RowStore::Normalize(*spec, theirs.values), mine.values, &merged) &&
        merged.is_object()) {
      Json values = Json::object();
      for (const ColumnSpec& c : spec->columns)
        if (merged.contains(c.name) && merged[c.name] != theirs.values.value(c.name, Json())) values[c.name] = merged[c.name];
      if (!values.empty()) {
        Change change{theirs.table, theirs.id, values, theirs.version};
        TS_RETURN_IF_ERROR(WriteInTxn({change}, nullptr));
      }
      Statement* upd = nullptr;
      TS_RETURN_IF_ERROR(db_->Cached("UPDATE _ts_conflicts SET resolved_at=?2, resolution=?3 WHERE id=?1", &upd));
      upd->Bind(1, conflict_id).Bind(2, env_->NowMillis()).Bind(3, "resolver");
      TS_RETURN_IF_ERROR(upd->Run());
    }
  }
  return Status::Ok();
}

Status Device::HandlePushResponse(std::string_view body) {
  // Acknowledged operations leave the outbox: GetStatus counts it again (whatever the outcome).
  counted_pending_ = -1;
  PushResponse resp;
  TS_RETURN_IF_ERROR(DecodePushResponse(body, &resp));
  HlcTimestamp hub_ts;
  TS_RETURN_IF_ERROR(HlcTimestamp::Parse(resp.hub_hlc, &hub_ts));
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  TS_RETURN_IF_ERROR(LoadWriteState());
  HlcTimestamp clock_before = clock_->last();
  auto body_status = [&]() -> Status {
    for (const OpResult& r : resp.results) {
      Statement* get = nullptr;
      TS_RETURN_IF_ERROR(db_->Cached("SELECT op FROM _ts_outbox WHERE seq=?1", &get));
      get->Bind(1, r.seq);
      bool row = false;
      TS_RETURN_IF_ERROR(get->Step(&row));
      if (!row) {  // answered before (a duplicated answer): nothing left to do
        get->Reset();
        continue;
      }
      Operation op;
      // Read only when the answer needs the operation (most answers are "applied").
      Status read = r.status == OpStatus::kRejected || r.status == OpStatus::kConflict
                        ? OperationFromOutboxText(get->Text(0), OutboxWriter{identity_.shop_id, identity_.device_id}, "outbox", &op)
                        : Status::Ok();
      get->Reset();
      TS_RETURN_IF_ERROR(read);
      if (r.status == OpStatus::kRejected) {
        // Quarantine: a person sees it (in full, as it was pushed); the operations behind it flow on.
        Statement* q = nullptr;
        TS_RETURN_IF_ERROR(db_->Cached(
            "INSERT OR REPLACE INTO _ts_quarantine (seq, op, code, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5)", &q));
        q->Bind(1, r.seq).Bind(2, OperationText(op)).Bind(3, r.code).Bind(4, r.message).Bind(5, env_->NowMillis());
        TS_RETURN_IF_ERROR(q->Run());
        TS_RETURN_IF_ERROR(Log("rejected", "op " + std::to_string(r.seq) + ": " + r.code + ": " + r.message));
      } else if (r.status == OpStatus::kConflict) {
        TS_RETURN_IF_ERROR(RecordConflicts(r, op));
      }
      Statement* del = nullptr;
      TS_RETURN_IF_ERROR(db_->Cached("DELETE FROM _ts_outbox WHERE seq=?1", &del));
      del->Bind(1, r.seq);
      TS_RETURN_IF_ERROR(del->Run());
      TS_RETURN_IF_ERROR(KvAdd("stat_acked", 1));
    }
    clock_->Observe(hub_ts);
    // Acknowledged rows left the outbox (perhaps the newest, which carried the write state) and
    // conflicts moved checksums: the state goes to _ts_kv (with the clock just observed).
    return SaveWriteState();
  }();
  if (body_status.ok()) body_status = txn.Commit();
  if (!body_status.ok()) clock_->Restore(clock_before);
  return body_status;
}

Status Device::BuildPull(std::string* body) {
  int64_t repair = 0;
  TS_RETURN_IF_ERROR(KvInt("repair_pending", &repair));
  if (repair != 0 && !HasPending()) {
    // A discarded operation left local effects the hub never had: download everything again.
    Transaction txn(db_.get());
    TS_RETURN_IF_ERROR(txn.Begin());
    TS_RETURN_IF_ERROR(LoadWriteState());
    TS_RETURN_IF_ERROR(rows_->RemoveAll());
    TS_RETURN_IF_ERROR(ForgetPullPosition());
    TS_RETURN_IF_ERROR(KvPut("repair_pending", "0"));
    TS_RETURN_IF_ERROR(Log("repair", "replica dropped after a discard; downloading again"));
    TS_RETURN_IF_ERROR(SaveWriteState());  // the sums are gone: none held, none stored
    TS_RETURN_IF_ERROR(txn.Commit());
  }
  PullRequest req;
  req.device_id = identity_.device_id;
  req.schema_version = LatestSchemaVersion();
  TS_RETURN_IF_ERROR(KvInt("pull_cursor", &req.cursor));
  bool found = false;
  TS_RETURN_IF_ERROR(KvGet("pull_snapshot", &req.snapshot, &found));
  req.limit = options_.pull_limit;
  req.page_version = options_.pull_page_version;
  *body = EncodePullRequest(req);
  return Status::Ok();
}

Status Device::ForgetPullPosition() {
  TS_RETURN_IF_ERROR(KvPut("pull_cursor", "0"));
  return KvPut("pull_snapshot", "");
}

Status Device::LocalChecksum(uint64_t* out) {
  TS_RETURN_IF_ERROR(LoadWriteState());  // the sums held since the last rollback, if any
  uint64_t catalog = 0, shop = 0;
  TS_RETURN_IF_ERROR(rows_->ScopeChecksum("", &catalog));
  TS_RETURN_IF_ERROR(rows_->ScopeChecksum(identity_.shop_id, &shop));
  *out = catalog + shop;
  return Status::Ok();
}

Status Device::HandlePullResponse(std::string_view body, PullOutcome* out) {
  *out = PullOutcome();
  PullResponse resp;
  TS_RETURN_IF_ERROR(DecodePullResponse(body, &resp));
  HlcTimestamp hub_ts;
  TS_RETURN_IF_ERROR(HlcTimestamp::Parse(resp.hub_hlc, &hub_ts));
  int64_t cursor = 0;
  TS_RETURN_IF_ERROR(KvInt("pull_cursor", &cursor));
  if (resp.cursor < cursor) return Status(ErrorCode::kBadValue, "pull answer moves the cursor backwards");
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  TS_RETURN_IF_ERROR(LoadWriteState());
  HlcTimestamp clock_before = clock_->last();
  rows_->BeginBatch();  // a page may hold thousands of rows: one checksum write, not two per row
  // One pulled row as a v1 page carries it: merged with the replica's copy, if any.
  auto apply = [&](const TableSpec& spec, WireRow& w) -> Status {
    StoredRow local;
    TS_RETURN_IF_ERROR(rows_->Load(spec, w.id, &local));
    if (!local.exists) {
      // A row this replica does not hold yet (all of an initial download): the hub's copy is
      // the row, nothing to merge or compare; its values and clocks move straight into Store.
      StoredRow fresh;
      fresh.exists = true;
      fresh.values = std::move(w.values);
      fresh.clocks = std::move(w.clocks);
      fresh.version = w.version;
      fresh.seq = w.seq;
      return rows_->Store(spec, w.id, local, &fresh);
    }
    StoredRow remote;
    remote.exists = true;
    remote.values = RowStore::Normalize(spec, w.values);
    remote.clocks = std::move(w.clocks);
    StoredRow merged = MergePulledRow(spec, local, remote);
    merged.version = w.version;
    merged.seq = w.seq;
    // The hub sends back every row this device pushed; most are already here exactly.
    if (rows_->Unchanged(spec, local, merged)) return Status::Ok();
    return rows_->Store(spec, w.id, local, &merged);
  };
  bool examined = false;  // this page looked for indexes to set aside
  Status s = [&]() -> Status {
    int64_t page_rows = int64_t(resp.rows.size());
    for (const PageTable& t : resp.tables) page_rows += int64_t(t.rows.size());
    const int64_t rows_to_come = page_rows + resp.remaining;
    // Once per download (and Device): the first page decides, and later pages, with fewer rows
    // to come, would only count again the rows of the tables that kept their indexes.
    if (!bulk_examined_ && resp.more && options_.defer_indexes_min_rows > 0 &&
        rows_to_come >= options_.defer_indexes_min_rows) {
      examined = true;
      // A bulk download (an initial one, a repair's, or one resumed after an open): the tables it
      // fills from empty, or from fewer rows than it still brings, get their secondary indexes
      // built once at its end instead of an entry per row.
      static const std::vector<std::string> kTables = [] {
        std::vector<std::string> names;
        for (const TableSpec& t : AllTables()) names.push_back(t.name);
        return names;
      }();
      int64_t deferred = 0;
      TS_RETURN_IF_ERROR(DeferIndexesForBulkRows(db_.get(), kTables, rows_to_come, &deferred));
    }
    for (WireRow& w : resp.rows) {
      const TableSpec& spec = *FindTable(w.table);  // decoder checked the table exists
      // Defence in depth: the hub scopes pulls, and a device still refuses another shop's rows.
      if (spec.scope == Scope::kShop && TextOf(w.values, "shop_id") != identity_.shop_id)
        return Status(ErrorCode::kShopMismatch, "pull answer holds a row of another shop");
      TS_RETURN_IF_ERROR(apply(spec, w));
    }
    // A columnar page: rows arrive as typed values. A row the replica does not hold (every row of
    // an initial download) is inserted as it is, without reading first; the first row of a table
    // found held already turns that off for the table's rest of the page (the rows a device
    // pushed come back in its next pull), and such rows take the merge path above.
    std::vector<bool> held_seen(AllTables().size(), false);
    std::vector<std::string> clock_texts;
    std::vector<RowStore::NewRow> new_rows;
    // Below this a run's rows go one statement each. A row inside the one statement saves about
    // 4.8 k instructions natively (callgrind, a 64-row page), against a fixed cost per run (the
    // savepoint's two statements and the two inserts' own setup) of a few rows' worth.
    constexpr size_t kInsertAllMinRows = 8;
    for (PageTable& t : resp.tables) {
      const TableSpec& spec = *t.spec;
      const size_t table_index = size_t(t.spec - AllTables().data());
      const ColumnSpec* shop_col = spec.scope == Scope::kShop ? spec.FindColumn("shop_id") : nullptr;
      clock_texts.clear();
      for (const Json& clocks : t.clocks) {
        clock_texts.emplace_back();
        AppendJson(clocks, &clock_texts.back());  // the text StoreMeta would write
      }
      auto check_shop = [&](const PageRow& row) -> Status {
        if (spec.scope != Scope::kShop) return Status::Ok();
        const ColumnValue* shop = shop_col ? &row.values[size_t(shop_col - spec.columns.data())] : nullptr;
        if (shop == nullptr || shop->kind != ColumnValue::Kind::kText || shop->text != identity_.shop_id)
          return Status(ErrorCode::kShopMismatch, "pull answer holds a row of another shop");
        return Status::Ok();
      };
      size_t row_by_row_from = 0;
      if (!held_seen[table_index] && t.rows.size() >= kInsertAllMinRows) {
        // The run as one statement (RowStore::InsertAllIfAbsent). Its first row goes alone
        // first: when the device holds it (its own rows, back after its push, come as whole
        // runs) the run goes row by row at once; otherwise the rest is tried as one statement,
        // which writes nothing when a row of it is held, and the loop below takes it.
        PageRow& first = t.rows.front();
        TS_RETURN_IF_ERROR(check_shop(first));
        bool inserted = false;
        TS_RETURN_IF_ERROR(rows_->InsertIfAbsent(spec, first.id, first.values, first.seq, first.version,
                                                 clock_texts[first.clock], &inserted));
        if (!inserted) {
          held_seen[table_index] = true;
        } else {
          row_by_row_from = 1;
          new_rows.clear();
          for (size_t r = 1; r < t.rows.size(); ++r) {
            const PageRow& row = t.rows[r];
            TS_RETURN_IF_ERROR(check_shop(row));
            new_rows.push_back(RowStore::NewRow{&row.id, &row.values, row.seq, row.version, clock_texts[row.clock]});
          }
          bool all_inserted = false;
          TS_RETURN_IF_ERROR(rows_->InsertAllIfAbsent(spec, new_rows, &all_inserted));
          if (all_inserted) continue;
        }
      }
      for (size_t r = row_by_row_from; r < t.rows.size(); ++r) {
        PageRow& row = t.rows[r];
        TS_RETURN_IF_ERROR(check_shop(row));
        if (!held_seen[table_index]) {
          bool inserted = false;
          TS_RETURN_IF_ERROR(rows_->InsertIfAbsent(spec, row.id, row.values, row.seq, row.version, clock_texts[row.clock], &inserted));
          if (inserted) continue;
          held_seen[table_index] = true;
        }
        WireRow w = WireRowOf(t, std::move(row));
        TS_RETURN_IF_ERROR(apply(spec, w));
      }
    }
    TS_RETURN_IF_ERROR(rows_->FlushChecksums());
    if (!resp.more) {
      // The download is complete: the indexes it set aside are built in its last transaction.
      int64_t restored = 0;
      TS_RETURN_IF_ERROR(RestoreDeferredIndexes(db_.get(), &restored));
    }
    // Rows and position commit together: a crash re-pulls this page, never skips it.
    TS_RETURN_IF_ERROR(KvPut("pull_cursor", std::to_string(resp.cursor)));
    TS_RETURN_IF_ERROR(KvPut("pull_snapshot", resp.snapshot));
    clock_->Observe(hub_ts);
    TS_RETURN_IF_ERROR(KvPut("hlc", clock_->last().ToString()));
    out->rows = int64_t(resp.rows.size());
    for (const PageTable& t : resp.tables) out->rows += int64_t(t.rows.size());
    // Which tables changed, for the app's change events: the engine has the page decoded, so
    // the worker need not search the answer's text for table names.
    for (const TableSpec& spec : AllTables()) {
      bool brought = false;
      for (const WireRow& w : resp.rows) brought = brought || w.table == spec.name;
      for (const PageTable& t : resp.tables) brought = brought || (t.spec == &spec && !t.rows.empty());
      if (brought) out->tables.push_back(spec.name);
    }
    out->more = resp.more;
    out->remaining = resp.remaining;
    if (!resp.more && !resp.checksum.empty() && !HasPending()) {
      int64_t quarantined = 0;
      Statement* q = nullptr;
      TS_RETURN_IF_ERROR(db_->Cached("SELECT COUNT(*) FROM _ts_quarantine", &q));
      bool row = false;
      TS_RETURN_IF_ERROR(q->Step(&row));
      quarantined = q->Int(0);
      q->Reset();
      if (quarantined == 0) {
        // Nothing of ours is unacknowledged or refused, so the replica must equal the hub's view.
        uint64_t local = 0;
        TS_RETURN_IF_ERROR(LocalChecksum(&local));
        out->checksum_checked = true;
        if (ChecksumHex(local) != resp.checksum) {
          TS_RETURN_IF_ERROR(Log("repair", "checksum " + ChecksumHex(local) + " differs from hub " + resp.checksum +
                                               "; downloading the replica again"));
          TS_RETURN_IF_ERROR(rows_->RemoveAll());
          TS_RETURN_IF_ERROR(ForgetPullPosition());
          TS_RETURN_IF_ERROR(KvAdd("stat_repairs", 1));
          out->repair_started = true;
          out->more = true;
        }
      }
    }
    // The page moved checksums (held in memory since LoadWriteState): to _ts_kv with the rest.
    return SaveWriteState();
  }();
  if (s.ok()) s = txn.Commit();
  if (!s.ok()) {
    rows_->CancelBatch();
    clock_->Restore(clock_before);
    return s;
  }
  // The download's end (a repair starting included: its first page looks again).
  bulk_examined_ = resp.more && (bulk_examined_ || examined);
  return s;
}

void Device::SyncStarted() {
  if (state_ != SyncState::kUpdateRequired) state_ = SyncState::kSyncing;
}

Status Device::SyncSucceeded() {
  state_ = SyncState::kIdle;
  backoff_->Reset();
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  TS_RETURN_IF_ERROR(KvAdd("stat_successes", 1));
  TS_RETURN_IF_ERROR(KvPut("last_synced", std::to_string(env_->NowMillis())));
  TS_RETURN_IF_ERROR(KvPut("backoff_failures", "0"));
  TS_RETURN_IF_ERROR(KvPut("next_retry_delay", "0"));
  TS_RETURN_IF_ERROR(KvPut("min_schema_version", "0"));
  TS_RETURN_IF_ERROR(KvPut("last_error_code", ""));
  TS_RETURN_IF_ERROR(KvPut("last_error_message", ""));
  TS_RETURN_IF_ERROR(Log("synced", "ok"));
  return txn.Commit();
}

TS_COLD Status Device::SyncFailed(const Status& why, bool network) {
  int64_t delay = backoff_->NextDelayMs();
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  if (why.code() == ErrorCode::kUpdateRequired) {
    state_ = SyncState::kUpdateRequired;
    Json detail;
    int64_t min_version = LatestSchemaVersion() + 1;
    if (ParseJson(why.detail(), &detail).ok() && detail.is_object()) {
      auto it = detail.find("min_schema_version");
      if (it != detail.end() && it->is_number_integer()) min_version = it->get<int64_t>();
    }
    TS_RETURN_IF_ERROR(KvPut("min_schema_version", std::to_string(min_version)));
  } else if (state_ != SyncState::kUpdateRequired) {
    // update_required is sticky: being offline meanwhile does not hide that the app is too old
    // (and a reopened device restores it from min_schema_version anyway).
    state_ = network ? SyncState::kOffline : SyncState::kFailed;
  }
  TS_RETURN_IF_ERROR(KvAdd("stat_failures", 1));
  TS_RETURN_IF_ERROR(KvPut("backoff_failures", std::to_string(backoff_->failures())));
  TS_RETURN_IF_ERROR(KvPut("next_retry_delay", std::to_string(delay)));
  TS_RETURN_IF_ERROR(KvPut("last_error_code", why.code_name()));
  TS_RETURN_IF_ERROR(KvPut("last_error_message", why.message()));
  TS_RETURN_IF_ERROR(Log(network ? "offline" : "failed", why.ToString()));
  return txn.Commit();
}

Status Device::GetStatus(SyncStatus* out) {
  *out = SyncStatus();
  out->state = state_;
  // The pending count: COUNT(*) over _ts_outbox walks every leaf of the table (about two sale
  // rows per 4 KiB page), so with a status after every sale (the worker sends one) each sale
  // read the whole queue back (in the browser after a 100,000-product pull: 86 OPFS reads and
  // 0.43 ms per sale at 50-1,050 pending, growing with the queue). Counted once, then only the
  // rows queued since: a write appends seqs above every seq in the outbox (next_seq_), and only
  // HandlePushResponse deletes rows, which forgets the count (counted_pending_ = -1).
  // (Seqs start at 1, so "seq > 0" counts every row.)
  const bool whole = counted_pending_ < 0;
  Statement* pending = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM _ts_outbox WHERE seq > ?1", &pending));
  pending->Bind(1, whole ? 0 : counted_through_seq_);
  bool row = false;
  Status counted = pending->Step(&row);
  const int64_t added = row ? pending->Int(0) : 0;
  const int64_t through = row ? pending->Int(1) : 0;
  pending->Reset();
  TS_RETURN_IF_ERROR(counted);
  if (whole) {
    counted_pending_ = added;
    counted_through_seq_ = through;
  } else if (added > 0) {
    counted_pending_ += added;
    counted_through_seq_ = through;
  }
  out->pending = counted_pending_;
  Statement* st = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached(
      "SELECT (SELECT COUNT(*) FROM _ts_quarantine),"
      " (SELECT COUNT(*) FROM _ts_conflicts WHERE resolved_at IS NULL)", &st));
  TS_RETURN_IF_ERROR(st->Step(&row));
  out->quarantined = st->Int(0);
  out->open_conflicts = st->Int(1);
  st->Reset();
  TS_RETURN_IF_ERROR(KvInt("last_synced", &out->last_synced_ms));
  TS_RETURN_IF_ERROR(KvInt("stat_successes", &out->successes));
  TS_RETURN_IF_ERROR(KvInt("stat_failures", &out->failures));
  TS_RETURN_IF_ERROR(KvInt("stat_conflicts", &out->conflicts));
  TS_RETURN_IF_ERROR(KvInt("stat_repairs", &out->repairs));
  TS_RETURN_IF_ERROR(KvInt("next_retry_delay", &out->next_retry_delay_ms));
  TS_RETURN_IF_ERROR(KvInt("min_schema_version", &out->min_schema_version));
  bool found = false;
  TS_RETURN_IF_ERROR(KvGet("last_error_code", &out->last_error_code, &found));
  TS_RETURN_IF_ERROR(KvGet("last_error_message", &out->last_error_message, &found));
  return Status::Ok();
}

// --- People decide --------------------------------------------------------------------------

TS_COLD Status Device::ListConflicts(Json* out) {
  return Query("SELECT id, tbl AS table_name, row_id, mine, theirs, theirs_version, created_at "
               "FROM _ts_conflicts WHERE resolved_at IS NULL ORDER BY id", Json::array(), out);
}

TS_COLD Status Device::ResolveConflict(int64_t conflict_id, const Json& values, WriteResult* out) {
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare("SELECT tbl, row_id FROM _ts_conflicts WHERE id=?1 AND resolved_at IS NULL", &st));
  st.Bind(1, conflict_id);
  bool row = false;
  TS_RETURN_IF_ERROR(st.Step(&row));
  if (!row) return Status(ErrorCode::kNotFound, "no open conflict " + std::to_string(conflict_id));
  std::string table = st.Text(0), row_id = st.Text(1);
  if (!values.is_object()) return Status(ErrorCode::kBadRequest, "resolution values must be an object");
  const TableSpec& spec = *FindTable(table);
  StoredRow current;
  TS_RETURN_IF_ERROR(rows_->Load(spec, row_id, &current));
  Json changed = Json::object();
  for (auto it = values.begin(); it != values.end(); ++it)
    if (it.key() != "id" && current.values.value(it.key(), Json()) != *it) changed[it.key()] = *it;
  HlcTimestamp clock_before = clock_->last();
  Status s = Status::Ok();
  if (!changed.empty()) s = WriteInTxn({Change{table, row_id, changed, current.version}}, out);
  if (s.ok()) {
    Statement upd;
    s = db_->Prepare("UPDATE _ts_conflicts SET resolved_at=?2, resolution=?3 WHERE id=?1", &upd);
    if (s.ok()) s = upd.Bind(1, conflict_id).Bind(2, env_->NowMillis()).Bind(3, DumpJson(values)).Run();
  }
  if (s.ok()) s = txn.Commit();
  if (!s.ok()) clock_->Restore(clock_before);
  return s;
}

TS_COLD Status Device::ListQuarantine(Json* out) {
  return Query("SELECT seq, op, code, reason, created_at FROM _ts_quarantine ORDER BY seq", Json::array(), out);
}

TS_COLD Status Device::RetryQuarantined(int64_t seq, WriteResult* out) {
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare("SELECT op FROM _ts_quarantine WHERE seq=?1", &st));
  st.Bind(1, seq);
  bool row = false;
  TS_RETURN_IF_ERROR(st.Step(&row));
  if (!row) return Status(ErrorCode::kNotFound, "no quarantined operation " + std::to_string(seq));
  Operation op;
  TS_RETURN_IF_ERROR(OperationFromOutboxText(st.Text(0), OutboxWriter{identity_.shop_id, identity_.device_id}, "quarantine", &op));
  for (Change& c : op.changes) c.base_version = -1;  // against the version the replica holds now
  HlcTimestamp clock_before = clock_->last();
  Status s = WriteInTxn(std::move(op.changes), out);
  if (s.ok()) {
    Statement del;
    s = db_->Prepare("DELETE FROM _ts_quarantine WHERE seq=?1", &del);
    if (s.ok()) s = del.Bind(1, seq).Run();
  }
  if (s.ok()) s = txn.Commit();
  if (!s.ok()) clock_->Restore(clock_before);
  return s;
}

TS_COLD Status Device::DiscardQuarantined(int64_t seq) {
  Transaction txn(db_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  Statement del;
  TS_RETURN_IF_ERROR(db_->Prepare("DELETE FROM _ts_quarantine WHERE seq=?1", &del));
  TS_RETURN_IF_ERROR(del.Bind(1, seq).Run());
  if (db_->Changes() == 0) return Status(ErrorCode::kNotFound, "no quarantined operation " + std::to_string(seq));
  TS_RETURN_IF_ERROR(KvPut("repair_pending", "1"));
  TS_RETURN_IF_ERROR(Log("discarded", "op " + std::to_string(seq)));
  return txn.Commit();
}

TS_COLD Status Device::ListOutbox(Json* out) {
  TS_RETURN_IF_ERROR(Query("SELECT seq, op, created_at FROM _ts_outbox ORDER BY seq", Json::array(), out));
  // Shown as it will be pushed: the stored form leaves out values the device restores.
  for (Json& row : *out) {
    if (!row.contains("op") || !row["op"].is_string()) continue;
    Operation op;
    TS_RETURN_IF_ERROR(OperationFromOutboxText(row["op"].get_ref<const std::string&>(), OutboxWriter{identity_.shop_id, identity_.device_id}, "outbox", &op));
    row["op"] = OperationText(op);
  }
  return Status::Ok();
}

TS_COLD Status Device::SyncLog(Json* out) {
  return Query("SELECT id, at, kind, detail FROM _ts_sync_log ORDER BY id DESC LIMIT 100", Json::array(), out);
}

TS_COLD Status Device::CanonicalDump(std::string* out) {
  return CanonicalDumpOf(db_.get(), {std::string(), identity_.shop_id}, out);
}

}  // namespace tillsync
