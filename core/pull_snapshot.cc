#include "core/pull_snapshot.h"

#include <algorithm>

namespace tillsync {
namespace {

// A non-negative decimal integer, digits only, that fits in int64_t.
bool ParseCount(const std::string& text, int64_t* out) {
  if (text.empty() || text.size() > 18) return false;  // 18 digits: never overflows
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::string FormatSnapshotPosition(const SnapshotPosition& p) {
  if (p.in_shop) return std::to_string(p.through) + " " + std::to_string(p.shop_seq);
  return std::to_string(p.through) + " " + std::to_string(p.catalog_left) + " " + p.table + " " + p.id;
}

Status ParseSnapshotPosition(const std::string& text, SnapshotPosition* out) {
  const Status refused(ErrorCode::kBadValue, "snapshot is not a position this hub gave: \"" + text + "\"");
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    size_t space = text.find(' ', start);
    fields.push_back(text.substr(start, space == std::string::npos ? std::string::npos : space - start));
    if (space == std::string::npos) break;
    start = space + 1;
  }
  SnapshotPosition p;
  if ((fields.size() != 2 && fields.size() != 4) || !ParseCount(fields[0], &p.through)) return refused;
  if (fields.size() == 2) {
    p.in_shop = true;
    if (!ParseCount(fields[1], &p.shop_seq) || p.shop_seq > p.through) return refused;
  } else {
    const TableSpec* spec = FindTable(fields[2]);
    if (!ParseCount(fields[1], &p.catalog_left) || spec == nullptr || spec->scope != Scope::kCatalog ||
        !IsValidId(fields[3]))
      return refused;
    p.table = fields[2];
    p.id = fields[3];
  }
  *out = std::move(p);
  return Status::Ok();
}

const std::vector<const TableSpec*>& SnapshotCatalogTables() {
  static const std::vector<const TableSpec*> tables = [] {
    std::vector<const TableSpec*> t;
    for (const TableSpec& spec : AllTables())
      if (spec.scope == Scope::kCatalog) t.push_back(&spec);
    std::sort(t.begin(), t.end(), [](const TableSpec* a, const TableSpec* b) { return a->name < b->name; });
    return t;
  }();
  return tables;
}

}  // namespace tillsync
