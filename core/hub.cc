#include "core/hub.h"

#include <algorithm>
#include <cstdio>

#include "core/fnv_hash.h"
#include "core/migrations.h"  // LatestSchemaVersion: the schema this build understands
#include "core/pull_snapshot.h"
#include "core/sqlite_hub_store.h"

namespace tillsync {
namespace {

WireRow ToWire(const TableSpec& spec, const std::string& id, const StoredRow& row) {
  WireRow w;
  w.table = spec.name;
  w.id = id;
  w.values = row.values;
  w.clocks = row.clocks;
  w.version = row.version;
  w.seq = row.seq;
  return w;
}

}  // namespace

Status Hub::Open(const std::string& path, const HubOptions& options, std::unique_ptr<Hub>* out) {
  std::unique_ptr<SqliteHubStore> store;
  TS_RETURN_IF_ERROR(SqliteHubStore::Open(path, options.open, &store));
  return Open(std::move(store), options, out);
}

Status Hub::Open(std::unique_ptr<HubStore> store, const HubOptions& options, std::unique_ptr<Hub>* out) {
  std::unique_ptr<Hub> hub(new Hub());
  hub->options_ = options;
  hub->env_ = options.env ? options.env : SystemEnv();
  hub->store_ = std::move(store);
  hub->clock_ = std::make_unique<HybridClock>(hub->env_, "hub");
  TS_RETURN_IF_ERROR(hub->LoadState());
  *out = std::move(hub);
  return Status::Ok();
}

Status Hub::LoadState() {
  std::string text;
  TS_RETURN_IF_ERROR(store_->LoadHubState(&text, &last_seq_));
  HlcTimestamp ts;
  if (!text.empty() && HlcTimestamp::Parse(text, &ts).ok()) clock_->Restore(ts);
  return Status::Ok();
}

Status Hub::SaveState() { return store_->SaveHubState(clock_->last().ToString(), last_seq_); }

std::string Hub::NewId(const char* prefix) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%016llx", prefix, static_cast<unsigned long long>(env_->Random64()));
  return buf;
}

Status Hub::CheckSchema(int64_t device_version) const {
  if (device_version < options_.min_schema_version)
    return Status(ErrorCode::kUpdateRequired,
                  "this app's schema version " + std::to_string(device_version) + " is too old; version " +
                      std::to_string(options_.min_schema_version) + " or newer is required",
                  "{\"min_schema_version\":" + std::to_string(options_.min_schema_version) + "}");
  if (device_version > LatestSchemaVersion())
    return Status(ErrorCode::kBadVersion, "the app's schema version " + std::to_string(device_version) +
                                              " is newer than this hub understands");
  return Status::Ok();
}

// Every row change on the hub takes the next hub sequence: pulls deliver rows in this order.
Status Hub::StoreChange(const TableSpec& spec, const std::string& id, const StoredRow& before, StoredRow* row) {
  row->seq = ++last_seq_;
  row->version = before.exists ? before.version + 1 : 1;
  return store_->StoreRow(spec, id, before, row);
}

Status Hub::AdminWrite(const std::vector<Change>& changes) {
  WriteTransaction txn(store_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  TS_RETURN_IF_ERROR(ApplyAdminChanges(changes));
  TS_RETURN_IF_ERROR(SaveState());
  return txn.Commit();
}

Status Hub::ApplyAdminChanges(const std::vector<Change>& changes) {
  std::string clock_text = clock_->Now().ToString();
  Operation op;
  op.changes = changes;
  for (size_t i = 0; i < op.changes.size(); ++i) {
    Change& c = op.changes[i];
    const TableSpec* spec = FindTable(c.table);
    if (spec == nullptr) return Status(ErrorCode::kUnknownTable, "unknown table " + c.table);
    if (!IsValidId(c.id)) return Status(ErrorCode::kBadId, "bad id " + c.id);
    TS_RETURN_IF_ERROR(ValidateChangeValues(*spec, c, "changes[" + std::to_string(i) + "]"));
    if (spec->tracking) {
      c.values["last_modified_shop_id"] = nullptr;  // the hub itself, not a shop
      c.values["last_modified_at"] = env_->NowMillis();
    }
    StoredRow current, next;
    TS_RETURN_IF_ERROR(store_->LoadRow(*spec, c.id, &current));
    MergeOutcome outcome;
    MergeOptions opts;
    opts.check_base_version = false;
    opts.resolvers = &resolvers_;
    TS_RETURN_IF_ERROR(MergeChange(*spec, current, c, ColumnClock(*spec, clock_text, true), opts, &outcome, &next));
    if (outcome == MergeOutcome::kApplied) TS_RETURN_IF_ERROR(StoreChange(*spec, c.id, current, &next));
  }
  return Status::Ok();
}

Status Hub::CreateShop(const std::string& name, const std::string& currency, ShopRecord* out) {
  ShopRecord shop{NewId("shop_"), name, currency, env_->NowMillis()};
  Change c{"shops", shop.id,
           Json{{"shop_id", shop.id}, {"name", name}, {"currency", currency}, {"created_at", shop.created_at}}};
  TS_RETURN_IF_ERROR(AdminWrite({c}));
  *out = shop;
  return Status::Ok();
}

Status Hub::RegisterDevice(const std::string& shop_id, const std::string& name, DeviceRecord* out) {
  // Read inside the write transaction: the shop check and the prefix count must see the state
  // this registration commits on (two registrations never get the same receipt prefix), and a
  // read begun before BEGIN IMMEDIATE would ask SQLite to upgrade a possibly stale snapshot,
  // which it refuses at once with SQLITE_BUSY when another connection wrote meanwhile.
  WriteTransaction txn(store_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  StoredRow shop;
  TS_RETURN_IF_ERROR(store_->LoadRow(*FindTable("shops"), shop_id, &shop));
  if (!shop.exists) return Status(ErrorCode::kNotFound, "no such shop");
  int64_t devices = 0;
  TS_RETURN_IF_ERROR(store_->CountDevices(shop_id, &devices));
  DeviceRecord d{NewId("dev_"), shop_id, name, "D" + std::to_string(devices + 1), env_->NowMillis()};
  Change c{"devices", d.id,
           Json{{"shop_id", shop_id}, {"name", name}, {"receipt_prefix", d.receipt_prefix}, {"created_at", d.created_at}}};
  // The replicated device row and the hub's sequence record commit together.
  TS_RETURN_IF_ERROR(ApplyAdminChanges({c}));
  TS_RETURN_IF_ERROR(store_->AddDeviceCursor(d.id, shop_id));
  TS_RETURN_IF_ERROR(SaveState());
  TS_RETURN_IF_ERROR(txn.Commit());
  *out = d;
  return Status::Ok();
}

Status Hub::ListShops(std::vector<ShopRecord>* out) { return store_->ListShops(out); }

Status Hub::ListDevices(const std::string& shop_id, std::vector<DeviceRecord>* out) {
  return store_->ListDevices(shop_id, out);
}

Status Hub::FindShop(const std::string& shop_id, ShopRecord* out) {
  bool found = false;
  TS_RETURN_IF_ERROR(store_->FindShop(shop_id, &found, out));
  if (!found) return Status(ErrorCode::kNotFound, "no such shop");
  return Status::Ok();
}

Status Hub::FindDevice(const std::string& device_id, DeviceRecord* out) {
  bool found = false;
  TS_RETURN_IF_ERROR(store_->FindDevice(device_id, &found, out));
  if (!found) return Status(ErrorCode::kNotFound, "no such device");
  return Status::Ok();
}

// Loads the row `c` targets and merges `c` into it, writing nothing. A change the caller may
// not make comes back as *refusal (with Ok); a Status error is the store's.
Status Hub::MergeWithStored(const Caller& caller, const Change& c, const std::string& hlc, StoredRow* current,
                            StoredRow* next, MergeOutcome* outcome, Status* refusal) {
  const TableSpec& spec = *FindTable(c.table);
  TS_RETURN_IF_ERROR(store_->LoadRow(spec, c.id, current));
  // Isolation is enforced here, not trusted: a shop row of another shop is not the caller's
  // to change, and the answer does not say whose it is.
  if (current->exists && spec.scope == Scope::kShop && current->scope != caller.shop_id) {
    *refusal = Status(ErrorCode::kShopMismatch, c.table + " id " + c.id + " is not available to this shop");
    return Status::Ok();
  }
  // Only tables with tracking columns need a changed copy of the change (a sale's rows are
  // not copied: a copy of their JSON values per row was a measurable part of the writer).
  const Change* effective = &c;
  Change tracked;
  if (spec.tracking) {
    // Tracking columns record the authenticated shop, whatever the body said.
    tracked = c;
    tracked.values["last_modified_shop_id"] = caller.shop_id;
    if (!current->exists) tracked.values["origin_shop_id"] = caller.shop_id;
    else tracked.values.erase("origin_shop_id");
    effective = &tracked;
  }
  MergeOptions opts;
  opts.resolvers = &resolvers_;
  Status s = MergeChange(spec, *current, *effective, ColumnClock(spec, hlc, false), opts, outcome, next);
  if (!s.ok()) *refusal = s;
  return Status::Ok();
}

namespace {

// True when two changes of the operation name the same row.
bool ChangesRepeatARow(const Operation& op) {
  std::vector<std::pair<std::string_view, std::string_view>> rows;
  rows.reserve(op.changes.size());
  for (const Change& c : op.changes) rows.emplace_back(c.table, c.id);
  std::sort(rows.begin(), rows.end());
  return std::adjacent_find(rows.begin(), rows.end()) != rows.end();
}

}  // namespace

Status Hub::ApplyOperation(const Caller& caller, const PreparedOp& prepared, OpResult* result) {
  const Operation& op = prepared.op;
  result->seq = op.seq;
  auto reject = [&](const Status& s) {
    result->status = OpStatus::kRejected;
    result->code = s.code_name();
    result->message = s.message();
    return Status::Ok();
  };
  TS_RETURN_IF_ERROR(prepared.clock);
  const HlcTimestamp& ts = prepared.ts;
  if (ts.wall_ms > env_->NowMillis() + options_.max_clock_skew_ms)
    return reject(Status(ErrorCode::kClockSkew, "operation clock is more than " +
                                                    std::to_string(options_.max_clock_skew_ms / 60000) +
                                                    " minutes ahead of the hub; check the device clock"));
  if (ts.node != caller.device_id)
    return reject(Status(ErrorCode::kShopMismatch, "operation clock names another device"));
  if (!prepared.valid.ok()) return reject(prepared.valid);
  if (ChangesRepeatARow(op)) return ApplyOperationStepwise(caller, prepared, result);

  // Two passes: merge every change against the stored rows first, writing nothing, then store
  // the applied ones. A rejected or conflicting operation has then written nothing, so it needs
  // no savepoint to undo (a savepoint copies every page it touches to the statement journal:
  // about a tenth of the push writer's time when each operation had one).
  struct Staged {
    const TableSpec* spec;
    const std::string* id;
    StoredRow current, next;
  };
  std::vector<Staged> staged;
  staged.reserve(op.changes.size());
  for (const Change& c : op.changes) {
    Staged s{FindTable(c.table), &c.id, StoredRow(), StoredRow()};
    MergeOutcome outcome = MergeOutcome::kUnchanged;
    Status refusal;
    TS_RETURN_IF_ERROR(MergeWithStored(caller, c, op.hlc, &s.current, &s.next, &outcome, &refusal));
    if (!refusal.ok()) return reject(refusal);
    if (outcome == MergeOutcome::kConflict) {
      result->status = OpStatus::kConflict;
      result->current.push_back(ToWire(*s.spec, c.id, s.current));
      continue;  // collect every conflicting row of the operation, apply none of it
    }
    if (outcome == MergeOutcome::kApplied) staged.push_back(std::move(s));
  }
  if (result->status == OpStatus::kConflict) return Status::Ok();
  // A store error from here on fails the whole push, whose caller undoes what it wrote.
  for (Staged& s : staged) TS_RETURN_IF_ERROR(StoreChange(*s.spec, *s.id, s.current, &s.next));
  clock_->Observe(ts);
  result->status = OpStatus::kApplied;
  return Status::Ok();
}

// An operation that changes one row more than once: each change must merge with the row as the
// previous one left it, so they are stored one by one, inside a savepoint that undoes the
// earlier ones if a later one is refused or conflicts.
Status Hub::ApplyOperationStepwise(const Caller& caller, const PreparedOp& prepared, OpResult* result) {
  const Operation& op = prepared.op;
  StoreScope sp(store_.get());  // the operation's writes and checksum moves, undone unless released
  TS_RETURN_IF_ERROR(sp.Begin());
  int64_t seq_before = last_seq_;
  for (const Change& c : op.changes) {
    const TableSpec& spec = *FindTable(c.table);
    StoredRow current, next;
    MergeOutcome outcome = MergeOutcome::kUnchanged;
    Status refusal;
    TS_RETURN_IF_ERROR(MergeWithStored(caller, c, op.hlc, &current, &next, &outcome, &refusal));
    if (!refusal.ok()) {
      sp.RollbackTo();
      last_seq_ = seq_before;
      result->status = OpStatus::kRejected;
      result->code = refusal.code_name();
      result->message = refusal.message();
      return Status::Ok();
    }
    if (outcome == MergeOutcome::kConflict) {
      result->status = OpStatus::kConflict;
      result->current.push_back(ToWire(spec, c.id, current));
      continue;  // collect every conflicting row of the operation, apply none of it
    }
    if (outcome == MergeOutcome::kApplied) TS_RETURN_IF_ERROR(StoreChange(spec, c.id, current, &next));
  }
  if (result->status == OpStatus::kConflict) {
    sp.RollbackTo();
    last_seq_ = seq_before;
    return Status::Ok();
  }
  clock_->Observe(prepared.ts);
  result->status = OpStatus::kApplied;
  return sp.Release();
}

Status Hub::PreparePush(const Caller& caller, std::string_view body, PreparedPush* out) {
  PushRequest req;
  TS_RETURN_IF_ERROR(DecodePushRequest(body, &req));
  if (req.device_id != caller.device_id)
    return Status(ErrorCode::kForbidden, "device_id does not match the credentials");
  PreparedPush prepared;
  prepared.device_id = std::move(req.device_id);
  prepared.schema_version = req.schema_version;
  prepared.ops.resize(req.ops.size());
  for (size_t i = 0; i < req.ops.size(); ++i) {
    PreparedOp& p = prepared.ops[i];
    p.op = std::move(req.ops[i]);
    p.hash = Fnv1a64(OperationText(p.op));  // the canonical text, without building a Json tree
    p.clock = HlcTimestamp::Parse(p.op.hlc, &p.ts);
    p.valid = ValidateOperation(p.op, caller);
  }
  *out = std::move(prepared);
  return Status::Ok();
}

// The stored answer of an operation, for replays. An applied operation's answer is fully
// described by its seq and status, so it is stored as "" (no JSON per sale to write and parse);
// rejected and conflicting operations keep their whole answer. Both forms are read back.
static std::string StoredAnswer(const OpResult& result, const std::string& hub_hlc) {
  if (result.status == OpStatus::kApplied) return std::string();
  PushResponse one;
  one.results.push_back(result);
  one.hub_hlc = hub_hlc;  // unused on replay, but a well-formed answer needs one
  return EncodePushResponse(one);
}

static Status ReadStoredAnswer(int64_t seq, const std::string& answer, OpResult* out) {
  if (answer.empty()) {
    *out = OpResult();
    out->seq = seq;
    out->status = OpStatus::kApplied;
    return Status::Ok();
  }
  PushResponse stored;
  TS_RETURN_IF_ERROR(DecodePushResponse(answer, &stored));
  if (stored.results.size() != 1) return Status(ErrorCode::kInternal, "stored answer is malformed");
  *out = std::move(stored.results[0]);
  return Status::Ok();
}

// A replay: the first answer, or a refusal when the payload changed.
Status Hub::ReplayAnswer(const std::string& device_id, const PreparedOp& prepared, OpResult* out) {
  OpRecord record;
  TS_RETURN_IF_ERROR(store_->FindOp(device_id, prepared.op.seq, &record));
  if (!record.found) return Status(ErrorCode::kInternal, "no stored answer for an applied operation");
  if (record.hash != prepared.hash)
    return Status(ErrorCode::kPayloadMismatch, "operation " + std::to_string(prepared.op.seq) +
                                                   " was already received with a different payload");
  return ReadStoredAnswer(prepared.op.seq, record.answer, out);
}

Status Hub::PushOne(PushCall* call, int64_t* op_counts, bool* wrote) {
  if (!call->prepared) {
    TS_RETURN_IF_ERROR(PreparePush(call->caller, call->body, &call->request));
    call->prepared = true;
  }
  const PreparedPush& req = call->request;
  if (req.device_id != call->caller.device_id)
    return Status(ErrorCode::kForbidden, "device_id does not match the credentials");
  TS_RETURN_IF_ERROR(CheckSchema(req.schema_version));

  DeviceCursor device;
  TS_RETURN_IF_ERROR(store_->FindDeviceCursor(req.device_id, &device));
  if (!device.found || device.shop_id != call->caller.shop_id)
    return Status(ErrorCode::kForbidden, "device is not registered with this shop");
  int64_t last = device.last_seq;
  if (!req.ops.empty() && req.ops.front().op.seq > last + 1)
    return Status(ErrorCode::kSequenceGap, "first operation has seq " + std::to_string(req.ops.front().op.seq) +
                                               " but the hub expects " + std::to_string(last + 1) + " or less",
                  "{\"expected_seq\":" + std::to_string(last + 1) + "}");

  PushResponse resp;
  int64_t applied_up_to = last;
  for (const PreparedOp& prepared : req.ops) {
    const Operation& op = prepared.op;
    if (op.seq <= last) {
      OpResult stored;
      TS_RETURN_IF_ERROR(ReplayAnswer(req.device_id, prepared, &stored));
      resp.results.push_back(std::move(stored));
      continue;
    }
    OpResult result;
    *wrote = true;  // from the first new operation on, a failure leaves writes to undo
    TS_RETURN_IF_ERROR(ApplyOperation(call->caller, prepared, &result));
    TS_RETURN_IF_ERROR(store_->RecordOp(req.device_id, op.seq, prepared.hash,
                                        StoredAnswer(result, clock_->last().ToString())));
    ++op_counts[int(result.status)];
    resp.results.push_back(std::move(result));
    applied_up_to = op.seq;
  }
  if (applied_up_to != last) TS_RETURN_IF_ERROR(store_->SetDeviceCursor(req.device_id, applied_up_to));
  resp.hub_hlc = clock_->Now().ToString();
  call->response = EncodePushResponse(resp);
  return Status::Ok();
}

// Pushes are run without a savepoint each: nearly every push that fails does so before its first
// write (credentials, schema, sequence, a changed replay), and operations that are refused or
// conflict write nothing (ApplyOperation). Only a push that fails after writing (a store error)
// needs undoing on its own; then the whole group is rolled back and run again with a savepoint
// per push, so that push alone fails and the others commit exactly as they would have.
Status Hub::PushGroup(std::vector<PushCall>* calls) {
  bool needs_savepoints = false;
  Status s = RunGroup(calls, /*savepoint_per_push=*/false, &needs_savepoints);
  if (needs_savepoints) s = RunGroup(calls, /*savepoint_per_push=*/true, &needs_savepoints);
  return s;
}

Status Hub::RunGroup(std::vector<PushCall>* calls, bool savepoint_per_push, bool* needs_savepoints) {
  *needs_savepoints = false;
  const int64_t seq_at_start = last_seq_;
  const HlcTimestamp clock_at_start = clock_->last();
  WriteTransaction txn(store_.get());
  TS_RETURN_IF_ERROR(txn.Begin());
  // Bookkeeping once per group, not per operation: the operation counters are written once
  // before the commit, with what the successful calls added (the store does the same with the
  // scopes' checksums).
  int64_t group_counts[3] = {0, 0, 0};
  for (PushCall& call : *calls) {
    // Each call is all or nothing: with savepoint_per_push, its savepoint rolls back everything
    // it wrote if it fails, and its checksum deltas and counts are dropped with it.
    StoreScope sp(store_.get());
    if (savepoint_per_push) TS_RETURN_IF_ERROR(sp.Begin());
    int64_t seq_before = last_seq_;
    HlcTimestamp clock_before = clock_->last();
    int64_t counts[3] = {0, 0, 0};
    bool wrote = false;
    call.status = PushOne(&call, counts, &wrote);
    if (call.status.ok()) {
      if (savepoint_per_push) TS_RETURN_IF_ERROR(sp.Release());
      for (int i = 0; i < 3; ++i) group_counts[i] += counts[i];
      continue;
    }
    if (wrote && !savepoint_per_push) {
      // Nothing can undo this push alone: start the group again, with savepoints.
      txn.Rollback();
      last_seq_ = seq_at_start;
      clock_->Restore(clock_at_start);
      for (PushCall& c : *calls) {
        c.status = Status::Ok();
        c.response.clear();
      }
      *needs_savepoints = true;
      return Status::Ok();
    }
    sp.RollbackTo();
    last_seq_ = seq_before;
    clock_->Restore(clock_before);
    call.response.clear();
  }
  TS_RETURN_IF_ERROR(store_->AddOpCounters(group_counts[int(OpStatus::kApplied)], group_counts[int(OpStatus::kRejected)],
                                           group_counts[int(OpStatus::kConflict)]));
  TS_RETURN_IF_ERROR(SaveState());
  Status commit = txn.Commit();
  if (!commit.ok()) {
    // Nothing was acknowledged: every call fails with the commit's error.
    TS_RETURN_IF_ERROR(LoadState());
    for (PushCall& call : *calls) {
      call.status = commit;
      call.response.clear();
    }
    return commit;
  }
  return Status::Ok();
}

Status Hub::Push(const Caller& caller, std::string_view body, std::string* response) {
  std::vector<PushCall> calls(1);
  calls[0].caller = caller;
  calls[0].body = std::string(body);
  TS_RETURN_IF_ERROR(PushGroup(&calls));
  if (!calls[0].status.ok()) return calls[0].status;
  *response = std::move(calls[0].response);
  return Status::Ok();
}

Status Hub::Pull(const Caller& caller, std::string_view body, std::string* response) {
  PullRequest req;
  TS_RETURN_IF_ERROR(DecodePullRequest(body, &req));
  if (req.device_id != caller.device_id)
    return Status(ErrorCode::kForbidden, "device_id does not match the credentials");
  TS_RETURN_IF_ERROR(CheckSchema(req.schema_version));
  // One read transaction: the page, the remaining count and the checksum see the same state.
  ReadSnapshot snapshot(store_.get());
  TS_RETURN_IF_ERROR(snapshot.Begin());

  std::vector<FeedEntry> refs;
  PullResponse resp;
  resp.page_version = req.page_version;  // answer in the form the device reads
  SnapshotPosition position;
  bool in_snapshot = false;
  bool start_snapshot = false;
  if (!req.snapshot.empty()) {
    if (req.cursor != 0) return Status(ErrorCode::kBadRequest, "a snapshot position goes with cursor 0");
    TS_RETURN_IF_ERROR(ParseSnapshotPosition(req.snapshot, &position));
    int64_t committed = 0;
    TS_RETURN_IF_ERROR(CommittedSeq(&committed));
    // A position from further than this hub has come (its database restored from a backup, say)
    // cannot be resumed, and refusing it would leave the device asking for it for ever: the
    // download starts again (rows the device holds already apply as no change).
    in_snapshot = position.through <= committed;
    start_snapshot = !in_snapshot;
  } else if (req.cursor == 0 && req.page_version == kPullPageVersion3) {
    start_snapshot = true;
  }
  if (start_snapshot) {
    // A first download (or a repair's) that takes more than one page goes in key order.
    int64_t catalog = 0, shop = 0;
    TS_RETURN_IF_ERROR(store_->FeedCount("", 0, &catalog));
    TS_RETURN_IF_ERROR(store_->FeedCount(caller.shop_id, 0, &shop));
    if (catalog + shop > req.limit) {
      position = SnapshotPosition();
      TS_RETURN_IF_ERROR(CommittedSeq(&position.through));
      position.catalog_left = catalog;
      in_snapshot = true;
    }
  }
  if (in_snapshot) TS_RETURN_IF_ERROR(CollectSnapshotPage(caller, req, &position, &refs, &resp));
  else TS_RETURN_IF_ERROR(CollectChangePage(caller, req, &refs, &resp));
  // Within a page, rows go in key order whatever their seq: the device fills its b-trees
  // page by page, not row by row at random (its version 2 runs are then one per table, too).
  std::sort(refs.begin(), refs.end(), [](const FeedEntry& a, const FeedEntry& b) {
    return a.table != b.table ? a.table < b.table : a.id < b.id;
  });
  resp.rows.reserve(refs.size());
  std::string checked_clocks;  // the last clocks text found sound
  for (FeedEntry& ref : refs) {
    const TableSpec* spec = FindTable(ref.table);
    if (spec == nullptr) return Status(ErrorCode::kCorrupt, "row of unknown table " + ref.table);
    WireRow w;
    bool exists = false;
    if (IsColumnarPage(resp.page_version)) {
      // Typed cells, written out by the columnar encoder without a Json object per row.
      w.cells_spec = spec;
      TS_RETURN_IF_ERROR(store_->LoadRowCells(*spec, ref.id, &w.cells, &exists));
    } else {
      TS_RETURN_IF_ERROR(store_->LoadRowValues(*spec, ref.id, &w.values, &exists));
    }
    if (!exists) return Status(ErrorCode::kCorrupt, "row metadata without its row: " + ref.table + " " + ref.id);
    // The stored clocks text goes out as it is (it is canonical JSON: RowStore writes it with
    // AppendJson). Rows written together carry the same text, so it is checked only when it
    // differs from the previous row's: an object, and canonical, or the page is not sent.
    if (ref.clocks_json != checked_clocks) {
      Json clocks;
      if (!ParseJson(ref.clocks_json, &clocks).ok() || !clocks.is_object() || DumpJson(clocks) != ref.clocks_json)
        return Status(ErrorCode::kCorrupt, "unreadable clocks of " + ref.table + " " + ref.id);
      checked_clocks = ref.clocks_json;
    }
    w.clocks = Json();
    w.clocks_text = std::move(ref.clocks_json);
    w.table = spec->name;
    w.id = std::move(ref.id);
    w.version = ref.version;
    w.seq = ref.seq;
    resp.rows.push_back(std::move(w));
  }
  if (!resp.more) {
    uint64_t sum = 0;
    TS_RETURN_IF_ERROR(ShopChecksum(caller.shop_id, &sum));
    resp.checksum = ChecksumHex(sum);
  }
  resp.hub_hlc = clock_->Now().ToString();
  *response = EncodePullResponse(resp);
  return Status::Ok();
}

Status Hub::CollectChangePage(const Caller& caller, const PullRequest& req, std::vector<FeedEntry>* refs,
                              PullResponse* resp) {
  // Two feeds (catalog scope, shop scope), each already in seq order, merged here: one query
  // over both scopes ordered by seq would sort every remaining row on every page. Each feed
  // entry carries the row's metadata too, so a row on the page then costs one read of its values.
  int64_t remaining_total = 0;
  for (const std::string& scope : {std::string(), caller.shop_id}) {
    TS_RETURN_IF_ERROR(store_->Feed(scope, req.cursor, req.limit + 1, refs));
    int64_t count = 0;
    TS_RETURN_IF_ERROR(store_->FeedCount(scope, req.cursor, &count));
    remaining_total += count;
  }
  std::sort(refs->begin(), refs->end(), [](const FeedEntry& a, const FeedEntry& b) { return a.seq < b.seq; });
  resp->more = int64_t(refs->size()) > req.limit;
  if (resp->more) refs->resize(size_t(req.limit));
  resp->cursor = refs->empty() ? req.cursor : refs->back().seq;
  resp->remaining = remaining_total - int64_t(refs->size());
  return Status::Ok();
}

Status Hub::CollectSnapshotPage(const Caller& caller, const PullRequest& req, SnapshotPosition* position,
                                std::vector<FeedEntry>* refs, PullResponse* resp) {
  // One row more than the page holds: whether it exists says whether the snapshot goes on.
  const size_t want = size_t(req.limit) + 1;
  if (!position->in_shop) {
    for (const TableSpec* spec : SnapshotCatalogTables()) {
      if (spec->name < position->table) continue;  // sent already
      const std::string after = spec->name == position->table ? position->id : std::string();
      TS_RETURN_IF_ERROR(store_->KeyFeed(spec->name, after, int64_t(want - refs->size()), refs));
      if (refs->size() >= want) break;
    }
  }
  if (refs->size() < want) {
    // The shop's rows as of `through`; a later change of one comes with the changes after it.
    const size_t catalog_rows = refs->size();
    TS_RETURN_IF_ERROR(store_->Feed(caller.shop_id, position->in_shop ? position->shop_seq : 0,
                                    int64_t(want - catalog_rows), refs));
    size_t kept = catalog_rows;
    while (kept < refs->size() && (*refs)[kept].seq <= position->through) ++kept;
    refs->resize(kept);
  }
  // The changes after the snapshot (a catalog row may also be counted below).
  int64_t catalog_changes = 0, shop_changes = 0;
  TS_RETURN_IF_ERROR(store_->FeedCount("", position->through, &catalog_changes));
  TS_RETURN_IF_ERROR(store_->FeedCount(caller.shop_id, position->through, &shop_changes));
  int64_t remaining = catalog_changes + shop_changes;
  if (refs->size() < want) {
    // The snapshot ends with this page; the changes since it follow by cursor.
    resp->cursor = position->through;
    resp->more = remaining > 0;
    resp->remaining = remaining;
    return Status::Ok();
  }
  refs->resize(size_t(req.limit));
  const FeedEntry& last = refs->back();
  const TableSpec* last_spec = FindTable(last.table);
  if (last_spec == nullptr) return Status(ErrorCode::kCorrupt, "row of unknown table " + last.table);
  if (last_spec->scope == Scope::kCatalog) {
    // Every row of the page is a catalog row (they come before the shop's).
    position->table = last.table;
    position->id = last.id;
    position->catalog_left = std::max<int64_t>(0, position->catalog_left - int64_t(refs->size()));
    remaining += position->catalog_left;
  } else {
    position->in_shop = true;
    position->shop_seq = last.seq;
  }
  // The shop's rows after the position, up to `through` (those after it are counted above).
  int64_t shop_after = 0;
  TS_RETURN_IF_ERROR(store_->FeedCount(caller.shop_id, position->in_shop ? position->shop_seq : 0, &shop_after));
  remaining += shop_after - shop_changes;
  resp->cursor = req.cursor;
  resp->snapshot = FormatSnapshotPosition(*position);
  resp->more = true;
  resp->remaining = remaining;
  return Status::Ok();
}

Status Hub::ShopChecksum(const std::string& shop_id, uint64_t* out) {
  uint64_t catalog = 0, shop = 0;
  TS_RETURN_IF_ERROR(store_->ScopeChecksum("", &catalog));
  TS_RETURN_IF_ERROR(store_->ScopeChecksum(shop_id, &shop));
  *out = catalog + shop;
  return Status::Ok();
}

Status Hub::Stats(HubStats* out) {
  TS_RETURN_IF_ERROR(store_->ReadStats(out));
  out->last_seq = last_seq_;
  return Status::Ok();
}

Status Hub::CommittedSeq(int64_t* out) {
  std::string hlc;  // not needed here; the store reads both together
  return store_->LoadHubState(&hlc, out);
}

Status Hub::CanonicalDump(const std::string& shop_id, std::string* out) {
  return store_->CanonicalDump({std::string(), shop_id}, out);
}

}  // namespace tillsync
