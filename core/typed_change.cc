#include "core/typed_change.h"

#include <algorithm>

#include "core/protocol.h"

namespace tillsync {

using namespace std::string_view_literals;

TypedChange NewTypedChange(const TableSpec& spec, std::string id) {
  TypedChange c;
  c.spec = &spec;
  c.id = std::move(id);
  c.cells.resize(spec.columns.size());
  return c;
}

ColumnValue* CellOf(TypedChange& change, std::string_view column) {
  const ColumnSpec* col = change.spec->FindColumn(column);
  return col == nullptr ? nullptr : &change.cells[size_t(col - change.spec->columns.data())];
}

const ColumnValue* CellOf(const TypedChange& change, std::string_view column) {
  const ColumnSpec* col = change.spec->FindColumn(column);
  return col == nullptr ? nullptr : &change.cells[size_t(col - change.spec->columns.data())];
}

size_t ColumnIndex(const TableSpec& spec, std::string_view column) {
  const ColumnSpec* col = spec.FindColumn(column);
  return col == nullptr ? spec.columns.size() : size_t(col - spec.columns.data());
}

void SetInt(TypedChange& change, size_t index, int64_t value) {
  if (index >= change.cells.size()) return;
  change.cells[index].kind = ColumnValue::Kind::kInt;
  change.cells[index].number = value;
}

void SetText(TypedChange& change, size_t index, std::string_view value) {
  if (index >= change.cells.size()) return;
  change.cells[index].kind = ColumnValue::Kind::kText;
  change.cells[index].text.assign(value.data(), value.size());
}

Status ValidateTypedChangeValues(const TypedChange& change, size_t index) {
  const TableSpec& spec = *change.spec;
  static const std::string kNoPath;  // the path is built only for a value refused
  for (size_t k = 0; k < spec.columns.size(); ++k) {
    const uint8_t i = spec.columns_by_name[k];
    const ColumnValue& v = change.cells[i];
    if (v.kind == ColumnValue::Kind::kNull) continue;  // left out, as a key the values lack
    if (!ValidatePageValue(spec.columns[i], v, kNoPath).ok())
      return ValidatePageValue(spec.columns[i], v, "changes[" + std::to_string(index) + "].values");
  }
  return Status::Ok();
}

namespace {

// ValidateOperation's IntOr and TextOr on cells: a missing, null or other-kind cell gives the
// fallback.
int64_t IntOr(const TypedChange& c, std::string_view column, int64_t fallback) {
  const ColumnValue* v = CellOf(c, column);
  return v != nullptr && v->kind == ColumnValue::Kind::kInt ? v->number : fallback;
}
std::string_view TextOr(const TypedChange& c, std::string_view column) {
  const ColumnValue* v = CellOf(c, column);
  return v != nullptr && v->kind == ColumnValue::Kind::kText ? std::string_view(v->text) : std::string_view();
}
bool Has(const TypedChange& c, std::string_view column) {
  const ColumnValue* v = CellOf(c, column);
  return v != nullptr && v->kind != ColumnValue::Kind::kNull;
}

// ValidateSale (core/operation.cc) on typed rows: the money of a sale adds up, exactly.
Status ValidateTypedSale(const TypedOperation& op, const TypedChange& order) {
  int64_t subtotal = 0, tax = 0, paid = 0, lines = 0;
  for (const TypedChange& c : op.changes) {
    const std::string_view table = c.spec->name;
    if (table == "order_lines"sv && TextOr(c, "order_id"sv) == order.id) {
      int64_t qty = IntOr(c, "qty"sv, 0), unit = IntOr(c, "unit_price_minor"sv, 0);
      int64_t line_total = IntOr(c, "line_total_minor"sv, -1);
      if (qty * unit != line_total)  // bounded by validation: qty <= 10^6, unit <= 10^12
        return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"order line ", c.id, ": qty x unit price is not the line total"});
      subtotal += line_total;
      tax += IntOr(c, "tax_minor"sv, 0);
      ++lines;
    } else if (table == "payments"sv && TextOr(c, "order_id"sv) == order.id) {
      int64_t amount = IntOr(c, "amount_minor"sv, 0);
      int64_t tendered = IntOr(c, "tendered_minor"sv, 0);
      int64_t change = IntOr(c, "change_minor"sv, 0);
      if (tendered - change != amount)
        return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"payment ", c.id, ": tendered minus change is not the amount"});
      if (TextOr(c, "method"sv) != "cash"sv && change != 0)
        return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"payment ", c.id, ": only cash gives change"});
      paid += amount;
    }
  }
  if (lines == 0) return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"sale ", order.id, " has no lines"});
  if (IntOr(order, "subtotal_minor"sv, -1) != subtotal)
    return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"sale ", order.id, ": subtotal is not the sum of its lines"});
  if (IntOr(order, "tax_minor"sv, -1) != tax)
    return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"sale ", order.id, ": tax is not the sum of its lines' tax"});
  if (IntOr(order, "total_minor"sv, -1) != subtotal + tax)
    return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"sale ", order.id, ": total is not subtotal plus tax"});
  if (paid != subtotal + tax)
    return ErrorWithMessage(ErrorCode::kTotalsMismatch, {"sale ", order.id, ": payments do not add up to the total"});
  return Status::Ok();
}

}  // namespace

Status ValidateTypedOperation(const TypedOperation& op, const Caller& caller) {
  // The orders created here (a sale has one): ValidateOperation keeps them in a map by id and
  // checks their sales in id order; a sorted list of pointers does the same without a node each.
  std::vector<const TypedChange*> new_orders;
  for (const TypedChange& c : op.changes) {
    const std::string_view table = c.spec->name;
    if (c.spec->scope == Scope::kShop) {
      const ColumnValue* shop = CellOf(c, "shop_id"sv);
      if (shop != nullptr && shop->kind != ColumnValue::Kind::kNull &&
          !(shop->kind == ColumnValue::Kind::kText && shop->text == caller.shop_id))
        return ErrorWithMessage(ErrorCode::kShopMismatch, {table, " ", c.id, " names a shop other than the caller's"});
    }
    if ((table == "shops"sv || table == "devices"sv) && !caller.hub_admin)
      return ErrorWithMessage(ErrorCode::kForbidden, {table, " rows are written by the hub only"});
    if (table == "sales_orders"sv && Has(c, "receipt_no"sv)) new_orders.push_back(&c);
    if (table == "sales_orders"sv || table == "expenses"sv) {
      const ColumnValue* device = CellOf(c, "device_id"sv);
      if (device != nullptr && device->kind != ColumnValue::Kind::kNull &&
          !(device->kind == ColumnValue::Kind::kText && device->text == caller.device_id))
        return ErrorWithMessage(ErrorCode::kShopMismatch, {table, " ", c.id, " names a device other than the caller"});
    }
    if (table == "stock_movements"sv && Has(c, "qty_delta"sv)) {
      int64_t q = IntOr(c, "qty_delta"sv, 0);
      const std::string_view kind = TextOr(c, "kind"sv);
      bool ok = q != 0 && (kind == "adjustment" || (kind == "sale" ? q < 0 : q > 0));
      if (!ok)
        return ErrorWithMessage(ErrorCode::kBadQuantity,
                                {"stock movement ", c.id, ": quantity ", std::to_string(q), " does not fit kind ", kind});
    }
  }
  // In id order, the last one written of an id kept: what iterating that map gives. A sale has
  // one order; an insertion keeps that case free of a sort's code in the .wasm.
  std::vector<const TypedChange*> orders;
  for (const TypedChange* o : new_orders) {
    auto at = orders.begin();
    while (at != orders.end() && (*at)->id < o->id) ++at;
    if (at != orders.end() && (*at)->id == o->id) *at = o;
    else orders.insert(at, o);
  }
  for (const TypedChange& c : op.changes) {
    const std::string_view table = c.spec->name;
    if (table == "order_lines"sv || table == "payments"sv) {
      const std::string_view order_id = TextOr(c, "order_id"sv);
      const bool found = std::any_of(orders.begin(), orders.end(),
                                     [&](const TypedChange* o) { return o->id == order_id; });
      if (!found)
        return ErrorWithMessage(ErrorCode::kBadRequest,
                                {table, " ", c.id, " must be written in the same operation as its order"});
    }
  }
  for (const TypedChange* order : orders) TS_RETURN_IF_ERROR(ValidateTypedSale(op, *order));
  return Status::Ok();
}

}  // namespace tillsync
