// DeferredIndexes: a device's secondary indexes set aside while a bulk download fills a table
// (an empty one, or one that holds fewer rows than the download still brings), and built once it
// ends. An index entry inserted per pulled row is a b-tree descent and
// a random write per row and index (products_by_barcode and products_by_category for every one
// of 100,000 products of an initial download); CREATE INDEX over the full table sorts once and
// writes every page of the index in order.
//
// Crash safety: an index is dropped in the transaction of the page that sets it aside,
// and its definition, the CREATE INDEX text SQLite keeps in sqlite_master (the migration's own
// statement, never a copy in code), is written to _ts_kv under "deferred_index:" + name in the
// same transaction. Restoring runs that text and deletes the key in one transaction: at the end
// of the download (in the last page's transaction), and at every open (so a device that crashed
// or was closed mid-download gets its indexes back before anything else, and before a later
// migration could expect them). Reads meanwhile stay correct: SQLite plans around a missing
// index (a scan instead of a seek).
//
// Functions over a borrowed Database, inside the caller's transaction; the hub never calls them
// (its pull pages read _ts_rows_by_scope_seq, and it keeps every index).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/database.h"

namespace tillsync {

// Drops the secondary indexes (those with a CREATE INDEX text: not a primary key's autoindex)
// of each of `tables` that holds at most `rows_to_come` rows (every empty table), recording each
// definition first. A table holding more keeps its indexes: most of the build would be over rows
// already indexed. (A download that was cut short and resumes after an open, which built the
// indexes again, sets them aside again while most of it is still to come.) *deferred: how many
// indexes were set aside by this call.
Status DeferIndexesForBulkRows(Database* db, const std::vector<std::string>& tables, int64_t rows_to_come,
                               int64_t* deferred);

// Builds every recorded index that is missing and forgets the records. *restored: how many were
// recorded (0 when none: one read of _ts_kv).
Status RestoreDeferredIndexes(Database* db, int64_t* restored);

// The names of the indexes recorded as deferred, sorted.
Status DeferredIndexNames(Database* db, std::vector<std::string>* names);

}  // namespace tillsync
