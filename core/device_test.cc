// The device side: the local write path (row + outbox in one transaction), sequence and receipt
// numbering that survive restarts, sale arithmetic, stock, the read-only query door, quarantine,
// sync state and statistics, update-required, and checksum repair. The device and a hub run in
// one process on the in-memory VFS; "reopen" closes the Device and opens its file again, as a
// reloaded tab does.
#include "core/device.h"

#include <gtest/gtest.h>

#include <set>

#include "core/migrations.h"
#include "core/sqlite_hub_store.h"
#include "tests/support/fault_vfs.h"
#include "tests/support/sync_helpers.h"

namespace tillsync {
namespace {

using test_support::CallerOf;
using test_support::QueryRowsText;
using test_support::PushAll;
using test_support::QueryInt;
using test_support::Sale;
using test_support::SyncOnce;

constexpr int64_t kT0 = 1'700'000'000'000;

class DeviceTest : public ::testing::Test {
 protected:
  void SetUp() override { OpenHub(HubOptions()); }

  void OpenHub(HubOptions ho) {
    hub_.reset();
    ho.env = &hub_env_;
    ho.open.vfs = vfs_.name();
    ho.open.exclusive_locking = true;
    // Through the SQLite store, whose connection the tests keep to inspect tables.
    std::unique_ptr<SqliteHubStore> store;
    Status s = SqliteHubStore::Open("hub.db", ho.open, &store);
    ASSERT_TRUE(s.ok()) << s.ToString();
    hub_db_ = store->db();
    s = Hub::Open(std::move(store), ho, &hub_);
    ASSERT_TRUE(s.ok()) << s.ToString();
    if (!shop_.id.empty()) return;
    ASSERT_TRUE(hub_->CreateShop("Shop A", "EUR", &shop_).ok());
    auto product = [](const char* name, int64_t price, int64_t tax_bp, int active = 1) {
      return Json{{"name", name}, {"price_minor", price}, {"tax_rate_bp", tax_bp}, {"active", active}};
    };
    ASSERT_TRUE(hub_->AdminWrite({Change{"products", "coffee", product("Coffee", 250, 2000)},
                                  Change{"products", "p105", product("Bun", 105, 1000)},
                                  Change{"products", "p104", product("Roll", 104, 1000)},
                                  Change{"products", "p10", product("Mint", 10, 2500)},
                                  Change{"products", "free", product("Water jug", 0, 2000)},
                                  Change{"products", "retired", product("Old cake", 300, 2000, 0)}}).ok());
    ASSERT_TRUE(hub_->RegisterDevice(shop_.id, "till-1", &rec1_).ok());
    ASSERT_TRUE(hub_->RegisterDevice(shop_.id, "till-2", &rec2_).ok());
  }

  std::unique_ptr<Device> Open(const DeviceRecord& rec) {
    DeviceOptions o;
    o.env = &dev_env_;
    o.open.vfs = vfs_.name();
    o.open.exclusive_locking = true;
    std::unique_ptr<Device> d;
    Status s = Device::Open(rec.name + ".db", DeviceIdentity{rec.id, rec.shop_id, rec.receipt_prefix, "EUR"}, o, &d);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return d;
  }
  // A device that has downloaded the catalog.
  std::unique_ptr<Device> Ready(const DeviceRecord& rec) {
    auto d = Open(rec);
    Status s = SyncOnce(hub_.get(), d.get());
    EXPECT_TRUE(s.ok()) << s.ToString();
    return d;
  }
  void Reopen(std::unique_ptr<Device>* d, const DeviceRecord& rec) {
    d->reset();
    *d = Open(rec);
    ASSERT_NE(*d, nullptr);
  }

  static int64_t Pending(Device* d) { return QueryInt(d->db(), "SELECT COUNT(*) FROM _ts_outbox"); }
  static int64_t OnHand(Device* d, const std::string& product) {
    return QueryInt(d->db(), "SELECT COALESCE(SUM(qty_delta), 0) FROM stock_movements WHERE product_id='" + product + "'");
  }
  void ExpectConverged(Device* d) {
    std::string hub_dump, dev_dump;
    ASSERT_TRUE(hub_->CanonicalDump(shop_.id, &hub_dump).ok());
    ASSERT_TRUE(d->CanonicalDump(&dev_dump).ok());
    EXPECT_EQ(dev_dump, hub_dump);
  }

  ManualEnv hub_env_{kT0, 5};
  ManualEnv dev_env_{kT0, 6};
  FaultVfs vfs_{"device-test-vfs"};
  std::unique_ptr<Hub> hub_;
  Database* hub_db_ = nullptr;  // hub_'s SQLite connection, for inspecting tables
  ShopRecord shop_;
  DeviceRecord rec1_, rec2_;
};

// --- The write path -----------------------------------------------------------------------------

TEST_F(DeviceTest, MintedIdsAreTheDeviceIdAndTheCounterInLowerCaseHex) {
  auto d = Open(rec1_);
  std::vector<std::string> ids(17);
  for (std::string& id : ids) ASSERT_TRUE(d->NewRowId(&id).ok());
  EXPECT_EQ(ids[0], rec1_.id + "-1");
  EXPECT_EQ(ids[9], rec1_.id + "-a");
  EXPECT_EQ(ids[14], rec1_.id + "-f");
  EXPECT_EQ(ids[15], rec1_.id + "-10");
  EXPECT_EQ(ids[16], rec1_.id + "-11");
  // A local-only device names itself "local_" and 16 hex digits, zero-padded.
  DeviceOptions o;
  o.env = &dev_env_;
  o.open.vfs = vfs_.name();
  std::unique_ptr<Device> local;
  ASSERT_TRUE(Device::Open("local-only.db", DeviceIdentity{}, o, &local).ok());
  const std::string& name = local->identity().device_id;
  ASSERT_EQ(name.size(), 6u + 16u) << name;
  EXPECT_EQ(name.substr(0, 6), "local_");
  EXPECT_EQ(name.find_first_not_of("0123456789abcdef", 6), std::string::npos) << name;
}

TEST_F(DeviceTest, SaleRowsAndTheirOutboxEntryCommitTogether) {
  auto d = Ready(rec1_);
  SaleResult sale;
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 2}, {"p105", 1}}), &sale).ok());
  Json outbox;
  ASSERT_TRUE(d->ListOutbox(&outbox).ok());
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0]["seq"], sale.seq);
  Json op_json;
  ASSERT_TRUE(ParseJson(outbox[0]["op"].get<std::string>(), &op_json).ok());
  Operation op;
  ASSERT_TRUE(OperationFromJson(op_json, "outbox", &op).ok());
  // Every row the sale wrote is in the queued operation, and every queued change was written.
  std::multiset<std::string> queued, written;
  for (const Change& c : op.changes) queued.insert(c.table + "/" + c.id);
  for (const char* table : {"sales_orders", "order_lines", "payments", "stock_movements"}) {
    Json rows;
    ASSERT_TRUE(d->Query(std::string("SELECT id FROM ") + table, Json::array(), &rows).ok());
    for (const Json& r : rows) written.insert(std::string(table) + "/" + r["id"].get<std::string>());
  }
  EXPECT_EQ(queued, written);
  EXPECT_EQ(queued.size(), 1u + 2 + 1 + 2);
}

TEST_F(DeviceTest, PushedBytesAreTheSameFromTheShortStoredFormFullRowsAndAfterReopen) {
  auto d = Ready(rec1_);
  SaleResult sale;
  WriteResult w;
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 2}, {"p105", 1}}), &sale).ok());
  ASSERT_TRUE(d->VoidSale(sale.order_id, &w).ok());  // updates an existing row
  ASSERT_TRUE(d->ReceiveStock("coffee", 5, &w).ok());
  // The stored form leaves the device's shop id out.
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM _ts_outbox WHERE instr(op, '" + shop_.id + "') > 0"), 0);
  std::string stored_short, stored_full, reopened;
  int64_t n = 0;
  ASSERT_TRUE(d->BuildPush(&stored_short, &n).ok());
  ASSERT_EQ(n, 3);
  ASSERT_NE(stored_short.find(shop_.id), std::string::npos);
  // Rows as a device stored them before the short form existed: every value in full (the text
  // ListOutbox shows). They must push the very same bytes.
  Json outbox;
  ASSERT_TRUE(d->ListOutbox(&outbox).ok());
  for (const Json& row : outbox) {
    Statement upd;
    ASSERT_TRUE(d->db()->Prepare("UPDATE _ts_outbox SET op=?2 WHERE seq=?1", &upd).ok());
    ASSERT_TRUE(upd.Bind(1, row["seq"].get<int64_t>()).Bind(2, row["op"].get<std::string>()).Run().ok());
  }
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM _ts_outbox WHERE instr(op, '" + shop_.id + "') > 0"), 3);
  ASSERT_TRUE(d->BuildPush(&stored_full, &n).ok());
  EXPECT_EQ(stored_full, stored_short);
  // The hub takes the push; after a restart the same operations go again (the answer was lost)
  // and the hub's payload check sees the same payload: a replay, not a mismatch.
  std::string answer;
  ASSERT_TRUE(hub_->Push(CallerOf(d.get()), stored_short, &answer).ok());
  Reopen(&d, rec1_);
  ASSERT_TRUE(d->BuildPush(&reopened, &n).ok());
  EXPECT_EQ(reopened, stored_short);
  std::string replay_answer;
  ASSERT_TRUE(hub_->Push(CallerOf(d.get()), reopened, &replay_answer).ok());
  PushResponse first, replay;
  ASSERT_TRUE(DecodePushResponse(answer, &first).ok());
  ASSERT_TRUE(DecodePushResponse(replay_answer, &replay).ok());
  ASSERT_EQ(replay.results.size(), 3u);
  for (size_t i = 0; i < replay.results.size(); ++i) {
    EXPECT_EQ(first.results[i].status, OpStatus::kApplied);
    EXPECT_EQ(replay.results[i].status, OpStatus::kApplied) << replay.results[i].code << replay.results[i].message;
  }
  ASSERT_TRUE(d->HandlePushResponse(replay_answer).ok());
  EXPECT_EQ(Pending(d.get()), 0);
}

// A transport may build the next push while the one before is on the wire (worker/owner.js):
// the body built early is the very body built after the answer, and sent too early the hub
// refuses it whole.
TEST_F(DeviceTest, TheNextPushBuiltWhileThePreviousIsInFlightIsTheSameBody) {
  std::unique_ptr<Device> d;
  {
    DeviceOptions o;
    o.env = &dev_env_;
    o.open.vfs = vfs_.name();
    o.push_batch = 2;
    ASSERT_TRUE(Device::Open(rec1_.name + ".db", DeviceIdentity{rec1_.id, rec1_.shop_id, rec1_.receipt_prefix, "EUR"}, o, &d).ok());
    ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  }
  for (int i = 0; i < 5; ++i) {
    SaleResult sale;
    ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
  }
  std::string first, second, third;
  int64_t count = 0, first_last = 0, second_last = 0, third_last = 0;
  ASSERT_TRUE(d->BuildPushAfter(0, &first, &count, &first_last).ok());
  ASSERT_EQ(count, 2);
  ASSERT_TRUE(d->BuildPushAfter(first_last, &second, &count, &second_last).ok());
  ASSERT_EQ(count, 2);
  EXPECT_EQ(second_last, first_last + 2);

  std::string answer;
  Status early = hub_->Push(CallerOf(d.get()), second, &answer);
  EXPECT_EQ(early.code(), ErrorCode::kSequenceGap) << early.ToString();
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM sales_orders"), 0) << "a refused push stores nothing";

  ASSERT_TRUE(hub_->Push(CallerOf(d.get()), first, &answer).ok());
  ASSERT_TRUE(d->HandlePushResponse(answer).ok());
  std::string rebuilt;
  int64_t rebuilt_last = 0;
  ASSERT_TRUE(d->BuildPushAfter(0, &rebuilt, &count, &rebuilt_last).ok());
  EXPECT_EQ(rebuilt, second);
  EXPECT_EQ(rebuilt_last, second_last);

  ASSERT_TRUE(hub_->Push(CallerOf(d.get()), second, &answer).ok());
  ASSERT_TRUE(d->BuildPushAfter(second_last, &third, &count, &third_last).ok());
  EXPECT_EQ(count, 1);
  ASSERT_TRUE(d->HandlePushResponse(answer).ok());
  ASSERT_TRUE(hub_->Push(CallerOf(d.get()), third, &answer).ok());
  ASSERT_TRUE(d->HandlePushResponse(answer).ok());
  std::string none;
  ASSERT_TRUE(d->BuildPushAfter(third_last, &none, &count, &third_last).ok());
  EXPECT_EQ(count, 0);
  EXPECT_EQ(Pending(d.get()), 0);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM sales_orders"), 5);
}

TEST_F(DeviceTest, AWriteRefusedHalfwayLeavesNoRowAndNoOutboxEntry) {
  auto d = Ready(rec1_);
  SaleResult sale;
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
  // The new product is stored first; then the second change is refused by the sale's merge rule.
  WriteResult w;
  Status s = d->Write({Change{"products", "new-product", Json{{"name", "Cake"}, {"price_minor", 300},
                                                             {"tax_rate_bp", 2000}, {"active", 1}}},
                       Change{"sales_orders", sale.order_id, Json{{"total_minor", 1}}}}, &w);
  EXPECT_EQ(s.code(), ErrorCode::kImmutable);
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM products WHERE id='new-product'"), 0);
  EXPECT_EQ(Pending(d.get()), 1);
  // Nor was its sequence number used up.
  ASSERT_TRUE(d->ReceiveStock("coffee", 5, &w).ok());
  EXPECT_EQ(w.seq, sale.seq + 1);
}

TEST_F(DeviceTest, ASaleWhoseCommitFailsUsesUpNoSequenceOrReceiptNumber) {
  // The device keeps next_seq, the receipt counter and its checksums in memory between writes.
  // A transaction that wrote them and then failed at COMMIT (here: a deferred constraint a trap
  // table adds to the outbox row that carries them) is rolled back, so the same device, not
  // reopened, must hand out the same numbers again.
  auto d = Ready(rec1_);
  SaleResult first;
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &first).ok());
  ASSERT_TRUE(d->db()->Exec(
      "CREATE TABLE trap_parent (id INTEGER PRIMARY KEY);"
      " CREATE TABLE trap (parent INTEGER REFERENCES trap_parent(id) DEFERRABLE INITIALLY DEFERRED);"
      " CREATE TRIGGER trap_on_counters AFTER INSERT ON _ts_outbox"
      "   BEGIN INSERT INTO trap VALUES (1); END;"
      " PRAGMA foreign_keys=ON").ok());
  SaleResult failed;
  Status s = d->RecordSale(Sale({{"coffee", 2}}), &failed);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM sales_orders"), 1);
  EXPECT_EQ(Pending(d.get()), 1);
  ASSERT_TRUE(d->db()->Exec("PRAGMA foreign_keys=OFF; DROP TRIGGER trap_on_counters").ok());
  SaleResult second;
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 2}}), &second).ok());
  EXPECT_EQ(second.seq, first.seq + 1);
  EXPECT_EQ(second.receipt_no.substr(second.receipt_no.size() - 6), "000002");
  EXPECT_EQ(first.receipt_no.substr(first.receipt_no.size() - 6), "000001");
  uint64_t sum_in_memory = 0;
  ASSERT_TRUE(d->LocalChecksum(&sum_in_memory).ok());
  Reopen(&d, rec1_);  // the state the outbox row carried is _ts_kv's after an open
  EXPECT_EQ(QueryInt(d->db(), "SELECT CAST(value AS INTEGER) FROM _ts_kv WHERE key='next_seq'"), second.seq + 1);
  EXPECT_EQ(QueryInt(d->db(), "SELECT CAST(value AS INTEGER) FROM _ts_kv WHERE key='receipt_counter'"), 2);
  uint64_t sum_reopened = 0;
  ASSERT_TRUE(d->LocalChecksum(&sum_reopened).ok());
  EXPECT_EQ(sum_reopened, sum_in_memory);
  WriteResult w;
  ASSERT_TRUE(d->ReceiveStock("coffee", 5, &w).ok());
  EXPECT_EQ(w.seq, second.seq + 1);
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  EXPECT_EQ(Pending(d.get()), 0);
  ExpectConverged(d.get());
}

TEST_F(DeviceTest, AMintedIdThatExistsAfterAllIsRefusedNotOverwritten) {
  // The write path inserts rows with freshly minted ids without loading them first. That is
  // safe because the id counter only grows and commits with the rows; if a database broke that
  // (here: its counter wound back by hand), the insert must fail and change nothing.
  auto d = Ready(rec1_);
  SaleResult first;
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &first).ok());
  Reopen(&d, rec1_);  // the counter the sale's outbox row carried is in _ts_kv from here on
  ASSERT_TRUE(d->db()->Exec("UPDATE _ts_kv SET value='0' WHERE key='row_counter'").ok());
  Reopen(&d, rec1_);
  SaleResult second;
  Status s = d->RecordSale(Sale({{"p105", 3}}), &second);
  EXPECT_EQ(s.code(), ErrorCode::kBadValue) << s.ToString();
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM sales_orders"), 1);
  EXPECT_EQ(QueryInt(d->db(), "SELECT total_minor FROM sales_orders"), first.total_minor);
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM order_lines WHERE product_id='p105'"), 0);
  EXPECT_EQ(Pending(d.get()), 1);
}

TEST_F(DeviceTest, ASaleWritesNoKvRowItsOutboxRowCarriesTheStateAndAnOpenRestoresIt) {
  auto d = Ready(rec1_);
  Reopen(&d, rec1_);
  const char* kv = "SELECT key, value FROM _ts_kv ORDER BY key";
  const std::string kv_before = QueryRowsText(d->db(), kv);
  std::vector<SaleResult> sales(3);
  for (SaleResult& sale : sales) ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}, {"p105", 2}}), &sale).ok());
  // Not one _ts_kv row written by three sales: next_seq, counters and the shop's checksum ride
  // in the newest outbox row.
  EXPECT_EQ(QueryRowsText(d->db(), kv), kv_before);
  Statement tail;
  ASSERT_TRUE(d->db()->Prepare("SELECT op FROM _ts_outbox ORDER BY seq DESC LIMIT 1", &tail).ok());
  bool row = false;
  ASSERT_TRUE(tail.Step(&row).ok() && row);
  Json carried;
  ASSERT_TRUE(ParseJson(tail.Text(0), &carried).ok());
  ASSERT_TRUE(carried.contains("kv")) << tail.Text(0);
  uint64_t sum = 0;
  ASSERT_TRUE(d->LocalChecksum(&sum).ok());

  // The process goes away without writing anything else; the next open takes the row's state.
  Reopen(&d, rec1_);
  EXPECT_EQ(QueryInt(d->db(), "SELECT CAST(value AS INTEGER) FROM _ts_kv WHERE key='next_seq'"), sales[2].seq + 1);
  EXPECT_EQ(QueryInt(d->db(), "SELECT CAST(value AS INTEGER) FROM _ts_kv WHERE key='receipt_counter'"), 3);
  uint64_t reopened_sum = 0;
  ASSERT_TRUE(d->LocalChecksum(&reopened_sum).ok());
  EXPECT_EQ(reopened_sum, sum);
  SaleResult next;
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &next).ok());  // no id reused: it would be refused
  EXPECT_EQ(next.seq, sales[2].seq + 1);
  EXPECT_EQ(next.receipt_no.substr(next.receipt_no.size() - 6), "000004");
  // A second open in a row changes nothing more (the state is in _ts_kv already).
  Reopen(&d, rec1_);
  const std::string kv_open = QueryRowsText(d->db(), kv);
  Reopen(&d, rec1_);
  EXPECT_EQ(QueryRowsText(d->db(), kv), kv_open);
  // And the hub agrees: the pull's checksum check passes (no repair), the replicas are equal.
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  SyncStatus st;
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.repairs, 0);
  ExpectConverged(d.get());
  // After the push removed every outbox row, the state lives in _ts_kv alone.
  EXPECT_EQ(Pending(d.get()), 0);
  Reopen(&d, rec1_);
  SaleResult after_sync;
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &after_sync).ok());
  EXPECT_EQ(after_sync.seq, next.seq + 1);
  EXPECT_EQ(after_sync.receipt_no.substr(after_sync.receipt_no.size() - 6), "000005");
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.repairs, 0);
  ExpectConverged(d.get());
}

TEST_F(DeviceTest, AnOpenThatFailsOrCrashesWhileSavingTheCarriedStateLosesNothing) {
  // The open that moves the newest outbox row's state into _ts_kv, cut at every write and every
  // sync (failing, or the process dying there with unsynced bytes dropped or garbled): the next
  // open still finds the sales' state, in the row or in _ts_kv, and carries on from it.
  struct Cut {
    const char* name;
    bool by_write;
    CrashMode mode;
  };
  for (const Cut& cut : {Cut{"fail write", true, CrashMode::kDropUnsynced}, Cut{"crash drop", false, CrashMode::kDropUnsynced},
                         Cut{"crash garble", false, CrashMode::kGarbleUnsynced}}) {
    int hit = 0;
    for (int64_t n = 1; n < 100; ++n) {
      SCOPED_TRACE(std::string(cut.name) + " n=" + std::to_string(n));
      auto d = Ready(rec1_);
      ASSERT_NE(d, nullptr);
      SaleResult sale;
      for (int i = 0; i < 3; ++i) ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
      uint64_t sum = 0;
      ASSERT_TRUE(d->LocalChecksum(&sum).ok());
      const int64_t receipt = std::stoll(sale.receipt_no.substr(sale.receipt_no.size() - 6));
      d.reset();
      const int64_t writes0 = vfs_.writes(), syncs0 = vfs_.syncs();
      if (cut.by_write) vfs_.FailNthWrite(n);
      else vfs_.FreezeAtNthSync(n);
      DeviceOptions o;
      o.env = &dev_env_;
      o.open.vfs = vfs_.name();
      o.open.exclusive_locking = true;
      std::unique_ptr<Device> cut_open;
      (void)Device::Open(rec1_.name + ".db", DeviceIdentity{rec1_.id, rec1_.shop_id, rec1_.receipt_prefix, "EUR"}, o,
                         &cut_open);
      const bool reached = cut.by_write ? vfs_.writes() - writes0 >= n : vfs_.syncs() - syncs0 >= n;
      cut_open.reset();
      if (cut.by_write) vfs_.ClearFaults();
      else vfs_.CrashFiles(rec1_.name, cut.mode);  // the till's files only, not the hub's
      Reopen(&d, rec1_);
      uint64_t reopened = 0;
      ASSERT_TRUE(d->LocalChecksum(&reopened).ok());
      EXPECT_EQ(reopened, sum);
      EXPECT_EQ(QueryInt(d->db(), "SELECT CAST(value AS INTEGER) FROM _ts_kv WHERE key='next_seq'"), sale.seq + 1);
      EXPECT_EQ(QueryInt(d->db(), "SELECT CAST(value AS INTEGER) FROM _ts_kv WHERE key='receipt_counter'"), receipt);
      SaleResult next;
      ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &next).ok());
      EXPECT_EQ(next.seq, sale.seq + 1);
      d.reset();  // the next round goes on with this database: Ready pushes these sales first
      if (!reached) break;
      ++hit;
    }
    EXPECT_GT(hit, 0) << cut.name << ": no cut reached the open's writes";
  }
}

TEST_F(DeviceTest, ADatabaseWrittenBeforeTheOutboxCarriedStateOpensAsBefore) {
  // An older build kept next_seq, the counters and the checksums in _ts_kv, written with every
  // sale, and its outbox rows carry no state: made here from a current database by taking the
  // state out of the rows once _ts_kv holds it (as every open leaves it).
  auto d = Ready(rec1_);
  SaleResult sale;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
  Reopen(&d, rec1_);
  ASSERT_TRUE(d->db()->Exec("UPDATE _ts_outbox SET op = json_remove(op, '$.kv')").ok());
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM _ts_outbox WHERE op LIKE '%\"kv\"%'"), 0);
  Reopen(&d, rec1_);
  SaleResult next;
  ASSERT_TRUE(d->RecordSale(Sale({{"p105", 1}}), &next).ok());
  EXPECT_EQ(next.seq, sale.seq + 1);
  EXPECT_EQ(next.receipt_no.substr(next.receipt_no.size() - 6), "000004");
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  SyncStatus st;
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.repairs, 0);
  ExpectConverged(d.get());

  // Should _ts_kv's next_seq ever lag behind a row without state, the outbox still wins: a seq
  // is never handed out twice.
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
  Reopen(&d, rec1_);
  ASSERT_TRUE(d->db()->Exec("UPDATE _ts_outbox SET op = json_remove(op, '$.kv');"
                            " UPDATE _ts_kv SET value='1' WHERE key='next_seq'").ok());
  Reopen(&d, rec1_);
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &next).ok());
  EXPECT_EQ(next.seq, sale.seq + 1);
}

TEST_F(DeviceTest, SequenceIsContiguousAndNeverReusedAcrossReopen) {
  auto d = Ready(rec1_);
  std::vector<int64_t> seqs;
  WriteResult w;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(d->ReceiveStock("coffee", 1 + i, &w).ok());
    seqs.push_back(w.seq);
  }
  Reopen(&d, rec1_);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(d->RecordExpense("milk", 100 + i, &w).ok());
    seqs.push_back(w.seq);
  }
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 2, 3, 4, 5}));
  // Acknowledged and gone from the outbox, the numbers are still never handed out again.
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  ASSERT_EQ(Pending(d.get()), 0);
  Reopen(&d, rec1_);
  ASSERT_TRUE(d->RecordExpense("bread", 300, &w).ok());
  EXPECT_EQ(w.seq, 6);
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  EXPECT_EQ(QueryInt(hub_db_, "SELECT last_seq FROM _hub_devices WHERE device_id='" + rec1_.id + "'"), 6);
}

TEST_F(DeviceTest, ReceiptNumbersAreUniqueAcrossDevicesAndSurviveReopen) {
  auto d1 = Ready(rec1_);
  auto d2 = Ready(rec2_);
  std::vector<std::string> receipts;
  SaleResult sale;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(d1->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
    receipts.push_back(sale.receipt_no);
  }
  EXPECT_EQ(receipts.back(), rec1_.receipt_prefix + "-000003");
  // A refused sale does not use a number up.
  EXPECT_EQ(d1->RecordSale(Sale({{"no-such-product", 1}}), &sale).code(), ErrorCode::kNotFound);
  Reopen(&d1, rec1_);
  ASSERT_TRUE(d1->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
  EXPECT_EQ(sale.receipt_no, rec1_.receipt_prefix + "-000004");
  receipts.push_back(sale.receipt_no);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(d2->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
    receipts.push_back(sale.receipt_no);
  }
  EXPECT_NE(rec1_.receipt_prefix, rec2_.receipt_prefix);
  EXPECT_EQ(std::set<std::string>(receipts.begin(), receipts.end()).size(), receipts.size());
  ASSERT_TRUE(SyncOnce(hub_.get(), d1.get()).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), d2.get()).ok());
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(DISTINCT receipt_no) FROM sales_orders"), 7);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM sales_orders"), 7);
}

// --- Sales arithmetic ----------------------------------------------------------------------------

TEST_F(DeviceTest, RecordSaleComputesTotalsTaxRoundingAndChange) {
  struct Case {
    const char* name;
    SaleInput sale;
    ErrorCode expected;
    int64_t subtotal = 0, tax = 0, total = 0, change = 0;
  } cases[] = {
      {"two coffees at 20 %", Sale({{"coffee", 2}}), ErrorCode::kOk, 500, 100, 600, 0},
      {"tax 10.5 rounds half up to 11", Sale({{"p105", 1}}), ErrorCode::kOk, 105, 11, 116, 0},
      {"tax 10.4 rounds down to 10", Sale({{"p104", 1}}), ErrorCode::kOk, 104, 10, 114, 0},
      {"tax 2.5 rounds half up to 3", Sale({{"p10", 1}}), ErrorCode::kOk, 10, 3, 13, 0},
      {"tax is rounded per line", Sale({{"p105", 1}, {"p105", 1}}), ErrorCode::kOk, 210, 22, 232, 0},
      {"tax on a quantity is on the line total", Sale({{"p105", 2}}), ErrorCode::kOk, 210, 21, 231, 0},
      {"a free item", Sale({{"free", 1}}), ErrorCode::kOk, 0, 0, 0, 0},
      {"cash with change due", Sale({{"coffee", 2}}, {PaymentInput{"cash", -1, 1000}}), ErrorCode::kOk, 500, 100, 600, 400},
      {"card then cash with change", Sale({{"coffee", 2}}, {PaymentInput{"card", 200, -1}, PaymentInput{"cash", -1, 500}}),
       ErrorCode::kOk, 500, 100, 600, 100},
      {"exact card", Sale({{"coffee", 1}}, {PaymentInput{"card", -1, -1}}), ErrorCode::kOk, 250, 50, 300, 0},
      {"payments beyond the total", Sale({{"coffee", 2}}, {PaymentInput{"card", 700, -1}}), ErrorCode::kTotalsMismatch},
      {"payments short of the total", Sale({{"coffee", 2}}, {PaymentInput{"card", 100, -1}}), ErrorCode::kTotalsMismatch},
      {"cash handed over short", Sale({{"coffee", 2}}, {PaymentInput{"cash", -1, 500}}), ErrorCode::kBadAmount},
      {"unknown payment method", Sale({{"coffee", 1}}, {PaymentInput{"cheque", -1, -1}}), ErrorCode::kBadValue},
      {"unknown product", Sale({{"nothing", 1}}), ErrorCode::kNotFound},
      {"product no longer sold", Sale({{"retired", 1}}), ErrorCode::kBadValue},
      {"zero quantity", Sale({{"coffee", 0}}), ErrorCode::kBadQuantity},
      {"absurd quantity", Sale({{"coffee", kMaxQuantity + 1}}), ErrorCode::kBadQuantity},
      {"no lines", Sale({}), ErrorCode::kBadRequest},
  };
  auto d = Ready(rec1_);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    int64_t orders_before = QueryInt(d->db(), "SELECT COUNT(*) FROM sales_orders");
    int64_t pending_before = Pending(d.get());
    SaleResult r;
    Status s = d->RecordSale(c.sale, &r);
    ASSERT_EQ(std::string(s.code_name()), ErrorCodeName(c.expected)) << s.ToString();
    if (!s.ok()) {
      EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM sales_orders"), orders_before);
      EXPECT_EQ(Pending(d.get()), pending_before);
      continue;
    }
    EXPECT_EQ(r.subtotal_minor, c.subtotal);
    EXPECT_EQ(r.tax_minor, c.tax);
    EXPECT_EQ(r.total_minor, c.total);
    EXPECT_EQ(r.change_minor, c.change);
    // What was stored says the same as what the till showed.
    const std::string where = " WHERE order_id='" + r.order_id + "'";
    EXPECT_EQ(QueryInt(d->db(), "SELECT total_minor FROM sales_orders WHERE id='" + r.order_id + "'"), c.total);
    EXPECT_EQ(QueryInt(d->db(), "SELECT SUM(amount_minor) FROM payments" + where), c.total);
    EXPECT_EQ(QueryInt(d->db(), "SELECT SUM(change_minor) FROM payments" + where), c.change);
    EXPECT_EQ(QueryInt(d->db(), "SELECT SUM(tax_minor) FROM order_lines" + where), c.tax);
  }
  // Every sale the till accepted is accepted by the hub as well: the same arithmetic checks.
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  SyncStatus st;
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.quarantined, 0);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM sales_orders"), 10);
}

TEST_F(DeviceTest, VoidAndRefundPutTheStockBackOnce) {
  auto d = Ready(rec1_);
  WriteResult w;
  ASSERT_TRUE(d->ReceiveStock("coffee", 10, &w).ok());
  SaleResult first, second;
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 3}}), &first).ok());
  EXPECT_EQ(OnHand(d.get(), "coffee"), 7);
  ASSERT_TRUE(d->VoidSale(first.order_id, &w).ok());
  EXPECT_EQ(OnHand(d.get(), "coffee"), 10);
  EXPECT_EQ(d->VoidSale(first.order_id, &w).code(), ErrorCode::kStatusRegression);
  EXPECT_EQ(d->RefundSale(first.order_id, &w).code(), ErrorCode::kStatusRegression);
  EXPECT_EQ(OnHand(d.get(), "coffee"), 10);

  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 2}, {"p105", 1}}), &second).ok());
  EXPECT_EQ(OnHand(d.get(), "coffee"), 8);
  EXPECT_EQ(OnHand(d.get(), "p105"), -1);  // negative stock is allowed and flagged
  EXPECT_EQ(QueryInt(d->db(), "SELECT negative FROM stock_on_hand WHERE product_id='p105'"), 1);
  ASSERT_TRUE(d->RefundSale(second.order_id, &w).ok());
  EXPECT_EQ(OnHand(d.get(), "coffee"), 10);
  EXPECT_EQ(OnHand(d.get(), "p105"), 0);
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM stock_movements WHERE kind='refund' AND ref_id='" + second.order_id + "'"), 2);
  EXPECT_EQ(d->VoidSale("no-such-order", &w).code(), ErrorCode::kNotFound);

  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  ExpectConverged(d.get());
  EXPECT_EQ(QueryInt(hub_db_, "SELECT SUM(qty_delta) FROM stock_movements WHERE product_id='coffee'"), 10);
}

TEST_F(DeviceTest, ConcurrentVoidAndRefundOfOneSalePutStockBackOnlyOnce) {
  auto d1 = Ready(rec1_);
  auto d2 = Ready(rec2_);
  SaleResult sale;
  ASSERT_TRUE(d1->RecordSale(Sale({{"coffee", 4}}), &sale).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), d1.get()).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), d2.get()).ok());
  WriteResult w;
  // Both tills act on the same sale while apart; the refund reaches the hub first.
  ASSERT_TRUE(d2->RefundSale(sale.order_id, &w).ok());
  ASSERT_TRUE(d1->VoidSale(sale.order_id, &w).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), d2.get()).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), d1.get()).ok());
  EXPECT_EQ(QueryInt(hub_db_, "SELECT SUM(qty_delta) FROM stock_movements WHERE product_id='coffee'"), 0);
  SyncStatus st;
  ASSERT_TRUE(d1->GetStatus(&st).ok());
  EXPECT_EQ(st.quarantined, 1);  // the void lost; a person sees it
}

// --- Reads ---------------------------------------------------------------------------------------

TEST_F(DeviceTest, QueryIsReadOnlyInEverySense) {
  auto d = Ready(rec1_);
  // Each of these would either change data behind the engine's back or change how the
  // connection commits (durability, locking, transactions), which the engine relies on.
  const char* refused[] = {
      "INSERT INTO products (id, name, price_minor, tax_rate_bp, active) VALUES ('x', 'x', 1, 0, 1)",
      "UPDATE products SET price_minor = 1",
      "DELETE FROM _ts_outbox",
      "WITH p AS (SELECT 1) DELETE FROM sales_orders",
      "CREATE TABLE mine (x)",
      "DROP TABLE products",
      "PRAGMA user_version = 99",
      "PRAGMA synchronous = OFF",
      "PRAGMA query_only = 1",
      "PRAGMA journal_mode = DELETE",
      "PRAGMA locking_mode = NORMAL",
      "PRAGMA synchronous(0)",
      "pragma main.query_only(1)",
      "/* looks harmless */ PRAGMA foreign_keys=ON",
      "BEGIN",
      "BEGIN IMMEDIATE",
      "COMMIT",
      "SAVEPOINT mine",
      "ATTACH 'other.db' AS other",
      "VACUUM",
  };
  for (const char* sql : refused) {
    Json rows;
    Status s = d->Query(sql, Json::array(), &rows);
    EXPECT_EQ(s.code(), ErrorCode::kForbidden) << sql << " -> " << s.ToString();
  }
  // Nothing above took effect, not even while being compiled (SQLite applies some PRAGMAs
  // then), and the engine still writes, durably, in its own transactions.
  EXPECT_FALSE(d->db()->InTransaction());
  EXPECT_EQ(QueryInt(d->db(), "PRAGMA synchronous"), 2);
  EXPECT_EQ(QueryInt(d->db(), "PRAGMA query_only"), 0);
  SaleResult sale;
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM products WHERE id='x'"), 0);
}

TEST_F(DeviceTest, QueryReadsWithParameters) {
  auto d = Ready(rec1_);
  Json rows;
  ASSERT_TRUE(d->Query("SELECT id, price_minor FROM products WHERE price_minor > ?1 AND active = ?2 ORDER BY id",
                       Json::array({200, true}), &rows).ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["id"], "coffee");
  EXPECT_EQ(rows[0]["price_minor"], 250);
  ASSERT_TRUE(d->Query("  with n AS (SELECT 2 AS v) SELECT v FROM n", Json::array(), &rows).ok());
  EXPECT_EQ(rows[0]["v"], 2);
  ASSERT_TRUE(d->Query("/* stock */ SELECT COUNT(*) AS n FROM stock_on_hand", nullptr, &rows).ok());
  // PRAGMAs in their query form are reads too.
  ASSERT_TRUE(d->Query("PRAGMA integrity_check", Json::array(), &rows).ok());
  EXPECT_EQ(rows[0]["integrity_check"], "ok");
  ASSERT_TRUE(d->Query("PRAGMA table_info(products)", Json::array(), &rows).ok());
  EXPECT_EQ(rows.size(), 11u);
  ASSERT_TRUE(d->Query("pragma synchronous", Json::array(), &rows).ok());
  EXPECT_EQ(rows[0]["synchronous"], 2);
  EXPECT_EQ(d->Query("   ", Json::array(), &rows).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(d->Query("SELECT ?1", Json::array(), &rows).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(d->Query("SELECT ?1", Json::array({1, 2}), &rows).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(d->Query("SELECT ?1", Json::array({1.5}), &rows).code(), ErrorCode::kBadValue);
  EXPECT_EQ(d->Query("SELECT ?1", Json::object(), &rows).code(), ErrorCode::kBadRequest);
  EXPECT_FALSE(d->Query("SELEC nonsense", Json::array(), &rows).ok());
}

// --- Quarantine ----------------------------------------------------------------------------------

class QuarantineTest : public DeviceTest {
 protected:
  void SetUp() override {
    HubOptions ho;
    ho.max_clock_skew_ms = 60'000;  // one minute, so a tablet ten minutes fast is refused
    OpenHub(ho);
  }
};

TEST_F(QuarantineTest, RefusedOperationsCanBeRetriedOnceTheCauseIsFixed) {
  auto d = Ready(rec1_);
  dev_env_.Advance(10 * 60'000);  // the tablet's clock runs ten minutes fast
  WriteResult w;
  SaleResult sale;
  ASSERT_TRUE(d->RecordExpense("milk", 199, &w).ok());
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 2}}, {PaymentInput{"cash", -1, 1000}}), &sale).ok());
  Status s = SyncOnce(hub_.get(), d.get());
  ASSERT_TRUE(s.ok()) << s.ToString();
  Json q;
  ASSERT_TRUE(d->ListQuarantine(&q).ok());
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0]["code"], "clock_skew");
  EXPECT_EQ(Pending(d.get()), 0);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM sales_orders"), 0);

  hub_env_.Advance(10 * 60'000);  // the hub's view of time catches up (or the clock is fixed)
  for (const Json& entry : q) {
    s = d->RetryQuarantined(entry["seq"].get<int64_t>(), &w);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_EQ(Pending(d.get()), 2);
  ASSERT_TRUE(d->ListQuarantine(&q).ok());
  EXPECT_TRUE(q.empty());
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  SyncStatus st;
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.quarantined, 0);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM sales_orders WHERE id='" + sale.order_id + "'"), 1);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM expenses"), 1);
  ExpectConverged(d.get());
  EXPECT_EQ(d->RetryQuarantined(9999, &w).code(), ErrorCode::kNotFound);
}

TEST_F(QuarantineTest, DiscardedOperationLeavesNoTraceOnceTheReplicaIsRepaired) {
  auto d = Ready(rec1_);
  WriteResult w;
  ASSERT_TRUE(d->RecordExpense("kept", 100, &w).ok());  // a good write before the bad one
  dev_env_.Advance(10 * 60'000);
  ASSERT_TRUE(d->RecordExpense("refused", 199, &w).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  Json q;
  ASSERT_TRUE(d->ListQuarantine(&q).ok());
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM expenses"), 2);  // still shown locally
  ASSERT_TRUE(d->DiscardQuarantined(q[0]["seq"].get<int64_t>()).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM expenses WHERE description='refused'"), 0);
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM expenses WHERE description='kept'"), 1);
  ExpectConverged(d.get());
  EXPECT_EQ(d->DiscardQuarantined(q[0]["seq"].get<int64_t>()).code(), ErrorCode::kNotFound);
}

TEST_F(QuarantineTest, StatusCountsPendingExactlyAcrossWritesFailedCommitsAcksAndRetries) {
  // GetStatus counts the outbox once and then only the rows queued since (a status follows every
  // sale in the browser); every way rows come and go must leave its count equal to COUNT(*).
  std::unique_ptr<Device> d;
  DeviceOptions o;
  o.env = &dev_env_;
  o.open.vfs = vfs_.name();
  o.push_batch = 2;  // acknowledgements that leave part of the queue behind
  ASSERT_TRUE(Device::Open(rec1_.name + ".db", DeviceIdentity{rec1_.id, rec1_.shop_id, rec1_.receipt_prefix, "EUR"}, o, &d).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  auto expect_pending = [&](int64_t n, const char* when) {
    SyncStatus st;
    ASSERT_TRUE(d->GetStatus(&st).ok()) << when;
    EXPECT_EQ(st.pending, n) << when;
    EXPECT_EQ(st.pending, Pending(d.get())) << when;
  };
  expect_pending(0, "after the catalog download");
  SaleResult sale;
  WriteResult w;
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
    expect_pending(i, "after each sale");
  }
  ASSERT_TRUE(d->RecordExpense("milk", 199, &w).ok());
  ASSERT_TRUE(d->ReceiveStock("coffee", 5, &w).ok());
  expect_pending(5, "after two writes with no status between them");

  // A sale whose COMMIT fails is rolled back; the next one reuses its seq.
  ASSERT_TRUE(d->db()->Exec(
      "CREATE TABLE trap_parent (id INTEGER PRIMARY KEY);"
      " CREATE TABLE trap (parent INTEGER REFERENCES trap_parent(id) DEFERRABLE INITIALLY DEFERRED);"
      " CREATE TRIGGER trap_on_outbox AFTER INSERT ON _ts_outbox BEGIN INSERT INTO trap VALUES (1); END;"
      " PRAGMA foreign_keys=ON").ok());
  ASSERT_FALSE(d->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
  expect_pending(5, "after a failed commit");
  ASSERT_TRUE(d->db()->Exec("PRAGMA foreign_keys=OFF; DROP TRIGGER trap_on_outbox").ok());
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
  expect_pending(6, "after the sale that took the failed one's seq");

  // One push of two acknowledged: four left, then more queued behind them.
  std::string body, answer;
  int64_t count = 0;
  ASSERT_TRUE(d->BuildPush(&body, &count).ok());
  ASSERT_EQ(count, 2);
  ASSERT_TRUE(hub_->Push(CallerOf(d.get()), body, &answer).ok());
  ASSERT_TRUE(d->HandlePushResponse(answer).ok());
  expect_pending(4, "after a push acknowledged two");
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
  expect_pending(5, "after a sale behind the acknowledged ones");
  ASSERT_TRUE(d->HandlePushResponse(answer).ok());  // the same answer again: nothing left to do
  expect_pending(5, "after a duplicated answer");
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  expect_pending(0, "after a sync");

  // Refused operations leave the outbox for the quarantine; retried, they are queued again.
  dev_env_.Advance(10 * 60'000);
  ASSERT_TRUE(d->RecordExpense("skewed", 100, &w).ok());
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
  expect_pending(2, "after two writes with a skewed clock");
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  expect_pending(0, "after the hub refused them");
  Json q;
  ASSERT_TRUE(d->ListQuarantine(&q).ok());
  ASSERT_EQ(q.size(), 2u);
  hub_env_.Advance(10 * 60'000);
  ASSERT_TRUE(d->RetryQuarantined(q[0]["seq"].get<int64_t>(), &w).ok());
  expect_pending(1, "after a retry");
  ASSERT_TRUE(d->DiscardQuarantined(q[1]["seq"].get<int64_t>()).ok());
  expect_pending(1, "after a discard");
  Reopen(&d, rec1_);
  expect_pending(1, "after a reopen");
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  expect_pending(0, "after the last sync");
}

// --- Sync state ----------------------------------------------------------------------------------

TEST_F(DeviceTest, SyncStateMovesAsTheDiagramSaysAndStatisticsSurviveReopen) {
  auto d = Open(rec1_);
  SyncStatus st;
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.state, SyncState::kIdle);
  EXPECT_EQ(st.last_synced_ms, 0);

  d->SyncStarted();
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.state, SyncState::kSyncing);
  ASSERT_TRUE(d->SyncFailed(Status(ErrorCode::kIoError, "no route to hub"), /*network=*/true).ok());
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.state, SyncState::kOffline);
  EXPECT_EQ(st.failures, 1);
  EXPECT_EQ(st.last_error_code, "io_error");
  EXPECT_EQ(st.last_error_message, "no route to hub");
  EXPECT_GE(st.next_retry_delay_ms, 500);
  EXPECT_LE(st.next_retry_delay_ms, 1000);

  d->SyncStarted();
  ASSERT_TRUE(d->SyncFailed(Status(ErrorCode::kInternal, "hub answered 500"), /*network=*/false).ok());
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.state, SyncState::kFailed);
  EXPECT_EQ(st.failures, 2);
  EXPECT_GE(st.next_retry_delay_ms, 1000);
  EXPECT_LE(st.next_retry_delay_ms, 2000);

  Reopen(&d, rec1_);
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.failures, 2);
  EXPECT_EQ(st.last_error_code, "internal");
  EXPECT_GE(st.next_retry_delay_ms, 1000);
  // The backoff continues where it was, not from the start: a crash loop must not hammer the hub.
  ASSERT_TRUE(d->SyncFailed(Status(ErrorCode::kIoError, "still down"), true).ok());
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_GE(st.next_retry_delay_ms, 2000);
  EXPECT_LE(st.next_retry_delay_ms, 4000);

  WriteResult w;
  ASSERT_TRUE(d->RecordExpense("milk", 199, &w).ok());
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.pending, 1);
  dev_env_.Advance(5000);
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.state, SyncState::kIdle);
  EXPECT_EQ(st.successes, 1);
  EXPECT_EQ(st.pending, 0);
  EXPECT_EQ(st.last_synced_ms, kT0 + 5000);
  EXPECT_EQ(st.next_retry_delay_ms, 0);
  EXPECT_EQ(st.last_error_code, "");

  Reopen(&d, rec1_);
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.state, SyncState::kIdle);
  EXPECT_EQ(st.successes, 1);
  EXPECT_EQ(st.failures, 3);
  EXPECT_EQ(st.last_synced_ms, kT0 + 5000);
  ASSERT_TRUE(d->SyncFailed(Status(ErrorCode::kIoError, "down again"), true).ok());
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_LE(st.next_retry_delay_ms, 1000);  // success reset the backoff, durably
}

TEST_F(DeviceTest, UpdateRequiredIsStickyAndKeepsPendingOperations) {
  auto d = Ready(rec1_);
  SaleResult sale;
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
  const int64_t required = LatestSchemaVersion() + 1;
  hub_->set_min_schema_version(required);
  Status s = SyncOnce(hub_.get(), d.get());
  ASSERT_EQ(s.code(), ErrorCode::kUpdateRequired);
  SyncStatus st;
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.state, SyncState::kUpdateRequired);
  EXPECT_EQ(st.min_schema_version, required);
  EXPECT_EQ(st.pending, 1);

  d->SyncStarted();  // a retry timer firing does not leave the state
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.state, SyncState::kUpdateRequired);
  ASSERT_TRUE(d->SyncFailed(Status(ErrorCode::kIoError, "offline"), true).ok());
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.state, SyncState::kUpdateRequired);  // nor does being offline

  Reopen(&d, rec1_);
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.state, SyncState::kUpdateRequired);
  EXPECT_EQ(st.min_schema_version, required);
  EXPECT_EQ(st.pending, 1);
  // Selling goes on while waiting for the update; nothing is lost.
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &sale).ok());

  hub_->set_min_schema_version(1);  // (an update arrived; here the hub relents instead)
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.state, SyncState::kIdle);
  EXPECT_EQ(st.pending, 0);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM sales_orders"), 2);
}

// --- Divergence and repair ------------------------------------------------------------------------

TEST_F(DeviceTest, ChecksumMismatchTriggersARepairThatRestoresEquality) {
  auto d = Ready(rec1_);
  SaleResult sale;
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}}), &sale).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  ExpectConverged(d.get());

  // The replica silently loses an update (as a bug or a restored backup would make it do),
  // checksum included, kept where the device keeps it.
  RowStore rows(d->db(), RowMeta::kMergedRowsOnly, ChecksumHome::kKvTable);
  const TableSpec& products = *FindTable("products");
  StoredRow before, changed;
  ASSERT_TRUE(rows.Load(products, "coffee", &before).ok());
  changed = before;
  changed.values["price_minor"] = 1;
  ASSERT_TRUE(rows.Store(products, "coffee", before, &changed).ok());
  uint64_t local = 0, hub_sum = 0;
  ASSERT_TRUE(d->LocalChecksum(&local).ok());
  ASSERT_TRUE(hub_->ShopChecksum(shop_.id, &hub_sum).ok());
  ASSERT_NE(local, hub_sum);

  PullOutcome first;
  std::string body, answer;
  ASSERT_TRUE(d->BuildPull(&body).ok());
  ASSERT_TRUE(hub_->Pull(CallerOf(d.get()), body, &answer).ok());
  ASSERT_TRUE(d->HandlePullResponse(answer, &first).ok());
  EXPECT_TRUE(first.checksum_checked);
  EXPECT_TRUE(first.repair_started);
  EXPECT_TRUE(first.more);  // the full download follows
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());

  ASSERT_TRUE(d->LocalChecksum(&local).ok());
  EXPECT_EQ(local, hub_sum);
  ExpectConverged(d.get());
  EXPECT_EQ(QueryInt(d->db(), "SELECT price_minor FROM products WHERE id='coffee'"), 250);
  SyncStatus st;
  ASSERT_TRUE(d->GetStatus(&st).ok());
  EXPECT_EQ(st.repairs, 1);
  // The till's own sale survived the repair (it came back from the hub).
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM sales_orders WHERE id='" + sale.order_id + "'"), 1);
}

TEST_F(DeviceTest, ChecksumsKeptInTheOldTableAreMovedToKvAtOpenAndStillMatchTheHub) {
  // Before the device kept its scope checksums in _ts_kv they lived in _ts_checksum, as on the
  // hub. A database written that way (made here from a current one: the only difference between
  // the two layouts is where the two sums are) must open with the same checksums.
  auto d = Ready(rec1_);
  SaleResult sale;
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 1}, {"p105", 2}}), &sale).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  uint64_t local = 0, hub_sum = 0;
  ASSERT_TRUE(d->LocalChecksum(&local).ok());
  ASSERT_TRUE(hub_->ShopChecksum(shop_.id, &hub_sum).ok());
  ASSERT_EQ(local, hub_sum);
  ASSERT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM _ts_checksum"), 0);
  ASSERT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM _ts_kv WHERE key LIKE 'checksum:%'"), 2);  // catalog + shop
  const int64_t shop_sum = QueryInt(d->db(), "SELECT CAST(value AS INTEGER) FROM _ts_kv WHERE key='checksum:" + shop_.id + "'");
  ASSERT_NE(shop_sum, 0);
  ASSERT_TRUE(d->db()->Exec("INSERT INTO _ts_checksum (scope, sum) SELECT substr(key, 10), CAST(value AS INTEGER)"
                            " FROM _ts_kv WHERE key LIKE 'checksum:%'; DELETE FROM _ts_kv WHERE key LIKE 'checksum:%'").ok());
  ASSERT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM _ts_checksum"), 2);

  Reopen(&d, rec1_);
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM _ts_checksum"), 0);
  EXPECT_EQ(QueryInt(d->db(), "SELECT CAST(value AS INTEGER) FROM _ts_kv WHERE key='checksum:" + shop_.id + "'"), shop_sum);
  ASSERT_TRUE(d->LocalChecksum(&local).ok());
  EXPECT_EQ(local, hub_sum);
  // Opening again changes nothing (the step is idempotent).
  Reopen(&d, rec1_);
  ASSERT_TRUE(d->LocalChecksum(&local).ok());
  EXPECT_EQ(local, hub_sum);

  // Sums split across both places (an older build that wrote beside a newer one) add up.
  ASSERT_TRUE(d->db()->Exec("INSERT INTO _ts_checksum (scope, sum) VALUES ('" + shop_.id + "', 1000);"
                            " UPDATE _ts_kv SET value = CAST(value AS INTEGER) - 1000 WHERE key='checksum:" + shop_.id + "'").ok());
  Reopen(&d, rec1_);
  ASSERT_TRUE(d->LocalChecksum(&local).ok());
  EXPECT_EQ(local, hub_sum);

  // And the moved sums keep moving with writes: the next sync checks them against the hub.
  ASSERT_TRUE(d->RecordSale(Sale({{"coffee", 3}}), &sale).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  PullOutcome out;
  std::string body, answer;
  ASSERT_TRUE(d->BuildPull(&body).ok());
  ASSERT_TRUE(hub_->Pull(CallerOf(d.get()), body, &answer).ok());
  ASSERT_TRUE(d->HandlePullResponse(answer, &out).ok());
  EXPECT_TRUE(out.checksum_checked);
  EXPECT_FALSE(out.repair_started);
  ASSERT_TRUE(hub_->ShopChecksum(shop_.id, &hub_sum).ok());
  ASSERT_TRUE(d->LocalChecksum(&local).ok());
  EXPECT_EQ(local, hub_sum);
  ExpectConverged(d.get());
}

TEST_F(DeviceTest, ChecksumIsNotJudgedWhileLocalWritesArePending) {
  auto d = Ready(rec1_);
  WriteResult w;
  ASSERT_TRUE(d->RecordExpense("milk", 199, &w).ok());  // local, not yet pushed
  PullOutcome out;
  std::string body, answer;
  ASSERT_TRUE(d->BuildPull(&body).ok());
  ASSERT_TRUE(hub_->Pull(CallerOf(d.get()), body, &answer).ok());
  ASSERT_TRUE(d->HandlePullResponse(answer, &out).ok());
  EXPECT_FALSE(out.checksum_checked);
  EXPECT_FALSE(out.repair_started);
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM expenses"), 1);
}

TEST_F(DeviceTest, PullOutcomeNamesTheTablesThePageBroughtRowsOf) {
  // The worker raises change events from these names (no search of the answer's text).
  auto d = Ready(rec1_);
  WriteResult w;
  ASSERT_TRUE(d->RecordExpense("milk", 199, &w).ok());
  std::string body, answer;
  int64_t count = 0;
  ASSERT_TRUE(d->BuildPush(&body, &count).ok());
  ASSERT_EQ(count, 1);
  ASSERT_TRUE(hub_->Push(CallerOf(d.get()), body, &answer).ok());
  ASSERT_TRUE(d->HandlePushResponse(answer).ok());
  PullOutcome out;
  ASSERT_TRUE(d->BuildPull(&body).ok());
  ASSERT_TRUE(hub_->Pull(CallerOf(d.get()), body, &answer).ok());
  ASSERT_TRUE(d->HandlePullResponse(answer, &out).ok());
  EXPECT_EQ(out.rows, 1);  // the hub sends the device's own expense back
  EXPECT_EQ(out.tables, std::vector<std::string>{"expenses"});
  // A page with no rows names no table.
  ASSERT_TRUE(d->BuildPull(&body).ok());
  ASSERT_TRUE(hub_->Pull(CallerOf(d.get()), body, &answer).ok());
  ASSERT_TRUE(d->HandlePullResponse(answer, &out).ok());
  EXPECT_EQ(out.rows, 0);
  EXPECT_TRUE(out.tables.empty());
}

TEST_F(DeviceTest, PulledPageWithAnotherShopsRowIsRefusedWhole) {
  auto d = Ready(rec1_);
  std::string body, answer;
  ASSERT_TRUE(d->BuildPull(&body).ok());
  int64_t cursor_before = QueryInt(d->db(), "SELECT CAST(value AS INTEGER) FROM _ts_kv WHERE key='pull_cursor'");
  PullResponse evil;
  WireRow product;
  product.table = "products";
  product.id = "smuggled";
  product.values = Json{{"name", "X"}, {"price_minor", 1}, {"tax_rate_bp", 0}, {"active", 1}};
  product.clocks = Json{{"*", "0" + HlcTimestamp{kT0, 0, "hub"}.ToString()}};
  WireRow other = product;
  other.table = "expenses";
  other.id = "their-expense";
  other.values = Json{{"shop_id", "shop_other"}, {"device_id", "dev_x"}, {"description", "theirs"},
                      {"amount_minor", 5}, {"created_at", kT0}};
  evil.rows = {product, other};
  evil.cursor = cursor_before + 100;
  evil.hub_hlc = HlcTimestamp{kT0, 0, "hub"}.ToString();
  PullOutcome out;
  EXPECT_EQ(d->HandlePullResponse(EncodePullResponse(evil), &out).code(), ErrorCode::kShopMismatch);
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM products WHERE id='smuggled'"), 0);
  EXPECT_EQ(QueryInt(d->db(), "SELECT CAST(value AS INTEGER) FROM _ts_kv WHERE key='pull_cursor'"), cursor_before);
  // A cursor moving backwards is refused too.
  evil.rows.clear();
  evil.cursor = cursor_before - 1;
  EXPECT_EQ(d->HandlePullResponse(EncodePullResponse(evil), &out).code(), ErrorCode::kBadValue);
}

TEST_F(DeviceTest, DatabaseKeepsItsIdentity) {
  auto d = Open(rec1_);
  d.reset();
  DeviceOptions o;
  o.env = &dev_env_;
  o.open.vfs = vfs_.name();
  o.open.exclusive_locking = true;
  std::unique_ptr<Device> other;
  EXPECT_EQ(Device::Open(rec1_.name + ".db", DeviceIdentity{rec2_.id, shop_.id, "D2", "EUR"}, o, &other).code(),
            ErrorCode::kForbidden);
  // An empty identity opens it as whatever it already is.
  ASSERT_TRUE(Device::Open(rec1_.name + ".db", DeviceIdentity{}, o, &other).ok());
  EXPECT_EQ(other->identity().device_id, rec1_.id);
  EXPECT_EQ(other->identity().receipt_prefix, rec1_.receipt_prefix);
}

// Not part of the contract: the device's schema. _ts_rows_by_scope_seq serves only the hub's pull
// pages; a device database drops it at open (a new one, or one an older build left with it) and
// still finds and merges the rows it holds by primary key; the hub's database keeps it.
TEST_F(DeviceTest, DeviceDatabaseDropsTheHubsScopeSequenceIndex) {
  auto count = [](Database* db) {
    return QueryInt(db, "SELECT COUNT(*) FROM sqlite_master WHERE type='index' AND name='_ts_rows_by_scope_seq'");
  };
  {
    // A device database as builds before this change left it: every index of the migrations.
    OpenOptions o;
    o.vfs = vfs_.name();
    std::unique_ptr<Database> db;
    ASSERT_TRUE(Database::Open(rec1_.name + ".db", o, &db).ok());
    ASSERT_TRUE(Migrate(db.get()).ok());
    EXPECT_EQ(count(db.get()), 1);
  }
  auto d = Ready(rec1_);
  EXPECT_EQ(count(d->db()), 0);
  EXPECT_EQ(count(hub_db_), 1) << "the hub reads its pull pages through it";
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM _ts_rows WHERE tbl='products'"), 6);
  ExpectConverged(d.get());
  // A held row changed on the hub comes back through the merge path and replaces the old values.
  ASSERT_TRUE(hub_->AdminWrite({Change{"products", "coffee", Json{{"name", "Coffee"}, {"price_minor", 275},
                                                                  {"tax_rate_bp", 2000}, {"active", 1}}}}).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), d.get()).ok());
  EXPECT_EQ(QueryInt(d->db(), "SELECT price_minor FROM products WHERE id='coffee'"), 275);
  EXPECT_EQ(QueryInt(d->db(), "SELECT version FROM _ts_rows WHERE tbl='products' AND id='coffee'"), 2);
  ExpectConverged(d.get());
  Reopen(&d, rec1_);
  EXPECT_EQ(count(d->db()), 0);
}

}  // namespace
}  // namespace tillsync
