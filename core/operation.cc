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
    AppendChangeHead(c.base_version, id, keys_after_id, c.table, &out);
    out += values;
    out.push_back('}');
  }
  AppendOperationTextEnd(hlc, op.seq, op.wall_ms, &out);
  return out;
}

// Keys in nlohmann's (sorted) order: changes, hlc, seq, wall; base_version, id, table, values.
void AppendChangeHead(int64_t base_version, std::string_view id, std::string_view keys_after_id,
                      std::string_view table, std::string* out) {
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

// The columns the rules read, and where each goes in ChangeFacts.
struct FactColumn {
  std::string_view column;
  FactValue ChangeFacts::*field;
};
constexpr FactColumn kFactColumns[] = {
    {"shop_id", &ChangeFacts::shop_id},
    {"device_id", &ChangeFacts::device_id},
    {"receipt_no", &ChangeFacts::receipt_no},
    {"subtotal_minor", &ChangeFacts::subtotal_minor},
    {"tax_minor", &ChangeFacts::tax_minor},
    {"total_minor", &ChangeFacts::total_minor},
    {"qty_delta", &ChangeFacts::qty_delta},
    {"kind", &ChangeFacts::kind},
    {"order_id", &ChangeFacts::order_id},
    {"qty", &ChangeFacts::qty},
    {"unit_price_minor", &ChangeFacts::unit_price_minor},
    {"line_total_minor", &ChangeFacts::line_total_minor},
    {"amount_minor", &ChangeFacts::amount_minor},
    {"tendered_minor", &ChangeFacts::tendered_minor},
    {"change_minor", &ChangeFacts::change_minor},
    {"method", &ChangeFacts::method},
};

int64_t IntOr(const FactValue& v, int64_t fallback) {
  return v.kind == ColumnValue::Kind::kInt ? v.number : fallback;
}
// The text, empty when absent or not text.
std::string_view TextOr(const FactValue& v) {
  return v.kind == ColumnValue::Kind::kText ? v.text : std::string_view();
}

// A sale is recorded as one operation: the order row, its lines and its payments together.
// Checks that the money adds up, in integer minor units, exactly.
Status ValidateSale(const std::vector<ChangeFacts>& changes, const ChangeFacts& order) {
  int64_t subtotal = 0, tax = 0, paid = 0, lines = 0;
  for (const ChangeFacts& c : changes) {
    if (c.table == "order_lines"sv && TextOr(c.order_id) == order.id) {
      int64_t qty = IntOr(c.qty, 0), unit = IntOr(c.unit_price_minor, 0);
      int64_t line_total = IntOr(c.line_total_minor, -1);
      if (qty * unit != line_total)  // bounded: qty <= 10^6, unit <= 10^12, fits in int64
        return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"order line ", c.id, ": qty x unit price is not the line total"});
      subtotal += line_total;
      tax += IntOr(c.tax_minor, 0);
      ++lines;
    } else if (c.table == "payments"sv && TextOr(c.order_id) == order.id) {
      int64_t amount = IntOr(c.amount_minor, 0);
      int64_t tendered = IntOr(c.tendered_minor, 0);
      int64_t change = IntOr(c.change_minor, 0);
      if (tendered - change != amount)
        return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"payment ", c.id, ": tendered minus change is not the amount"});
      if (TextOr(c.method) != "cash"sv && change != 0)
        return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"payment ", c.id, ": only cash gives change"});
      paid += amount;
    }
  }
  if (lines == 0) return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"sale ", order.id, " has no lines"});
  if (IntOr(order.subtotal_minor, -1) != subtotal)
    return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"sale ", order.id, ": subtotal is not the sum of its lines"});
  if (IntOr(order.tax_minor, -1) != tax)
    return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"sale ", order.id, ": tax is not the sum of its lines' tax"});
  if (IntOr(order.total_minor, -1) != subtotal + tax)
    return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"sale ", order.id, ": total is not subtotal plus tax"});
  if (paid != subtotal + tax)
    return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"sale ", order.id, ": payments do not add up to the total"});
  return Status::Ok();
}

}  // namespace

FactValue* FactOf(ChangeFacts& facts, std::string_view column) {
  for (const FactColumn& f : kFactColumns)
    if (f.column == column) return &(facts.*f.field);
  return nullptr;
}

Status ValidateOperationFacts(const std::vector<ChangeFacts>& changes, const Caller& caller) {
  // The orders created (with full values) here, in id order, the last written of an id kept (a
  // map by id did that; a sale has one order, and an insertion into a short list costs no node).
  std::vector<const ChangeFacts*> new_orders;
  for (const ChangeFacts& c : changes) {
    if (c.spec == nullptr) return ErrorWithMessage(ErrorCode::kUnknownTable, {"unknown table ", c.table});
    if (c.spec->scope == Scope::kShop && c.shop_id.present &&
        !(c.shop_id.kind == ColumnValue::Kind::kText && c.shop_id.text == caller.shop_id))
      return ErrorWithMessage(ErrorCode::kShopMismatch, {c.table, " ", c.id, " names a shop other than the caller's"});
    if ((c.table == "shops"sv || c.table == "devices"sv) && !caller.hub_admin)
      return ErrorWithMessage(ErrorCode::kForbidden, {c.table, " rows are written by the hub only"});
    if (c.table == "sales_orders"sv && c.receipt_no.present) {
      auto at = new_orders.begin();
      while (at != new_orders.end() && (*at)->id < c.id) ++at;
      if (at != new_orders.end() && (*at)->id == c.id) *at = &c;
      else new_orders.insert(at, &c);
    }
    if ((c.table == "sales_orders"sv || c.table == "expenses"sv) && c.device_id.present &&
        !(c.device_id.kind == ColumnValue::Kind::kText && c.device_id.text == caller.device_id))
      return ErrorWithMessage(ErrorCode::kShopMismatch, {c.table, " ", c.id, " names a device other than the caller"});
    if (c.table == "stock_movements"sv && c.qty_delta.present) {
      int64_t q = IntOr(c.qty_delta, 0);
      const std::string_view kind = TextOr(c.kind);
      bool ok = q != 0 && (kind == "adjustment" || (kind == "sale" ? q < 0 : q > 0));
      if (!ok)
        return ErrorWithMessage(ErrorCode::kBadQuantity,
                                {"stock movement ", c.id, ": quantity ", std::to_string(q), " does not fit kind ", kind});
    }
  }
  for (const ChangeFacts& c : changes) {
    if (c.table == "order_lines"sv || c.table == "payments"sv) {
      const std::string_view order_id = TextOr(c.order_id);
      bool found = false;
      for (const ChangeFacts* o : new_orders) found = found || o->id == order_id;
      if (!found)
        return ErrorWithMessage(ErrorCode::kBadRequest, {c.table, " ", c.id, " must be written in the same operation as its order"});
    }
  }
  for (const ChangeFacts* order : new_orders) TS_RETURN_IF_ERROR(ValidateSale(changes, *order));
  return Status::Ok();
}

Status ValidateOperation(const Operation& op, const Caller& caller) {
  // The facts of each change from its values object (views into `op`, which outlives them).
  std::vector<ChangeFacts> facts(op.changes.size());
  for (size_t i = 0; i < op.changes.size(); ++i) {
    const Change& c = op.changes[i];
    ChangeFacts& f = facts[i];
    f.table = c.table;
    f.spec = FindTable(c.table);
    f.id = c.id;
    if (!c.values.is_object()) continue;
    for (auto it = c.values.begin(); it != c.values.end(); ++it) {
      FactValue* v = FactOf(f, it.key());
      if (v == nullptr) continue;
      v->present = true;
      if (it->is_number_integer()) {
        v->kind = ColumnValue::Kind::kInt;
        v->number = it->get<int64_t>();
      } else if (it->is_string()) {
        v->kind = ColumnValue::Kind::kText;
        v->text = it->get_ref<const std::string&>();
      }
    }
  }
  return ValidateOperationFacts(facts, caller);
}

}  // namespace tillsync
