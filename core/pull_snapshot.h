// PullSnapshot: where a large first download stands while the hub sends it in key order.
//
// Why key order: a device fills its tables fastest when each new row's key sorts after every key
// it holds (SQLite appends to the b-tree's last page instead of descending to a page anywhere in
// it), and the hub's sequence order is not key order for ids minted anywhere, at any time. So a
// pull from cursor 0 that does not fit in one page (protocol version 3) is answered as a snapshot:
// first the catalog, table by table in name order, each in id order; then the caller's shop rows
// with seq <= `through`, in seq order (a shop's rows are read by its (scope, seq) index; a key
// order over them would read every shop's rows); then, by the ordinary cursor from `through`,
// every change after it. A row changed while the snapshot is sent comes again with those changes,
// so nothing is missed and applying a row twice changes nothing.
//
// The position travels as text in the pull answer's "snapshot" field and comes back in the next
// request; devices store it and never read it. Forms (single spaces; ids have no spaces):
//   "<through> <left> <table> <id>"  in the catalog: the last row sent, and how many catalog rows
//                                    are left to send (for the answer's `remaining`: counting
//                                    them again in key order would read every row's metadata)
//   "<through> <seq>"                in the shop's rows: the seq of the last one sent
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/table_spec.h"

namespace tillsync {

struct SnapshotPosition {
  int64_t through = 0;    // the hub sequence the snapshot is as of
  bool in_shop = false;   // past the catalog, in the caller's shop rows
  std::string table, id;  // catalog: the last row sent ("" before the first)
  int64_t catalog_left = 0;  // catalog: rows still to send, as counted when the snapshot began
  int64_t shop_seq = 0;   // shop rows: the seq of the last one sent (0 before the first)
};

std::string FormatSnapshotPosition(const SnapshotPosition& p);
// kBadValue for any text FormatSnapshotPosition does not write (a catalog table, a valid id).
Status ParseSnapshotPosition(const std::string& text, SnapshotPosition* out);

// The catalog tables in the order a snapshot sends them (by name).
const std::vector<const TableSpec*>& SnapshotCatalogTables();

}  // namespace tillsync
