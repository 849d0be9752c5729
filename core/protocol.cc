#include "core/protocol.h"

#include <cstdio>

#include "core/hybrid_clock.h"
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

  bool null() { return Scalar(Json(nullptr)); }
  bool boolean(bool v) { return Scalar(Json(v)); }
  bool number_integer(Json::number_integer_t v) { return Scalar(Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return Scalar(Json(v)); }
  bool number_float(Json::number_float_t v, const std::string&) { return Scalar(Json(v)); }
  bool string(std::string& v) { return Scalar(Json(std::move(v))); }
  bool binary(Json::binary_t&) { return false; }  // never produced by the JSON lexer
  bool start_object(size_t) { return Start(/*array=*/false); }
  bool start_array(size_t) { return Start(/*array=*/true); }
  bool end_object() { return End(); }
  bool end_array() { return End(); }
  bool key(std::string& k) {
    if (!streaming_) {
      // A "rows" key of the top level, first or repeated: the last one is the page (as in the DOM).
      if (top_.depth() == 1 && top_.InObject()) {
        rows_key_pending_ = (k == "rows");
        if (rows_key_pending_) ResetRows();
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

  bool Scalar(Json&& v) {
    if (!streaming_) {
      rows_key_pending_ = false;
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
      } else if (array) {
        top_.StartArray();
      } else {
        top_.StartObject();
      }
      rows_key_pending_ = false;
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
  for (size_t i = 0; i < ops->size(); ++i) {
    Operation op;
    TS_RETURN_IF_ERROR(OperationFromJson((*ops)[i], "ops[" + std::to_string(i) + "]", &op));
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
  return DumpJson(Json{{"v", kProtocolVersion}, {"device_id", r.device_id}, {"schema_version", r.schema_version},
                       {"cursor", r.cursor}, {"limit", r.limit}});
}

Status DecodePullRequest(std::string_view body, PullRequest* out) {
  Json j;
  TS_RETURN_IF_ERROR(ParseJson(body, &j));
  JsonReader r(j, "");
  TS_RETURN_IF_ERROR(r.ExpectObject({"v", "device_id", "schema_version", "cursor", "limit"}));
  TS_RETURN_IF_ERROR(ReadVersion(r));
  PullRequest req;
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

std::string EncodePullResponse(const PullResponse& r) {
  // Written out directly rather than through a DOM of the whole page (up to 5,000 rows): the same
  // bytes DumpJson would give (keys in sorted order, compact), without copying every row's values
  // into a second tree first.
  std::string out;
  out.reserve(64 + r.rows.size() * 320);
  out += "{";
  if (!r.checksum.empty()) out += "\"checksum\":" + DumpJson(Json(r.checksum)) + ",";
  out += "\"cursor\":" + std::to_string(r.cursor);
  out += ",\"hub_hlc\":" + DumpJson(Json(r.hub_hlc));
  out += r.more ? ",\"more\":true" : ",\"more\":false";
  out += ",\"remaining\":" + std::to_string(r.remaining);
  out += ",\"rows\":[";
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const WireRow& row = r.rows[i];
    if (i > 0) out += ",";
    out += "{\"clocks\":";
    out += DumpJson(row.clocks);
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

Status DecodePullResponse(std::string_view body, PullResponse* out) {
  // Streamed (see PullPageHandler): a page of 5,000 rows is never one DOM. The checks and their
  // order are those of decoding the whole DOM first.
  PullPageHandler page;
  if (!Json::sax_parse(body.begin(), body.end(), &page))
    return Status(ErrorCode::kBadJson, "body is not valid JSON");
  Json& j = page.top();
  JsonReader r(j, "");
  TS_RETURN_IF_ERROR(r.ExpectObject({"v", "rows", "cursor", "more", "remaining", "checksum", "hub_hlc"}));
  TS_RETURN_IF_ERROR(ReadVersion(r));
  PullResponse resp;
  if (!page.rows_streamed()) {
    // "rows" missing or not an array: the reader's own error.
    const Json* rows = nullptr;
    TS_RETURN_IF_ERROR(r.Array("rows", &rows, size_t(kMaxPullLimit)));
  }
  if (page.row_count() > size_t(kMaxPullLimit))
    return Status(ErrorCode::kTooLarge, "rows has more than " + std::to_string(kMaxPullLimit) + " items");
  TS_RETURN_IF_ERROR(page.row_error());
  resp.rows = std::move(page.rows());
  TS_RETURN_IF_ERROR(r.Int("cursor", &resp.cursor));
  bool present = false;
  TS_RETURN_IF_ERROR(r.Bool("more", &resp.more, &present));
  if (!present) return Status(ErrorCode::kBadRequest, "missing field more");
  TS_RETURN_IF_ERROR(r.Int("remaining", &resp.remaining));
  if (r.Has("checksum")) {
    TS_RETURN_IF_ERROR(r.String("checksum", &resp.checksum, 16));
    if (resp.checksum.size() != 16) return Status(ErrorCode::kBadValue, "checksum must be 16 hex digits");
  }
  TS_RETURN_IF_ERROR(r.String("hub_hlc", &resp.hub_hlc, 100));
  HlcTimestamp ts;
  TS_RETURN_IF_ERROR(HlcTimestamp::Parse(resp.hub_hlc, &ts));
  *out = std::move(resp);
  return Status::Ok();
}

}  // namespace tillsync
