// TypedChange: a change that creates a row, held as typed cells in its table's column order
// instead of a Json object of named values. A sale writes eight new rows on every tablet, and
// building, validating, hashing and queueing them as nlohmann objects cost about a fifth of the
// sale's instructions natively (a node and a key string per member, about 220 allocations a
// sale). Each of them is a new row under an id the device has just minted, so none of the
// generic write path's reach (merging with a stored row, column clocks, base versions) is needed.
//
// What it means: a TypedChange is exactly the Change whose values object holds its non-null
// cells under their column names; a null cell is a column the change leaves out (a new row stores
// it as null). Everything written from one gives what the Json path gives for that Change: the
// validation codes and messages here, the stored row, hash and checksum of
// RowStore::InsertTyped, and the outbox text of TypedOutboxText (core/outbox_text.h);
// core/typed_change_test.cc holds the two paths to that. The Json path stays for every other
// write, and the hub validates what it receives with core/operation.h as always.
// Plain data and free functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/operation.h"
#include "core/status.h"
#include "core/table_spec.h"

namespace tillsync {

struct TypedChange {
  const TableSpec* spec = nullptr;
  std::string id;
  std::vector<ColumnValue> cells;  // one per spec->columns, in that order; null: left out
};

struct TypedOperation {
  int64_t seq = 0;
  std::string hlc;
  int64_t wall_ms = 0;
  std::vector<TypedChange> changes;
};

// A change of `spec`'s table with every cell null.
TypedChange NewTypedChange(const TableSpec& spec, std::string id);
// The cell of the column named `column`, nullptr when the table has no such column.
ColumnValue* CellOf(TypedChange& change, std::string_view column);
// The index of the column named `column` in spec.columns; spec.columns.size() when none. A
// writer finds its columns once (the tables never change) and sets cells by index.
size_t ColumnIndex(const TableSpec& spec, std::string_view column);
// Sets the cell at `index`; nothing for an index past the columns (a column name that is not
// there leaves the cell null, which validation or core/typed_change_test.cc then shows).
void SetInt(TypedChange& change, size_t index, int64_t value);
void SetText(TypedChange& change, size_t index, std::string_view value);

// ValidateChangeValues for the change at `index` of its operation: the same checks in the same
// order (column names sorted, as a Json object lists them), with the same codes and messages
// under "changes[<index>].values".
Status ValidateTypedChangeValues(const TypedChange& change, size_t index);
// ValidateOperation's whole-operation rules (shop and device scoping, movement signs, a sale's
// lines and payments beside their order and its totals): the same rule set
// (ValidateOperationFacts, core/operation.h), read from the cells.
Status ValidateTypedOperation(const TypedOperation& op, const Caller& caller);

}  // namespace tillsync
