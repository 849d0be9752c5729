// Storage fault loops, SQLite style, on the device's three critical transactions:
//   - record a sale          (Device::RecordSale: order, lines, payment, movements, outbox entry)
//   - apply a pulled page    (Device::HandlePullResponse: the rows, the cursor, the checksum check)
//   - record a push answer   (Device::HandlePushResponse: acks, quarantine, conflicts)
// For each, and for each storage set-up, N = 1, 2, 3... until the transaction runs to the end
// without reaching the fault:
//   (a) the Nth write fails, (b) the Nth sync fails,
//   (c) the disk freezes at the Nth sync (the process died there), then a power cut drops every
//       unsynced byte, (d) the same, but unsynced sectors survive, vanish or turn to noise.
// After each, the till is closed and opened again from its file, and:
//   - PRAGMA integrity_check is ok;
//   - the database is exactly as before the transaction or exactly as after it (a dump of every
//     table, bookkeeping included, equals one of the two reference dumps), and a transaction
//     that reported success is there (synchronous=FULL: acknowledged means durable);
//   - the engine keeps working: a further sale and a full sync succeed and the till's replica
//     equals the hub's.
// Each world is rebuilt from scratch with fixed seeds, so every iteration starts from the same
// bytes and the reference dumps apply to all of them.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>

#include "core/device.h"
#include "core/hub.h"
#include "core/migrations.h"
#include "tests/support/fault_vfs.h"
#include "tests/support/sync_helpers.h"

namespace tillsync {
namespace {

using test_support::CallerOf;
using test_support::IntegrityCheck;
using test_support::LogicalDump;
using test_support::QueryInt;
using test_support::Sale;
using test_support::SyncOnce;

constexpr int64_t kT0 = 1'700'000'000'000;

enum class Storage {
  kWal,                      // what the product runs: WAL, synchronous=FULL, exclusive locking
  kWalCheckpointEachCommit,  // the same, checkpointing after every commit: adds the checkpoint's
                             // own sync points (database file written and synced, WAL reset)
  kRollbackJournal,          // journal_mode=DELETE, for a platform without WAL: a hot journal
                             // rolls back instead, with more sync points per commit
};

enum class Fault { kFailNthWrite, kFailNthSync, kCrashDropUnsynced, kCrashGarbleUnsynced };

const char* Name(Storage s) {
  switch (s) {
    case Storage::kWal: return "Wal";
    case Storage::kWalCheckpointEachCommit: return "WalCheckpointEachCommit";
    case Storage::kRollbackJournal: return "RollbackJournal";
  }
  return "?";
}
const char* Name(Fault f) {
  switch (f) {
    case Fault::kFailNthWrite: return "FailNthWrite";
    case Fault::kFailNthSync: return "FailNthSync";
    case Fault::kCrashDropUnsynced: return "CrashAtNthSyncDropUnsynced";
    case Fault::kCrashGarbleUnsynced: return "CrashAtNthSyncGarbleUnsynced";
  }
  return "?";
}

// One hub (on a disk that never fails) and one till (on the fault VFS), plus a helper till of
// the same shop (on the hub's disk) whose writes give the pull and push scenarios something to
// receive. Members are declared so that the VFSs outlive the connections on them.
class World {
 public:
  explicit World(Storage storage) : storage_(storage) {}

  Status Build() {
    HubOptions ho;
    ho.env = &env_;
    ho.open.vfs = hub_vfs_.name();
    ho.open.exclusive_locking = true;
    TS_RETURN_IF_ERROR(Hub::Open("hub.db", ho, &hub_));
    TS_RETURN_IF_ERROR(hub_->CreateShop("Shop", "EUR", &shop_));
    std::vector<Change> catalog;
    for (int i = 1; i <= 3; ++i)
      catalog.push_back(Change{"products", "p" + std::to_string(i),
                               Json{{"name", "Product " + std::to_string(i)}, {"price_minor", 100 * i + 5},
                                    {"tax_rate_bp", 2000}, {"active", 1}}});
    TS_RETURN_IF_ERROR(hub_->AdminWrite(catalog));
    TS_RETURN_IF_ERROR(hub_->RegisterDevice(shop_.id, "till", &till_rec_));
    TS_RETURN_IF_ERROR(hub_->RegisterDevice(shop_.id, "helper", &helper_rec_));
    TS_RETURN_IF_ERROR(OpenTill());
    TS_RETURN_IF_ERROR(OpenDevice(helper_rec_, &hub_vfs_, &helper_));
    WriteResult w;
    for (int i = 1; i <= 3; ++i) TS_RETURN_IF_ERROR(till_->ReceiveStock("p" + std::to_string(i), 50, &w));
    TS_RETURN_IF_ERROR(SyncOnce(hub_.get(), till_.get()));
    return SyncOnce(hub_.get(), helper_.get());
  }

  Status OpenTill() {
    return OpenDevice(till_rec_, &vfs_, &till_, storage_ == Storage::kRollbackJournal ? "DELETE" : "WAL");
  }
  // As the process dying: the connection goes away with whatever it had not written.
  void CloseTill() { till_.reset(); }

  // Puts the storage set-up in force for the transaction under test.
  Status ApplyStorage() {
    if (storage_ == Storage::kWalCheckpointEachCommit) return till_->db()->Exec("PRAGMA wal_autocheckpoint=1");
    return Status::Ok();
  }

  Device* till() { return till_.get(); }
  Device* helper() { return helper_.get(); }
  Hub* hub() { return hub_.get(); }
  FaultVfs& vfs() { return vfs_; }

 private:
  Status OpenDevice(const DeviceRecord& rec, FaultVfs* vfs, std::unique_ptr<Device>* out,
                    const char* journal_mode = "WAL") {
    DeviceOptions o;
    o.env = &env_;
    o.open.vfs = vfs->name();
    o.open.journal_mode = journal_mode;
    o.open.exclusive_locking = true;
    return Device::Open(rec.name + ".db", DeviceIdentity{rec.id, rec.shop_id, rec.receipt_prefix, "EUR"}, o, out);
  }

  Storage storage_;
  ManualEnv env_{kT0, 99};
  FaultVfs hub_vfs_{"storage-fault-hub", 1};
  FaultVfs vfs_{"storage-fault-till", 2};
  std::unique_ptr<Hub> hub_;
  std::unique_ptr<Device> till_, helper_;
  ShopRecord shop_;
  DeviceRecord till_rec_, helper_rec_;
};

std::string Kv(Device* d, const char* key) {
  return std::to_string(QueryInt(d->db(), std::string("SELECT CAST(value AS INTEGER) FROM _ts_kv WHERE key='") + key + "'"));
}
std::string Count(Device* d, const char* table, const std::string& where = "") {
  return std::to_string(QueryInt(d->db(), std::string("SELECT COUNT(*) FROM ") + table + where));
}

// A transaction under test: how to bring a fresh world to just before it, how to run it, and
// the parts that must appear or disappear together (a readable summary; the full dump is the
// strict check).
struct Scenario {
  const char* name;
  std::function<Status(World*, std::string* input)> prepare;  // may hand bytes to `run`
  std::function<Status(World*, const std::string& input)> run;
  std::function<std::string(Device*)> parts;
};

Scenario RecordSaleScenario() {
  return {
      "RecordSale",
      [](World*, std::string*) { return Status::Ok(); },
      [](World* w, const std::string&) {
        SaleResult sale;
        return w->till()->RecordSale(
            Sale({{"p1", 1}, {"p2", 2}, {"p3", 1}}, {PaymentInput{"cash", -1, 20000}}), &sale);
      },
      [](Device* d) {
        return "orders=" + Count(d, "sales_orders") + " lines=" + Count(d, "order_lines") + " payments=" +
               Count(d, "payments") + " movements=" + Count(d, "stock_movements") + " outbox=" + Count(d, "_ts_outbox") +
               " next_seq=" + Kv(d, "next_seq") + " receipts=" + Kv(d, "receipt_counter") + " ids=" + Kv(d, "row_counter");
      },
  };
}

Scenario ApplyPulledPageScenario() {
  return {
      "ApplyPulledPage",
      [](World* w, std::string* page) {
        // Another till of the shop sells and spends; the hub changes the catalog. Five sales
        // make runs of 10 new lines and 10 new movements, which the till inserts as one
        // statement each (RowStore::InsertAllIfAbsent); the products' run holds p2, which the
        // till has, so its one statement is undone and the run goes row by row.
        SaleResult sale;
        WriteResult wr;
        for (int i = 0; i < 5; ++i)
          TS_RETURN_IF_ERROR(w->helper()->RecordSale(Sale({{"p1", 1 + i}, {"p3", 1}}), &sale));
        TS_RETURN_IF_ERROR(w->helper()->RecordExpense("window cleaner", 2500, &wr));
        TS_RETURN_IF_ERROR(SyncOnce(w->hub(), w->helper()));
        std::vector<Change> catalog = {Change{"products", "p2", Json{{"price_minor", 999}}}};
        for (int i = 4; i < 14; ++i)
          catalog.push_back(Change{"products", "p" + std::to_string(i),
                                   Json{{"name", "New"}, {"price_minor", 50 + i}, {"tax_rate_bp", 0}, {"active", 1}}});
        TS_RETURN_IF_ERROR(w->hub()->AdminWrite(catalog));
        // The till's next page: everything new, as one last page with the shop's checksum.
        std::string body;
        TS_RETURN_IF_ERROR(w->till()->BuildPull(&body));
        TS_RETURN_IF_ERROR(w->hub()->Pull(CallerOf(w->till()), body, page));
        PullResponse decoded;
        TS_RETURN_IF_ERROR(DecodePullResponse(*page, &decoded));
        if (decoded.more || decoded.checksum.empty() || PageRowsOf(std::move(decoded)).size() < 20)
          return Status(ErrorCode::kInternal, "scenario expects one big last page");
        return Status::Ok();
      },
      [](World* w, const std::string& page) {
        PullOutcome out;
        TS_RETURN_IF_ERROR(w->till()->HandlePullResponse(page, &out));
        // A checksum mismatch here would mean the page was applied wrongly.
        if (!out.checksum_checked || out.repair_started) return Status(ErrorCode::kInternal, "checksum disagreed");
        return Status::Ok();
      },
      [](Device* d) {
        return "products=" + Count(d, "products") + " price_p2=" +
               std::to_string(QueryInt(d->db(), "SELECT price_minor FROM products WHERE id='p2'")) + " orders=" +
               Count(d, "sales_orders") + " lines=" + Count(d, "order_lines") + " payments=" + Count(d, "payments") +
               " movements=" + Count(d, "stock_movements") + " expenses=" + Count(d, "expenses") + " meta=" +
               Count(d, "_ts_rows") + " cursor=" + Kv(d, "pull_cursor");
      },
  };
}

Scenario RecordPushAnswerScenario() {
  return {
      "RecordPushAnswer",
      [](World* w, std::string* answer) {
        Device* till = w->till();
        Device* helper = w->helper();
        SaleResult first, second;
        WriteResult wr;
        TS_RETURN_IF_ERROR(till->RecordSale(Sale({{"p1", 2}}), &first));
        TS_RETURN_IF_ERROR(till->Write({Change{"customers", "c1", Json{{"name", "Ann"}, {"phone", "1"}}}}, &wr));
        TS_RETURN_IF_ERROR(SyncOnce(w->hub(), till));
        TS_RETURN_IF_ERROR(SyncOnce(w->hub(), helper));
        // The helper refunds the sale and edits the customer; the till, not yet told, voids the
        // same sale and edits the same customer, then carries on selling.
        TS_RETURN_IF_ERROR(helper->RefundSale(first.order_id, &wr));
        TS_RETURN_IF_ERROR(helper->Write({Change{"customers", "c1", Json{{"phone", "222"}}}}, &wr));
        TS_RETURN_IF_ERROR(SyncOnce(w->hub(), helper));
        TS_RETURN_IF_ERROR(till->VoidSale(first.order_id, &wr));                              // -> rejected
        TS_RETURN_IF_ERROR(till->RecordSale(Sale({{"p2", 1}, {"p3", 3}}), &second));  // -> applied
        TS_RETURN_IF_ERROR(till->Write({Change{"customers", "c1", Json{{"phone", "333"}}}}, &wr));  // -> conflict
        TS_RETURN_IF_ERROR(till->RecordExpense("milk", 199, &wr));                             // -> applied
        std::string body;
        int64_t n = 0;
        TS_RETURN_IF_ERROR(till->BuildPush(&body, &n));
        if (n != 4) return Status(ErrorCode::kInternal, "scenario expects 4 pending operations");
        TS_RETURN_IF_ERROR(w->hub()->Push(CallerOf(till), body, answer));
        PushResponse decoded;
        TS_RETURN_IF_ERROR(DecodePushResponse(*answer, &decoded));
        int kinds[3] = {0, 0, 0};
        for (const OpResult& r : decoded.results) ++kinds[int(r.status)];
        if (kinds[int(OpStatus::kApplied)] != 2 || kinds[int(OpStatus::kRejected)] != 1 ||
            kinds[int(OpStatus::kConflict)] != 1)
          return Status(ErrorCode::kInternal, "scenario expects 2 applied, 1 rejected, 1 conflict: " + *answer);
        return Status::Ok();
      },
      [](World* w, const std::string& answer) { return w->till()->HandlePushResponse(answer); },
      [](Device* d) {
        return "outbox=" + Count(d, "_ts_outbox") + " quarantine=" + Count(d, "_ts_quarantine") + " conflicts=" +
               Count(d, "_ts_conflicts") + " acked=" + Kv(d, "stat_acked") + " conflict_stat=" + Kv(d, "stat_conflicts") +
               " phone=" + std::to_string(QueryInt(d->db(), "SELECT CAST(phone AS INTEGER) FROM customers WHERE id='c1'"));
      },
  };
}

struct Snapshot {
  std::string dump, parts;
};
Snapshot Take(const Scenario& sc, Device* d) { return {LogicalDump(d->db()), sc.parts(d)}; }

struct LoopParam {
  Scenario (*scenario)();
  Storage storage;
  Fault fault;
};

std::string LoopName(const LoopParam& p) {
  return std::string(p.scenario().name) + "_" + Name(p.storage) + "_" + Name(p.fault);
}
std::string ParamName(const ::testing::TestParamInfo<LoopParam>& info) { return LoopName(info.param); }
void PrintTo(const LoopParam& p, std::ostream* os) { *os << LoopName(p); }

class StorageFaultTest : public ::testing::TestWithParam<LoopParam> {
 protected:
  // Builds a fresh world brought to just before the transaction; *before is its state.
  void Fresh(const Scenario& sc, std::unique_ptr<World>* world, std::string* input, Snapshot* before) {
    *world = std::make_unique<World>(GetParam().storage);
    Status s = (*world)->Build();
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = sc.prepare(world->get(), input);
    ASSERT_TRUE(s.ok()) << s.ToString();
    // As the till opens after any crash: its writes' state (carried by the newest outbox row)
    // brought into _ts_kv, so "before" is the state every recovery starts from.
    (*world)->CloseTill();
    s = (*world)->OpenTill();
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = (*world)->ApplyStorage();
    ASSERT_TRUE(s.ok()) << s.ToString();
    *before = Take(sc, (*world)->till());
  }

  // A further sale and a full sync succeed, and the till ends equal to the hub.
  void ExpectKeepsWorking(World* w) {
    SaleResult sale;
    Status s = w->till()->RecordSale(Sale({{"p3", 1}}), &sale);
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = SyncOnce(w->hub(), w->till());
    ASSERT_TRUE(s.ok()) << s.ToString();
    // A refused operation keeps its local effects until a person discards it; do so, so the
    // replica can be compared with the hub's view.
    Json quarantine;
    ASSERT_TRUE(w->till()->ListQuarantine(&quarantine).ok());
    for (const Json& q : quarantine) ASSERT_TRUE(w->till()->DiscardQuarantined(q["seq"].get<int64_t>()).ok());
    if (!quarantine.empty()) {
      ASSERT_TRUE(SyncOnce(w->hub(), w->till()).ok());
    }
    std::string hub_dump, till_dump;
    ASSERT_TRUE(w->hub()->CanonicalDump(w->till()->identity().shop_id, &hub_dump).ok());
    ASSERT_TRUE(w->till()->CanonicalDump(&till_dump).ok());
    ASSERT_EQ(till_dump, hub_dump);
    SyncStatus st;
    ASSERT_TRUE(w->till()->GetStatus(&st).ok());
    ASSERT_EQ(st.pending, 0);
    ASSERT_EQ(IntegrityCheck(w->till()->db()), "ok");
  }
};

TEST_P(StorageFaultTest, TransactionIsAllOrNothingAndTheTillRecovers) {
  const LoopParam& param = GetParam();
  const Scenario sc = param.scenario();

  // The reference run, without faults: the two states every faulted run must end in.
  std::unique_ptr<World> world;
  std::string input;
  Snapshot before, after;
  Fresh(sc, &world, &input, &before);
  if (HasFatalFailure()) return;
  Status s = sc.run(world.get(), input);
  ASSERT_TRUE(s.ok()) << s.ToString();
  world->CloseTill();
  ASSERT_TRUE(world->OpenTill().ok());
  after = Take(sc, world->till());
  ASSERT_NE(before.parts, after.parts) << "the transaction under test changes nothing";
  const std::string reference_input = input;

  int faults_hit = 0, reported_failure = 0, committed_despite_failure = 0;
  for (int64_t n = 1;; ++n) {
    SCOPED_TRACE(std::string(sc.name) + " " + Name(param.storage) + " " + Name(param.fault) + " N=" +
                 std::to_string(n));
    ASSERT_LT(n, 2000) << "the loop does not end";
    Snapshot start;
    Fresh(sc, &world, &input, &start);
    if (HasFatalFailure()) return;
    // Fixed seeds: every iteration starts from the reference's state, with the same input.
    ASSERT_EQ(start.dump, before.dump);
    ASSERT_EQ(input, reference_input);

    FaultVfs& vfs = world->vfs();
    const int64_t writes0 = vfs.writes(), syncs0 = vfs.syncs();
    switch (param.fault) {
      case Fault::kFailNthWrite: vfs.FailNthWrite(n); break;
      case Fault::kFailNthSync: vfs.FailNthSync(n); break;
      case Fault::kCrashDropUnsynced:
      case Fault::kCrashGarbleUnsynced: vfs.FreezeAtNthSync(n); break;
    }
    const Status txn = sc.run(world.get(), input);
    const bool hit = param.fault == Fault::kFailNthWrite ? vfs.writes() - writes0 >= n : vfs.syncs() - syncs0 >= n;
    faults_hit += hit ? 1 : 0;
    reported_failure += txn.ok() ? 0 : 1;
    if (!hit) {
      EXPECT_TRUE(txn.ok()) << "no fault reached, yet: " << txn.ToString();
    }

    // The process goes away (a fault still armed may also strike while the connection closes).
    world->CloseTill();
    if (param.fault == Fault::kCrashDropUnsynced) vfs.Crash(CrashMode::kDropUnsynced);
    else if (param.fault == Fault::kCrashGarbleUnsynced) vfs.Crash(CrashMode::kGarbleUnsynced);
    else vfs.ClearFaults();

    s = world->OpenTill();
    ASSERT_TRUE(s.ok()) << "reopen failed: " << s.ToString();
    ASSERT_EQ(IntegrityCheck(world->till()->db()), "ok");
    Snapshot end = Take(sc, world->till());
    const bool is_before = end.dump == before.dump, is_after = end.dump == after.dump;
    ASSERT_TRUE(is_before || is_after) << "half a transaction survived:\n  parts now:    " << end.parts
                                       << "\n  parts before: " << before.parts << "\n  parts after:  " << after.parts;
    // synchronous=FULL: a transaction that reported success survives any crash after it.
    if (txn.ok()) {
      ASSERT_TRUE(is_after) << "an acknowledged transaction was lost; parts now: " << end.parts;
    }
    // The other way round is allowed: the commit record reached the disk, but the error came
    // from a later step (SQLite cannot know whether an fsync that failed still persisted).
    if (!txn.ok() && is_after) ++committed_despite_failure;
    ExpectKeepsWorking(world.get());
    if (HasFatalFailure()) return;
    if (!hit) break;  // the transaction ran to its end without reaching the fault: all covered
  }
  std::printf("[ fault loop ] %s/%s/%s: %d fault points hit, %d reported a failure, %d of those committed\n",
              sc.name, Name(param.storage), Name(param.fault), faults_hit, reported_failure, committed_despite_failure);
  EXPECT_GT(faults_hit, 0) << "the loop never reached its fault: it proved nothing";
}

std::vector<LoopParam> AllLoops() {
  std::vector<LoopParam> out;
  for (Scenario (*sc)() : {&RecordSaleScenario, &ApplyPulledPageScenario, &RecordPushAnswerScenario})
    for (Storage st : {Storage::kWal, Storage::kWalCheckpointEachCommit, Storage::kRollbackJournal})
      for (Fault f : {Fault::kFailNthWrite, Fault::kFailNthSync, Fault::kCrashDropUnsynced, Fault::kCrashGarbleUnsynced})
        out.push_back({sc, st, f});
  return out;
}

INSTANTIATE_TEST_SUITE_P(CriticalTransactions, StorageFaultTest, ::testing::ValuesIn(AllLoops()), ParamName);

}  // namespace
}  // namespace tillsync
