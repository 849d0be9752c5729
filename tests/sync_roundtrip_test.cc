// End-to-end sync through the core alone: devices and a hub in one process, bytes handed
// across by the test. The simulation (tests/sim) does the same at scale with faults.
#include <gtest/gtest.h>

#include "core/device.h"
#include "core/hub.h"
#include "tests/support/fault_vfs.h"
#include "tests/support/sync_helpers.h"

namespace tillsync {
namespace {

class SyncRoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HubOptions ho;
    ho.env = &env_;
    ho.open.vfs = vfs_.name();
    ho.open.exclusive_locking = true;
    ASSERT_TRUE(Hub::Open("hub.db", ho, &hub_).ok());
    ASSERT_TRUE(hub_->CreateShop("Shop A", "EUR", &shop_a_).ok());
    ASSERT_TRUE(hub_->CreateShop("Shop B", "EUR", &shop_b_).ok());
    ASSERT_TRUE(hub_->AdminWrite({Change{"products", "p1",
                                         Json{{"name", "Coffee"}, {"price_minor", 250}, {"tax_rate_bp", 2000},
                                              {"active", 1}}}}).ok());
  }

  std::unique_ptr<Device> NewDevice(const ShopRecord& shop, const std::string& file) {
    DeviceRecord rec;
    EXPECT_TRUE(hub_->RegisterDevice(shop.id, file, &rec).ok());
    DeviceOptions o;
    o.env = &env_;
    o.open.vfs = vfs_.name();
    o.open.exclusive_locking = true;
    std::unique_ptr<Device> d;
    Status s = Device::Open(file, DeviceIdentity{rec.id, shop.id, rec.receipt_prefix, "EUR"}, o, &d);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return d;
  }

  Caller CallerOf(Device* d) { return test_support::CallerOf(d); }

  // One full cycle (the shared helper): push everything, pull until done.
  void Sync(Device* d) {
    Status s = test_support::SyncOnce(hub_.get(), d);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  ManualEnv env_{1'700'000'000'000, 7};
  FaultVfs vfs_{"roundtrip-vfs"};
  std::unique_ptr<Hub> hub_;
  ShopRecord shop_a_, shop_b_;
};

TEST_F(SyncRoundTripTest, SaleReachesHubAndOtherDeviceOfTheSameShopOnly) {
  auto a1 = NewDevice(shop_a_, "a1.db");
  auto a2 = NewDevice(shop_a_, "a2.db");
  auto b1 = NewDevice(shop_b_, "b1.db");
  Sync(a1.get());
  SaleResult sale;
  Status s = a1->RecordSale(SaleInput{{{"p1", 2}}, {}, "", ""}, &sale);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sale.subtotal_minor, 500);
  EXPECT_EQ(sale.tax_minor, 100);
  EXPECT_EQ(sale.total_minor, 600);
  Sync(a1.get());
  Sync(a2.get());
  Sync(b1.get());
  Json rows;
  ASSERT_TRUE(a2->Query("SELECT receipt_no, total_minor FROM sales_orders", Json::array(), &rows).ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["receipt_no"], sale.receipt_no);
  ASSERT_TRUE(b1->Query("SELECT COUNT(*) AS n FROM sales_orders", Json::array(), &rows).ok());
  EXPECT_EQ(rows[0]["n"], 0);
  ASSERT_TRUE(b1->Query("SELECT COUNT(*) AS n FROM products", Json::array(), &rows).ok());
  EXPECT_EQ(rows[0]["n"], 1);
  std::string hub_dump, a2_dump;
  ASSERT_TRUE(hub_->CanonicalDump(shop_a_.id, &hub_dump).ok());
  ASSERT_TRUE(a2->CanonicalDump(&a2_dump).ok());
  EXPECT_EQ(hub_dump, a2_dump);
}

TEST_F(SyncRoundTripTest, ReplayedPushGetsTheFirstAnswerAndAppliesOnce) {
  auto a1 = NewDevice(shop_a_, "a1.db");
  Sync(a1.get());
  SaleResult sale;
  ASSERT_TRUE(a1->RecordSale(SaleInput{{{"p1", 1}}, {}, "", ""}, &sale).ok());
  std::string body, first, second;
  int64_t n = 0;
  ASSERT_TRUE(a1->BuildPush(&body, &n).ok());
  ASSERT_TRUE(hub_->Push(CallerOf(a1.get()), body, &first).ok());
  ASSERT_TRUE(hub_->Push(CallerOf(a1.get()), body, &second).ok());
  PushResponse r1, r2;
  ASSERT_TRUE(DecodePushResponse(first, &r1).ok());
  ASSERT_TRUE(DecodePushResponse(second, &r2).ok());
  ASSERT_EQ(r1.results.size(), 1u);
  ASSERT_EQ(r2.results.size(), 1u);
  EXPECT_EQ(OpStatusName(r2.results[0].status), std::string("applied"));
  HubStats stats;
  ASSERT_TRUE(hub_->Stats(&stats).ok());
  EXPECT_EQ(stats.ops_applied, 1);
}

TEST_F(SyncRoundTripTest, ReplayWithADifferentPayloadIsRefused) {
  auto a1 = NewDevice(shop_a_, "a1.db");
  Sync(a1.get());
  WriteResult w;
  ASSERT_TRUE(a1->ReceiveStock("p1", 5, &w).ok());
  std::string body, answer;
  int64_t n = 0;
  ASSERT_TRUE(a1->BuildPush(&body, &n).ok());
  ASSERT_TRUE(hub_->Push(CallerOf(a1.get()), body, &answer).ok());
  std::string tampered = body;
  size_t at = tampered.find("\"qty_delta\":5");
  ASSERT_NE(at, std::string::npos);
  tampered.replace(at, 13, "\"qty_delta\":9");
  Status s = hub_->Push(CallerOf(a1.get()), tampered, &answer);
  EXPECT_EQ(s.code(), ErrorCode::kPayloadMismatch);
}

TEST_F(SyncRoundTripTest, ConcurrentPriceEditsConvergeByClockOnEveryReplica) {
  auto a1 = NewDevice(shop_a_, "a1.db");
  auto b1 = NewDevice(shop_b_, "b1.db");
  Sync(a1.get());
  Sync(b1.get());
  WriteResult w;
  ASSERT_TRUE(a1->Write({Change{"products", "p1", Json{{"price_minor", 300}}}}, &w).ok());
  env_.Advance(5);
  ASSERT_TRUE(b1->Write({Change{"products", "p1", Json{{"price_minor", 310}}}}, &w).ok());
  Sync(b1.get());  // the later edit arrives first
  Sync(a1.get());
  Sync(b1.get());
  Json ra, rb;
  ASSERT_TRUE(a1->Query("SELECT price_minor, last_modified_shop_id FROM products WHERE id='p1'", Json::array(), &ra).ok());
  ASSERT_TRUE(b1->Query("SELECT price_minor, last_modified_shop_id FROM products WHERE id='p1'", Json::array(), &rb).ok());
  EXPECT_EQ(ra[0]["price_minor"], 310);
  EXPECT_EQ(ra, rb);
  EXPECT_EQ(ra[0]["last_modified_shop_id"], shop_b_.id);
}

TEST_F(SyncRoundTripTest, StaleManualEditBecomesAConflictWithBothVersions) {
  auto a1 = NewDevice(shop_a_, "a1.db");
  auto a2 = NewDevice(shop_a_, "a2.db");
  WriteResult w;
  ASSERT_TRUE(a1->Write({Change{"customers", "c1", Json{{"name", "Ann"}, {"phone", "1"}}}}, &w).ok());
  Sync(a1.get());
  Sync(a2.get());
  ASSERT_TRUE(a1->Write({Change{"customers", "c1", Json{{"phone", "111"}}}}, &w).ok());
  ASSERT_TRUE(a2->Write({Change{"customers", "c1", Json{{"phone", "222"}}}}, &w).ok());
  Sync(a1.get());
  Sync(a2.get());
  Json conflicts;
  ASSERT_TRUE(a2->ListConflicts(&conflicts).ok());
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_NE(conflicts[0]["mine"].get<std::string>().find("222"), std::string::npos);
  EXPECT_NE(conflicts[0]["theirs"].get<std::string>().find("111"), std::string::npos);
  ASSERT_TRUE(a2->ResolveConflict(conflicts[0]["id"].get<int64_t>(), Json{{"phone", "333"}}, &w).ok());
  Sync(a2.get());
  Sync(a1.get());
  Json row;
  ASSERT_TRUE(a1->Query("SELECT phone FROM customers WHERE id='c1'", Json::array(), &row).ok());
  EXPECT_EQ(row[0]["phone"], "333");
}

TEST_F(SyncRoundTripTest, RejectedOperationIsQuarantinedAndTheQueueFlowsOn) {
  auto a1 = NewDevice(shop_a_, "a1.db");
  auto a2 = NewDevice(shop_a_, "a2.db");
  Sync(a1.get());
  Sync(a2.get());
  SaleResult sale;
  ASSERT_TRUE(a1->RecordSale(SaleInput{{{"p1", 1}}, {}, "", ""}, &sale).ok());
  Sync(a1.get());
  Sync(a2.get());
  WriteResult w;
  ASSERT_TRUE(a1->VoidSale(sale.order_id, &w).ok());
  ASSERT_TRUE(a2->RefundSale(sale.order_id, &w).ok());  // concurrently, offline
  ASSERT_TRUE(a2->ReceiveStock("p1", 3, &w).ok());      // queued behind the refund
  Sync(a1.get());
  Sync(a2.get());
  SyncStatus st;
  ASSERT_TRUE(a2->GetStatus(&st).ok());
  EXPECT_EQ(st.quarantined, 1);
  EXPECT_EQ(st.pending, 0);
  Json q;
  ASSERT_TRUE(a2->ListQuarantine(&q).ok());
  EXPECT_EQ(q[0]["code"], "status_regression");
  ASSERT_TRUE(a2->DiscardQuarantined(q[0]["seq"].get<int64_t>()).ok());
  Sync(a2.get());
  std::string hub_dump, dump;
  ASSERT_TRUE(hub_->CanonicalDump(shop_a_.id, &hub_dump).ok());
  ASSERT_TRUE(a2->CanonicalDump(&dump).ok());
  EXPECT_EQ(hub_dump, dump);
  Json stock;
  ASSERT_TRUE(a2->Query("SELECT on_hand FROM stock_on_hand WHERE product_id='p1'", Json::array(), &stock).ok());
  EXPECT_EQ(stock[0]["on_hand"], 3);  // -1 sale, +1 void, +3 receipt; the refund never counted
}

}  // namespace
}  // namespace tillsync

namespace tillsync {
namespace {

TEST_F(SyncRoundTripTest, RetriedSaleWithTheSameOrderIdIsRecordedOnce) {
  auto a1 = NewDevice(shop_a_, "a1.db");
  Sync(a1.get());
  SaleInput in{{{"p1", 3}}, {PaymentInput{"cash", -1, 1000}}, "", "order-from-tab-1"};
  SaleResult first, again;
  ASSERT_TRUE(a1->RecordSale(in, &first).ok());
  ASSERT_TRUE(a1->RecordSale(in, &again).ok());
  EXPECT_EQ(first.receipt_no, again.receipt_no);
  EXPECT_EQ(first.total_minor, again.total_minor);
  EXPECT_EQ(first.change_minor, again.change_minor);
  Json rows;
  ASSERT_TRUE(a1->Query("SELECT COUNT(*) AS n FROM _ts_outbox", Json::array(), &rows).ok());
  EXPECT_EQ(rows[0]["n"], 1);
  ASSERT_TRUE(a1->Query("SELECT SUM(qty_delta) AS s FROM stock_movements", Json::array(), &rows).ok());
  EXPECT_EQ(rows[0]["s"], -3);
}

}  // namespace
}  // namespace tillsync
