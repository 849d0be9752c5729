#include "core/operation.h"

#include <map>
#include <string_view>

#include "core/hybrid_clock.h"
#include "core/protocol.h"

namespace tillsync {

Json OperationToJson(const Operation& op) {
  Json changes = Json::array();
  for (const Change& c : op.changes) {
    Json j = {{"table", c.table}, {"id", c.id}, {"values", c.values}};
    if (c.base_version >= 0) j["base_version"] = c.base_version;
    changes.push_back(std::move(j));
  }
  return Json{{"seq", op.seq}, {"hlc", op.hlc}, {"wall", op.wall_ms}, {"changes", std::move(changes)}};
}

std::string OperationText(const Operation& op) {
  return OperationTextWith(op, op.hlc, [](const Change& c, std::string_view*, std::string*, std::string* values) {
    AppendJson(c.values, values);
  });
}

std::string OperationTextWith(const Operation& op, std::string_view hlc, const ChangeValuesWriter& write_values) {
  std::string out;
  out.reserve(256 + 200 * op.changes.size());
  std::string keys_after_id, values;  // reused across changes
  out += kOperationTextStart;
  for (size_t i = 0; i < op.changes.size(); ++i) {
    const Change& c = op.changes[i];
    if (i > 0) out.push_back(',');
    std::string_view id = c.id;
    keys_after_id.clear();
    values.clear();
    write_values(c, &id, &keys_after_id, &values);
    AppendChangeText(c.base_version, id, keys_after_id, c.table, values, &out);
  }
  AppendOperationTextEnd(hlc, op.seq, op.wall_ms, &out);
  return out;
}

// Keys in nlohmann's (sorted) order: changes, hlc, seq, wall; base_version, id, table, values.
void AppendChangeText(int64_t base_version, std::string_view id, std::string_view keys_after_id,
                      std::string_view table, std::string_view values, std::string* out) {
  out->push_back('{');
  if (base_version >= 0) {
    *out += "\"base_version\":";
    *out += std::to_string(base_version);
    out->push_back(',');
  }
  *out += "\"id\":";
  AppendJsonString(id, out);
  *out += keys_after_id;
  *out += ",\"table\":";
  AppendJsonString(table, out);
  *out += ",\"values\":";
  *out += values;
  out->push_back('}');
}

void AppendOperationTextEnd(std::string_view hlc, int64_t seq, int64_t wall_ms, std::string* out) {
  *out += "],\"hlc\":";
  AppendJsonString(hlc, out);
  *out += ",\"seq\":";
  *out += std::to_string(seq);
  *out += ",\"wall\":";
  *out += std::to_string(wall_ms);
  out->push_back('}');
}

Status ValidateChangeValues(const TableSpec& spec, const Change& change, const std::string& path) {
  return ValidateValues(spec, change.values, path);
}

Status ValidateValues(const TableSpec& spec, const Json& values, const std::string& path) {
  if (!values.is_object()) return Status(ErrorCode::kBadRequest, path + ".values must be an object");
  static const std::string kNoPath;  // the path is built only for a value refused
  for (auto it = values.begin(); it != values.end(); ++it) {
    const ColumnSpec* col = spec.FindColumn(it.key());
    if (col == nullptr)
      return Status(ErrorCode::kUnknownColumn, "table " + std::string(spec.name) + " has no column " + it.key(),
                    Json{{"field", path + ".values." + it.key()}}.dump());
    // The page values' checks (core/protocol.h), one rule for every value however it arrives.
    if (!ValidateJsonValue(*col, *it, kNoPath).ok()) return ValidateJsonValue(*col, *it, path + ".values");
  }
  return Status::Ok();
}

namespace {

// `movable`, when given, is `json` itself, from which the values may be taken.
Status DecodeOperation(const Json& json, Json* movable, const std::string& path, Operation* out) {
  JsonReader r(json, path);
  TS_RETURN_IF_ERROR(r.ExpectObject({"seq", "hlc", "wall", "changes"}));
  Operation op;
  TS_RETURN_IF_ERROR(r.Int("seq", &op.seq));
  if (op.seq < 1) return Status(ErrorCode::kBadValue, r.Path("seq") + " must be 1 or more");
  TS_RETURN_IF_ERROR(r.String("hlc", &op.hlc, 100));
  HlcTimestamp ts;
  Status hs = HlcTimestamp::Parse(op.hlc, &ts);
  if (!hs.ok()) return Status(ErrorCode::kBadValue, r.Path("hlc") + ": " + hs.message());
  TS_RETURN_IF_ERROR(r.Int("wall", &op.wall_ms));
  const Json* changes = nullptr;
  TS_RETURN_IF_ERROR(r.Array("changes", &changes, kMaxChangesPerOperation));
  if (changes->empty()) return Status(ErrorCode::kBadRequest, r.Path("changes") + " is empty");
  for (size_t i = 0; i < changes->size(); ++i) {
    const std::string cpath = r.Path("changes") + "[" + std::to_string(i) + "]";
    JsonReader cr((*changes)[i], cpath);
    TS_RETURN_IF_ERROR(cr.ExpectObject({"table", "id", "values", "base_version"}));
    Change c;
    TS_RETURN_IF_ERROR(cr.String("table", &c.table, 64));
    const TableSpec* spec = FindTable(c.table);
    if (spec == nullptr) return Status(ErrorCode::kUnknownTable, "unknown table " + cr.Path("table"));
    TS_RETURN_IF_ERROR(cr.String("id", &c.id, 1024));
    if (!IsValidId(c.id)) return Status(ErrorCode::kBadId, cr.Path("id") + " must be 1 to 64 characters of A-Z a-z 0-9 _ . : -");
    const Json* values = nullptr;
    TS_RETURN_IF_ERROR(cr.Object("values", &values));
    if (movable != nullptr) c.values = std::move((*movable)["changes"][i]["values"]);
    else c.values = *values;
    bool has_base = false;
    TS_RETURN_IF_ERROR(cr.OptionalInt("base_version", &c.base_version, &has_base));
    if (!has_base) c.base_version = -1;
    else if (c.base_version < 0) return Status(ErrorCode::kBadValue, cr.Path("base_version") + " must be 0 or more");
    TS_RETURN_IF_ERROR(ValidateChangeValues(*spec, c, cpath));
    op.changes.push_back(std::move(c));
  }
  *out = std::move(op);
  return Status::Ok();
}

}  // namespace

Status OperationFromJson(const Json& json, const std::string& path, Operation* out) {
  return DecodeOperation(json, nullptr, path, out);
}

Status OperationFromJson(Json&& json, const std::string& path, Operation* out) {
  return DecodeOperation(json, &json, path, out);
}

namespace {

// Keys and table names below are string_views: a comparison then checks lengths before bytes
// (a sale is validated on the device and again at the hub, a few hundred comparisons each).
using namespace std::string_view_literals;

int64_t IntOr(const Json& values, std::string_view key, int64_t fallback) {
  auto it = values.find(key);
  return (it != values.end() && it->is_number_integer()) ? it->get<int64_t>() : fallback;
}
// The text under `key`, empty when absent or not text; a view into `values`.
std::string_view TextOr(const Json& values, std::string_view key) {
  auto it = values.find(key);
  return (it != values.end() && it->is_string()) ? std::string_view(it->get_ref<const std::string&>()) : std::string_view();
}

// A sale is recorded as one operation: the order row, its lines and its payments together.
// Checks that the money adds up, in integer minor units, exactly.
Status ValidateSale(const Operation& op, const Change& order) {
  int64_t subtotal = 0, tax = 0, paid = 0, lines = 0;
  for (const Change& c : op.changes) {
    if (c.table == "order_lines"sv && TextOr(c.values, "order_id"sv) == order.id) {
      int64_t qty = IntOr(c.values, "qty"sv, 0), unit = IntOr(c.values, "unit_price_minor"sv, 0);
      int64_t line_total = IntOr(c.values, "line_total_minor"sv, -1);
      if (qty * unit != line_total)  // bounded: qty <= 10^6, unit <= 10^12, fits in int64
        return Status(ErrorCode::kTotalsMismatch, "order line " + c.id + ": qty x unit price is not the line total");
      subtotal += line_total;
      tax += IntOr(c.values, "tax_minor"sv, 0);
      ++lines;
    } else if (c.table == "payments"sv && TextOr(c.values, "order_id"sv) == order.id) {
      int64_t amount = IntOr(c.values, "amount_minor"sv, 0);
      int64_t tendered = IntOr(c.values, "tendered_minor"sv, 0);
      int64_t change = IntOr(c.values, "change_minor"sv, 0);
      if (tendered - change != amount)
        return Status(ErrorCode::kTotalsMismatch, "payment " + c.id + ": tendered minus change is not the amount");
      if (TextOr(c.values, "method"sv) != "cash"sv && change != 0)
        return Status(ErrorCode::kTotalsMismatch, "payment " + c.id + ": only cash gives change");
      paid += amount;
    }
  }
  if (lines == 0) return Status(ErrorCode::kTotalsMismatch, "sale " + order.id + " has no lines");
  if (IntOr(order.values, "subtotal_minor"sv, -1) != subtotal)
    return Status(ErrorCode::kTotalsMismatch, "sale " + order.id + ": subtotal is not the sum of its lines");
  if (IntOr(order.values, "tax_minor"sv, -1) != tax)
    return Status(ErrorCode::kTotalsMismatch, "sale " + order.id + ": tax is not the sum of its lines' tax");
  if (IntOr(order.values, "total_minor"sv, -1) != subtotal + tax)
    return Status(ErrorCode::kTotalsMismatch, "sale " + order.id + ": total is not subtotal plus tax");
  if (paid != subtotal + tax)
    return Status(ErrorCode::kTotalsMismatch, "sale " + order.id + ": payments do not add up to the total");
  return Status::Ok();
}

}  // namespace

Status ValidateOperation(const Operation& op, const Caller& caller) {
  std::map<std::string, const Change*> new_orders;  // orders created (with full values) here
  for (const Change& c : op.changes) {
    const TableSpec* spec = FindTable(c.table);
    if (spec == nullptr) return Status(ErrorCode::kUnknownTable, "unknown table " + c.table);
    if (spec->scope == Scope::kShop) {
      auto it = c.values.find("shop_id"sv);
      if (it != c.values.end() && !(it->is_string() && *it == caller.shop_id))
        return Status(ErrorCode::kShopMismatch, c.table + " " + c.id + " names a shop other than the caller's");
    }
    if ((c.table == "shops"sv || c.table == "devices"sv) && !caller.hub_admin)
      return Status(ErrorCode::kForbidden, c.table + " rows are written by the hub only");
    if (c.table == "sales_orders"sv && c.values.contains("receipt_no"sv)) new_orders[c.id] = &c;
    if (c.table == "sales_orders"sv || c.table == "expenses"sv) {
      auto it = c.values.find("device_id"sv);
      if (it != c.values.end() && !(it->is_string() && *it == caller.device_id))
        return Status(ErrorCode::kShopMismatch, c.table + " " + c.id + " names a device other than the caller");
    }
    if (c.table == "stock_movements"sv && c.values.contains("qty_delta"sv)) {
      int64_t q = IntOr(c.values, "qty_delta"sv, 0);
      const std::string_view kind = TextOr(c.values, "kind"sv);
      bool ok = q != 0 && (kind == "adjustment" || (kind == "sale" ? q < 0 : q > 0));
      if (!ok) return Status(ErrorCode::kBadQuantity, "stock movement " + c.id + ": quantity " + std::to_string(q) + " does not fit kind " + std::string(kind));
    }
  }
  for (const Change& c : op.changes) {
    if (c.table == "order_lines"sv || c.table == "payments"sv) {
      const std::string order_id(TextOr(c.values, "order_id"sv));
      if (new_orders.find(order_id) == new_orders.end())
        return Status(ErrorCode::kBadRequest, c.table + " " + c.id + " must be written in the same operation as its order");
    }
  }
  for (const auto& [id, order] : new_orders) TS_RETURN_IF_ERROR(ValidateSale(op, *order));
  return Status::Ok();
}

}  // namespace tillsync
