#include "core/table_spec.h"

#include "core/cold_code.h"

namespace tillsync {
namespace {

using T = ColumnType;

// Built once per process (AllTables).
TS_COLD std::vector<TableSpec> MakeTables() {
  const ColumnSpec origin{"origin_shop_id", T::kText, false, 0, kMaxIdLength};
  const ColumnSpec modified_by{"last_modified_shop_id", T::kText, false, 0, kMaxIdLength};
  const ColumnSpec modified_at{"last_modified_at", T::kInteger, false, 0, INT64_MAX};
  const ColumnSpec shop{"shop_id", T::kText, true, 1, kMaxIdLength};
  const ColumnSpec created{"created_at", T::kInteger, true, 0, INT64_MAX};
  std::vector<TableSpec> t;
  t.push_back({"shops", Scope::kShop, MergeRule::kHubWins,
               {shop, {"name", T::kText, true, 1, 120}, {"currency", T::kText, true, 3, 3}, created}});
  t.push_back({"devices", Scope::kShop, MergeRule::kHubWins,
               {shop, {"name", T::kText, true, 1, 120}, {"receipt_prefix", T::kText, true, 1, 16},
                created}});
  t.push_back({"categories", Scope::kCatalog, MergeRule::kHubWins,
               {{"name", T::kText, true, 1, 120},
                {"sort_order", T::kInteger, true, -1'000'000, 1'000'000},
                {"active", T::kBool, true},
                origin, modified_by, modified_at},
               true});
  t.push_back({"products", Scope::kCatalog, MergeRule::kLastWriterWins,
               {{"category_id", T::kText, false, 0, kMaxIdLength},
                {"name", T::kText, true, 1, 200},
                {"sku", T::kText, false, 0, 64},
                {"barcode", T::kText, false, 0, 64},
                {"price_minor", T::kMoney, true, 0, kMaxMoney},
                {"tax_rate_bp", T::kInteger, true, 0, 10000},
                {"active", T::kBool, true},
                origin, modified_by, modified_at},
               true});
  t.push_back({"customers", Scope::kShop, MergeRule::kManual,
               {shop, {"name", T::kText, true, 1, 200}, {"phone", T::kText, false, 0, 40},
                {"email", T::kText, false, 0, 200}, {"notes", T::kText, false, 0, 2000}}});
  TableSpec orders{"sales_orders", Scope::kShop, MergeRule::kMonotonicStatus,
                   {shop, {"device_id", T::kText, true, 1, kMaxIdLength},
                    {"receipt_no", T::kText, true, 1, 40},
                    {"status", T::kEnum, true, 0, 0, {"completed", "refunded", "voided"}},
                    {"customer_id", T::kText, false, 0, kMaxIdLength},
                    {"subtotal_minor", T::kMoney, true, 0, kMaxMoney},
                    {"tax_minor", T::kMoney, true, 0, kMaxMoney},
                    {"total_minor", T::kMoney, true, 0, kMaxMoney},
                    {"currency", T::kText, true, 3, 3},
                    created}};
  orders.status_column = "status";
  t.push_back(orders);
  t.push_back({"order_lines", Scope::kShop, MergeRule::kAppendOnly,
               {{"order_id", T::kText, true, 1, kMaxIdLength}, shop,
                {"product_id", T::kText, true, 1, kMaxIdLength},
                {"name", T::kText, true, 1, 200},
                {"qty", T::kInteger, true, 1, kMaxQuantity},
                {"unit_price_minor", T::kMoney, true, 0, kMaxMoney},
                {"tax_minor", T::kMoney, true, 0, kMaxMoney},
                {"line_total_minor", T::kMoney, true, 0, kMaxMoney}}});
  t.push_back({"payments", Scope::kShop, MergeRule::kAppendOnly,
               {{"order_id", T::kText, true, 1, kMaxIdLength}, shop,
                {"method", T::kEnum, true, 0, 0, {"cash", "card", "other"}},
                {"amount_minor", T::kMoney, true, 0, kMaxMoney},
                {"tendered_minor", T::kMoney, true, 0, kMaxMoney},
                {"change_minor", T::kMoney, true, 0, kMaxMoney}}});
  t.push_back({"expenses", Scope::kShop, MergeRule::kAppendOnly,
               {shop, {"device_id", T::kText, true, 1, kMaxIdLength},
                {"description", T::kText, true, 1, 500},
                {"amount_minor", T::kMoney, true, 1, kMaxMoney}, created}});
  t.push_back({"stock_movements", Scope::kShop, MergeRule::kMovement,
               {shop, {"product_id", T::kText, true, 1, kMaxIdLength},
                {"qty_delta", T::kInteger, true, -kMaxQuantity, kMaxQuantity},
                {"kind", T::kEnum, true, 0, 0, {"receipt", "adjustment", "sale", "void", "refund"}},
                {"ref_id", T::kText, false, 0, kMaxIdLength}, created}});
  return t;
}

}  // namespace

const char* MergeRuleName(MergeRule rule) {
  switch (rule) {
    case MergeRule::kLastWriterWins: return "lww";
    case MergeRule::kHubWins: return "hub_wins";
    case MergeRule::kAppendOnly: return "append_only";
    case MergeRule::kMonotonicStatus: return "monotonic_status";
    case MergeRule::kMovement: return "movement";
    case MergeRule::kManual: return "manual";
    case MergeRule::kCustom: return "custom";
  }
  return "lww";
}

namespace {

// `name` equals the C string `c`. Compared in one pass, stopping at the first difference:
// `name == c` measured `c`'s length first (a strlen per candidate; a sale looks up about 240
// columns and tables, nearly all of them misses on the first byte).
bool SameName(std::string_view name, const char* c) {
  size_t i = 0;
  while (i < name.size() && c[i] != '\0' && c[i] == name[i]) ++i;
  return i == name.size() && c[i] == '\0';
}

}  // namespace

const ColumnSpec* TableSpec::FindColumn(std::string_view name) const {
  for (const ColumnSpec& c : columns)
    if (SameName(name, c.name)) return &c;
  return nullptr;
}

int TableSpec::StatusRank(std::string_view value) const {
  const ColumnSpec* c = status_column ? FindColumn(status_column) : nullptr;
  if (c == nullptr) return -1;
  for (size_t i = 0; i < c->allowed.size(); ++i)
    if (value == c->allowed[i]) return int(i);
  return -1;
}

namespace {

TS_COLD std::vector<TableSpec> MakeTablesWithNameOrder() {
  std::vector<TableSpec> tables = MakeTables();
  for (TableSpec& t : tables) {
    // An insertion sort of a dozen columns at most: no sort's code in the .wasm for it.
    // (table_spec_test checks every table fits kMaxColumns.)
    for (size_t i = 0; i < t.columns.size() && i < TableSpec::kMaxColumns; ++i) {
      size_t at = i;
      for (; at > 0 && std::string_view(t.columns[i].name) < t.columns[t.columns_by_name[at - 1]].name; --at)
        t.columns_by_name[at] = t.columns_by_name[at - 1];
      t.columns_by_name[at] = uint8_t(i);
    }
  }
  return tables;
}

}  // namespace

const std::vector<TableSpec>& AllTables() {
  static const std::vector<TableSpec>* tables = new std::vector<TableSpec>(MakeTablesWithNameOrder());
  return *tables;
}

const TableSpec* FindTable(std::string_view name) {
  for (const TableSpec& t : AllTables())
    if (SameName(name, t.name)) return &t;
  return nullptr;
}

namespace {

// The bytes an id may hold (A-Z a-z 0-9 _ - . :), one table lookup per byte: a sale checks about
// 40 ids of 10 to 40 bytes each, on the device and again at the hub.
struct IdBytes {
  bool ok[256] = {};
  constexpr IdBytes() {
    for (int c = 'a'; c <= 'z'; ++c) ok[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) ok[c] = true;
    for (int c = '0'; c <= '9'; ++c) ok[c] = true;
    ok[int('_')] = ok[int('-')] = ok[int('.')] = ok[int(':')] = true;
  }
};
constexpr IdBytes kIdBytes;

}  // namespace

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id)
    if (!kIdBytes.ok[static_cast<unsigned char>(c)]) return false;
  return true;
}

}  // namespace tillsync
