// Operation: the unit of sync. One local transaction produces one operation: a list of row
// changes that the hub applies all together or not at all. Its id is (device id, seq), chosen
// by the device before the operation is ever sent (seq counts 1, 2, 3... per device), and it
// carries the hybrid clock stamp that orders its column writes, plus the device's wall time as
// data. A sale (order + lines + payment + stock movements) is one operation.
//
// Validation lives here, so the device refuses locally exactly what the hub would refuse:
// - ValidateChangeValues: each value against its column (type, range, length, allowed set);
// - ValidateOperation: the whole operation for a caller: shop scoping, sale totals, quantities.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_reader.h"
#include "core/status.h"
#include "core/table_spec.h"

namespace tillsync {

struct Change {
  std::string table;
  std::string id;
  Json values = Json::object();  // column -> integer | string | null; never `id`
  // For manual and custom tables: the hub version of the row the writer saw (0 = new row).
  // -1: not given.
  int64_t base_version = -1;
};

struct Operation {
  int64_t seq = 0;
  std::string hlc;       // HybridClock text form
  int64_t wall_ms = 0;   // device wall time when written: data, not order
  std::vector<Change> changes;
};

// Who an operation is checked against. The hub fills it from the authenticated token, never
// from the request body; the device fills it from its own identity.
struct Caller {
  std::string shop_id;
  std::string device_id;
  bool hub_admin = false;  // an operator's catalog edit made on the hub
};

constexpr size_t kMaxChangesPerOperation = 256;

Json OperationToJson(const Operation& op);
// DumpJson(OperationToJson(op)), byte for byte, written straight from the Operation without the
// intermediate Json tree: the outbox text of every local write (and the hub's payload hash of
// every pushed operation) is this, so it must not change while operations sit in outboxes.
std::string OperationText(const Operation& op);
// OperationText's layout with `hlc` as the clock's text and each change's values written by
// `write_values`, which may also write another id (*id starts as the change's own) and append
// keys that sort between "id" and "table" (each as `,"key":value`) to `keys_after_id`. The
// outbox's short stored form is this layout with a mask key (core/outbox_text.cc).
using ChangeValuesWriter =
    std::function<void(const Change& change, std::string_view* id, std::string* keys_after_id, std::string* values)>;
std::string OperationTextWith(const Operation& op, std::string_view hlc, const ChangeValuesWriter& write_values);
// The pieces of that layout, for a writer of the same text from values held in another form (a
// sale's typed rows, core/outbox_text.h): the opening; each change (after the first, a comma
// first) as its head, up to its values object, which the caller then writes, and a '}'; the end.
// base_version < 0: none.
constexpr std::string_view kOperationTextStart = "{\"changes\":[";
void AppendChangeHead(int64_t base_version, std::string_view id, std::string_view keys_after_id,
                      std::string_view table, std::string* out);
void AppendOperationTextEnd(std::string_view hlc, int64_t seq, int64_t wall_ms, std::string* out);
// Structural decoding plus per-value validation. `path` prefixes error field names.
Status OperationFromJson(const Json& json, const std::string& path, Operation* out);
// The same, taking each change's values out of `json` instead of copying them (a decoder that
// owns the parsed body and drops it afterwards: the hub decodes every push this way). `json` is
// left with its values moved out, whatever the result.
Status OperationFromJson(Json&& json, const std::string& path, Operation* out);

Status ValidateChangeValues(const TableSpec& spec, const Change& change, const std::string& path);
// The same checks on a bare values object (a pulled row's).
Status ValidateValues(const TableSpec& spec, const Json& values, const std::string& path);
// Whole-operation rules for this caller (run after OperationFromJson).
Status ValidateOperation(const Operation& op, const Caller& caller);

// What those rules read of one change, whatever holds its values (a Json object here, typed
// cells in core/typed_change.h), so that both forms meet one rule set with one set of messages.
// A value the change does not hold is absent; a held value keeps its kind (a null is present,
// of kind kNull; a value of another JSON type is present, of kind kNull too). Views into the
// change, which must outlive the facts.
struct FactValue {
  bool present = false;
  ColumnValue::Kind kind = ColumnValue::Kind::kNull;
  int64_t number = 0;
  std::string_view text;
};
struct ChangeFacts {
  std::string_view table;
  const TableSpec* spec = nullptr;  // nullptr: no such table (refused in the operation's order)
  std::string_view id;
  FactValue shop_id, device_id, receipt_no, subtotal_minor, tax_minor, total_minor, qty_delta, kind, order_id, qty,
      unit_price_minor, line_total_minor, amount_minor, tendered_minor, change_minor, method;
};
// The field of `facts` that the column named `column` fills; nullptr for a column no rule reads.
FactValue* FactOf(ChangeFacts& facts, std::string_view column);
// ValidateOperation's rules on the facts of each change, in the operation's order.
Status ValidateOperationFacts(const std::vector<ChangeFacts>& changes, const Caller& caller);

}  // namespace tillsync
