// Device: the device side of the engine, one per POS device database (a tablet's OPFS file, or a
// file in a test). It owns the local write path, the outbox, the quarantine, the conflicts and
// the sync bookkeeping, and hands out and takes in protocol bytes; it never does I/O itself.
//
// The write path: a write and its outbox entry commit in one transaction, so a sale the UI shows
// as recorded is durable and queued. Each write becomes one Operation stamped with
// (device id, next seq) and a hybrid clock time before it is ever sent; the seq never repeats.
//
// The sync cycle, driven by the worker (browser) or a harness (tests, simulation):
//
//     idle/offline/failed --SyncStarted--> syncing
//     syncing: BuildPush -> [transport] -> HandlePushResponse   (repeat while HasPending)
//              BuildPull -> [transport] -> HandlePullResponse   (repeat while more)
//     syncing --SyncSucceeded--> idle        (backoff reset, last_synced = now)
//     syncing --SyncFailed(network)--> offline   --SyncFailed(other)--> failed
//     any --update_required answer--> update_required (sticky; pending operations are kept)
//
// A crash anywhere in that cycle is harmless: unsent or unanswered operations stay in the
// outbox and are sent again with the same ids; the hub answers a replay with its first answer.
// Threading: not thread-safe; one Device per database connection.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/backoff.h"
#include "core/database.h"
#include "core/env.h"
#include "core/hybrid_clock.h"
#include "core/merge.h"
#include "core/operation.h"
#include "core/protocol.h"
#include "core/outbox_text.h"
#include "core/row_store.h"
#include "core/typed_change.h"

namespace tillsync {

struct DeviceIdentity {
  std::string device_id;
  std::string shop_id;
  std::string receipt_prefix;  // unique within the shop; receipt numbers are PREFIX-000123
  std::string currency = "EUR";
};

struct DeviceOptions {
  OpenOptions open;
  Env* env = nullptr;  // nullptr: SystemEnv()
  size_t push_batch = 200;
  int64_t pull_limit = kDefaultPullLimit;
  // The pull page form this device asks for (protocol.h); 1 or 2 only to act as an older device.
  int pull_page_version = kPullPageVersion3;
  // A pull page that arrives with at least this many rows still to apply (its own and the
  // remaining count) sets aside the secondary indexes of every replicated table that holds no
  // more rows than that, and the last page of the download builds them
  // (core/deferred_indexes.h). 0: never.
  int64_t defer_indexes_min_rows = 10000;
  BackoffPolicy backoff;
};

enum class SyncState { kIdle, kSyncing, kOffline, kFailed, kUpdateRequired };
const char* SyncStateName(SyncState s);

struct SyncStatus {
  SyncState state = SyncState::kIdle;
  int64_t pending = 0;          // operations in the outbox
  int64_t quarantined = 0;      // operations the hub refused, waiting for a person
  int64_t open_conflicts = 0;   // conflicts waiting for a person
  int64_t last_synced_ms = 0;   // wall time of the last full successful cycle (0: never)
  std::string last_error_code;
  std::string last_error_message;
  int64_t successes = 0, failures = 0, conflicts = 0, repairs = 0;
  int64_t next_retry_delay_ms = 0;  // after a failure: the backoff's wait
  int64_t min_schema_version = 0;   // when update_required: what the hub demands
};

struct WriteResult {
  int64_t seq = 0;
  std::string hlc;
};

struct SaleLineInput {
  std::string product_id;
  int64_t qty = 1;
};
struct PaymentInput {
  std::string method = "cash";  // cash | card | other
  int64_t amount_minor = -1;    // -1: whatever is left to pay
  int64_t tendered_minor = -1;  // cash: what the customer handed over (-1: exact amount)
};
struct SaleInput {
  std::vector<SaleLineInput> lines;
  std::vector<PaymentInput> payments;  // empty: one exact cash payment
  std::string customer_id;
  // Optional id chosen by the caller before the first attempt. Recording the same order id
  // again returns the sale already recorded instead of ringing it up twice, so a caller that
  // lost the answer (a tab that closed, a worker handed over) can simply retry.
  std::string order_id;
};
struct SaleResult {
  std::string order_id;
  std::string receipt_no;
  int64_t subtotal_minor = 0, tax_minor = 0, total_minor = 0, change_minor = 0;
  int64_t seq = 0;
  int64_t created_at = 0;
};

struct PullOutcome {
  bool more = false;           // pull again now
  int64_t rows = 0;            // rows applied from this page
  int64_t remaining = 0;       // rows still to come (progress)
  bool checksum_checked = false;
  bool repair_started = false;  // divergence found: local replica dropped, full download begins
  std::vector<std::string> tables;  // the tables this page brought rows of, in schema order
};

class Device {
 public:
  // Opens (creating if needed) a device database. A new database takes `identity`; an existing
  // one keeps its own and refuses a different one (kForbidden). An empty identity on a new
  // database makes a local-only device with a random id.
  static Status Open(const std::string& path, const DeviceIdentity& identity, const DeviceOptions& options,
                     std::unique_ptr<Device>* out);

  const DeviceIdentity& identity() const { return identity_; }
  Database* db() { return db_.get(); }
  ResolverRegistry& resolvers() { return resolvers_; }

  // --- Local writes: each is one transaction with its outbox entry ---------------------------
  // Generic writes to replicated tables (values validated as the hub would).
  Status Write(std::vector<Change> changes, WriteResult* out);
  // A sale: order, lines priced from the local catalog, payments, stock movements; one operation.
  Status RecordSale(const SaleInput& sale, SaleResult* out);
  // Moves a completed sale to voided or refunded and puts its stock back, as one operation.
  Status VoidSale(const std::string& order_id, WriteResult* out);
  Status RefundSale(const std::string& order_id, WriteResult* out);
  Status ReceiveStock(const std::string& product_id, int64_t qty, WriteResult* out);
  Status AdjustStock(const std::string& product_id, int64_t delta, WriteResult* out);
  Status RecordExpense(const std::string& description, int64_t amount_minor, WriteResult* out);
  // A fresh row id, unique across every device (device id + local counter).
  Status NewRowId(std::string* out);

  // --- Reads --------------------------------------------------------------------------------
  // Runs a read-only statement with positional parameters (integers, strings, null); rows come
  // back as a JSON array of objects. Statements that write are refused (kForbidden).
  Status Query(std::string_view sql, const Json& params, Json* rows);

  // --- Sync ---------------------------------------------------------------------------------
  bool HasPending();
  // The next push body (the oldest unacknowledged operations); *count 0 when nothing to send.
  Status BuildPush(std::string* body, int64_t* count);
  // The push of the operations after seq `after_seq` (0: from the oldest), and in *last_seq the
  // seq of its last one. It lets a transport build the next body while the previous push is on
  // the wire instead of after its answer: the body is only valid once every operation up to
  // after_seq is answered, which a hub's 200 answer to that previous push guarantees (it answers
  // every operation of a push); sent early, the hub refuses it whole (sequence_gap, nothing stored).
  Status BuildPushAfter(int64_t after_seq, std::string* body, int64_t* count, int64_t* last_seq);
  Status HandlePushResponse(std::string_view body);
  Status BuildPull(std::string* body);
  Status HandlePullResponse(std::string_view body, PullOutcome* out);

  void SyncStarted();
  Status SyncSucceeded();
  // `why` is the failure; `network` says the hub was not reached at all (offline).
  Status SyncFailed(const Status& why, bool network);
  Status GetStatus(SyncStatus* out);

  // --- People decide ------------------------------------------------------------------------
  Status ListConflicts(Json* out);  // open conflicts: id, table, row_id, mine, theirs
  // Writes `values` as the resolution (a new operation against the hub's version).
  Status ResolveConflict(int64_t conflict_id, const Json& values, WriteResult* out);
  Status ListQuarantine(Json* out);
  // Sends a refused operation's changes again as a new operation.
  Status RetryQuarantined(int64_t seq, WriteResult* out);
  // Drops a refused operation; the local replica is then re-downloaded from the hub so the
  // operation's local effects disappear.
  Status DiscardQuarantined(int64_t seq);
  Status ListOutbox(Json* out);
  Status SyncLog(Json* out);
  // Canonical dump of the local replica (same format as Hub::CanonicalDump).
  Status CanonicalDump(std::string* out);
  Status LocalChecksum(uint64_t* out);

 private:
  Device() = default;
  Status LoadState();
  // Builds the indexes a bulk download set aside and did not get to build (a crash or a close
  // mid-download; core/deferred_indexes.h). One read of _ts_kv when there are none.
  Status RestoreIndexesAtOpen();
  // Moves the scope checksums of a database written before they lived in _ts_kv (RowStore,
  // ChecksumHome::kKvTable); nothing to do, one read, for any other database.
  Status MoveOldChecksums();
  // The write path's state (next_seq, receipt counter, the held scope checksums) as committed,
  // unless known in memory since the last rollback. A local write keeps it in its outbox row,
  // not in _ts_kv (see WriteInTxn), so the committed state is whichever of the two is newer:
  // the newest outbox row's when its seq is at or past _ts_kv's next_seq, else _ts_kv's.
  Status LoadWriteState();
  // Writes the whole write-path state to _ts_kv (next_seq, hlc, row and receipt counters, held
  // checksums), inside the caller's transaction. Every transaction other than a local write
  // that moves a checksum or removes outbox rows does this before it commits: _ts_kv's next_seq
  // then passes every outbox row, so _ts_kv is the newer state again.
  Status SaveWriteState();
  // NewRowId without recording the id in new_ids_: for RecordSale, whose rows are all new and
  // go through WriteTypedInTxn, which needs no list of them (a copy of each id saved).
  Status MintRowId(std::string* out);
  // The pull starts again from nothing: cursor 0 and no snapshot position (a repair).
  Status ForgetPullPosition();
  Status KvGet(const char* key, std::string* out, bool* found);
  Status KvPut(const char* key, const std::string& value);
  Status KvInt(const char* key, int64_t* out);
  Status KvAdd(const char* key, int64_t delta);
  Status Log(const std::string& kind, const std::string& detail);
  // The start both local write paths share: the number of changes checked, the write state
  // loaded, and the new operation's seq, wall time and clock reading.
  Status BeginLocalOperation(size_t change_count, int64_t* seq, int64_t* wall_ms, std::string* hlc);
  // Applies changes locally and queues them, inside the caller's transaction. A positive
  // receipt_counter (a sale's new receipt number) is stored with the write path's counters.
  Status WriteInTxn(std::vector<Change> changes, WriteResult* out, int64_t receipt_counter = 0);
  // The same for changes that each create a new row of a table without row metadata, held as
  // typed cells (core/typed_change.h): a sale's rows. The same rows, outbox text and refusals as
  // WriteInTxn gives for the equivalent changes, without a Json object per row.
  Status WriteTypedInTxn(std::vector<TypedChange> changes, WriteResult* out, int64_t receipt_counter);
  // The end of both: the outbox row (`text` with the write path's state appended) and the
  // counters it moves, inside the caller's transaction.
  Status QueueInTxn(const OutboxWriter& writer, int64_t seq, const std::string& hlc, int64_t wall_ms,
                    int64_t receipt_counter, std::string* text, WriteResult* out);
  Status MoveSaleStatus(const std::string& order_id, const char* status, const char* movement_kind,
                        WriteResult* out);
  Status StoreWireRow(const WireRow& row);
  Status RecordConflicts(const OpResult& result, const Operation& op);

  DeviceOptions options_;
  Env* env_ = nullptr;
  DeviceIdentity identity_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<RowStore> rows_;
  std::unique_ptr<HybridClock> clock_;
  std::unique_ptr<Backoff> backoff_;
  ResolverRegistry resolvers_;
  SyncState state_ = SyncState::kIdle;
  int64_t id_counter_ = 0;
  // The write path's counters as committed or as the open transaction wrote them: read once and
  // kept, so a sale spends no statement reading them. A rollback may undo what a transaction
  // wrote, so they are read again once Database::rollbacks() has moved (LoadWriteState), with
  // the checksums RowStore holds.
  int64_t next_seq_ = 1;
  int64_t receipt_counter_ = 0;
  // GetStatus's count of _ts_outbox rows and the highest seq among them when it counted (-1: not
  // counted since the Device opened or since HandlePushResponse deleted rows). It then counts
  // only the rows with a higher seq, which is every row a write queued since (see GetStatus).
  int64_t counted_pending_ = -1;
  int64_t counted_through_seq_ = 0;
  bool counters_loaded_ = false;
  uint64_t counters_rollbacks_ = 0;
  // What LoadWriteState found in the newest outbox row when that row is the newer state (row
  // counter and complete hlc; 0 and empty otherwise): Open restores the id counter and clock.
  int64_t carried_row_counter_ = 0;
  std::string carried_hlc_;
  // Row ids known not to be stored yet: ids NewRowId has handed out since the last local write
  // (device id + a counter that only grows and is persisted with the rows that use it).
  // WriteInTxn inserts such rows without loading them first, and forgets the list when it ends.
  // (A sale mints its ids with MintRowId, and WriteTypedInTxn loads none of its rows.)
  std::vector<std::string> new_ids_;
  // The current download's first committed page of at least defer_indexes_min_rows rows to come
  // has set aside what it would (core/deferred_indexes.h); false again once a page ends it.
  bool bulk_examined_ = false;
};

}  // namespace tillsync
