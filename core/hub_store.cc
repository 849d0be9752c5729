#include "core/hub_store.h"

namespace tillsync {

Status HubStore::LoadRowCells(const TableSpec& spec, const std::string& id, std::vector<ColumnValue>* cells,
                              bool* exists) {
  Json values;
  TS_RETURN_IF_ERROR(LoadRowValues(spec, id, &values, exists));
  cells->assign(spec.columns.size(), ColumnValue());
  if (!*exists) return Status::Ok();
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    auto it = values.find(spec.columns[i].name);
    if (it == values.end()) continue;  // null
    ColumnValue& cell = (*cells)[i];
    if (it->is_number_integer()) {
      cell.kind = ColumnValue::Kind::kInt;
      cell.number = it->get<int64_t>();
    } else if (it->is_string()) {
      cell.kind = ColumnValue::Kind::kText;
      cell.text = it->get<std::string>();
    }
  }
  return Status::Ok();
}

}  // namespace tillsync
