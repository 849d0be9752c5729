#include "core/merge.h"

#include <algorithm>

namespace tillsync {

std::string ColumnClock(const TableSpec& spec, const std::string& hlc, bool hub_admin) {
  bool priority = hub_admin && spec.rule == MergeRule::kHubWins;
  return (priority ? "1" : "0") + hlc;
}

namespace {

std::map<std::string, std::string> ExpandClocks(const TableSpec& spec, const StoredRow& row) {
  std::map<std::string, std::string> out;
  for (const ColumnSpec& c : spec.columns) out[c.name] = row.ClockOf(c.name);
  return out;
}

// A new row written with `clock`: what MergeColumns below computes for a row that does not
// exist, without expanding and compacting per-column clock maps (every row of every sale comes
// this way). Returns false, leaving *result alone, when `incoming` names anything but columns.
bool NewRow(const TableSpec& spec, const StoredRow& current, const Json& incoming, const std::string& clock,
            StoredRow* result) {
  size_t given = 0;
  for (const ColumnSpec& c : spec.columns) given += incoming.contains(c.name) ? 1 : 0;
  if (given != incoming.size() || clock.empty()) return false;
  *result = current;
  result->values = RowStore::Normalize(spec, incoming);
  // CompactClocks over {written columns: clock, the others: ""}: the more common clock becomes
  // "*" ("" wins a tie, being first in order, and is then not named "*"), the rest are listed.
  const size_t unwritten = spec.columns.size() - given;
  Json clocks = Json::object();
  if (given > unwritten) {
    clocks["*"] = clock;
    for (const ColumnSpec& c : spec.columns)
      if (!incoming.contains(c.name)) clocks[c.name] = "";
  } else {
    for (const ColumnSpec& c : spec.columns)
      if (incoming.contains(c.name)) clocks[c.name] = clock;
  }
  result->clocks = std::move(clocks);
  return true;
}

// Per-column last-writer-wins of `incoming` values carrying `clock` over `current`.
bool MergeColumns(const TableSpec& spec, const StoredRow& current, const Json& incoming,
                  const std::string& clock, StoredRow* result) {
  if (!current.exists && NewRow(spec, current, incoming, clock, result)) return true;
  std::map<std::string, std::string> clocks = ExpandClocks(spec, current);
  Json values = current.exists ? current.values : RowStore::Normalize(spec, Json::object());
  bool changed = !current.exists;
  for (auto it = incoming.begin(); it != incoming.end(); ++it) {
    std::string& col_clock = clocks[it.key()];
    if (clock > col_clock) {
      if (values[it.key()] != *it) changed = true;
      values[it.key()] = *it;
      if (col_clock != clock) changed = true;
      col_clock = clock;
    }
  }
  if (!changed) return false;
  *result = current;
  result->values = std::move(values);
  result->clocks = RowStore::CompactClocks(spec, clocks);
  return true;
}

Status CheckRequired(const TableSpec& spec, const Change& change) {
  for (const ColumnSpec& c : spec.columns) {
    if (!c.required) continue;
    auto it = change.values.find(c.name);
    if (it == change.values.end() || it->is_null())
      return Status(ErrorCode::kMissingField, std::string("new ") + spec.name + " row " + change.id +
                                                  " needs column " + c.name);
  }
  return Status::Ok();
}

}  // namespace

Status MergeChange(const TableSpec& spec, const StoredRow& current, const Change& change,
                   const std::string& clock, const MergeOptions& options, MergeOutcome* outcome,
                   StoredRow* result) {
  *outcome = MergeOutcome::kUnchanged;
  if (!current.exists) {
    TS_RETURN_IF_ERROR(CheckRequired(spec, change));
    MergeColumns(spec, current, change.values, clock, result);
    *outcome = MergeOutcome::kApplied;
    return Status::Ok();
  }
  switch (spec.rule) {
    case MergeRule::kAppendOnly:
    case MergeRule::kMovement: {
      for (auto it = change.values.begin(); it != change.values.end(); ++it)
        if (current.values.value(it.key(), Json()) != *it)
          return Status(ErrorCode::kImmutable, std::string(spec.name) + " " + change.id +
                                                   " already exists and is never changed");
      return Status::Ok();  // the same row written again: nothing to do
    }
    case MergeRule::kMonotonicStatus: {
      for (auto it = change.values.begin(); it != change.values.end(); ++it) {
        if (it.key() == spec.status_column) continue;
        if (current.values.value(it.key(), Json()) != *it)
          return Status(ErrorCode::kImmutable, std::string(spec.name) + " " + change.id +
                                                   ": only its status may change");
      }
      auto st = change.values.find(spec.status_column);
      if (st == change.values.end()) return Status::Ok();
      const Json& cur = current.values[spec.status_column];
      // The whole row written again, unchanged (a retried quarantined sale carries its order as
      // created, and the device already holds it): nothing to do, as for an append-only row. A
      // change that names only the status is a move, and a move to the same status is refused.
      bool whole_row = true;
      for (const ColumnSpec& c : spec.columns) whole_row = whole_row && (!c.required || change.values.contains(c.name));
      if (whole_row && *st == cur) return Status::Ok();
      const std::string from = cur.is_string() ? cur.get<std::string>() : std::string();
      const std::string& to = st->get_ref<const std::string&>();
      // A state machine decided by arrival order at the hub, not by clocks: the first move out
      // of the initial status wins, every final status is final (a second void of a voided sale
      // is refused too: its stock movements must not count twice; a replay of the same
      // operation never reaches this point, the hub answers it from _hub_ops). Comparing clocks here would
      // let a void stamped earlier than a concurrent refund be "applied" without effect while
      // its stock movements still count.
      if (spec.StatusRank(from) != 0 || spec.StatusRank(to) <= 0)
        return Status(ErrorCode::kStatusRegression,
                      std::string(spec.name) + " " + change.id + " is already " + from + "; it cannot become " + to);
      std::map<std::string, std::string> clocks = ExpandClocks(spec, current);
      clocks[spec.status_column] = std::max(clock, clocks[spec.status_column]);
      *result = current;
      result->values[spec.status_column] = *st;
      result->clocks = RowStore::CompactClocks(spec, clocks);
      *outcome = MergeOutcome::kApplied;
      return Status::Ok();
    }
    case MergeRule::kManual:
    case MergeRule::kCustom: {
      bool stale = options.check_base_version && change.base_version != current.version;
      if (stale && spec.rule == MergeRule::kManual) {
        *outcome = MergeOutcome::kConflict;
        return Status::Ok();
      }
      const Resolver* resolver = options.resolvers ? options.resolvers->Find(spec.name) : nullptr;
      if (stale && resolver != nullptr) {
        Json incoming = current.values;
        for (auto it = change.values.begin(); it != change.values.end(); ++it) incoming[it.key()] = *it;
        Json merged;
        if ((*resolver)(current.values, incoming, &merged) && merged.is_object()) {
          Json only_columns = Json::object();
          for (const ColumnSpec& c : spec.columns)
            if (merged.contains(c.name)) only_columns[c.name] = merged[c.name];
          if (MergeColumns(spec, current, only_columns, clock, result)) *outcome = MergeOutcome::kApplied;
          return Status::Ok();
        }
      }
      [[fallthrough]];  // fresh base, or no resolver: last-writer-wins
    }
    case MergeRule::kLastWriterWins:
    case MergeRule::kHubWins:
      if (MergeColumns(spec, current, change.values, clock, result)) *outcome = MergeOutcome::kApplied;
      return Status::Ok();
  }
  return Status::Ok();
}

StoredRow MergePulledRow(const TableSpec& spec, const StoredRow& local, const StoredRow& remote) {
  StoredRow out = remote;
  if (!local.exists) return out;
  switch (spec.rule) {
    case MergeRule::kAppendOnly:
    case MergeRule::kMovement:
      return out;  // the hub's copy is the one copy
    case MergeRule::kMonotonicStatus: {
      // The hub decides the status. Only while the hub still shows the initial status may a
      // local move that is not yet acknowledged stay visible here.
      const Json& mine = local.values[spec.status_column];
      const Json& theirs = remote.values[spec.status_column];
      if (mine.is_string() && theirs.is_string() && spec.StatusRank(theirs.get_ref<const std::string&>()) == 0 &&
          spec.StatusRank(mine.get_ref<const std::string&>()) > 0) {
        out.values[spec.status_column] = mine;
        std::map<std::string, std::string> clocks = ExpandClocks(spec, remote);
        clocks[spec.status_column] = local.ClockOf(spec.status_column);
        out.clocks = RowStore::CompactClocks(spec, clocks);
      }
      return out;
    }
    default: {
      std::map<std::string, std::string> clocks = ExpandClocks(spec, remote);
      std::map<std::string, std::string> mine = ExpandClocks(spec, local);
      for (const ColumnSpec& c : spec.columns) {
        if (mine[c.name] > clocks[c.name]) {
          out.values[c.name] = local.values[c.name];
          clocks[c.name] = mine[c.name];
        }
      }
      out.clocks = RowStore::CompactClocks(spec, clocks);
      return out;
    }
  }
}

}  // namespace tillsync
