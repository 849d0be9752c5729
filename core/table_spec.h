// TableSpec: the one declaration of every replicated table: its columns and their types, who may
// see it (scope) and how concurrent writes merge (merge rule). Validation, the row store, the
// merge, the hub's scoping and the pull all read this table; nothing else names merge rules.
// schema/migrations/*.sql holds the matching SQL, and table_spec_test checks the two agree.
// Immutable static data; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tillsync {

enum class ColumnType {
  kText,     // UTF-8 string, max_len bytes at most
  kInteger,  // 64-bit integer within [min, max]
  kMoney,    // integer minor units within [min, max]; a non-integer number is kFloatMoney
  kBool,     // 0 or 1
  kEnum,     // text from a fixed set
};

enum class Scope {
  kCatalog,  // reaches every shop; writable by every shop and by the hub
  kShop,     // belongs to one shop (column shop_id); reaches only that shop's devices
};

enum class MergeRule {
  kLastWriterWins,   // per column, the newer hybrid clock wins; node id breaks ties
  kHubWins,          // as LWW, but a write made by the hub (admin) beats any shop's write
  kAppendOnly,       // written once; a second write must be identical
  kMonotonicStatus,  // written once; then only the status moves, once, from the initial value
                     // (allowed[0]) to one final value; the hub's arrival order decides
  kMovement,         // stock movements: append-only rows summed into stock on hand
  kManual,           // a stale write becomes a conflict with both versions kept for a person
  kCustom,           // a registered resolver decides; LWW when none is registered
};

const char* MergeRuleName(MergeRule rule);

struct ColumnSpec {
  const char* name;
  ColumnType type;
  bool required;                        // must be present (non-null) when the row is created
  int64_t min = 0;                      // integer, money: inclusive bounds; text: min length
  int64_t max = 0;                      // integer, money: inclusive; text: max length in bytes
  std::vector<const char*> allowed{};   // kEnum values; for a status column, in forward order
};

struct TableSpec {
  const char* name;
  Scope scope;
  MergeRule rule;
  std::vector<ColumnSpec> columns;  // every column except `id`
  bool tracking = false;            // has origin_shop_id / last_modified_shop_id / last_modified_at
  const char* status_column = nullptr;  // kMonotonicStatus: the one column that may change
  // Indexes into `columns` in the order of their names (the first columns.size() entries): the
  // order a Json object lists its keys, hence of every canonical text and validation of a row.
  // Filled by AllTables; a fixed array, as no table has more than kMaxColumns columns.
  static constexpr size_t kMaxColumns = 16;
  std::array<uint8_t, kMaxColumns> columns_by_name{};

  const ColumnSpec* FindColumn(std::string_view name) const;
  // Position of a status value in its forward order, -1 when unknown.
  int StatusRank(std::string_view value) const;
};

// A typed value of one column: the only kinds a column holds (money, integers and booleans are
// integers; text and enums are text).
struct ColumnValue {
  enum class Kind : uint8_t { kNull, kInt, kText };
  Kind kind = Kind::kNull;
  int64_t number = 0;
  std::string text;
};

const std::vector<TableSpec>& AllTables();
const TableSpec* FindTable(std::string_view name);

// Limits shared by validation on both sides.
constexpr size_t kMaxIdLength = 64;
constexpr int64_t kMaxMoney = 1'000'000'000'000;  // 10^12 minor units per value
constexpr int64_t kMaxQuantity = 1'000'000;

// An id is 1..64 bytes of [A-Za-z0-9_.:-].
bool IsValidId(std::string_view id);

}  // namespace tillsync
