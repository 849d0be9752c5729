// Hub: the hub side of the engine, the same library the devices run. It holds every shop in one
// store, applies pushed operations exactly once per (device, seq), answers a replay with the
// first answer, refuses the same id with a different payload, enforces shop scoping (catalog
// rows reach every shop; a shop's rows reach only that shop's devices), serves pulls by cursor
// in pages with a checksum of what the shop can see, and records shops and devices.
//
// Storage is behind HubStore (core/hub_store.h): every rule above lives here, the store only
// keeps and finds things. SqliteHubStore is the store today; another backend is another
// HubStore passed to Open, with no change here.
//
// It does no network I/O: server/ authenticates the request, builds the Caller from the token
// (never from the body) and hands the body bytes to Push/Pull, which return answer bytes or a
// Status for the HTTP edge to turn into problem+json. Every acknowledged push is committed
// durably (the SQLite store: synchronous=FULL) before Push returns.
//
// Threading: a Hub owns one store connection and is not thread-safe; the server serialises
// writers on one Hub and may open more Hubs on the same file for concurrent pulls (WAL readers).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/database.h"  // OpenOptions
#include "core/hub_store.h"
#include "core/env.h"
#include "core/hybrid_clock.h"
#include "core/merge.h"
#include "core/operation.h"
#include "core/protocol.h"
#include "core/pull_snapshot.h"

namespace tillsync {

struct HubOptions {
  OpenOptions open;          // default: WAL, synchronous=FULL
  Env* env = nullptr;        // nullptr: SystemEnv()
  // Devices below this schema version get kUpdateRequired (detail names the minimum).
  int64_t min_schema_version = 1;
  // An operation stamped further than this ahead of the hub's clock is refused (kClockSkew).
  int64_t max_clock_skew_ms = 24LL * 3600 * 1000;
};

// One operation of a push, decoded and checked without the database (see Hub::PreparePush).
struct PreparedOp {
  Operation op;
  uint64_t hash = 0;  // of the canonical payload: tells a replay from a changed payload
  Status clock;       // parsing op.hlc (a push with an unreadable clock fails as a whole)
  HlcTimestamp ts;
  Status valid;       // ValidateOperation for the caller; used only if the op is new
};

// A push request after PreparePush: what the writer needs, nothing it has to parse.
struct PreparedPush {
  std::string device_id;
  int64_t schema_version = 0;
  std::vector<PreparedOp> ops;
};

// One push in a group commit: the caller and either the request bytes or the request already
// prepared (`prepared`); filled: status and answer bytes.
struct PushCall {
  Caller caller;
  std::string body;
  bool prepared = false;
  PreparedPush request;
  Status status;
  std::string response;
};

class Hub {
 public:
  // A hub on the SQLite database at `path` (created and migrated if needed).
  static Status Open(const std::string& path, const HubOptions& options, std::unique_ptr<Hub>* out);
  // A hub on any store (options.open is the SQLite store's and is not used here).
  static Status Open(std::unique_ptr<HubStore> store, const HubOptions& options, std::unique_ptr<Hub>* out);

  // Provisioning. Ids are random and opaque; the shop and device rows replicate to the shop.
  Status CreateShop(const std::string& name, const std::string& currency, ShopRecord* out);
  Status RegisterDevice(const std::string& shop_id, const std::string& name, DeviceRecord* out);
  Status ListShops(std::vector<ShopRecord>* out);
  Status ListDevices(const std::string& shop_id, std::vector<DeviceRecord>* out);
  Status FindShop(const std::string& shop_id, ShopRecord* out);        // kNotFound if absent
  Status FindDevice(const std::string& device_id, DeviceRecord* out);  // kNotFound if absent

  // Sync. `caller` comes from the authenticated token. On success *response is the answer
  // body; on failure nothing was stored and the Status says why.
  Status Push(const Caller& caller, std::string_view body, std::string* response);
  // Several pushes in one transaction and one durable commit (group commit). Each call is
  // all-or-nothing on its own; a failing call does not affect the others.
  Status PushGroup(std::vector<PushCall>* calls);
  // The database-free part of a push: decode, match the body to the caller, hash and validate
  // each operation. Thread-safe (no Hub needed), so the server runs it on its HTTP threads, in
  // parallel, and the one writer thread is left with the SQL. The result is only a pre-check:
  // the writer still decides (schema version, sequence, replay, merge) inside its transaction.
  static Status PreparePush(const Caller& caller, std::string_view body, PreparedPush* out);
  Status Pull(const Caller& caller, std::string_view body, std::string* response);

  // Operator catalog edits made on the hub (admin): they win over shop edits on hub-wins tables.
  Status AdminWrite(const std::vector<Change>& changes);

  Status Stats(HubStats* out);
  // The hub sequence as last committed to the store. Stats' last_seq is this Hub's own counter,
  // which on a reader Hub is only what it saw when it opened; the server's stats read this.
  Status CommittedSeq(int64_t* out);
  // Sum of row hashes visible to a shop (catalog + the shop's rows).
  Status ShopChecksum(const std::string& shop_id, uint64_t* out);
  // Canonical dump of what a shop can see, one line per row ("table id values"), sorted: tests
  // and the simulation compare replicas with it.
  Status CanonicalDump(const std::string& shop_id, std::string* out);

  void set_min_schema_version(int64_t v) { options_.min_schema_version = v; }
  int64_t min_schema_version() const { return options_.min_schema_version; }
  ResolverRegistry& resolvers() { return resolvers_; }
  HubStore* store() { return store_.get(); }

 private:
  Hub() = default;
  Status CheckSchema(int64_t device_version) const;
  // op_counts: applied/rejected/conflict operations of this call, indexed by OpStatus.
  // *wrote: whether the call got as far as writing (a failure then needs its writes undone).
  Status PushOne(PushCall* call, int64_t* op_counts, bool* wrote);
  // One transaction over the calls. Without savepoint_per_push, a call that fails after writing
  // rolls the whole transaction back and sets *needs_savepoints (run it again with them).
  Status RunGroup(std::vector<PushCall>* calls, bool savepoint_per_push, bool* needs_savepoints);
  Status ApplyAdminChanges(const std::vector<Change>& changes);  // inside the caller's transaction
  Status ApplyOperation(const Caller& caller, const PreparedOp& prepared, OpResult* result);
  Status ApplyOperationStepwise(const Caller& caller, const PreparedOp& prepared, OpResult* result);
  Status MergeWithStored(const Caller& caller, const Change& c, const std::string& hlc, StoredRow* current,
                         StoredRow* next, MergeOutcome* outcome, Status* refusal);
  Status StoreChange(const TableSpec& spec, const std::string& id, const StoredRow& before, StoredRow* row);
  Status ReplayAnswer(const std::string& device_id, const PreparedOp& prepared, OpResult* out);
  // A pull page's rows (metadata only, values read after) and its cursor, more and remaining:
  // the changes after the request's cursor in seq order, or the next part of a first download
  // in key order (core/pull_snapshot.h; *position moves to the page's end).
  Status CollectChangePage(const Caller& caller, const PullRequest& req, std::vector<FeedEntry>* refs,
                           PullResponse* resp);
  Status CollectSnapshotPage(const Caller& caller, const PullRequest& req, SnapshotPosition* position,
                             std::vector<FeedEntry>* refs, PullResponse* resp);
  Status LoadState();
  Status SaveState();
  std::string NewId(const char* prefix);

  HubOptions options_;
  Env* env_ = nullptr;
  std::unique_ptr<HubStore> store_;
  std::unique_ptr<HybridClock> clock_;
  ResolverRegistry resolvers_;
  int64_t last_seq_ = 0;  // hub sequence of the latest row change
};


}  // namespace tillsync
