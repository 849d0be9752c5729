// Protocol: the versioned JSON messages between a device and the hub (push and pull), with
// encoders and validating decoders for both directions. The grammar, field by field, and the
// correctness checklist are in schema/protocol.md; keep the two in step. Decoders accept only
// what the grammar allows: unknown fields, wrong types, out-of-range values are errors with
// stable codes, and nothing is applied from a message that fails to decode.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_reader.h"
#include "core/operation.h"
#include "core/status.h"

namespace tillsync {

constexpr int kProtocolVersion = 1;
// Pull pages come in two forms. Version 1: every row an object with its column names, nulls and
// clocks. Version 2 (columnar): per run of rows of one table the column names once, each row an
// array, a clock shared by many rows written once. A device says in its pull request which form
// it reads ("v"); the hub answers in that form, so devices built before version 2 keep working.
constexpr int kPullPageVersion1 = 1;
constexpr int kPullPageVersion2 = 2;
// Version 3: version 2's columnar page, and a large first download sent in key order. A device
// that reads version 3 may get a `snapshot` position with a page: opaque to it, stored with the
// page's rows and sent back in its next pull, until an answer comes without one (see
// schema/protocol.md, "Initial download in key order").
constexpr int kPullPageVersion3 = 3;
constexpr size_t kMaxSnapshotLength = 200;
constexpr size_t kMaxOpsPerPush = 500;
constexpr int64_t kDefaultPullLimit = 1000;
constexpr int64_t kMaxPullLimit = 5000;

struct PushRequest {
  std::string device_id;
  int64_t schema_version = 0;
  std::vector<Operation> ops;  // consecutive seqs, oldest first
};

enum class OpStatus { kApplied, kRejected, kConflict };
const char* OpStatusName(OpStatus s);

// A row as the hub holds it: what a pull delivers and what a conflict answer shows.
struct TableSpec;

struct WireRow {
  std::string table;
  std::string id;
  Json values = Json::object();
  Json clocks = Json::object();
  int64_t version = 0;
  int64_t seq = 0;
  // The hub's stored clocks text (canonical JSON, as RowStore writes it), when the row comes from
  // its store: the pull encoder writes it as it is instead of `clocks`, which is then left empty,
  // so a page of 5,000 rows does not parse and re-encode 5,000 clocks objects. Decoders never
  // set it.
  std::string clocks_text;
  // The hub's typed values for a version 2 page, when `cells_spec` is set: one cell per column
  // of that table, in TableSpec::columns order (`values` is then left empty). The columnar
  // encoder writes them as AppendJson would write the same values as Json, so a page of 5,000
  // rows builds no Json object per row (the hub's reads of the values into Json were about half
  // of its time per pull page). Decoders never set it.
  const TableSpec* cells_spec = nullptr;
  std::vector<ColumnValue> cells;
};

struct OpResult {
  int64_t seq = 0;
  OpStatus status = OpStatus::kApplied;
  std::string code;     // rejected: the stable error code
  std::string message;  // rejected: why, for a person
  std::vector<WireRow> current;  // conflict: the hub's rows that the stale write met
};

struct PushResponse {
  std::vector<OpResult> results;
  std::string hub_hlc;
};

struct PullRequest {
  std::string device_id;
  int64_t schema_version = 0;
  int64_t cursor = 0;
  int64_t limit = kDefaultPullLimit;
  int page_version = kPullPageVersion3;  // the page form the device reads ("v" of the request)
  std::string snapshot{};  // version 3: the position the last answer gave, "" if none
};

// A row of a columnar page, decoded and checked: values in the order of the table's columns
// (TableSpec::columns, a column the page left out is null).
struct PageRow {
  std::string id;
  int64_t seq = 0;
  int64_t version = 0;
  size_t clock = 0;  // the row's compact clocks: PageTable::clocks[clock]
  std::vector<ColumnValue> values;
};

// A run of consecutive rows of one table in a columnar page.
struct PageTable {
  const TableSpec* spec = nullptr;
  std::vector<Json> clocks;  // the run's distinct compact clocks (rows written together share one)
  std::vector<PageRow> rows;
};

// The same row as a v1 page carries it (values holding every column, nulls included).
WireRow WireRowOf(const PageTable& table, PageRow&& row);

struct PullResponse {
  int page_version = kPullPageVersion1;
  std::vector<WireRow> rows;       // version 1
  std::vector<PageTable> tables;   // versions 2 and 3: runs of rows
  int64_t cursor = 0;     // pass back in the next pull
  std::string snapshot;   // version 3: pass back in the next pull; "" when the answer has none
  bool more = false;      // another page is ready now
  int64_t remaining = 0;  // rows after this page (for progress bars)
  // Sum of row hashes of everything the shop can see, as 16 hex digits. Present only on the last
  // page (more == false), where the device's replica should equal it once its outbox is empty.
  std::string checksum;
  std::string hub_hlc;
};

// A decoded page's rows in the version 1 shape, whichever form it came in (tests and tools; the
// device applies a columnar page's typed rows without this).
std::vector<WireRow> PageRowsOf(PullResponse&& page);

std::string EncodePushRequest(const PushRequest& r);
Status DecodePushRequest(std::string_view body, PushRequest* out);
std::string EncodePushResponse(const PushResponse& r);
Status DecodePushResponse(std::string_view body, PushResponse* out);
std::string EncodePullRequest(const PullRequest& r);
Status DecodePullRequest(std::string_view body, PullRequest* out);
// Writes `r.rows` in the form r.page_version names (tables is not read).
std::string EncodePullResponse(const PullResponse& r);
// Any JSON text: a version 2 page exactly as the hub writes it goes through the scanner
// (core/pull_page_scanner.h), everything else through DecodePullResponseGeneral; both give the
// same page, and every refusal comes from the general decoder.
Status DecodePullResponse(std::string_view body, PullResponse* out);
// The general decoder (both page forms, any spacing and key order, every check with its code).
Status DecodePullResponseGeneral(std::string_view body, PullResponse* out);
// Shared by the two decoders of version 2 pages. The checks a value of a columnar row gets from
// its column (ValidateValues' codes and messages, under `row_path`):
Status ValidatePageValue(const ColumnSpec& col, const ColumnValue& v, const std::string& row_path);
// The same checks on a value of any JSON type: ValidateValues (core/operation.h) checks each value
// of a change or a version 1 row this way, so every value, however it arrived, meets one rule.
Status ValidateJsonValue(const ColumnSpec& col, const Json& v, const std::string& row_path);
// Whether pages of this version are columnar (2 and 3).
inline bool IsColumnarPage(int page_version) { return page_version >= kPullPageVersion2; }

// The answer's own fields besides its rows (cursor, more, remaining, checksum, hub_hlc, snapshot), from its
// top-level object:
Status ReadPullPageFields(const JsonReader& r, PullResponse* resp);

std::string ChecksumHex(uint64_t sum);

}  // namespace tillsync
