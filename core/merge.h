// Merge: how a change meets the row already stored, per the table's declared MergeRule. The hub
// runs MergeChange on every pushed change; a device runs the same function on its own local
// writes, and MergePulledRow when it applies a row from the hub. Because both sides run the same
// deterministic code over the same clocks, every replica ends with the same rows.
//
// Column clocks are "P" + hybrid clock text, where P is '1' for a hub (admin) write on a
// hub-wins table and '0' otherwise; plain string order is then (priority, time, node).
// Pure functions over values; a ResolverRegistry is read-only while merging.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "core/operation.h"
#include "core/row_store.h"
#include "core/table_spec.h"

namespace tillsync {

// A custom resolver: given the stored values and the values the writer wants (stored values
// overlaid with its change), fills *merged and returns true, or returns false to fall back to
// last-writer-wins.
using Resolver = std::function<bool(const Json& stored, const Json& incoming, Json* merged)>;

class ResolverRegistry {
 public:
  void Register(const std::string& table, Resolver resolver) { resolvers_[table] = std::move(resolver); }
  void Unregister(const std::string& table) { resolvers_.erase(table); }
  const Resolver* Find(const std::string& table) const {
    auto it = resolvers_.find(table);
    return it == resolvers_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, Resolver> resolvers_;
};

std::string ColumnClock(const TableSpec& spec, const std::string& hlc, bool hub_admin);

enum class MergeOutcome {
  kApplied,    // result differs from the stored row and must be written
  kUnchanged,  // nothing to write (an older or identical write)
  kConflict,   // manual table, stale base version: the stored row stays, a person decides
};

struct MergeOptions {
  // The hub checks base versions of manual and custom tables; a device writing its own replica
  // does not (its local row is its own latest intent until the hub answers).
  bool check_base_version = true;
  const ResolverRegistry* resolvers = nullptr;
};

// Merges one change of an operation into `current`. On kApplied, *result holds the new row
// (values and clocks; the caller sets seq and version). Errors are refusals of the change:
// kMissingField, kImmutable, kStatusRegression.
Status MergeChange(const TableSpec& spec, const StoredRow& current, const Change& change,
                   const std::string& clock, const MergeOptions& options, MergeOutcome* outcome,
                   StoredRow* result);

// Merges a row pulled from the hub (full values and clocks) into the local row. Columns the
// local replica wrote later (pending local writes) are kept; everything else becomes the hub's.
StoredRow MergePulledRow(const TableSpec& spec, const StoredRow& local, const StoredRow& remote);

}  // namespace tillsync
