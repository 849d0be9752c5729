// The hub side: exactly-once apply per (device, seq), refusals that store nothing, shop
// isolation on push and on pull, paging by cursor, the checksum, schema and clock gates.
// Most pushes are built by hand here so each test controls the exact sequence numbers and
// payloads; the pull tests use real Devices so the rows are what tills really write.
#include "core/hub.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/device.h"
#include "core/migrations.h"
#include "core/sqlite_hub_store.h"
#include "tests/support/fault_vfs.h"
#include "tests/support/sync_helpers.h"

namespace tillsync {
namespace {

using test_support::PullAll;
using test_support::QueryInt;
using test_support::Sale;
using test_support::SyncOnce;

constexpr int64_t kT0 = 1'700'000'000'000;

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HubOptions ho;
    ho.env = &env_;
    ho.open.vfs = vfs_.name();
    ho.open.exclusive_locking = true;
    // Through the SQLite store, whose connection the tests keep to inspect tables.
    std::unique_ptr<SqliteHubStore> store;
    Status s = SqliteHubStore::Open("hub.db", ho.open, &store);
    ASSERT_TRUE(s.ok()) << s.ToString();
    hub_db_ = store->db();
    s = Hub::Open(std::move(store), ho, &hub_);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(hub_->CreateShop("Shop A", "EUR", &shop_a_).ok());
    ASSERT_TRUE(hub_->CreateShop("Shop B", "EUR", &shop_b_).ok());
    ASSERT_TRUE(hub_->AdminWrite({Change{"categories", "cat1", Json{{"name", "Drinks"}, {"sort_order", 1}, {"active", 1}}},
                                  Change{"products", "p1", Json{{"name", "Coffee"}, {"category_id", "cat1"},
                                                                {"price_minor", 250}, {"tax_rate_bp", 2000},
                                                                {"active", 1}}},
                                  Change{"products", "p2", Json{{"name", "Tea"}, {"price_minor", 200},
                                                                {"tax_rate_bp", 1000}, {"active", 1}}}}).ok());
    ASSERT_TRUE(hub_->RegisterDevice(shop_a_.id, "a1", &a1_).ok());
    ASSERT_TRUE(hub_->RegisterDevice(shop_a_.id, "a2", &a2_).ok());
    ASSERT_TRUE(hub_->RegisterDevice(shop_b_.id, "b1", &b1_).ok());
  }

  static Caller CallerOf(const DeviceRecord& d) { return Caller{d.shop_id, d.id, false}; }

  // An expense written by device `d` at wall time `wall`: the smallest complete shop operation.
  static Operation Expense(int64_t seq, const DeviceRecord& d, const std::string& id, int64_t amount,
                           int64_t wall = kT0) {
    Operation op;
    op.seq = seq;
    op.wall_ms = wall;
    op.hlc = HlcTimestamp{wall, uint32_t(seq), d.id}.ToString();
    op.changes.push_back({"expenses", id,
                          Json{{"shop_id", d.shop_id}, {"device_id", d.id}, {"description", "milk"},
                               {"amount_minor", amount}, {"created_at", wall}}});
    return op;
  }
  static Operation WithChanges(int64_t seq, const DeviceRecord& d, std::vector<Change> changes) {
    Operation op;
    op.seq = seq;
    op.wall_ms = kT0;
    op.hlc = HlcTimestamp{kT0, uint32_t(seq), d.id}.ToString();
    op.changes = std::move(changes);
    return op;
  }
  static std::string Body(const DeviceRecord& d, std::vector<Operation> ops, int64_t schema = LatestSchemaVersion()) {
    return EncodePushRequest(PushRequest{d.id, schema, std::move(ops)});
  }

  Status Push(const DeviceRecord& d, const std::string& body, PushResponse* resp = nullptr) {
    std::string answer;
    TS_RETURN_IF_ERROR(hub_->Push(CallerOf(d), body, &answer));
    PushResponse r;
    TS_RETURN_IF_ERROR(DecodePushResponse(answer, &r));
    if (resp != nullptr) *resp = r;
    return Status::Ok();
  }

  // What a refused push must not have changed: counters, answers, device sequences, rows.
  std::string Fingerprint() {
    HubStats st;
    EXPECT_TRUE(hub_->Stats(&st).ok());
    std::string a, b;
    EXPECT_TRUE(hub_->CanonicalDump(shop_a_.id, &a).ok());
    EXPECT_TRUE(hub_->CanonicalDump(shop_b_.id, &b).ok());
    return std::to_string(st.rows) + "/" + std::to_string(st.ops_applied) + "/" + std::to_string(st.ops_rejected) +
           "/" + std::to_string(st.last_seq) + "/" +
           std::to_string(QueryInt(hub_db_, "SELECT COUNT(*) FROM _hub_ops")) + "/" +
           std::to_string(QueryInt(hub_db_, "SELECT SUM(last_seq) FROM _hub_devices")) + "\n" + a + b;
  }

  int64_t LastSeqOf(const DeviceRecord& d) {
    return QueryInt(hub_db_, "SELECT last_seq FROM _hub_devices WHERE device_id='" + d.id + "'");
  }

  // 12 extra catalog rows and 12 of shop A's rows, interleaved in hub sequence order, and one
  // row of shop B's that shop A's devices must never get.
  void SeedInterleavedCatalogAndShopRows() {
    for (int i = 0; i < 12; ++i) {
      std::string n = std::to_string(i);
      ASSERT_TRUE(hub_->AdminWrite({Change{"products", "px" + n, Json{{"name", "P" + n}, {"price_minor", 100 + i},
                                                                      {"tax_rate_bp", 0}, {"active", 1}}}}).ok());
      ASSERT_TRUE(Push(a1_, Body(a1_, {Expense(i + 1, a1_, "e" + n, 100 + i)})).ok());
    }
    ASSERT_TRUE(Push(b1_, Body(b1_, {Expense(1, b1_, "b-e1", 1)})).ok());
  }

  std::unique_ptr<Device> OpenDevice(const DeviceRecord& rec, int64_t pull_limit = kDefaultPullLimit) {
    DeviceOptions o;
    o.env = &env_;
    o.open.vfs = vfs_.name();
    o.open.exclusive_locking = true;
    o.pull_limit = pull_limit;
    std::unique_ptr<Device> d;
    Status s = Device::Open(rec.name + ".db", DeviceIdentity{rec.id, rec.shop_id, rec.receipt_prefix, "EUR"}, o, &d);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return d;
  }

  ManualEnv env_{kT0, 11};
  FaultVfs vfs_{"hub-test-vfs"};
  std::unique_ptr<Hub> hub_;
  Database* hub_db_ = nullptr;  // hub_'s SQLite connection, for inspecting tables
  ShopRecord shop_a_, shop_b_;
  DeviceRecord a1_, a2_, b1_;
};

// --- Exactly once -------------------------------------------------------------------------------

TEST_F(HubTest, FindShopReturnsTheShopAndNotFoundForAnUnknownId) {
  ShopRecord found;
  ASSERT_TRUE(hub_->FindShop(shop_b_.id, &found).ok());
  EXPECT_EQ(found.id, shop_b_.id);
  EXPECT_EQ(found.name, "Shop B");
  EXPECT_EQ(found.currency, "EUR");
  EXPECT_EQ(found.created_at, shop_b_.created_at);
  Status s = hub_->FindShop("shop-unknown", &found);
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
}

TEST_F(HubTest, CommittedSeqIsTheSequenceOfTheLatestCommittedChange) {
  int64_t before = 0;
  ASSERT_TRUE(hub_->CommittedSeq(&before).ok());
  ASSERT_TRUE(hub_->AdminWrite({Change{"categories", "cat2", Json{{"name", "Food"}, {"sort_order", 2}, {"active", 1}}}})
                  .ok());
  int64_t after = 0;
  ASSERT_TRUE(hub_->CommittedSeq(&after).ok());
  HubStats st;
  ASSERT_TRUE(hub_->Stats(&st).ok());
  EXPECT_EQ(after, before + 1);
  EXPECT_EQ(after, st.last_seq);
}

TEST_F(HubTest, ReplayedOperationIsAnsweredWithTheFirstAnswerAndAppliedOnce) {
  std::string body = Body(a1_, {Expense(1, a1_, "e1", 199)});
  PushResponse first, second;
  ASSERT_TRUE(Push(a1_, body, &first).ok());
  ASSERT_EQ(first.results.size(), 1u);
  EXPECT_EQ(first.results[0].status, OpStatus::kApplied);
  std::string after_first = Fingerprint();
  ASSERT_TRUE(Push(a1_, body, &second).ok());
  ASSERT_EQ(second.results.size(), 1u);
  EXPECT_EQ(second.results[0].status, OpStatus::kApplied);
  EXPECT_EQ(second.results[0].seq, 1);
  EXPECT_EQ(Fingerprint(), after_first);  // nothing applied, counted or stored twice
}

TEST_F(HubTest, ReplayGetsTheFirstAnswerEvenWhenTheAnswerWouldNowDiffer) {
  // Stamped two days ahead: refused for clock skew.
  std::string body = Body(a1_, {Expense(1, a1_, "e1", 199, kT0 + 48LL * 3600 * 1000)});
  PushResponse first, replay;
  ASSERT_TRUE(Push(a1_, body, &first).ok());
  ASSERT_EQ(first.results[0].status, OpStatus::kRejected);
  EXPECT_EQ(first.results[0].code, "clock_skew");
  env_.Advance(48LL * 3600 * 1000);  // the hub's clock catches up; a fresh op would now pass
  ASSERT_TRUE(Push(a1_, body, &replay).ok());
  EXPECT_EQ(replay.results[0].status, OpStatus::kRejected);
  EXPECT_EQ(replay.results[0].code, "clock_skew");
  EXPECT_EQ(replay.results[0].message, first.results[0].message);
}

TEST_F(HubTest, BatchOverlappingWhatWasAppliedAppliesOnlyTheNewTail) {
  ASSERT_TRUE(Push(a1_, Body(a1_, {Expense(1, a1_, "e1", 100), Expense(2, a1_, "e2", 200)})).ok());
  PushResponse resp;
  ASSERT_TRUE(Push(a1_, Body(a1_, {Expense(1, a1_, "e1", 100), Expense(2, a1_, "e2", 200),
                                   Expense(3, a1_, "e3", 300)}), &resp).ok());
  ASSERT_EQ(resp.results.size(), 3u);
  for (const OpResult& r : resp.results) EXPECT_EQ(r.status, OpStatus::kApplied);
  HubStats st;
  ASSERT_TRUE(hub_->Stats(&st).ok());
  EXPECT_EQ(st.ops_applied, 3);
  EXPECT_EQ(LastSeqOf(a1_), 3);
}

TEST_F(HubTest, SequenceNumbersBelongToEachDevice) {
  PushResponse r1, r2;
  ASSERT_TRUE(Push(a1_, Body(a1_, {Expense(1, a1_, "a1-e1", 100)}), &r1).ok());
  ASSERT_TRUE(Push(a2_, Body(a2_, {Expense(1, a2_, "a2-e1", 200)}), &r2).ok());
  EXPECT_EQ(r1.results[0].status, OpStatus::kApplied);
  EXPECT_EQ(r2.results[0].status, OpStatus::kApplied);  // not a replay of a1's seq 1
  HubStats st;
  ASSERT_TRUE(hub_->Stats(&st).ok());
  EXPECT_EQ(st.ops_applied, 2);
}

TEST_F(HubTest, SequenceGapIsRefusedAndNothingIsStored) {
  std::string before = Fingerprint();
  std::string answer;
  Status s = hub_->Push(CallerOf(a1_), Body(a1_, {Expense(2, a1_, "e2", 200)}), &answer);
  EXPECT_EQ(s.code(), ErrorCode::kSequenceGap);
  EXPECT_EQ(s.detail(), "{\"expected_seq\":1}");
  EXPECT_EQ(Fingerprint(), before);

  ASSERT_TRUE(Push(a1_, Body(a1_, {Expense(1, a1_, "e1", 100), Expense(2, a1_, "e2", 200)})).ok());
  before = Fingerprint();
  s = hub_->Push(CallerOf(a1_), Body(a1_, {Expense(4, a1_, "e4", 400), Expense(5, a1_, "e5", 500)}), &answer);
  EXPECT_EQ(s.code(), ErrorCode::kSequenceGap);
  EXPECT_EQ(s.detail(), "{\"expected_seq\":3}");
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(HubTest, ChangedPayloadUnderAUsedIdIsRefusedWithTheWholePush) {
  ASSERT_TRUE(Push(a1_, Body(a1_, {Expense(1, a1_, "e1", 100)})).ok());
  std::string before = Fingerprint();
  std::string answer;
  // seq 1 again but 1.50 instead of 1.00, followed by a genuinely new seq 2.
  Status s = hub_->Push(CallerOf(a1_), Body(a1_, {Expense(1, a1_, "e1", 150), Expense(2, a1_, "e2", 200)}), &answer);
  EXPECT_EQ(s.code(), ErrorCode::kPayloadMismatch);
  EXPECT_EQ(Fingerprint(), before);
  EXPECT_EQ(LastSeqOf(a1_), 1);  // seq 2 was not taken either
}

TEST_F(HubTest, RejectedOperationDoesNotBlockTheOnesBehindIt) {
  Operation skewed = Expense(2, a1_, "e2", 200, kT0 + 25LL * 3600 * 1000);  // max skew is 24 h
  Operation stolen_clock = Expense(3, a1_, "e3", 300);
  stolen_clock.hlc = HlcTimestamp{kT0, 0, a2_.id}.ToString();  // stamped as another device
  PushResponse resp;
  ASSERT_TRUE(Push(a1_, Body(a1_, {Expense(1, a1_, "e1", 100), skewed, stolen_clock, Expense(4, a1_, "e4", 400)}),
                   &resp).ok());
  ASSERT_EQ(resp.results.size(), 4u);
  EXPECT_EQ(resp.results[0].status, OpStatus::kApplied);
  EXPECT_EQ(resp.results[1].status, OpStatus::kRejected);
  EXPECT_EQ(resp.results[1].code, "clock_skew");
  EXPECT_EQ(resp.results[2].status, OpStatus::kRejected);
  EXPECT_EQ(resp.results[2].code, "shop_mismatch");
  EXPECT_EQ(resp.results[3].status, OpStatus::kApplied);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM expenses"), 2);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM expenses WHERE id IN ('e2','e3')"), 0);
  EXPECT_EQ(LastSeqOf(a1_), 4);  // refused operations are answered, and consumed
}

TEST_F(HubTest, AnOperationIsAppliedAllOrNothing) {
  // The second change of the operation passes validation but is refused by its merge rule (a
  // sale's total rewritten): the first change, a valid new expense, must not stay behind.
  Operation sale = WithChanges(1, a1_, {
      Change{"sales_orders", "o1", Json{{"shop_id", shop_a_.id}, {"device_id", a1_.id}, {"receipt_no", "D1-1"},
                                        {"status", "completed"}, {"subtotal_minor", 250}, {"tax_minor", 50},
                                        {"total_minor", 300}, {"currency", "EUR"}, {"created_at", kT0}}},
      Change{"order_lines", "l1", Json{{"order_id", "o1"}, {"shop_id", shop_a_.id}, {"product_id", "p1"},
                                       {"name", "Coffee"}, {"qty", 1}, {"unit_price_minor", 250},
                                       {"tax_minor", 50}, {"line_total_minor", 250}}},
      Change{"payments", "pay1", Json{{"order_id", "o1"}, {"shop_id", shop_a_.id}, {"method", "card"},
                                      {"amount_minor", 300}, {"tendered_minor", 300}, {"change_minor", 0}}}});
  ASSERT_TRUE(Push(a1_, Body(a1_, {sale})).ok());
  Operation second = Expense(2, a1_, "e9", 100);
  second.changes.push_back(Change{"sales_orders", "o1", Json{{"total_minor", 1}}});
  PushResponse resp;
  ASSERT_TRUE(Push(a1_, Body(a1_, {second}), &resp).ok());
  EXPECT_EQ(resp.results[0].status, OpStatus::kRejected);
  EXPECT_EQ(resp.results[0].code, "immutable");
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM expenses WHERE id='e9'"), 0);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT total_minor FROM sales_orders WHERE id='o1'"), 300);
}

TEST_F(HubTest, AnOperationChangingOneRowTwiceMergesTheSecondChangeOverTheFirst) {
  // The second change's base version is the version the first one made: it must see the row
  // as the first change left it (and so must the product's second column).
  Change c1{"customers", "c1", Json{{"shop_id", shop_a_.id}, {"name", "Ann"}}};
  c1.base_version = 0;
  Change c2{"customers", "c1", Json{{"phone", "555"}}};
  c2.base_version = 1;
  Change p1{"products", "p1", Json{{"price_minor", 300}}};
  Change p2{"products", "p1", Json{{"name", "Latte"}}};
  Operation op = WithChanges(1, a1_, {c1, p1, c2, p2});
  op.hlc = HlcTimestamp{kT0 + 1000, 0, a1_.id}.ToString();  // later than the catalog's set-up
  PushResponse resp;
  ASSERT_TRUE(Push(a1_, Body(a1_, {op}), &resp).ok());
  ASSERT_EQ(resp.results.size(), 1u);
  EXPECT_EQ(resp.results[0].status, OpStatus::kApplied) << resp.results[0].code << " " << resp.results[0].message;
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM customers WHERE id='c1' AND name='Ann' AND phone='555'"), 1);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM products WHERE id='p1' AND name='Latte' AND price_minor=300"), 1);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT version FROM _ts_rows WHERE tbl='customers' AND id='c1'"), 2);
}

TEST_F(HubTest, AnOperationChangingOneRowTwiceIsStillAllOrNothing) {
  Change customer{"customers", "c2", Json{{"shop_id", shop_a_.id}, {"name", "Bo"}}};
  customer.base_version = 0;
  Operation op = Expense(1, a1_, "e8", 100);
  op.changes.insert(op.changes.begin(), customer);
  op.changes.push_back(Change{"expenses", "e8", Json{{"amount_minor", 5}}});  // expenses never change
  std::string before = Fingerprint();
  PushResponse resp;
  ASSERT_TRUE(Push(a1_, Body(a1_, {op}), &resp).ok());
  EXPECT_EQ(resp.results[0].status, OpStatus::kRejected);
  EXPECT_EQ(resp.results[0].code, "immutable");
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM customers WHERE id='c2'"), 0);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM expenses WHERE id='e8'"), 0);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM _ts_rows WHERE id IN ('c2','e8')"), 0);
}

// --- Group commit ---------------------------------------------------------------------------------

// The sum of the stored row hashes a shop can see, recomputed from _ts_rows (the checksum the
// hub keeps must always equal it).
uint64_t RecomputedChecksum(Database* db, const std::string& shop_id) {
  Statement st;
  EXPECT_TRUE(db->Prepare("SELECT hash FROM _ts_rows WHERE scope IN ('', ?1)", &st).ok());
  st.Bind(1, shop_id);
  uint64_t sum = 0;
  bool row = false;
  while (st.Step(&row).ok() && row) sum += uint64_t(st.Int(0));
  return sum;
}

TEST_F(HubTest, InAGroupOnlyTheFailingPushFailsAndItLeavesNothing) {
  auto call = [&](const DeviceRecord& d, std::vector<Operation> ops) {
    PushCall c;
    c.caller = CallerOf(d);
    c.body = Body(d, std::move(ops));
    return c;
  };
  std::vector<PushCall> calls;
  calls.push_back(call(a1_, {Expense(1, a1_, "e1", 100)}));
  // a2's push fails after its first operation was written (its second has an unreadable clock,
  // which only a prepared push can carry): its first operation must not stay behind.
  PushCall failing = call(a2_, {Expense(1, a2_, "e2", 200), Expense(2, a2_, "e3", 300)});
  ASSERT_TRUE(Hub::PreparePush(failing.caller, failing.body, &failing.request).ok());
  failing.prepared = true;
  failing.request.ops[1].clock = Status(ErrorCode::kBadValue, "unreadable clock");
  calls.push_back(std::move(failing));
  calls.push_back(call(b1_, {Expense(1, b1_, "e4", 400)}));
  // b1 again, with a gap: fails before writing anything.
  calls.push_back(call(b1_, {Expense(5, b1_, "e5", 500)}));
  calls.push_back(call(a1_, {Expense(2, a1_, "e6", 600)}));
  ASSERT_TRUE(hub_->PushGroup(&calls).ok());

  EXPECT_TRUE(calls[0].status.ok()) << calls[0].status.ToString();
  EXPECT_EQ(calls[1].status.code(), ErrorCode::kBadValue);
  EXPECT_TRUE(calls[1].response.empty());
  EXPECT_TRUE(calls[2].status.ok()) << calls[2].status.ToString();
  EXPECT_EQ(calls[3].status.code(), ErrorCode::kSequenceGap);
  EXPECT_TRUE(calls[4].status.ok()) << calls[4].status.ToString();
  for (size_t i : {0, 2, 4}) {
    PushResponse resp;
    ASSERT_TRUE(DecodePushResponse(calls[i].response, &resp).ok());
    ASSERT_EQ(resp.results.size(), 1u);
    EXPECT_EQ(resp.results[0].status, OpStatus::kApplied);
  }
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM expenses WHERE id IN ('e1','e4','e6')"), 3);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM expenses WHERE id IN ('e2','e3','e5')"), 0);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM _ts_rows WHERE id IN ('e2','e3','e5')"), 0);
  EXPECT_EQ(QueryInt(hub_db_, "SELECT COUNT(*) FROM _hub_ops WHERE device_id='" + a2_.id + "'"), 0);
  EXPECT_EQ(LastSeqOf(a1_), 2);
  EXPECT_EQ(LastSeqOf(a2_), 0);
  EXPECT_EQ(LastSeqOf(b1_), 1);
  HubStats stats;
  ASSERT_TRUE(hub_->Stats(&stats).ok());
  EXPECT_EQ(stats.ops_applied, 3);
  uint64_t sum = 0;
  ASSERT_TRUE(hub_->ShopChecksum(shop_a_.id, &sum).ok());
  EXPECT_EQ(sum, RecomputedChecksum(hub_db_, shop_a_.id));
  // The hub sequence has no hole where the failed push's rows were: the three rows took the
  // next three numbers.
  EXPECT_EQ(QueryInt(hub_db_, "SELECT MAX(seq) - MIN(seq) FROM _ts_rows WHERE id IN ('e1','e4','e6')"), 2);

  // The failed push, sent again whole, applies.
  PushResponse resp;
  ASSERT_TRUE(Push(a2_, Body(a2_, {Expense(1, a2_, "e2", 200), Expense(2, a2_, "e3", 300)}), &resp).ok());
  EXPECT_EQ(resp.results[1].status, OpStatus::kApplied);
  EXPECT_EQ(LastSeqOf(a2_), 2);
  ASSERT_TRUE(hub_->ShopChecksum(shop_a_.id, &sum).ok());
  EXPECT_EQ(sum, RecomputedChecksum(hub_db_, shop_a_.id));
}

// --- Shop isolation on push ---------------------------------------------------------------------

TEST_F(HubTest, PushCannotReachAnotherShopsRows) {
  Operation setup = Expense(1, a1_, "e1", 100);
  setup.changes.push_back(Change{"customers", "c1", Json{{"shop_id", shop_a_.id}, {"name", "Ann"}}, 0});
  ASSERT_TRUE(Push(a1_, Body(a1_, {setup})).ok());
  std::string a_before;
  ASSERT_TRUE(hub_->CanonicalDump(shop_a_.id, &a_before).ok());

  struct Case {
    const char* name;
    Change change;
    const char* code;
  } cases[] = {
      {"edit A's customer by id", Change{"customers", "c1", Json{{"phone", "666"}}, 1}, "shop_mismatch"},
      {"reuse A's expense id for B", Change{"expenses", "e1", Json{{"shop_id", shop_b_.id}, {"device_id", b1_.id},
                                                                  {"description", "x"}, {"amount_minor", 1},
                                                                  {"created_at", kT0}}}, "shop_mismatch"},
      {"write a row claiming shop A", Change{"expenses", "e2", Json{{"shop_id", shop_a_.id}, {"device_id", b1_.id},
                                                                   {"description", "x"}, {"amount_minor", 1},
                                                                   {"created_at", kT0}}}, "shop_mismatch"},
      {"rename shop A", Change{"shops", shop_a_.id, Json{{"name", "Mine"}}}, "forbidden"},
  };
  int64_t seq = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    PushResponse resp;
    ASSERT_TRUE(Push(b1_, Body(b1_, {WithChanges(++seq, b1_, {c.change})}), &resp).ok());
    ASSERT_EQ(resp.results.size(), 1u);
    EXPECT_EQ(resp.results[0].status, OpStatus::kRejected);
    EXPECT_EQ(resp.results[0].code, c.code);
    // The refusal does not tell B whose row it is.
    EXPECT_EQ(resp.results[0].message.find(shop_a_.id), std::string::npos) << resp.results[0].message;
  }
  std::string a_after;
  ASSERT_TRUE(hub_->CanonicalDump(shop_a_.id, &a_after).ok());
  EXPECT_EQ(a_after, a_before);
}

TEST_F(HubTest, PushIsRefusedWhenTheCredentialsDoNotMatchTheBody) {
  std::string before = Fingerprint();
  std::string answer;
  // b1's body sent with a1's token.
  EXPECT_EQ(hub_->Push(CallerOf(a1_), Body(b1_, {Expense(1, b1_, "e1", 1)}), &answer).code(), ErrorCode::kForbidden);
  // A token naming b1 but claiming shop A.
  EXPECT_EQ(hub_->Push(Caller{shop_a_.id, b1_.id, false}, Body(b1_, {Expense(1, b1_, "e1", 1)}), &answer).code(),
            ErrorCode::kForbidden);
  // A device the hub never registered.
  DeviceRecord ghost = a1_;
  ghost.id = "dev_ghost";
  EXPECT_EQ(hub_->Push(CallerOf(ghost), Body(ghost, {Expense(1, ghost, "e1", 1)}), &answer).code(),
            ErrorCode::kForbidden);
  EXPECT_EQ(Fingerprint(), before);
}

// --- Schema and clock gates ---------------------------------------------------------------------

TEST_F(HubTest, OldSchemaGetsUpdateRequiredWithTheMinimumAndNothingIsStored) {
  hub_->set_min_schema_version(LatestSchemaVersion() + 1);
  std::string before = Fingerprint();
  std::string answer;
  Status s = hub_->Push(CallerOf(a1_), Body(a1_, {Expense(1, a1_, "e1", 1)}), &answer);
  EXPECT_EQ(s.code(), ErrorCode::kUpdateRequired);
  std::string expected_detail = "{\"min_schema_version\":" + std::to_string(LatestSchemaVersion() + 1) + "}";
  EXPECT_EQ(s.detail(), expected_detail);
  s = hub_->Pull(CallerOf(a1_), EncodePullRequest(PullRequest{a1_.id, LatestSchemaVersion(), 0, 100}), &answer);
  EXPECT_EQ(s.code(), ErrorCode::kUpdateRequired);
  EXPECT_EQ(s.detail(), expected_detail);
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(HubTest, SchemaNewerThanTheHubIsRefused) {
  std::string answer;
  Status s = hub_->Push(CallerOf(a1_), Body(a1_, {Expense(1, a1_, "e1", 1)}, LatestSchemaVersion() + 1), &answer);
  EXPECT_EQ(s.code(), ErrorCode::kBadVersion);
}

TEST_F(HubTest, ClockSkewLimitIsTheConfiguredOne) {
  PushResponse resp;
  // Exactly at the limit passes; one millisecond more does not.
  ASSERT_TRUE(Push(a1_, Body(a1_, {Expense(1, a1_, "e1", 1, kT0 + 24LL * 3600 * 1000),
                                   Expense(2, a1_, "e2", 1, kT0 + 24LL * 3600 * 1000 + 1)}), &resp).ok());
  EXPECT_EQ(resp.results[0].status, OpStatus::kApplied);
  EXPECT_EQ(resp.results[1].status, OpStatus::kRejected);
  EXPECT_EQ(resp.results[1].code, "clock_skew");
  // A clock far behind is fine: a slow tablet's writes simply order earlier.
  ASSERT_TRUE(Push(a1_, Body(a1_, {Expense(3, a1_, "e3", 1, kT0 - 30LL * 24 * 3600 * 1000)}), &resp).ok());
  EXPECT_EQ(resp.results[0].status, OpStatus::kApplied);
}

// --- Pull: scoping, paging, checksum ------------------------------------------------------------

TEST_F(HubTest, PullDeliversTheCatalogToEveryShopAndShopDataOnlyToItsOwn) {
  auto a1 = OpenDevice(a1_);
  auto a2 = OpenDevice(a2_);
  auto b1 = OpenDevice(b1_);
  ASSERT_TRUE(SyncOnce(hub_.get(), a1.get()).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), b1.get()).ok());
  SaleResult sale;
  WriteResult w;
  ASSERT_TRUE(a1->RecordSale(Sale({{"p1", 2}, {"p2", 1}}), &sale).ok());
  ASSERT_TRUE(a1->RecordExpense("milk", 199, &w).ok());
  ASSERT_TRUE(a1->ReceiveStock("p2", 10, &w).ok());
  ASSERT_TRUE(a1->Write({Change{"customers", "c1", Json{{"name", "Ann"}}}}, &w).ok());
  ASSERT_TRUE(b1->RecordSale(Sale({{"p1", 1}}), &sale).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), a1.get()).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), b1.get()).ok());

  // Look at the raw pages shop B receives from scratch: only the catalog and B's own rows. The
  // hub answers in the form the request names: version 1 (objects) to a device built before
  // version 2, version 2 (columnar) to one that asks for it; the same rows either way.
  std::map<int, std::vector<WireRow>> by_version;
  for (int version : {kPullPageVersion1, kPullPageVersion2}) {
    SCOPED_TRACE(version);
    std::string answer;
    PullRequest req{b1_.id, LatestSchemaVersion(), 0, kMaxPullLimit};
    req.page_version = version;
    ASSERT_TRUE(hub_->Pull(CallerOf(b1_), EncodePullRequest(req), &answer).ok());
    EXPECT_EQ(answer.find(",\"rows\":[{") != std::string::npos, version == kPullPageVersion1);  // rows as objects
    EXPECT_EQ(answer.find(",\"tables\":[{") != std::string::npos, version == kPullPageVersion2);
    PullResponse page;
    ASSERT_TRUE(DecodePullResponse(answer, &page).ok());
    EXPECT_EQ(page.page_version, version);
    ASSERT_FALSE(page.more);
    by_version[version] = PageRowsOf(std::move(page));
  }
  ASSERT_EQ(by_version[1].size(), by_version[2].size());
  for (size_t i = 0; i < by_version[1].size(); ++i) {
    const WireRow& a = by_version[1][i];
    const WireRow& b = by_version[2][i];
    EXPECT_EQ(a.table + " " + a.id + " " + DumpJson(a.values) + " " + DumpJson(a.clocks) + " " + std::to_string(a.seq) +
                  " " + std::to_string(a.version),
              b.table + " " + b.id + " " + DumpJson(b.values) + " " + DumpJson(b.clocks) + " " + std::to_string(b.seq) +
                  " " + std::to_string(b.version));
  }
  std::set<std::string> b_tables;
  for (const WireRow& row : by_version[2]) {
    b_tables.insert(row.table);
    if (FindTable(row.table)->scope == Scope::kShop) {
      EXPECT_EQ(row.values["shop_id"], shop_b_.id) << row.table << " " << row.id;
    }
  }
  EXPECT_EQ(b_tables.count("products"), 1u);
  EXPECT_EQ(b_tables.count("categories"), 1u);
  EXPECT_EQ(b_tables.count("sales_orders"), 1u);  // B's own sale
  EXPECT_EQ(b_tables.count("expenses"), 0u);
  EXPECT_EQ(b_tables.count("customers"), 0u);

  // A second device of shop A receives all of A's shop data; B's device holds none of it.
  ASSERT_TRUE(SyncOnce(hub_.get(), a2.get()).ok());
  for (const char* table : {"sales_orders", "order_lines", "payments", "expenses", "stock_movements", "customers"}) {
    SCOPED_TRACE(table);
    std::string count = std::string("SELECT COUNT(*) FROM ") + table;
    int64_t on_a1 = QueryInt(a1->db(), count + " WHERE shop_id='" + shop_a_.id + "'");
    EXPECT_GT(on_a1, 0);
    EXPECT_EQ(QueryInt(a2->db(), count + " WHERE shop_id='" + shop_a_.id + "'"), on_a1);
    EXPECT_EQ(QueryInt(hub_db_, count + " WHERE shop_id='" + shop_a_.id + "'"), on_a1);
    EXPECT_EQ(QueryInt(b1->db(), count + " WHERE shop_id<>'" + shop_b_.id + "'"), 0);
  }
  EXPECT_EQ(QueryInt(b1->db(), "SELECT COUNT(*) FROM products"), 2);
  // Shop rows: each shop sees its own shop and device rows, never the other shop's.
  EXPECT_EQ(QueryInt(b1->db(), "SELECT COUNT(*) FROM shops"), 1);
  EXPECT_EQ(QueryInt(b1->db(), "SELECT COUNT(*) FROM devices"), 1);
  EXPECT_EQ(QueryInt(a2->db(), "SELECT COUNT(*) FROM devices"), 2);
}

TEST_F(HubTest, PullPagesByCursorWithMoreAndRemaining) {
  // The changes after a cursor, page by page (a version 2 device's first download, and every
  // device's pull after its first download).
  SeedInterleavedCatalogAndShopRows();
  const int64_t total = QueryInt(hub_db_, "SELECT COUNT(*) FROM _ts_rows WHERE scope IN ('', '" + shop_a_.id + "')");
  ASSERT_GT(total, 24);

  int64_t cursor = 0, delivered = 0, pages = 0;
  std::set<std::string> seen;
  bool more = true;
  while (more) {
    ASSERT_LT(++pages, 100);
    std::string answer;
    ASSERT_TRUE(hub_->Pull(CallerOf(a2_),
                           EncodePullRequest(PullRequest{a2_.id, LatestSchemaVersion(), cursor, 5, kPullPageVersion2}),
                           &answer).ok());
    PullResponse page;
    ASSERT_TRUE(DecodePullResponse(answer, &page).ok());
    EXPECT_TRUE(page.snapshot.empty());
    int64_t last_seq = cursor;
    std::string last_key;
    const std::vector<WireRow> rows = PageRowsOf(PullResponse(page));
    for (const WireRow& row : rows) {
      EXPECT_GT(row.seq, cursor) << "rows come after the cursor";
      last_seq = std::max(last_seq, row.seq);
      const std::string key = row.table + "/" + row.id;
      EXPECT_LT(last_key, key) << "within a page, rows come in key order";
      last_key = key;
      EXPECT_TRUE(seen.insert(key).second) << "delivered twice: " << row.id;
      EXPECT_NE(row.id, "b-e1");
    }
    delivered += int64_t(rows.size());
    EXPECT_EQ(page.cursor, last_seq) << "the page is the next rows in seq order, up to the cursor";
    EXPECT_EQ(page.remaining, total - delivered);
    more = page.more;
    if (more) {
      EXPECT_EQ(rows.size(), 5u);
      EXPECT_TRUE(page.checksum.empty()) << "only the last page carries the checksum";
    } else {
      EXPECT_EQ(page.checksum.size(), 16u);
      EXPECT_EQ(page.remaining, 0);
    }
    cursor = page.cursor;
  }
  EXPECT_EQ(delivered, total);
  EXPECT_EQ(pages, (total + 4) / 5);

  // Pulling again from the end: nothing, same cursor, the checksum again.
  std::string answer;
  ASSERT_TRUE(hub_->Pull(CallerOf(a2_), EncodePullRequest(PullRequest{a2_.id, LatestSchemaVersion(), cursor, 5}),
                         &answer).ok());
  PullResponse end;
  ASSERT_TRUE(DecodePullResponse(answer, &end).ok());
  EXPECT_TRUE(end.rows.empty());
  EXPECT_TRUE(end.tables.empty());
  EXPECT_FALSE(end.more);
  EXPECT_EQ(end.cursor, cursor);
  EXPECT_EQ(end.remaining, 0);
  EXPECT_FALSE(end.checksum.empty());
}

TEST_F(HubTest, FirstDownloadComesAsASnapshotInKeyOrder) {
  // The same rows as above, pulled from cursor 0 by a version 3 device: the catalog first, in key
  // order across every page, then the shop's rows as of the snapshot in seq order, then nothing
  // more (no change came meanwhile), with the cursor at the snapshot's sequence at the end.
  SeedInterleavedCatalogAndShopRows();
  const int64_t total = QueryInt(hub_db_, "SELECT COUNT(*) FROM _ts_rows WHERE scope IN ('', '" + shop_a_.id + "')");
  int64_t through = 0;
  ASSERT_TRUE(hub_->CommittedSeq(&through).ok());

  PullRequest req{a2_.id, LatestSchemaVersion(), 0, 5};
  ASSERT_EQ(req.page_version, kPullPageVersion3);
  int64_t delivered = 0, pages = 0, last_shop_seq = 0;
  std::string last_catalog_key;
  bool in_shop_rows = false;
  std::set<std::string> seen;
  while (true) {
    ASSERT_LT(++pages, 100);
    std::string answer;
    ASSERT_TRUE(hub_->Pull(CallerOf(a2_), EncodePullRequest(req), &answer).ok());
    EXPECT_NE(answer.find("\"v\":3}"), std::string::npos);
    PullResponse page;
    ASSERT_TRUE(DecodePullResponse(answer, &page).ok());
    const std::vector<WireRow> rows = PageRowsOf(PullResponse(page));
    int64_t page_max_seq = 0;
    for (const WireRow& row : rows) {
      const std::string key = row.table + "/" + row.id;
      EXPECT_TRUE(seen.insert(key).second) << "delivered twice: " << key;
      EXPECT_NE(row.id, "b-e1");
      if (FindTable(row.table)->scope == Scope::kCatalog) {
        EXPECT_FALSE(in_shop_rows) << "the catalog comes before the shop's rows: " << key;
        EXPECT_LT(last_catalog_key, key) << "the catalog comes in key order";
        last_catalog_key = key;
      } else {
        EXPECT_GT(row.seq, last_shop_seq) << "the shop's rows come in seq order, page after page";
        EXPECT_LE(row.seq, through) << "as of the snapshot";
        page_max_seq = std::max(page_max_seq, row.seq);
      }
    }
    for (const WireRow& row : rows) in_shop_rows = in_shop_rows || FindTable(row.table)->scope != Scope::kCatalog;
    last_shop_seq = std::max(last_shop_seq, page_max_seq);
    delivered += int64_t(rows.size());
    EXPECT_EQ(page.remaining, total - delivered);
    if (page.snapshot.empty()) {
      EXPECT_FALSE(page.more);
      EXPECT_EQ(page.cursor, through) << "after the snapshot: the changes since its sequence";
      EXPECT_EQ(page.checksum.size(), 16u);
      req.cursor = page.cursor;
      break;
    }
    EXPECT_TRUE(page.more);
    EXPECT_EQ(page.cursor, 0) << "the cursor waits at 0 while the snapshot is sent";
    EXPECT_EQ(rows.size(), 5u);
    EXPECT_TRUE(page.checksum.empty());
    req.snapshot = page.snapshot;
  }
  EXPECT_TRUE(in_shop_rows);
  EXPECT_EQ(delivered, total);
  EXPECT_EQ(pages, (total + 4) / 5);

  // From the end: nothing, the same cursor, no snapshot.
  req.snapshot.clear();
  std::string answer;
  ASSERT_TRUE(hub_->Pull(CallerOf(a2_), EncodePullRequest(req), &answer).ok());
  PullResponse end;
  ASSERT_TRUE(DecodePullResponse(answer, &end).ok());
  EXPECT_TRUE(end.tables.empty());
  EXPECT_FALSE(end.more);
  EXPECT_TRUE(end.snapshot.empty());
  EXPECT_EQ(end.cursor, through);

  // A first download that fits in one page is one page of changes: no snapshot.
  ASSERT_TRUE(hub_->Pull(CallerOf(a2_), EncodePullRequest(PullRequest{a2_.id, LatestSchemaVersion(), 0, total}),
                         &answer).ok());
  PullResponse whole;
  ASSERT_TRUE(DecodePullResponse(answer, &whole).ok());
  EXPECT_TRUE(whole.snapshot.empty());
  EXPECT_FALSE(whole.more);
  EXPECT_EQ(whole.cursor, through - 1);  // the last row this shop can see (shop B's expense came after it)
  EXPECT_EQ(int64_t(PageRowsOf(std::move(whole)).size()), total);
}

TEST_F(HubTest, ChangesMadeWhileASnapshotIsSentReachTheDeviceAfterIt) {
  std::vector<Change> catalog;
  for (int i = 0; i < 30; ++i)
    catalog.push_back(Change{"products", "p-" + std::to_string(i),
                             Json{{"name", "P" + std::to_string(i)}, {"price_minor", 100 + i}, {"tax_rate_bp", 0},
                                  {"active", 1}}});
  ASSERT_TRUE(hub_->AdminWrite(catalog).ok());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Push(a1_, Body(a1_, {Expense(i + 1, a1_, "e" + std::to_string(i), 10)})).ok());
  auto a2 = OpenDevice(a2_, /*pull_limit=*/7);
  PullOutcome out;
  for (int page = 0; page < 2; ++page) {
    std::string body, answer;
    ASSERT_TRUE(a2->BuildPull(&body).ok());
    ASSERT_TRUE(hub_->Pull(CallerOf(a2_), body, &answer).ok());
    ASSERT_TRUE(a2->HandlePullResponse(answer, &out).ok());
    ASSERT_TRUE(out.more);
  }
  std::string body;
  ASSERT_TRUE(a2->BuildPull(&body).ok());
  ASSERT_NE(body.find("\"snapshot\":\"" ), std::string::npos) << body;  // 14 catalog rows sent, in key order
  // Meanwhile: a row already sent changes, so does one still to come; a new row sorts before the
  // position (a snapshot never goes back for it) and one after it; the shop gets a new row.
  ASSERT_TRUE(hub_->AdminWrite({Change{"products", "p-1", Json{{"price_minor", 901}}},
                                Change{"products", "p-9", Json{{"price_minor", 909}}},
                                Change{"products", "a-new", Json{{"name", "Early"}, {"price_minor", 1},
                                                                 {"tax_rate_bp", 0}, {"active", 1}}},
                                Change{"products", "z-new", Json{{"name", "Late"}, {"price_minor", 2},
                                                                 {"tax_rate_bp", 0}, {"active", 1}}}}).ok());
  ASSERT_TRUE(Push(a1_, Body(a1_, {Expense(7, a1_, "e-late", 70)})).ok());
  // A close and an open mid-download: the position was committed with the last page.
  a2.reset();
  a2 = OpenDevice(a2_, 7);
  std::string again;
  ASSERT_TRUE(a2->BuildPull(&again).ok());
  EXPECT_EQ(again, body);
  ASSERT_TRUE(PullAll(hub_.get(), a2.get(), &out).ok());
  EXPECT_TRUE(out.checksum_checked);
  EXPECT_FALSE(out.repair_started);
  std::string hub_dump, device_dump;
  ASSERT_TRUE(hub_->CanonicalDump(shop_a_.id, &hub_dump).ok());
  ASSERT_TRUE(a2->CanonicalDump(&device_dump).ok());
  EXPECT_EQ(device_dump, hub_dump);
  EXPECT_EQ(QueryInt(a2->db(), "SELECT price_minor FROM products WHERE id='p-1'"), 901);
  EXPECT_EQ(QueryInt(a2->db(), "SELECT price_minor FROM products WHERE id='p-9'"), 909);
  EXPECT_EQ(QueryInt(a2->db(), "SELECT COUNT(*) FROM products WHERE id IN ('a-new', 'z-new')"), 2);
  EXPECT_EQ(QueryInt(a2->db(), "SELECT COUNT(*) FROM expenses WHERE id='e-late'"), 1);
  ASSERT_TRUE(a2->BuildPull(&body).ok());
  EXPECT_EQ(body.find("snapshot"), std::string::npos) << "the position is forgotten once the snapshot ends: " << body;
}

TEST_F(HubTest, PullRefusesAnUnreadableSnapshotPositionAndStartsAgainFromAStaleOne) {
  std::vector<Change> catalog;
  for (int i = 0; i < 8; ++i)
    catalog.push_back(Change{"products", "p-" + std::to_string(i),
                             Json{{"name", "P"}, {"price_minor", 1}, {"tax_rate_bp", 0}, {"active", 1}}});
  ASSERT_TRUE(hub_->AdminWrite(catalog).ok());
  int64_t committed = 0;
  ASSERT_TRUE(hub_->CommittedSeq(&committed).ok());
  auto pull = [&](const std::string& snapshot, int64_t cursor = 0) {
    PullRequest req{a1_.id, LatestSchemaVersion(), cursor, 3};
    req.snapshot = snapshot;
    std::string answer;
    return hub_->Pull(CallerOf(a1_), EncodePullRequest(req), &answer).code();
  };
  EXPECT_EQ(pull(std::to_string(committed) + " 5 products p-3"), ErrorCode::kOk);
  EXPECT_EQ(pull(std::to_string(committed) + " 1"), ErrorCode::kOk);
  EXPECT_EQ(pull("garbage"), ErrorCode::kBadValue);
  EXPECT_EQ(pull(std::to_string(committed) + " 5 expenses e1"), ErrorCode::kBadValue);        // not a catalog table
  EXPECT_EQ(pull(std::to_string(committed) + " 5 products bad/id"), ErrorCode::kBadValue);
  EXPECT_EQ(pull(std::to_string(committed) + " 5 products p-3", /*cursor=*/5), ErrorCode::kBadRequest);
  // A position from further than the hub has come (a hub restored from a backup) starts the
  // download again rather than leave the device stuck on it: the first page of the catalog.
  PullRequest ahead{a1_.id, LatestSchemaVersion(), 0, 3};
  ahead.snapshot = std::to_string(committed + 100) + " 2 products p-6";
  std::string restarted;
  ASSERT_TRUE(hub_->Pull(CallerOf(a1_), EncodePullRequest(ahead), &restarted).ok());
  PullResponse first;
  ASSERT_TRUE(DecodePullResponse(restarted, &first).ok());
  std::vector<WireRow> rows = PageRowsOf(PullResponse(first));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].table + "/" + rows[0].id, "categories/cat1");  // the first catalog table's first id
  EXPECT_EQ(first.cursor, 0);
  EXPECT_EQ(first.snapshot.substr(0, std::to_string(committed).size() + 1), std::to_string(committed) + " ");
  // Only version 3 speaks of snapshots.
  std::string answer;
  EXPECT_EQ(hub_->Pull(CallerOf(a1_),
                       R"({"cursor":0,"device_id":")" + a1_.id + R"(","limit":3,"schema_version":)" +
                           std::to_string(LatestSchemaVersion()) + R"(,"snapshot":"1 1","v":2})",
                       &answer).code(),
            ErrorCode::kBadRequest);
}

TEST_F(HubTest, ChangedRowIsDeliveredAgainAfterTheCursor) {
  auto a1 = OpenDevice(a1_);
  ASSERT_TRUE(SyncOnce(hub_.get(), a1.get()).ok());
  ASSERT_TRUE(hub_->AdminWrite({Change{"products", "p1", Json{{"price_minor", 260}}}}).ok());
  PullOutcome last;
  ASSERT_TRUE(PullAll(hub_.get(), a1.get(), &last).ok());
  EXPECT_EQ(QueryInt(a1->db(), "SELECT price_minor FROM products WHERE id='p1'"), 260);
}

TEST_F(HubTest, LastPageChecksumEqualsTheDevicesChecksumAfterSync) {
  auto a1 = OpenDevice(a1_, /*pull_limit=*/4);
  auto b1 = OpenDevice(b1_, 4);
  ASSERT_TRUE(SyncOnce(hub_.get(), a1.get()).ok());
  SaleResult sale;
  WriteResult w;
  ASSERT_TRUE(a1->RecordSale(Sale({{"p1", 1}, {"p2", 3}}), &sale).ok());
  ASSERT_TRUE(a1->VoidSale(sale.order_id, &w).ok());
  ASSERT_TRUE(a1->Write({Change{"products", "p2", Json{{"price_minor", 210}}}}, &w).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), a1.get()).ok());
  ASSERT_TRUE(SyncOnce(hub_.get(), b1.get()).ok());

  std::string answer;
  ASSERT_TRUE(hub_->Pull(CallerOf(a1_), EncodePullRequest(PullRequest{a1_.id, LatestSchemaVersion(), 0, kMaxPullLimit}),
                         &answer).ok());
  PullResponse page;
  ASSERT_TRUE(DecodePullResponse(answer, &page).ok());
  uint64_t device_sum = 0, hub_sum = 0, b_sum = 0;
  ASSERT_TRUE(a1->LocalChecksum(&device_sum).ok());
  ASSERT_TRUE(hub_->ShopChecksum(shop_a_.id, &hub_sum).ok());
  ASSERT_TRUE(b1->LocalChecksum(&b_sum).ok());
  EXPECT_EQ(page.checksum, ChecksumHex(device_sum));
  EXPECT_EQ(hub_sum, device_sum);
  EXPECT_NE(b_sum, device_sum);  // B sees other rows, so another sum
  uint64_t hub_b = 0;
  ASSERT_TRUE(hub_->ShopChecksum(shop_b_.id, &hub_b).ok());
  EXPECT_EQ(hub_b, b_sum);
  std::string hub_dump, dev_dump;
  ASSERT_TRUE(hub_->CanonicalDump(shop_a_.id, &hub_dump).ok());
  ASSERT_TRUE(a1->CanonicalDump(&dev_dump).ok());
  EXPECT_EQ(hub_dump, dev_dump);
}

// --- Bad bodies -----------------------------------------------------------------------------------

void CollectLeaves(const Json& j, const Json::json_pointer& at, std::vector<Json::json_pointer>* out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) CollectLeaves(*it, at / it.key(), out);
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) CollectLeaves(j[i], at / i, out);
  } else {
    out->push_back(at);
  }
}

TEST_F(HubTest, MutatedPushesNeverAbortAndARefusalStoresNothing) {
  auto a1 = OpenDevice(a1_);
  ASSERT_TRUE(SyncOnce(hub_.get(), a1.get()).ok());
  SaleResult sale;
  WriteResult w;
  ASSERT_TRUE(a1->RecordSale(Sale({{"p1", 2}, {"p2", 1}}, {PaymentInput{"cash", -1, 5000}}), &sale).ok());
  ASSERT_TRUE(a1->VoidSale(sale.order_id, &w).ok());
  std::string body;
  int64_t n = 0;
  ASSERT_TRUE(a1->BuildPush(&body, &n).ok());
  Json valid = Json::parse(body);
  std::vector<Json::json_pointer> leaves;
  CollectLeaves(valid, Json::json_pointer(), &leaves);
  const std::vector<Json> replacements = {Json(nullptr), Json(-1), Json(0), Json(1.5), Json("zz"),
                                          Json(uint64_t(1) << 63), Json::object(), Json::array()};
  int refused = 0, answered = 0;
  for (const Json::json_pointer& p : leaves) {
    for (const Json& r : replacements) {
      Json mutated = valid;
      mutated[p] = r;
      std::string before = Fingerprint();
      std::string answer;
      Status s = hub_->Push(CallerOf(a1_), mutated.dump(), &answer);
      if (!s.ok()) {
        ++refused;
        ASSERT_NE(s.code(), ErrorCode::kInternal) << s.ToString();
        ASSERT_EQ(Fingerprint(), before) << "refused push stored something: " << p.to_string();
      } else {
        ++answered;
        PushResponse resp;
        ASSERT_TRUE(DecodePushResponse(answer, &resp).ok());
      }
    }
  }
  EXPECT_GT(refused, 100);
  EXPECT_GT(answered, 0);
  EXPECT_EQ(test_support::IntegrityCheck(hub_db_), "ok");
}

}  // namespace
}  // namespace tillsync
