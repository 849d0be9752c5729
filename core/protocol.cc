#include "core/protocol.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "core/hybrid_clock.h"
#include "core/pull_page_scanner.h"
#include "core/table_spec.h"

namespace tillsync {

const char* OpStatusName(OpStatus s) {
  switch (s) {
    case OpStatus::kApplied: return "applied";
    case OpStatus::kRejected: return "rejected";
    case OpStatus::kConflict: return "conflict";
  }
  return "applied";
}

std::string ChecksumHex(uint64_t sum) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(sum));
  return buf;
}

namespace {

Status ReadVersion(const JsonReader& r) {
  int64_t v = 0;
  TS_RETURN_IF_ERROR(r.Int("v", &v));
  if (v != kProtocolVersion)
    return Status(ErrorCode::kBadVersion, "protocol version " + std::to_string(v) + " is not supported (this side speaks " +
                                              std::to_string(kProtocolVersion) + ")");
  return Status::Ok();
}

Status ReadDeviceId(const JsonReader& r, std::string* out) {
  TS_RETURN_IF_ERROR(r.String("device_id", out, 256));
  if (!IsValidId(*out)) return Status(ErrorCode::kBadId, "device_id is not a valid id");
  return Status::Ok();
}

Json WireRowToJson(const WireRow& row) {
  return Json{{"table", row.table}, {"id", row.id}, {"values", row.values},
              {"clocks", row.clocks}, {"version", row.version}, {"seq", row.seq}};
}

// Takes the row's values and clocks out of `j` (moved, not copied: a page holds up to 5,000 rows).
Status WireRowFromJson(Json& j, const std::string& path, WireRow* out) {
  JsonReader r(j, path);
  TS_RETURN_IF_ERROR(r.ExpectObject({"table", "id", "values", "clocks", "version", "seq"}));
  TS_RETURN_IF_ERROR(r.String("table", &out->table, 64));
  const TableSpec* spec = FindTable(out->table);
  if (spec == nullptr) return Status(ErrorCode::kUnknownTable, "unknown table " + r.Path("table"));
  TS_RETURN_IF_ERROR(r.String("id", &out->id, kMaxIdLength));
  if (!IsValidId(out->id)) return Status(ErrorCode::kBadId, r.Path("id") + " is not a valid id");
  const Json* values = nullptr;
  const Json* clocks = nullptr;
  TS_RETURN_IF_ERROR(r.Object("values", &values));
  TS_RETURN_IF_ERROR(r.Object("clocks", &clocks));
  for (auto it = clocks->begin(); it != clocks->end(); ++it)
    if (!it->is_string() || (it.key() != "*" && spec->FindColumn(it.key()) == nullptr))
      return Status(ErrorCode::kBadRequest, r.Path("clocks") + " holds an unknown column or a non-string clock");
  TS_RETURN_IF_ERROR(ValidateValues(*spec, *values, path));
  out->values = std::move(j["values"]);
  out->clocks = std::move(j["clocks"]);
  TS_RETURN_IF_ERROR(r.Int("version", &out->version));
  TS_RETURN_IF_ERROR(r.Int("seq", &out->seq));
  return Status::Ok();
}

// Builds a Json value from SAX events exactly as nlohmann's own DOM parser does (a repeated key
// keeps the last value, non-negative integers are unsigned), so a value built here equals what
// ParseJson gives for the same text.
class DomBuilder {
 public:
  void Reset() {
    root_ = Json();
    stack_.clear();
    slot_ = nullptr;
  }
  Json& root() { return root_; }
  size_t depth() const { return stack_.size(); }
  bool InObject() const { return !stack_.empty() && stack_.back()->is_object(); }

  void Value(Json&& v) { Place(std::move(v)); }
  void StartObject() { stack_.push_back(Place(Json(Json::value_t::object))); }
  void StartArray() { stack_.push_back(Place(Json(Json::value_t::array))); }
  void Key(const std::string& k) { slot_ = &(*stack_.back())[k]; }
  void End() { stack_.pop_back(); }

 private:
  Json* Place(Json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    if (stack_.back()->is_array()) {
      stack_.back()->push_back(std::move(v));
      return &stack_.back()->back();
    }
    *slot_ = std::move(v);
    return slot_;
  }

  Json root_;
  std::vector<Json*> stack_;
  Json* slot_ = nullptr;
};

// ---- Version 2 (columnar) pages -----------------------------------------------------------------

// One value of a columnar row as the lexer gave it: a run's rows are read before its "columns"
// and "table" (keys in sorted order put "rows" before "table"), so they are checked at the end
// of the run.
struct RawCell {
  enum class Kind : uint8_t { kNull, kInt, kTooBig, kFloat, kBool, kText, kStructured };
  Kind kind = Kind::kNull;
  int64_t number = 0;
  std::string text;
  Json structured;  // an object or array (a row's clocks object; anywhere else refused)
};

struct RawRow {
  bool is_array = true;
  std::vector<RawCell> cells;
};

// A run as read: its small fields as a DOM, its rows as raw cells.
struct RawRun {
  bool is_object = true;
  std::string bad_key;  // the first unknown or repeated key
  Json fields = Json::object();  // table, columns, clocks (and rows when it is not an array)
  bool rows_streamed = false;
  std::vector<RawRow> rows;
};

// Checks one value against its column exactly as ValidateValues does for a v1 row (the same
// codes and messages, with this row's path). The value as its parts, so the page scanner's typed
// values are checked by this same code without a copy.
Status ValidateCellParts(const ColumnSpec& col, RawCell::Kind kind, int64_t number, std::string_view s,
                         const std::string& row_path) {
  const auto field_path = [&]() { return row_path + "." + col.name; };
  if (kind == RawCell::Kind::kNull) {
    if (col.required) return Status(ErrorCode::kMissingField, field_path() + " may not be null");
    return Status::Ok();
  }
  switch (col.type) {
    case ColumnType::kText:
    case ColumnType::kEnum: {
      if (kind != RawCell::Kind::kText) return Status(ErrorCode::kBadRequest, field_path() + " must be a string");
      if (col.type == ColumnType::kEnum) {
        bool ok = false;
        for (const char* a : col.allowed) ok = ok || s == a;
        if (!ok) return Status(ErrorCode::kBadValue, field_path() + " has a value outside its allowed set");
      } else if (int64_t(s.size()) < col.min || int64_t(s.size()) > col.max) {
        return Status(ErrorCode::kBadValue, field_path() + " must be " + std::to_string(col.min) + " to " +
                                                std::to_string(col.max) + " bytes long");
      }
      std::string_view name(col.name);
      if (s.size() > 0 && name.size() > 3 && name.compare(name.size() - 3, 3, "_id") == 0 && !IsValidId(s))
        return Status(ErrorCode::kBadId, field_path() + " is not a valid id");
      return Status::Ok();
    }
    case ColumnType::kMoney:
      if (kind == RawCell::Kind::kFloat)
        return Status(ErrorCode::kFloatMoney, field_path() + " is money and must be an integer number of minor units");
      [[fallthrough]];
    case ColumnType::kInteger:
    case ColumnType::kBool: {
      if (kind == RawCell::Kind::kTooBig) return Status(ErrorCode::kBadValue, field_path() + " is out of range");
      if (kind != RawCell::Kind::kInt) return Status(ErrorCode::kBadRequest, field_path() + " must be an integer");
      int64_t lo = col.type == ColumnType::kBool ? 0 : col.min;
      int64_t hi = col.type == ColumnType::kBool ? 1 : col.max;
      if (number < lo || number > hi) {
        ErrorCode code = col.type == ColumnType::kMoney ? ErrorCode::kBadAmount
                         : (std::string(col.name) == "qty" || std::string(col.name) == "qty_delta")
                             ? ErrorCode::kBadQuantity
                             : ErrorCode::kBadValue;
        return Status(code, field_path() + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      }
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status ValidateCell(const ColumnSpec& col, const RawCell& v, const std::string& row_path) {
  return ValidateCellParts(col, v.kind, v.number, v.text, row_path);
}

// An integer field of a row (seq, version), as JsonReader::Int reads one.
Status CellInt(const RawCell& c, const std::string& path, int64_t* out) {
  if (c.kind == RawCell::Kind::kTooBig) return Status(ErrorCode::kBadRequest, path + " is out of range");
  if (c.kind != RawCell::Kind::kInt) return Status(ErrorCode::kBadRequest, path + " must be an integer");
  *out = c.number;
  return Status::Ok();
}

// Checks a run as read and turns it into a PageTable. Every check a v1 row gets, a v2 row gets
// with the same code (core/protocol_test.cc holds the two decoders to that).
Status PageTableFromRun(RawRun& run, const std::string& path, PageTable* out) {
  if (!run.is_object) return Status(ErrorCode::kBadRequest, path + " must be an object");
  if (!run.bad_key.empty()) return Status(ErrorCode::kBadRequest, "unknown or repeated field " + path + "." + run.bad_key);
  JsonReader r(run.fields, path);
  std::string table;
  TS_RETURN_IF_ERROR(r.String("table", &table, 64));
  const TableSpec* spec = FindTable(table);
  if (spec == nullptr) return Status(ErrorCode::kUnknownTable, "unknown table " + r.Path("table"));
  const Json* columns = nullptr;
  // No count limit of its own: a column past the table's own is unknown or named twice.
  TS_RETURN_IF_ERROR(r.Array("columns", &columns, size_t(kMaxPullLimit)));
  std::vector<size_t> column_index;  // wire position -> index in spec->columns
  for (size_t c = 0; c < columns->size(); ++c) {
    const Json& name = (*columns)[c];
    const std::string cpath = r.Path("columns") + "[" + std::to_string(c) + "]";
    if (!name.is_string()) return Status(ErrorCode::kBadRequest, cpath + " must be a string");
    const std::string& n = name.get_ref<const std::string&>();
    const ColumnSpec* col = spec->FindColumn(n);
    if (col == nullptr)
      return Status(ErrorCode::kUnknownColumn, "table " + std::string(spec->name) + " has no column " + n,
                    Json{{"field", cpath}}.dump());
    size_t index = size_t(col - spec->columns.data());
    for (size_t seen : column_index)
      if (seen == index) return Status(ErrorCode::kBadRequest, cpath + " names a column twice");
    column_index.push_back(index);
  }
  const Json* clocks = nullptr;
  TS_RETURN_IF_ERROR(r.Array("clocks", &clocks, size_t(kMaxPullLimit)));
  out->spec = spec;
  out->clocks.clear();
  Json& clock_list = run.fields["clocks"];  // the same array; its objects are moved out
  for (size_t k = 0; k < clock_list.size(); ++k) {
    Json& clock = clock_list[k];
    bool ok = clock.is_object();
    for (auto it = clock.begin(); ok && it != clock.end(); ++it)
      ok = it->is_string() && (it.key() == "*" || spec->FindColumn(it.key()) != nullptr);
    if (!ok)
      return Status(ErrorCode::kBadRequest, r.Path("clocks") + "[" + std::to_string(k) +
                                                "] must be an object of known columns (or \"*\") and string clocks");
    out->clocks.push_back(std::move(clock));
  }
  if (!run.rows_streamed) {
    const Json* rows = nullptr;
    TS_RETURN_IF_ERROR(r.Array("rows", &rows, size_t(kMaxPullLimit)));  // missing, or not an array
  }
  out->rows.clear();
  out->rows.reserve(run.rows.size());
  const size_t width = 4 + column_index.size();
  for (size_t k = 0; k < run.rows.size(); ++k) {
    RawRow& raw = run.rows[k];
    const std::string row_path = r.Path("rows") + "[" + std::to_string(k) + "]";
    if (!raw.is_array) return Status(ErrorCode::kBadRequest, row_path + " must be an array");
    if (raw.cells.size() != width)
      return Status(ErrorCode::kBadRequest, row_path + " must hold id, seq, version, clock and " +
                                                std::to_string(column_index.size()) + " values");
    PageRow row;
    RawCell& id = raw.cells[0];
    if (id.kind != RawCell::Kind::kText) return Status(ErrorCode::kBadRequest, row_path + "[0] (id) must be a string");
    if (id.text.size() > kMaxIdLength)
      return Status(ErrorCode::kBadValue, row_path + "[0] (id) is longer than " + std::to_string(kMaxIdLength));
    if (!IsValidId(id.text)) return Status(ErrorCode::kBadId, row_path + "[0] (id) is not a valid id");
    row.id = std::move(id.text);
    TS_RETURN_IF_ERROR(CellInt(raw.cells[1], row_path + "[1] (seq)", &row.seq));
    TS_RETURN_IF_ERROR(CellInt(raw.cells[2], row_path + "[2] (version)", &row.version));
    RawCell& clock = raw.cells[3];
    if (clock.kind != RawCell::Kind::kInt || clock.number < 0 || clock.number >= int64_t(out->clocks.size()))
      return Status(ErrorCode::kBadRequest, row_path + "[3] (clocks) must be an index into " + r.Path("clocks"));
    row.clock = size_t(clock.number);
    row.values.resize(spec->columns.size());
    for (size_t c = 0; c < column_index.size(); ++c) {
      RawCell& cell = raw.cells[4 + c];
      const ColumnSpec& col = spec->columns[column_index[c]];
      TS_RETURN_IF_ERROR(ValidateCell(col, cell, row_path));
      ColumnValue& v = row.values[column_index[c]];
      if (cell.kind == RawCell::Kind::kInt) {
        v.kind = ColumnValue::Kind::kInt;
        v.number = cell.number;
      } else if (cell.kind == RawCell::Kind::kText) {
        v.kind = ColumnValue::Kind::kText;
        v.text = std::move(cell.text);
      }
    }
    out->rows.push_back(std::move(row));
    raw.cells = std::vector<RawCell>();  // free as we go: a page holds up to 5,000 rows
  }
  return Status::Ok();
}

// Reads the "tables" array of a version 2 page from SAX events, run by run. Small values (a
// run's table name, columns and clocks, a row's clocks object, anything refused) become DOM
// values; a row's cells are read straight into RawCells.
class TablesStream {
 public:
  void Reset() {
    tables_.clear();
    error_ = Status::Ok();
    runs_ = 0;
    rows_ = 0;
    depth_ = 0;
    nested_.Reset();
    sink_ = Sink::kNone;
  }
  std::vector<PageTable>& tables() { return tables_; }
  const Status& error() const { return error_; }
  size_t row_count() const { return rows_; }

  // Each returns true when the event closed the tables array itself.
  bool Scalar(RawCell&& c) {
    if (sink_ != Sink::kNone) {
      nested_.Value(JsonOf(std::move(c)));
      return false;
    }
    switch (depth_) {
      case 0:  // a run that is not an object
        BeginRun();
        run_.is_object = false;
        FinishRun();
        break;
      case 1:
        if (!key_ok_) break;
        run_.fields[key_] = JsonOf(std::move(c));
        break;
      case 2:  // a row that is not an array
        AddRow(false);
        break;
      case 3:
        if (!skipping_) run_.rows.back().cells.push_back(std::move(c));
        break;
    }
    return false;
  }
  bool Start(bool array) {
    if (sink_ != Sink::kNone) {
      array ? nested_.StartArray() : nested_.StartObject();
      return false;
    }
    switch (depth_) {
      case 0:
        BeginRun();
        if (array) {
          run_.is_object = false;
          Nest(array, Sink::kDiscardRun);
        } else {
          depth_ = 1;
        }
        break;
      case 1:
        if (array && key_ == "rows" && key_ok_) {
          run_.rows_streamed = true;
          depth_ = 2;
        } else {
          Nest(array, key_ok_ ? Sink::kField : Sink::kDiscard);
        }
        break;
      case 2:
        if (array) {
          AddRow(true);
          depth_ = 3;
        } else {
          AddRow(false);
          Nest(array, Sink::kDiscard);
        }
        break;
      case 3:
        Nest(array, Sink::kCell);
        break;
    }
    return false;
  }
  bool End() {
    if (sink_ != Sink::kNone) {
      nested_.End();
      if (nested_.depth() == 0) Deliver();
      return false;
    }
    switch (depth_) {
      case 0: return true;  // the tables array ends
      case 1:
        FinishRun();
        depth_ = 0;
        break;
      case 2: depth_ = 1; break;
      case 3: depth_ = 2; break;
    }
    return false;
  }
  void Key(const std::string& k) {
    if (sink_ != Sink::kNone) {
      nested_.Key(k);
      return;
    }
    // depth 1: a run's own key
    key_ = k;
    key_ok_ = (k == "table" || k == "columns" || k == "clocks" || k == "rows") && !run_.fields.contains(k) &&
              !(k == "rows" && run_.rows_streamed);
    if (!key_ok_ && run_.bad_key.empty()) run_.bad_key = k;
  }

 private:
  enum class Sink { kNone, kField, kCell, kDiscard, kDiscardRun };

  static Json JsonOf(RawCell&& c) {
    switch (c.kind) {
      case RawCell::Kind::kNull: return Json(nullptr);
      case RawCell::Kind::kInt: return Json(c.number);
      case RawCell::Kind::kTooBig: return Json(uint64_t(INT64_MAX) + 1);
      case RawCell::Kind::kFloat: return Json(0.5);
      case RawCell::Kind::kBool: return Json(c.number != 0);
      case RawCell::Kind::kText: return Json(std::move(c.text));
      case RawCell::Kind::kStructured: return std::move(c.structured);
    }
    return Json();
  }

  void Nest(bool array, Sink sink) {
    nested_.Reset();
    array ? nested_.StartArray() : nested_.StartObject();
    sink_ = sink;
  }
  void Deliver() {
    Sink sink = sink_;
    sink_ = Sink::kNone;
    switch (sink) {
      case Sink::kField: run_.fields[key_] = std::move(nested_.root()); break;
      case Sink::kCell:
        if (!skipping_) {
          RawCell c;
          c.kind = RawCell::Kind::kStructured;
          c.structured = std::move(nested_.root());
          run_.rows.back().cells.push_back(std::move(c));
        }
        break;
      case Sink::kDiscardRun: FinishRun(); break;
      default: break;
    }
    nested_.Reset();
  }

  void BeginRun() {
    run_ = RawRun();
    key_.clear();
    key_ok_ = false;
    skipping_ = false;
  }
  void AddRow(bool is_array) {
    ++rows_;
    // Past the page's limit, or after a refused run, rows are only read for well-formedness.
    skipping_ = rows_ > size_t(kMaxPullLimit) || !error_.ok();
    if (skipping_) {
      if (!run_.rows.empty()) run_.rows = std::vector<RawRow>();
      return;
    }
    run_.rows.emplace_back();
    run_.rows.back().is_array = is_array;
    if (is_array && !run_.rows.empty()) run_.rows.back().cells.reserve(16);
  }
  void FinishRun() {
    if (error_.ok() && rows_ <= size_t(kMaxPullLimit)) {
      PageTable table;
      Status s = PageTableFromRun(run_, "tables[" + std::to_string(runs_) + "]", &table);
      if (s.ok()) tables_.push_back(std::move(table));
      else error_ = s;
    }
    if (rows_ > size_t(kMaxPullLimit)) tables_ = std::vector<PageTable>();  // refused anyway
    run_ = RawRun();
    ++runs_;
  }

  std::vector<PageTable> tables_;
  Status error_ = Status::Ok();
  size_t runs_ = 0;
  size_t rows_ = 0;
  int depth_ = 0;  // 0: between runs, 1: in a run, 2: in its rows, 3: in a row
  RawRun run_;
  std::string key_;
  bool key_ok_ = false;
  bool skipping_ = false;
  DomBuilder nested_;
  Sink sink_ = Sink::kNone;
};

// The pull answer decoder's SAX handler. Everything but the "rows" array becomes a small DOM of
// the answer's top level, checked afterwards exactly as before. The rows array is never built
// as a whole: each element is built alone, turned into a WireRow by WireRowFromJson (the same
// checks, paths and codes as the DOM decoder) and dropped, so a 5,000-row page never exists as
// one tree of 5,000 objects. Row errors are remembered, not returned at once: the answer's
// other checks (valid JSON, known top-level fields, version, row count) come first, as they
// did when the whole page was parsed before anything was checked.
class PullPageHandler {
 public:
  // Top level, with "rows" (when it is an array) holding an empty array in its place.
  Json& top() { return top_.root(); }
  // True when the last "rows" key held an array that was streamed.
  bool rows_streamed() const { return rows_streamed_; }
  size_t row_count() const { return row_count_; }
  const Status& row_error() const { return row_error_; }
  std::vector<WireRow>& rows() { return rows_; }
  // Version 2: true when the last "tables" key held an array that was streamed.
  bool tables_streamed() const { return tables_streamed_; }
  TablesStream& tables() { return tables_; }

  bool null() { return tables_streaming_ ? Cell(RawCell()) : Scalar(Json(nullptr)); }
  bool boolean(bool v) {
    if (!tables_streaming_) return Scalar(Json(v));
    RawCell c;
    c.kind = RawCell::Kind::kBool;
    c.number = v;
    return Cell(std::move(c));
  }
  bool number_integer(Json::number_integer_t v) {
    if (!tables_streaming_) return Scalar(Json(v));
    RawCell c;
    c.kind = RawCell::Kind::kInt;
    c.number = v;
    return Cell(std::move(c));
  }
  bool number_unsigned(Json::number_unsigned_t v) {
    if (!tables_streaming_) return Scalar(Json(v));
    RawCell c;
    c.kind = v > uint64_t(INT64_MAX) ? RawCell::Kind::kTooBig : RawCell::Kind::kInt;
    c.number = int64_t(v);
    return Cell(std::move(c));
  }
  bool number_float(Json::number_float_t v, const std::string&) {
    if (!tables_streaming_) return Scalar(Json(v));
    RawCell c;
    c.kind = RawCell::Kind::kFloat;
    return Cell(std::move(c));
  }
  bool string(std::string& v) {
    if (!tables_streaming_) return Scalar(Json(std::move(v)));
    RawCell c;
    c.kind = RawCell::Kind::kText;
    c.text = std::move(v);
    return Cell(std::move(c));
  }
  bool binary(Json::binary_t&) { return false; }  // never produced by the JSON lexer
  bool start_object(size_t) { return tables_streaming_ ? TablesStart(false) : Start(/*array=*/false); }
  bool start_array(size_t) { return tables_streaming_ ? TablesStart(true) : Start(/*array=*/true); }
  bool end_object() { return tables_streaming_ ? TablesEnd() : End(); }
  bool end_array() { return tables_streaming_ ? TablesEnd() : End(); }
  bool key(std::string& k) {
    if (tables_streaming_) {
      tables_.Key(k);
      return true;
    }
    if (!streaming_) {
      // A "rows" key of the top level, first or repeated: the last one is the page (as in the DOM).
      // The same for version 2's "tables".
      if (top_.depth() == 1 && top_.InObject()) {
        rows_key_pending_ = (k == "rows");
        if (rows_key_pending_) ResetRows();
        tables_key_pending_ = (k == "tables");
        if (tables_key_pending_) {
          tables_.Reset();
          tables_streamed_ = false;
        }
      }
      top_.Key(k);
    } else if (!skipping_) {
      element_.Key(k);
    }
    return true;
  }
  template <typename Exception>
  bool parse_error(size_t, const std::string&, const Exception&) {
    return false;
  }

 private:
  void ResetRows() {
    rows_.clear();
    row_count_ = 0;
    row_error_ = Status::Ok();
    rows_streamed_ = false;
  }

  bool Cell(RawCell&& c) {
    tables_.Scalar(std::move(c));
    return true;
  }
  bool TablesStart(bool array) {
    tables_.Start(array);
    return true;
  }
  bool TablesEnd() {
    if (tables_.End()) tables_streaming_ = false;
    return true;
  }

  bool Scalar(Json&& v) {
    if (!streaming_) {
      rows_key_pending_ = false;
      tables_key_pending_ = false;
      top_.Value(std::move(v));
      return true;
    }
    if (row_depth_ == 0) {  // an element that is not an object: WireRowFromJson refuses it
      BeginElement();
      if (!skipping_) element_.Value(std::move(v));
      FinishElement();
      return true;
    }
    if (!skipping_) element_.Value(std::move(v));
    return true;
  }

  bool Start(bool array) {
    if (!streaming_) {
      if (array && rows_key_pending_ && top_.depth() == 1) {
        top_.Value(Json::array());  // the key stays present for the top-level checks
        streaming_ = true;
        rows_streamed_ = true;
        row_depth_ = 0;
      } else if (array && tables_key_pending_ && top_.depth() == 1) {
        top_.Value(Json::array());
        tables_streaming_ = true;
        tables_streamed_ = true;
      } else if (array) {
        top_.StartArray();
      } else {
        top_.StartObject();
      }
      rows_key_pending_ = false;
      tables_key_pending_ = false;
      return true;
    }
    if (row_depth_ == 0) BeginElement();
    ++row_depth_;
    if (!skipping_) array ? element_.StartArray() : element_.StartObject();
    return true;
  }

  bool End() {
    if (!streaming_) {
      top_.End();
      return true;
    }
    if (row_depth_ == 0) {  // the rows array itself ends
      streaming_ = false;
      return true;
    }
    --row_depth_;
    if (!skipping_) element_.End();
    if (row_depth_ == 0) FinishElement();
    return true;
  }

  void BeginElement() {
    element_.Reset();
    // Past the limit, or after a bad row, the rest is only read for well-formedness.
    skipping_ = row_count_ >= size_t(kMaxPullLimit) || !row_error_.ok();
  }

  void FinishElement() {
    if (!skipping_) {
      WireRow row;
      Status s = WireRowFromJson(element_.root(), "rows[" + std::to_string(row_count_) + "]", &row);
      if (s.ok()) rows_.push_back(std::move(row));
      else row_error_ = s;
    }
    ++row_count_;
    if (row_count_ > size_t(kMaxPullLimit)) rows_ = std::vector<WireRow>();  // refused anyway
  }

  DomBuilder top_;
  DomBuilder element_;
  TablesStream tables_;
  bool tables_key_pending_ = false;
  bool tables_streaming_ = false;
  bool tables_streamed_ = false;
  bool rows_key_pending_ = false;
  bool streaming_ = false;
  bool rows_streamed_ = false;
  bool skipping_ = false;
  int row_depth_ = 0;  // nesting inside the current rows element (0: between elements)
  size_t row_count_ = 0;
  Status row_error_ = Status::Ok();
  std::vector<WireRow> rows_;
};

}  // namespace

std::string EncodePushRequest(const PushRequest& r) {
  Json ops = Json::array();
  for (const Operation& op : r.ops) ops.push_back(OperationToJson(op));
  return DumpJson(Json{{"v", kProtocolVersion}, {"device_id", r.device_id},
                       {"schema_version", r.schema_version}, {"ops", std::move(ops)}});
}

Status DecodePushRequest(std::string_view body, PushRequest* out) {
  Json j;
  TS_RETURN_IF_ERROR(ParseJson(body, &j));
  JsonReader r(j, "");
  TS_RETURN_IF_ERROR(r.ExpectObject({"v", "device_id", "schema_version", "ops"}));
  TS_RETURN_IF_ERROR(ReadVersion(r));
  PushRequest req;
  TS_RETURN_IF_ERROR(ReadDeviceId(r, &req.device_id));
  TS_RETURN_IF_ERROR(r.Int("schema_version", &req.schema_version));
  const Json* ops = nullptr;
  TS_RETURN_IF_ERROR(r.Array("ops", &ops, kMaxOpsPerPush));
  Json& owned_ops = j["ops"];  // the same array: each operation's values are moved out, not copied
  for (size_t i = 0; i < ops->size(); ++i) {
    Operation op;
    TS_RETURN_IF_ERROR(OperationFromJson(std::move(owned_ops[i]), "ops[" + std::to_string(i) + "]", &op));
    if (!req.ops.empty() && op.seq != req.ops.back().seq + 1)
      return Status(ErrorCode::kSequenceGap, "ops must have consecutive seq values; ops[" + std::to_string(i) +
                                                 "] has " + std::to_string(op.seq));
    req.ops.push_back(std::move(op));
  }
  *out = std::move(req);
  return Status::Ok();
}

std::string EncodePushResponse(const PushResponse& r) {
  Json results = Json::array();
  for (const OpResult& res : r.results) {
    Json j = {{"seq", res.seq}, {"status", OpStatusName(res.status)}};
    if (res.status == OpStatus::kRejected) {
      j["code"] = res.code;
      j["message"] = res.message;
    }
    if (res.status == OpStatus::kConflict) {
      Json rows = Json::array();
      for (const WireRow& row : res.current) rows.push_back(WireRowToJson(row));
      j["current"] = std::move(rows);
    }
    results.push_back(std::move(j));
  }
  return DumpJson(Json{{"v", kProtocolVersion}, {"results", std::move(results)}, {"hub_hlc", r.hub_hlc}});
}

Status DecodePushResponse(std::string_view body, PushResponse* out) {
  Json j;
  TS_RETURN_IF_ERROR(ParseJson(body, &j));
  JsonReader r(j, "");
  TS_RETURN_IF_ERROR(r.ExpectObject({"v", "results", "hub_hlc"}));
  TS_RETURN_IF_ERROR(ReadVersion(r));
  PushResponse resp;
  TS_RETURN_IF_ERROR(r.String("hub_hlc", &resp.hub_hlc, 100));
  HlcTimestamp ts;
  TS_RETURN_IF_ERROR(HlcTimestamp::Parse(resp.hub_hlc, &ts));
  const Json* results = nullptr;
  TS_RETURN_IF_ERROR(r.Array("results", &results, kMaxOpsPerPush));
  for (size_t i = 0; i < results->size(); ++i) {
    const std::string path = "results[" + std::to_string(i) + "]";
    JsonReader rr((*results)[i], path);
    TS_RETURN_IF_ERROR(rr.ExpectObject({"seq", "status", "code", "message", "current"}));
    OpResult res;
    TS_RETURN_IF_ERROR(rr.Int("seq", &res.seq));
    std::string status;
    TS_RETURN_IF_ERROR(rr.String("status", &status, 16));
    if (status == "applied") res.status = OpStatus::kApplied;
    else if (status == "rejected") res.status = OpStatus::kRejected;
    else if (status == "conflict") res.status = OpStatus::kConflict;
    else return Status(ErrorCode::kBadValue, rr.Path("status") + " is not applied, rejected or conflict");
    if (res.status == OpStatus::kRejected) {
      TS_RETURN_IF_ERROR(rr.String("code", &res.code, 64));
      TS_RETURN_IF_ERROR(rr.String("message", &res.message, 4096));
    }
    if (res.status == OpStatus::kConflict) {
      const Json* rows = nullptr;
      TS_RETURN_IF_ERROR(rr.Array("current", &rows, kMaxChangesPerOperation));
      Json& mutable_rows = j["results"][i]["current"];  // the same array; its rows are moved out
      for (size_t k = 0; k < rows->size(); ++k) {
        WireRow row;
        TS_RETURN_IF_ERROR(WireRowFromJson(mutable_rows[k], rr.Path("current") + "[" + std::to_string(k) + "]", &row));
        res.current.push_back(std::move(row));
      }
    }
    resp.results.push_back(std::move(res));
  }
  *out = std::move(resp);
  return Status::Ok();
}

std::string EncodePullRequest(const PullRequest& r) {
  Json j{{"v", r.page_version}, {"device_id", r.device_id}, {"schema_version", r.schema_version},
         {"cursor", r.cursor}, {"limit", r.limit}};
  if (!r.snapshot.empty()) j["snapshot"] = r.snapshot;
  return DumpJson(j);
}

Status DecodePullRequest(std::string_view body, PullRequest* out) {
  Json j;
  TS_RETURN_IF_ERROR(ParseJson(body, &j));
  JsonReader r(j, "");
  TS_RETURN_IF_ERROR(r.ExpectObject({"v", "device_id", "schema_version", "cursor", "limit", "snapshot"}));
  PullRequest req;
  // A pull request's version names the page form the device reads (1, 2 or 3).
  int64_t v = 0;
  TS_RETURN_IF_ERROR(r.Int("v", &v));
  if (v != kPullPageVersion1 && v != kPullPageVersion2 && v != kPullPageVersion3)
    return Status(ErrorCode::kBadVersion, "pull protocol version " + std::to_string(v) +
                                              " is not supported (this side speaks 1, 2 and 3)");
  req.page_version = int(v);
  if (r.Has("snapshot")) {
    if (req.page_version != kPullPageVersion3)
      return Status(ErrorCode::kBadRequest, "snapshot needs pull protocol version 3");
    TS_RETURN_IF_ERROR(r.String("snapshot", &req.snapshot, kMaxSnapshotLength));
  }
  TS_RETURN_IF_ERROR(ReadDeviceId(r, &req.device_id));
  TS_RETURN_IF_ERROR(r.Int("schema_version", &req.schema_version));
  TS_RETURN_IF_ERROR(r.Int("cursor", &req.cursor));
  if (req.cursor < 0) return Status(ErrorCode::kBadValue, "cursor must be 0 or more");
  bool has_limit = false;
  TS_RETURN_IF_ERROR(r.OptionalInt("limit", &req.limit, &has_limit));
  if (!has_limit) req.limit = kDefaultPullLimit;
  if (req.limit < 1 || req.limit > kMaxPullLimit)
    return Status(ErrorCode::kTooLarge, "limit must be 1 to " + std::to_string(kMaxPullLimit));
  *out = std::move(req);
  return Status::Ok();
}

namespace {

// True when `a` and `b` hold the same keys (both iterate in sorted order).
bool SameKeys(const Json& a, const Json& b) {
  if (!a.is_object() || !b.is_object() || a.size() != b.size()) return false;
  for (auto i = a.begin(), k = b.begin(); i != a.end(); ++i, ++k)
    if (i.key() != k.key()) return false;
  return true;
}

// True when `row` belongs in the same version 2 run as `first`: the same table, and the same
// columns (typed rows of one table always hold all of them; Json rows compare their keys).
bool SameRunColumns(const WireRow& row, const WireRow& first) {
  if (row.table != first.table) return false;
  if (row.cells_spec != nullptr || first.cells_spec != nullptr) return row.cells_spec == first.cells_spec;
  return SameKeys(row.values, first.values);
}

// A typed cell as AppendJson writes the same value held in a Json (integer, string or null).
void AppendCell(const ColumnValue& v, std::string* out) {
  switch (v.kind) {
    case ColumnValue::Kind::kInt: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.number);
      out->append(buf, r.ptr);
      return;
    }
    case ColumnValue::Kind::kText: AppendJsonString(v.text, out); return;
    case ColumnValue::Kind::kNull: out->append("null"); return;
  }
}

// Version 2 "tables": one run per maximal stretch of consecutive rows of one table holding the
// same columns (every hub row holds all of its table's columns, so a page of one table is one
// run). Keys of each run in sorted order, as everywhere in the answer.
void AppendTableRuns(const std::vector<WireRow>& rows, std::string* out) {
  out->append("\"tables\":[");
  std::vector<std::string_view> clocks;  // this run's distinct clocks texts, by index
  std::vector<int> clock_of;             // per row of the run: its index in clocks
  std::vector<std::string> dumped;       // the texts of rows that carry no clocks_text
  for (size_t begin = 0; begin < rows.size();) {
    size_t end = begin + 1;
    while (end < rows.size() && SameRunColumns(rows[end], rows[begin])) ++end;
    clocks.clear();
    clock_of.clear();
    dumped.assign(end - begin, std::string());
    for (size_t i = begin; i < end; ++i) {
      std::string_view text = rows[i].clocks_text;
      if (text.empty()) {
        AppendJson(rows[i].clocks, &dumped[i - begin]);
        text = dumped[i - begin];
      }
      // Rows written together share their clocks: the last few distinct ones are checked (a
      // bounded look, so a run of all-different clocks stays linear; a repeat it misses only
      // costs a few bytes).
      int index = -1;
      for (size_t k = clocks.size(), looked = 0; k-- > 0 && looked < 4; ++looked)
        if (clocks[k] == text) {
          index = int(k);
          break;
        }
      if (index < 0) {
        index = int(clocks.size());
        clocks.push_back(text);
      }
      clock_of.push_back(index);
    }
    if (begin > 0) out->push_back(',');
    out->append("{\"clocks\":[");
    for (size_t k = 0; k < clocks.size(); ++k) {
      if (k > 0) out->push_back(',');
      out->append(clocks[k]);
    }
    out->append("],\"columns\":[");
    const Json& first = rows[begin].values;
    const TableSpec* typed = rows[begin].cells_spec;
    std::vector<size_t> by_name;  // typed rows: their cells in the order of the columns' names
    if (typed != nullptr) {
      by_name.resize(typed->columns.size());
      for (size_t c = 0; c < by_name.size(); ++c) by_name[c] = c;
      // std::string's order, as a Json object orders its keys.
      std::sort(by_name.begin(), by_name.end(), [typed](size_t a, size_t b) {
        return std::string_view(typed->columns[a].name) < std::string_view(typed->columns[b].name);
      });
      for (size_t c = 0; c < by_name.size(); ++c) {
        if (c > 0) out->push_back(',');
        AppendJsonString(typed->columns[by_name[c]].name, out);
      }
    }
    bool comma = false;
    if (typed == nullptr && first.is_object())
      for (auto it = first.begin(); it != first.end(); ++it) {
        if (comma) out->push_back(',');
        comma = true;
        AppendJsonString(it.key(), out);
      }
    out->append("],\"rows\":[");
    for (size_t i = begin; i < end; ++i) {
      const WireRow& row = rows[i];
      if (i > begin) out->push_back(',');
      out->push_back('[');
      AppendJsonString(row.id, out);
      out->push_back(',');
      out->append(std::to_string(row.seq));
      out->push_back(',');
      out->append(std::to_string(row.version));
      out->push_back(',');
      out->append(std::to_string(clock_of[i - begin]));
      if (typed != nullptr) {
        for (size_t c : by_name) {
          out->push_back(',');
          AppendCell(row.cells[c], out);
        }
      } else if (row.values.is_object())
        for (auto it = row.values.begin(); it != row.values.end(); ++it) {
          out->push_back(',');
          AppendJson(*it, out);
        }
      out->push_back(']');
    }
    out->append("],\"table\":");
    AppendJsonString(rows[begin].table, out);
    out->push_back('}');
    begin = end;
  }
  out->push_back(']');
}

}  // namespace

std::string EncodePullResponse(const PullResponse& r) {
  // Written out directly rather than through a DOM of the whole page (up to 5,000 rows): the same
  // bytes DumpJson would give (keys in sorted order, compact), without copying every row's values
  // into a second tree first.
  const bool columnar = IsColumnarPage(r.page_version);
  std::string out;
  out.reserve(64 + r.rows.size() * (columnar ? 160 : 320));
  out += "{";
  if (!r.checksum.empty()) out += "\"checksum\":" + DumpJson(Json(r.checksum)) + ",";
  out += "\"cursor\":" + std::to_string(r.cursor);
  out += ",\"hub_hlc\":" + DumpJson(Json(r.hub_hlc));
  out += r.more ? ",\"more\":true" : ",\"more\":false";
  out += ",\"remaining\":" + std::to_string(r.remaining);
  if (columnar) {
    if (r.page_version == kPullPageVersion3 && !r.snapshot.empty()) out += ",\"snapshot\":" + DumpJson(Json(r.snapshot));
    out += ",";
    AppendTableRuns(r.rows, &out);
    out += ",\"v\":" + std::to_string(r.page_version) + "}";
    return out;
  }
  out += ",\"rows\":[";
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const WireRow& row = r.rows[i];
    if (i > 0) out += ",";
    out += "{\"clocks\":";
    if (!row.clocks_text.empty()) out += row.clocks_text;
    else out += DumpJson(row.clocks);
    out += ",\"id\":";
    out += DumpJson(Json(row.id));
    out += ",\"seq\":";
    out += std::to_string(row.seq);
    out += ",\"table\":";
    out += DumpJson(Json(row.table));
    out += ",\"values\":";
    out += DumpJson(row.values);
    out += ",\"version\":";
    out += std::to_string(row.version);
    out += "}";
  }
  out += "],\"v\":" + std::to_string(kProtocolVersion) + "}";
  return out;
}

Status DecodePullResponseGeneral(std::string_view body, PullResponse* out) {
  // Streamed (see PullPageHandler): a page of 5,000 rows is never one DOM. The checks and their
  // order are those of decoding the whole DOM first.
  PullPageHandler page;
  if (!Json::sax_parse(body.begin(), body.end(), &page))
    return Status(ErrorCode::kBadJson, "body is not valid JSON");
  Json& j = page.top();
  JsonReader r(j, "");
  PullResponse resp;
  auto v = j.is_object() ? j.find("v") : j.end();
  if (j.is_object() && v != j.end() && v->is_number_integer() && (*v == kPullPageVersion2 || *v == kPullPageVersion3)) {
    // Versions 2 and 3 (columnar): the same checks in the same order, on "tables" instead of
    // "rows"; only version 3 may carry a snapshot position.
    resp.page_version = int(*v);
    if (resp.page_version == kPullPageVersion3)
      TS_RETURN_IF_ERROR(r.ExpectObject({"v", "tables", "cursor", "more", "remaining", "checksum", "hub_hlc", "snapshot"}));
    else
      TS_RETURN_IF_ERROR(r.ExpectObject({"v", "tables", "cursor", "more", "remaining", "checksum", "hub_hlc"}));
    if (!page.tables_streamed()) {
      const Json* tables = nullptr;
      TS_RETURN_IF_ERROR(r.Array("tables", &tables, size_t(kMaxPullLimit)));
    }
    if (page.tables().row_count() > size_t(kMaxPullLimit))
      return Status(ErrorCode::kTooLarge, "tables hold more than " + std::to_string(kMaxPullLimit) + " rows");
    TS_RETURN_IF_ERROR(page.tables().error());
    resp.tables = std::move(page.tables().tables());
  } else {
    TS_RETURN_IF_ERROR(r.ExpectObject({"v", "rows", "cursor", "more", "remaining", "checksum", "hub_hlc"}));
    TS_RETURN_IF_ERROR(ReadVersion(r));
    if (!page.rows_streamed()) {
      // "rows" missing or not an array: the reader's own error.
      const Json* rows = nullptr;
      TS_RETURN_IF_ERROR(r.Array("rows", &rows, size_t(kMaxPullLimit)));
    }
    if (page.row_count() > size_t(kMaxPullLimit))
      return Status(ErrorCode::kTooLarge, "rows has more than " + std::to_string(kMaxPullLimit) + " items");
    TS_RETURN_IF_ERROR(page.row_error());
    resp.rows = std::move(page.rows());
  }
  TS_RETURN_IF_ERROR(ReadPullPageFields(r, &resp));
  *out = std::move(resp);
  return Status::Ok();
}

Status DecodePullResponse(std::string_view body, PullResponse* out) {
  // A page as the hub writes it takes the scanner; anything else (and every bad page) the
  // general decoder, which gives the same page for what both read.
  if (ScanCanonicalPullPage(body, out)) return Status::Ok();
  return DecodePullResponseGeneral(body, out);
}

Status ReadPullPageFields(const JsonReader& r, PullResponse* resp) {
  TS_RETURN_IF_ERROR(r.Int("cursor", &resp->cursor));
  bool present = false;
  TS_RETURN_IF_ERROR(r.Bool("more", &resp->more, &present));
  if (!present) return Status(ErrorCode::kBadRequest, "missing field more");
  TS_RETURN_IF_ERROR(r.Int("remaining", &resp->remaining));
  if (r.Has("checksum")) {
    TS_RETURN_IF_ERROR(r.String("checksum", &resp->checksum, 16));
    if (resp->checksum.size() != 16) return Status(ErrorCode::kBadValue, "checksum must be 16 hex digits");
  }
  TS_RETURN_IF_ERROR(r.String("hub_hlc", &resp->hub_hlc, 100));
  if (r.Has("snapshot")) TS_RETURN_IF_ERROR(r.String("snapshot", &resp->snapshot, kMaxSnapshotLength));
  HlcTimestamp ts;
  return HlcTimestamp::Parse(resp->hub_hlc, &ts);
}

Status ValidateJsonValue(const ColumnSpec& col, const Json& v, const std::string& row_path) {
  RawCell::Kind kind = RawCell::Kind::kStructured;
  int64_t number = 0;
  std::string_view text;
  if (v.is_null()) {
    kind = RawCell::Kind::kNull;
  } else if (v.is_string()) {
    kind = RawCell::Kind::kText;
    text = v.get_ref<const std::string&>();
  } else if (v.is_number_unsigned()) {
    kind = v.get<uint64_t>() > uint64_t(INT64_MAX) ? RawCell::Kind::kTooBig : RawCell::Kind::kInt;
    number = int64_t(v.get<uint64_t>());
  } else if (v.is_number_integer()) {
    kind = RawCell::Kind::kInt;
    number = v.get<int64_t>();
  } else if (v.is_number_float()) {
    kind = RawCell::Kind::kFloat;
  } else if (v.is_boolean()) {
    kind = RawCell::Kind::kBool;
  }
  return ValidateCellParts(col, kind, number, text, row_path);
}

Status ValidatePageValue(const ColumnSpec& col, const ColumnValue& v, const std::string& row_path) {
  const RawCell::Kind kind = v.kind == ColumnValue::Kind::kInt    ? RawCell::Kind::kInt
                             : v.kind == ColumnValue::Kind::kText ? RawCell::Kind::kText
                                                                  : RawCell::Kind::kNull;
  return ValidateCellParts(col, kind, v.number, v.text, row_path);
}

std::vector<WireRow> PageRowsOf(PullResponse&& page) {
  std::vector<WireRow> rows = std::move(page.rows);
  for (PageTable& t : page.tables)
    for (PageRow& r : t.rows) rows.push_back(WireRowOf(t, std::move(r)));
  return rows;
}

WireRow WireRowOf(const PageTable& table, PageRow&& row) {
  WireRow w;
  w.table = table.spec->name;
  w.id = std::move(row.id);
  w.version = row.version;
  w.seq = row.seq;
  for (size_t i = 0; i < table.spec->columns.size(); ++i) {
    ColumnValue& v = row.values[i];
    Json& slot = w.values[table.spec->columns[i].name];
    if (v.kind == ColumnValue::Kind::kInt) slot = v.number;
    else if (v.kind == ColumnValue::Kind::kText) slot = std::move(v.text);
  }
  w.clocks = table.clocks[row.clock];
  return w;
}

}  // namespace tillsync
