#include "core/typed_change.h"

#include "core/protocol.h"

namespace tillsync {

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

Status ValidateTypedOperation(const TypedOperation& op, const Caller& caller) {
  // The facts of each change from its cells (views into `op`): a null cell is absent, as the key
  // a Json object lacks.
  std::vector<ChangeFacts> facts(op.changes.size());
  for (size_t i = 0; i < op.changes.size(); ++i) {
    const TypedChange& c = op.changes[i];
    const TableSpec& spec = *c.spec;
    ChangeFacts& f = facts[i];
    f.table = spec.name;
    f.spec = &spec;
    f.id = c.id;
    for (size_t k = 0; k < spec.columns.size(); ++k) {
      const ColumnValue& cell = c.cells[k];
      if (cell.kind == ColumnValue::Kind::kNull) continue;
      FactValue* v = FactOf(f, spec.columns[k].name);
      if (v == nullptr) continue;
      v->present = true;
      v->kind = cell.kind;
      v->number = cell.number;
      v->text = cell.text;
    }
  }
  return ValidateOperationFacts(facts, caller);
}

}  // namespace tillsync
