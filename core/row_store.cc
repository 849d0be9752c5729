#include "core/row_store.h"

#include <algorithm>
#include <charconv>

#include "core/cold_code.h"
#include "core/fnv_hash.h"
#include "core/sql_rows.h"

namespace tillsync {

// The _ts_rows upsert up to its rows, for the one-row statement, the many-row one and the one
// over tillsync_rows alike.
constexpr char kMetaUpsertHead[] = "INSERT OR REPLACE INTO _ts_rows (tbl, id, scope, seq, version, clocks, hash) ";

std::string StoredRow::ClockOf(const std::string& column) const {
  auto it = clocks.find(column);
  if (it == clocks.end()) it = clocks.find("*");
  return (it != clocks.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

uint64_t RowStore::HashOfCanonicalText(const TableSpec& spec, const std::string& id, std::string_view text) {
  uint64_t h = Fnv1a64(spec.name);
  h = Fnv1a64(std::string_view("\0", 1), h);
  h = Fnv1a64(id, h);
  h = Fnv1a64(std::string_view("\0", 1), h);
  return Fnv1a64(text, h);
}

uint64_t RowStore::RowHash(const TableSpec& spec, const std::string& id, const Json& values) {
  // The hash of the values' canonical JSON text (hub and devices must agree, and stored hashes
  // were made this way), built with AppendJson rather than through DumpJson.
  std::string text;
  text.reserve(384);
  AppendJson(values, &text);
  return HashOfCanonicalText(spec, id, text);
}

std::string RowStore::ScopeOf(const TableSpec& spec, const Json& values) {
  if (spec.scope == Scope::kCatalog) return std::string();
  auto it = values.find("shop_id");
  return (it != values.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

Json RowStore::Normalize(const TableSpec& spec, const Json& values) {
  Json out = Json::object();
  for (const ColumnSpec& c : spec.columns) {
    auto it = values.find(c.name);
    out[c.name] = (it != values.end()) ? *it : Json();
  }
  return out;
}

Json RowStore::CompactClocks(const TableSpec& spec, const std::map<std::string, std::string>& clocks) {
  std::map<std::string, int> counts;
  for (const auto& [col, clock] : clocks) ++counts[clock];
  std::string common;
  int best = -1;
  for (const auto& [clock, n] : counts)
    if (n > best) best = n, common = clock;
  Json out = Json::object();
  if (!common.empty()) out["*"] = common;
  for (const auto& [col, clock] : clocks)
    if (clock != common) out[col] = clock;
  return out;
}

Status RowStore::StatementsFor(const TableSpec& spec, TableStatements** out) {
  if (spec.name == last_table_) {  // the same TableSpec (or one sharing its name text)
    *out = last_statements_;
    return Status::Ok();
  }
  auto it = statements_.find(spec.name);
  if (it == statements_.end()) {
    TableStatements st;
    TS_RETURN_IF_ERROR(PrepareTableStatements(db_, spec, &st));
    it = statements_.emplace(spec.name, std::move(st)).first;
  }
  *out = &it->second;
  last_table_ = spec.name;
  last_statements_ = &it->second;
  return Status::Ok();
}

// Once per table and connection: compiled for size (TS_COLD), out of StatementsFor's path.
TS_COLD Status RowStore::PrepareTableStatements(Database* db, const TableSpec& spec, TableStatements* st) {
  std::string cols, params;
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    cols += std::string(", ") + spec.columns[i].name;
    params += ", ?" + std::to_string(i + 2);
  }
  TS_RETURN_IF_ERROR(db->Prepare("SELECT " + cols.substr(2) + " FROM " + spec.name + " WHERE id=?1", &st->select));
  TS_RETURN_IF_ERROR(db->Prepare("INSERT OR REPLACE INTO " + std::string(spec.name) + " (id" + cols +
                                     ") VALUES (?1" + params + ")", &st->upsert));
  TS_RETURN_IF_ERROR(db->Prepare("INSERT INTO " + std::string(spec.name) + " (id" + cols + ") VALUES (?1" +
                                     params + ")", &st->insert));
  TS_RETURN_IF_ERROR(db->Prepare("INSERT OR IGNORE INTO " + std::string(spec.name) + " (id" + cols +
                                     ") VALUES (?1" + params + ")", &st->insert_if_absent));
  for (size_t i = 0; i < spec.columns.size(); ++i) st->by_name.emplace_back(spec.columns[i].name, int(i) + 2);
  std::sort(st->by_name.begin(), st->by_name.end());
  for (const auto& [name, bind] : st->by_name) {
    std::string key = st->canonical_keys.empty() ? "{" : ",";
    AppendJsonString(name, &key);
    key.push_back(':');
    st->canonical_keys.emplace_back(size_t(bind - 2), std::move(key));
  }
  return Status::Ok();
}

Status RowStore::LoadValues(const TableSpec& spec, const std::string& id, Json* values, bool* exists) {
  // Read as typed cells (LoadCells holds the one typing rule), then named: the merge path wants
  // a Json object, the hub's page writer the cells themselves.
  std::vector<ColumnValue> cells;
  TS_RETURN_IF_ERROR(LoadCells(spec, id, &cells, exists));
  *values = Json::object();
  if (!*exists) return Status::Ok();
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    ColumnValue& cell = cells[i];
    Json& value = (*values)[spec.columns[i].name];
    switch (cell.kind) {
      case ColumnValue::Kind::kInt: value = cell.number; break;
      case ColumnValue::Kind::kText: value = std::move(cell.text); break;
      case ColumnValue::Kind::kNull: value = nullptr; break;
    }
  }
  return Status::Ok();
}

Status RowStore::LoadCells(const TableSpec& spec, const std::string& id, std::vector<ColumnValue>* cells,
                           bool* exists) {
  *exists = false;
  cells->resize(spec.columns.size());
  TableStatements* st = nullptr;
  TS_RETURN_IF_ERROR(StatementsFor(spec, &st));
  st->select.Reset();
  st->select.Bind(1, id);
  bool row = false;
  TS_RETURN_IF_ERROR(st->select.Step(&row));
  if (!row) return Status::Ok();
  *exists = true;
  // Integers, texts, and null for anything else (the schema's columns are INTEGER or TEXT).
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    ColumnValue& cell = (*cells)[i];
    switch (st->select.ColumnType(int(i))) {
      case 1:
        cell.kind = ColumnValue::Kind::kInt;
        cell.number = st->select.Int(int(i));
        break;
      case 3:
        cell.kind = ColumnValue::Kind::kText;
        cell.text = st->select.Text(int(i));
        break;
      default:
        cell.kind = ColumnValue::Kind::kNull;
        break;
    }
  }
  st->select.Reset();
  return Status::Ok();
}

Status RowStore::Load(const TableSpec& spec, const std::string& id, StoredRow* out) {
  TS_RETURN_IF_ERROR(WriteQueuedMeta());  // queued _ts_rows entries first (see BeginBatch)
  *out = StoredRow();
  bool row = false;
  TS_RETURN_IF_ERROR(LoadValues(spec, id, &out->values, &row));
  if (!row) return Status::Ok();
  out->exists = true;
  if (!KeepsMeta(spec)) {
    out->scope = ScopeOf(spec, out->values);
    out->hash = RowHash(spec, id, out->values);
    return Status::Ok();
  }
  Statement* meta = nullptr;
  TS_RETURN_IF_ERROR(db_->Cached("SELECT scope, seq, version, clocks, hash FROM _ts_rows WHERE tbl=?1 AND id=?2", &meta));
  meta->Bind(1, std::string_view(spec.name)).Bind(2, id);
  TS_RETURN_IF_ERROR(meta->Step(&row));
  if (row) {
    out->scope = meta->Text(0);
    out->seq = meta->Int(1);
    out->version = meta->Int(2);
    Json clocks;
    if (ParseJson(meta->Text(3), &clocks).ok() && clocks.is_object()) out->clocks = std::move(clocks);
    out->hash = uint64_t(meta->Int(4));
  } else {
    // A row without metadata (written outside the engine): treat its hash as computed now.
    out->scope = ScopeOf(spec, out->values);
    out->hash = RowHash(spec, id, out->values);
  }
  meta->Reset();
  return Status::Ok();
}

namespace {

void BindValue(Statement& st, int index, const Json& v) {
  if (v.is_string()) st.Bind(index, std::string_view(v.get_ref<const std::string&>()));
  else if (v.is_number_integer()) st.Bind(index, v.get<int64_t>());
  else st.BindNull(index);
}

// Binds `values` into `st` when it holds exactly the table's columns (a pulled row as the hub
// sends it, a row Normalize made): one walk of both sorted lists. False, with nothing to rely
// on bound, when a key is missing or extra; the caller normalizes and binds again.
bool BindExactColumns(const std::vector<std::pair<std::string, int>>& by_name, const Json& values, Statement& st) {
  if (!values.is_object() || values.size() != by_name.size()) return false;
  auto col = by_name.begin();
  for (auto it = values.begin(); it != values.end(); ++it, ++col) {
    if (it.key() != col->first) return false;
    BindValue(st, col->second, *it);
  }
  return true;
}

}  // namespace

Status RowStore::Store(const TableSpec& spec, const std::string& id, const StoredRow& before, StoredRow* row) {
  return Write(spec, id, before, /*must_be_new=*/false, row);
}

Status RowStore::Insert(const TableSpec& spec, const std::string& id, StoredRow* row) {
  return Write(spec, id, StoredRow(), /*must_be_new=*/true, row);
}

Status RowStore::Write(const TableSpec& spec, const std::string& id, const StoredRow& before, bool must_be_new,
                       StoredRow* row) {
  TS_RETURN_IF_ERROR(WriteQueuedMeta());  // queued _ts_rows entries first (see BeginBatch)
  TableStatements* st = nullptr;
  TS_RETURN_IF_ERROR(StatementsFor(spec, &st));
  Statement& write = must_be_new ? st->insert : st->upsert;
  write.Reset();
  write.Bind(1, id);
  if (!BindExactColumns(st->by_name, row->values, write)) {
    row->values = Normalize(spec, row->values);
    for (size_t i = 0; i < spec.columns.size(); ++i) BindValue(write, int(i) + 2, row->values[spec.columns[i].name]);
  }
  // Hash and scope after normalizing: they are of the row as stored.
  row->hash = RowHash(spec, id, row->values);
  row->scope = ScopeOf(spec, row->values);
  row->exists = true;
  Status written = write.Run();
  write.Reset();
  TS_RETURN_IF_ERROR(written);
  if (KeepsMeta(spec)) TS_RETURN_IF_ERROR(StoreMeta(spec, id, *row));
  // Checksum: remove the old row's hash from its scope, add the new one to its scope. Unsigned
  // arithmetic wraps mod 2^64 (SQLite integer addition would overflow into REAL instead).
  if (before.exists && before.scope == row->scope) return MoveChecksum(row->scope, row->hash - before.hash);
  if (before.exists) TS_RETURN_IF_ERROR(MoveChecksum(before.scope, uint64_t(0) - before.hash));
  return MoveChecksum(row->scope, row->hash);
}

uint64_t RowStore::TypedRowHash(const TableSpec& spec, const std::string& id, const std::vector<ColumnValue>& values) {
  TableStatements* st = nullptr;
  if (!StatementsFor(spec, &st).ok()) return 0;  // only on a broken database; Insert fails there too
  // The hash of the canonical JSON of the values (keys sorted, as RowHash's AppendJson writes
  // them), fed to FNV-1a piece by piece (the hash of a text is the hash of its pieces in order),
  // so neither a Json object nor the whole text is built.
  uint64_t h = Fnv1a64(spec.name);
  h = Fnv1a64(std::string_view("\0", 1), h);
  h = Fnv1a64(id, h);
  h = Fnv1a64(std::string_view("\0", 1), h);
  for (const auto& [index, key] : st->canonical_keys) {
    h = Fnv1a64(key, h);
    const ColumnValue& v = values[index];
    switch (v.kind) {
      case ColumnValue::Kind::kNull: h = Fnv1a64("null", h); break;
      case ColumnValue::Kind::kInt: {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, v.number);
        h = Fnv1a64(std::string_view(buf, size_t(r.ptr - buf)), h);
        break;
      }
      case ColumnValue::Kind::kText: {
        bool plain = true;  // nothing AppendJsonString would escape or hand to the JSON library
        for (unsigned char c : v.text) plain = plain && c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
        if (plain) {
          h = Fnv1a64("\"", h);
          h = Fnv1a64(v.text, h);
          h = Fnv1a64("\"", h);
        } else {
          values_text_.clear();
          AppendJsonString(v.text, &values_text_);
          h = Fnv1a64(values_text_, h);
        }
        break;
      }
    }
  }
  return Fnv1a64(st->canonical_keys.empty() ? "{}" : "}", h);
}

Status RowStore::InsertChange(const TableSpec& spec, const std::string& id, const Json& values, bool* handled) {
  *handled = false;
  if (KeepsMeta(spec) || !values.is_object()) return Status::Ok();
  // The values as typed cells (an absent column null), then InsertTyped: one way to store a new
  // row. Anything else than a column's integer, text or null, or a required column left out,
  // leaves it to the merge (which refuses what it refuses, with its own messages).
  std::vector<ColumnValue> cells(spec.columns.size());
  for (auto it = values.begin(); it != values.end(); ++it) {
    const ColumnSpec* col = spec.FindColumn(it.key());
    if (col == nullptr) return Status::Ok();
    ColumnValue& cell = cells[size_t(col - spec.columns.data())];
    if (it->is_string()) {
      cell.kind = ColumnValue::Kind::kText;
      cell.text = it->get_ref<const std::string&>();
    } else if (it->is_number_integer() && !(it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX))) {
      cell.kind = ColumnValue::Kind::kInt;
      cell.number = it->get<int64_t>();
    } else if (!it->is_null()) {
      return Status::Ok();
    }
  }
  for (size_t i = 0; i < spec.columns.size(); ++i)
    if (spec.columns[i].required && cells[i].kind == ColumnValue::Kind::kNull) return Status::Ok();
  *handled = true;
  return InsertTyped(spec, id, cells);
}

const std::string& RowStore::TypedScope(const TableSpec& spec, const std::vector<ColumnValue>& values) {
  static const std::string kNone;
  if (spec.scope != Scope::kShop) return kNone;
  const ColumnSpec* shop = spec.FindColumn("shop_id");
  const ColumnValue* v = shop ? &values[size_t(shop - spec.columns.data())] : nullptr;
  return v != nullptr && v->kind == ColumnValue::Kind::kText ? v->text : kNone;
}

Status RowStore::InsertTyped(const TableSpec& spec, const std::string& id, const std::vector<ColumnValue>& cells) {
  if (KeepsMeta(spec))
    return ErrorWithMessage(ErrorCode::kInternal, {"typed rows are for tables without row metadata, not ", spec.name});
  for (size_t i = 0; i < spec.columns.size(); ++i)
    if (spec.columns[i].required && cells[i].kind == ColumnValue::Kind::kNull)
      return ErrorWithMessage(ErrorCode::kMissingField,
                              {"new ", spec.name, " row ", id, " needs column ", spec.columns[i].name});
  TableStatements* st = nullptr;
  TS_RETURN_IF_ERROR(StatementsFor(spec, &st));
  // The id and texts are bound without a copy: they outlive the run, and the statement is reset
  // before this returns, so no binding outlives them.
  Statement& write = st->insert;
  write.Reset();
  write.BindStatic(1, id);
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    const ColumnValue& v = cells[i];
    if (v.kind == ColumnValue::Kind::kInt) write.Bind(int(i) + 2, v.number);
    else if (v.kind == ColumnValue::Kind::kText) write.BindStatic(int(i) + 2, std::string_view(v.text));
    else write.BindNull(int(i) + 2);
  }
  const uint64_t hash = TypedRowHash(spec, id, cells);
  Status written = write.Run();
  write.Reset();
  TS_RETURN_IF_ERROR(written);
  return MoveChecksum(TypedScope(spec, cells), hash);
}

Status RowStore::InsertIfAbsent(const TableSpec& spec, const std::string& id, const std::vector<ColumnValue>& values,
                                int64_t seq, int64_t version, std::string_view clocks_text, bool* inserted) {
  *inserted = false;
  TableStatements* st = nullptr;
  TS_RETURN_IF_ERROR(StatementsFor(spec, &st));
  Statement& write = st->insert_if_absent;
  // Left reset by its last use (below, the only one), so every parameter is bound afresh here.
  // id and values outlive the statement's run; it is reset before this returns.
  write.BindStatic(1, id);
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    const ColumnValue& v = values[i];
    if (v.kind == ColumnValue::Kind::kInt) write.Bind(int(i) + 2, v.number);
    else if (v.kind == ColumnValue::Kind::kText) write.BindStatic(int(i) + 2, std::string_view(v.text));
    else write.BindNull(int(i) + 2);
  }
  Status written = write.Run();
  write.Reset();
  TS_RETURN_IF_ERROR(written);
  if (db_->Changes() == 0) return Status::Ok();  // held already: the caller merges
  *inserted = true;
  return RecordNewRow(spec, id, values, seq, version, clocks_text);
}

Status RowStore::RecordNewRow(const TableSpec& spec, const std::string& id, const std::vector<ColumnValue>& values,
                              int64_t seq, int64_t version, std::string_view clocks_text) {
  uint64_t hash = TypedRowHash(spec, id, values);
  const std::string& scope = TypedScope(spec, values);
  if (KeepsMeta(spec)) {
    if (batching_) {
      if (queued_meta_.empty()) queued_meta_.resize(kMetaRowsPerStatement);
      QueuedMeta& m = queued_meta_[queued_count_++];
      m.table = spec.name;
      m.id.assign(id);
      m.scope.assign(scope);
      m.clocks_text.assign(clocks_text.data(), clocks_text.size());
      m.seq = seq;
      m.version = version;
      m.hash = hash;
      if (queued_count_ == kMetaRowsPerStatement) TS_RETURN_IF_ERROR(WriteQueuedMeta());
    } else {
      TS_RETURN_IF_ERROR(StoreMetaText(spec, id, scope, seq, version, clocks_text, hash));
    }
  }
  return MoveChecksum(scope, hash);
}

namespace {

// The rows of one InsertAllIfAbsent as tillsync_rows' source: c0 the id, c1.. the values.
class NewRowSource : public SqlRowSource {
 public:
  explicit NewRowSource(const std::vector<RowStore::NewRow>& rows) : rows_(rows) {}
  bool Next() override { return ++at_ < rows_.size(); }
  SqlCell Cell(int column) const override {
    const RowStore::NewRow& row = rows_[at_];
    SqlCell cell;
    if (column == 0) {
      cell.kind = SqlCell::Kind::kText;
      cell.text = *row.id;
    } else if (size_t(column) <= row.values->size()) {
      const ColumnValue& v = (*row.values)[size_t(column) - 1];
      if (v.kind == ColumnValue::Kind::kInt) {
        cell.kind = SqlCell::Kind::kInt;
        cell.integer = v.number;
      } else if (v.kind == ColumnValue::Kind::kText) {
        cell.kind = SqlCell::Kind::kText;
        cell.text = v.text;
      }
    }
    return cell;
  }

 private:
  const std::vector<RowStore::NewRow>& rows_;
  size_t at_ = size_t(-1);  // before the first row
};

}  // namespace

// Once per table and connection, at its first one-statement insert: compiled for size (TS_COLD).
TS_COLD Status RowStore::PrepareInsertAll(Database* db, const TableSpec& spec, Statement* out) {
  std::string cols, cells;
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    cols += std::string(", ") + spec.columns[i].name;
    cells += ", c" + std::to_string(i + 1);
  }
  return db->Prepare("INSERT OR IGNORE INTO " + std::string(spec.name) + " (id" + cols + ") SELECT c0" + cells +
                         " FROM tillsync_rows(?1)",
                     out);
}

Status RowStore::InsertAllIfAbsent(const TableSpec& spec, const std::vector<NewRow>& rows, bool* all_inserted) {
  *all_inserted = false;
  if (rows.empty()) {
    *all_inserted = true;
    return Status::Ok();
  }
  TableStatements* st = nullptr;
  TS_RETURN_IF_ERROR(StatementsFor(spec, &st));
  Statement& write = st->insert_all_if_absent;
  if (write.raw() == nullptr) TS_RETURN_IF_ERROR(PrepareInsertAll(db_, spec, &write));
  // Optimistic: a held row is rare in a large page (an initial download holds none), so the
  // statement runs over all of them and is undone when it did not insert every one.
  Savepoint attempt(db_, "ts_insert_all");
  TS_RETURN_IF_ERROR(attempt.Begin());
  NewRowSource source(rows);
  Status written = BindSqlRows(&write, 1, &source);
  if (written.ok()) written = write.Run();
  write.Reset();
  TS_RETURN_IF_ERROR(written);
  if (db_->Changes() != int64_t(rows.size())) return attempt.RollbackTo();
  TS_RETURN_IF_ERROR(attempt.Release());
  *all_inserted = true;
  // What RecordNewRow does per row, for all of them: the _ts_rows entries as one statement too,
  // and the hashes added to their scopes' sums once per run of one scope.
  new_rows_facts_.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    new_rows_facts_[i].hash = TypedRowHash(spec, *rows[i].id, *rows[i].values);
    new_rows_facts_[i].scope = &TypedScope(spec, *rows[i].values);
  }
  if (KeepsMeta(spec)) {
    TS_RETURN_IF_ERROR(WriteQueuedMeta());  // entries queued before these go first, as they came
    TS_RETURN_IF_ERROR(StoreNewRowsMeta(spec, rows));
  }
  const std::string* scope = new_rows_facts_.front().scope;
  uint64_t sum = 0;
  for (const NewRowFacts& facts : new_rows_facts_) {
    if (*facts.scope != *scope) {
      TS_RETURN_IF_ERROR(MoveChecksum(*scope, sum));
      sum = 0;
      scope = facts.scope;
    }
    sum += facts.hash;
  }
  return MoveChecksum(*scope, sum);
}

namespace {

// The _ts_rows entries of InsertAllIfAbsent's rows as tillsync_rows' source: c0 id, c1 scope,
// c2 seq, c3 version, c4 clocks, c5 hash (the table's name is the statement's ?2).
class NewRowMetaSource : public SqlRowSource {
 public:
  NewRowMetaSource(const std::vector<RowStore::NewRow>& rows, const std::vector<RowStore::NewRowFacts>& facts)
      : rows_(rows), facts_(facts) {}
  bool Next() override { return ++at_ < rows_.size(); }
  SqlCell Cell(int column) const override {
    const RowStore::NewRow& row = rows_[at_];
    SqlCell cell;
    switch (column) {
      case 0: cell.kind = SqlCell::Kind::kText; cell.text = *row.id; break;
      case 1: cell.kind = SqlCell::Kind::kText; cell.text = *facts_[at_].scope; break;
      case 2: cell.kind = SqlCell::Kind::kInt; cell.integer = row.seq; break;
      case 3: cell.kind = SqlCell::Kind::kInt; cell.integer = row.version; break;
      case 4: cell.kind = SqlCell::Kind::kText; cell.text = row.clocks_text; break;
      case 5: cell.kind = SqlCell::Kind::kInt; cell.integer = int64_t(facts_[at_].hash); break;
      default: break;  // NULL
    }
    return cell;
  }

 private:
  const std::vector<RowStore::NewRow>& rows_;
  const std::vector<RowStore::NewRowFacts>& facts_;
  size_t at_ = size_t(-1);  // before the first row
};

}  // namespace

Status RowStore::StoreNewRowsMeta(const TableSpec& spec, const std::vector<NewRow>& rows) {
  if (meta_upsert_rows_.raw() == nullptr) {
    TS_RETURN_IF_ERROR(db_->Prepare(std::string(kMetaUpsertHead) +
                                        "SELECT ?2, c0, c1, c2, c3, c4, c5 FROM tillsync_rows(?1)", &meta_upsert_rows_));
  }
  NewRowMetaSource source(rows, new_rows_facts_);
  Status s = BindSqlRows(&meta_upsert_rows_, 1, &source);
  meta_upsert_rows_.BindStatic(2, std::string_view(spec.name));
  if (s.ok()) s = meta_upsert_rows_.Run();
  meta_upsert_rows_.Reset();
  return s;
}

bool RowStore::KeepsMeta(const TableSpec& spec) const {
  if (meta_ == RowMeta::kEveryRow) return true;
  switch (spec.rule) {
    case MergeRule::kLastWriterWins:
    case MergeRule::kHubWins:
    case MergeRule::kManual:
    case MergeRule::kCustom:
      return true;
    default:
      return false;
  }
}

bool RowStore::Unchanged(const TableSpec& spec, const StoredRow& before, const StoredRow& after) const {
  if (!before.exists || Normalize(spec, after.values) != before.values) return false;
  if (!KeepsMeta(spec)) return true;
  return before.seq == after.seq && before.version == after.version && before.clocks == after.clocks;
}

Status RowStore::StoreMetaText(const TableSpec& spec, const std::string& id, const std::string& scope, int64_t seq,
                               int64_t version, std::string_view clocks_text, uint64_t hash) {
  return StoreMetaTextRow(spec.name, id, scope, seq, version, clocks_text, hash);
}

Status RowStore::StoreMetaTextRow(const char* table, const std::string& id, const std::string& scope, int64_t seq,
                                  int64_t version, std::string_view clocks_text, uint64_t hash) {
  if (!meta_upsert_ready_) {
    TS_RETURN_IF_ERROR(db_->Prepare(std::string(kMetaUpsertHead) + "VALUES (?1,?2,?3,?4,?5,?6,?7)", &meta_upsert_));
    meta_upsert_ready_ = true;
  }
  Statement* meta = &meta_upsert_;
  // The texts outlive the run, and the statement is reset before this returns (every parameter
  // is bound on every use, so nothing of a previous row's binding is left to clear first).
  meta->BindStatic(1, std::string_view(table)).BindStatic(2, id).BindStatic(3, scope).Bind(4, seq).Bind(5, version);
  meta->BindStatic(6, clocks_text).Bind(7, int64_t(hash));
  Status s = meta->Run();
  meta->Reset();
  return s;
}

Status RowStore::WriteQueuedMeta() {
  if (queued_count_ == 0) return Status::Ok();
  const size_t count = queued_count_;
  queued_count_ = 0;  // written or failed (the transaction then rolls back): not queued any more
  if (count < kMetaRowsPerStatement) {
    for (size_t r = 0; r < count; ++r) {
      const QueuedMeta& m = queued_meta_[r];
      TS_RETURN_IF_ERROR(StoreMetaTextRow(m.table, m.id, m.scope, m.seq, m.version, m.clocks_text, m.hash));
    }
    return Status::Ok();
  }
  if (!meta_upsert_many_ready_) {
    std::string sql = std::string(kMetaUpsertHead) + "VALUES ";
    for (size_t r = 0; r < kMetaRowsPerStatement; ++r) sql += r == 0 ? "(?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?)";
    TS_RETURN_IF_ERROR(db_->Prepare(sql, &meta_upsert_many_));
    meta_upsert_many_ready_ = true;
  }
  // The rows go in queue order, as one statement each would (a key repeated in the queue ends as
  // its last entry). The queued texts outlive the run; the statement is reset before this returns.
  Statement& many = meta_upsert_many_;
  for (size_t r = 0; r < kMetaRowsPerStatement; ++r) {
    const QueuedMeta& m = queued_meta_[r];
    const int at = int(r) * 7;
    many.BindStatic(at + 1, std::string_view(m.table)).BindStatic(at + 2, m.id).BindStatic(at + 3, m.scope);
    many.Bind(at + 4, m.seq).Bind(at + 5, m.version).BindStatic(at + 6, m.clocks_text).Bind(at + 7, int64_t(m.hash));
  }
  Status s = many.Run();
  many.Reset();
  return s;
}

Status RowStore::StoreMeta(const TableSpec& spec, const std::string& id, const StoredRow& row) {
  TS_RETURN_IF_ERROR(WriteQueuedMeta());
  clocks_text_.clear();
  AppendJson(row.clocks, &clocks_text_);  // the same bytes as DumpJson, without its serializer
  return StoreMetaTextRow(spec.name, id, row.scope, row.seq, row.version, clocks_text_, row.hash);
}

namespace {

constexpr char kChecksumKeyPrefix[] = "checksum:";

std::string ChecksumKey(const std::string& scope) { return kChecksumKeyPrefix + scope; }

}  // namespace

std::string RowStore::ChecksumKvKey(const std::string& scope) { return ChecksumKey(scope); }

Status RowStore::SaveHeldChecksums() {
  std::map<std::string, uint64_t> held;
  held.swap(held_);
  const bool was_holding = holding_;
  holding_ = false;  // PutStoredChecksum writes through
  Status s = Status::Ok();
  for (const auto& [scope, sum] : held)
    if (s.ok()) s = PutStoredChecksum(scope, sum);
  holding_ = was_holding;
  if (!s.ok()) held_ = std::move(held);
  return s;
}

Status RowStore::MoveChecksum(const std::string& scope, uint64_t delta) {
  if (batching_) {
    pending_[scope] += delta;
    return Status::Ok();
  }
  uint64_t current = 0;
  TS_RETURN_IF_ERROR(StoredChecksum(scope, &current));
  return PutStoredChecksum(scope, current + delta);
}

Status RowStore::StoredChecksum(const std::string& scope, uint64_t* sum) {
  auto held = held_.find(scope);
  if (held != held_.end()) {
    *sum = held->second;
    return Status::Ok();
  }
  Statement* st = nullptr;
  if (checksum_home_ == ChecksumHome::kChecksumTable) {
    TS_RETURN_IF_ERROR(db_->Cached("SELECT sum FROM _ts_checksum WHERE scope=?1", &st));
    st->Bind(1, scope);
  } else {
    TS_RETURN_IF_ERROR(db_->Cached("SELECT CAST(value AS INTEGER) FROM _ts_kv WHERE key=?1", &st));
    st->Bind(1, ChecksumKey(scope));
  }
  bool row = false;
  TS_RETURN_IF_ERROR(st->Step(&row));
  *sum = row ? uint64_t(st->Int(0)) : 0;
  st->Reset();
  return Status::Ok();
}

Status RowStore::PutStoredChecksum(const std::string& scope, uint64_t sum) {
  if (holding_) {
    held_[scope] = sum;
    return Status::Ok();
  }
  Statement* put = nullptr;
  if (checksum_home_ == ChecksumHome::kChecksumTable) {
    TS_RETURN_IF_ERROR(db_->Cached("INSERT OR REPLACE INTO _ts_checksum (scope, sum) VALUES (?1, ?2)", &put));
    return put->Bind(1, scope).Bind(2, int64_t(sum)).Run();
  }
  TS_RETURN_IF_ERROR(db_->Cached("INSERT OR REPLACE INTO _ts_kv (key, value) VALUES (?1, ?2)", &put));
  // Text, as every _ts_kv value (KvInt reads it back with CAST AS INTEGER).
  return put->Bind(1, ChecksumKey(scope)).Bind(2, std::to_string(int64_t(sum))).Run();
}

Status RowStore::FlushChecksums() {
  TS_RETURN_IF_ERROR(WriteQueuedMeta());  // queued _ts_rows entries first (see BeginBatch)
  batching_ = false;
  std::map<std::string, uint64_t> pending;
  pending.swap(pending_);
  for (const auto& [scope, delta] : pending) TS_RETURN_IF_ERROR(MoveChecksum(scope, delta));
  return Status::Ok();
}

Status RowStore::ScopeChecksum(const std::string& scope, uint64_t* sum) {
  TS_RETURN_IF_ERROR(StoredChecksum(scope, sum));
  auto it = pending_.find(scope);
  if (it != pending_.end()) *sum += it->second;
  return Status::Ok();
}

TS_COLD Status RowStore::MoveTableChecksumsToKv(int64_t* moved) {
  *moved = 0;
  if (checksum_home_ != ChecksumHome::kKvTable) return Status::Ok();
  std::vector<std::pair<std::string, uint64_t>> old_sums;
  Statement st;
  TS_RETURN_IF_ERROR(db_->Prepare("SELECT scope, sum FROM _ts_checksum", &st));
  bool row = false;
  while (true) {
    TS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) break;
    old_sums.emplace_back(st.Text(0), uint64_t(st.Int(1)));
  }
  for (const auto& [scope, sum] : old_sums) {
    uint64_t in_kv = 0;
    TS_RETURN_IF_ERROR(StoredChecksum(scope, &in_kv));
    TS_RETURN_IF_ERROR(PutStoredChecksum(scope, in_kv + sum));  // wraps mod 2^64, as every sum
  }
  if (!old_sums.empty()) TS_RETURN_IF_ERROR(db_->Exec("DELETE FROM _ts_checksum"));
  *moved = int64_t(old_sums.size());
  return Status::Ok();
}

TS_COLD Status RowStore::RemoveAll() {
  TS_RETURN_IF_ERROR(WriteQueuedMeta());  // queued _ts_rows entries first (see BeginBatch)
  pending_.clear();
  held_.clear();  // every sum is zero again: none held, none stored
  for (const TableSpec& t : AllTables()) TS_RETURN_IF_ERROR(db_->Exec(std::string("DELETE FROM ") + t.name));
  TS_RETURN_IF_ERROR(db_->Exec("DELETE FROM _ts_rows; DELETE FROM _ts_checksum;"));
  if (checksum_home_ == ChecksumHome::kChecksumTable) return Status::Ok();
  return db_->Exec("DELETE FROM _ts_kv WHERE key >= 'checksum:' AND key < 'checksum;'");  // ';' follows ':'
}

TS_COLD Status CanonicalDumpOf(Database* db, const std::vector<std::string>& scopes, std::string* out) {
  // Read from the domain tables themselves, not from the metadata: a row written behind the
  // engine's back shows up here too.
  out->clear();
  std::vector<std::string> lines;
  bool with_catalog = std::find(scopes.begin(), scopes.end(), std::string()) != scopes.end();
  for (const TableSpec& spec : AllTables()) {
    if (spec.scope == Scope::kCatalog && !with_catalog) continue;
    std::string cols;
    for (const ColumnSpec& c : spec.columns) cols += std::string(", ") + c.name;
    std::string sql = "SELECT id" + cols + " FROM " + spec.name;
    if (spec.scope == Scope::kShop) sql += " WHERE shop_id = ?1";
    Statement st;
    TS_RETURN_IF_ERROR(db->Prepare(sql, &st));
    for (const std::string& scope : scopes) {
      if (spec.scope == Scope::kCatalog && !scope.empty()) continue;
      if (spec.scope == Scope::kShop && scope.empty()) continue;
      st.Reset();
      if (spec.scope == Scope::kShop) st.Bind(1, scope);
      bool row = false;
      while (true) {
        TS_RETURN_IF_ERROR(st.Step(&row));
        if (!row) break;
        Json values = Json::object();
        for (size_t i = 0; i < spec.columns.size(); ++i) {
          int col = int(i) + 1;
          switch (st.ColumnType(col)) {
            case 1: values[spec.columns[i].name] = st.Int(col); break;
            case 3: values[spec.columns[i].name] = st.Text(col); break;
            default: values[spec.columns[i].name] = nullptr; break;
          }
        }
        lines.push_back(std::string(spec.name) + " " + st.Text(0) + " " + DumpJson(values));
      }
    }
  }
  std::sort(lines.begin(), lines.end());
  for (const std::string& l : lines) *out += l + "\n";
  return Status::Ok();
}

}  // namespace tillsync
