// The HubStore contract: what Hub relies on from any store. Every store (SQLite today; a
// PostgreSQL one later) is instantiated below and must pass all of it: a rolled-back scope
// undoes exactly its own writes, the feed is in seq order per scope, op-log and device-cursor
// lookups find exactly what was recorded, and a rolled-back transaction keeps nothing.
#include "core/hub_store.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ostream>
#include <memory>
#include <string>

#include "core/migrations.h"
#include "core/sqlite_hub_store.h"

namespace tillsync {
namespace {

// One store implementation under test: its name (in the test names) and how to open a fresh,
// empty store for one test.
struct StoreKind {
  const char* name;
  std::unique_ptr<HubStore> (*open_empty)(const std::string& test_name);
};
void PrintTo(const StoreKind& kind, std::ostream* os) { *os << kind.name; }

std::unique_ptr<HubStore> NewSqliteStore(const std::string& name) {
  std::string path = ::testing::TempDir() + "hub_store_" + name + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  std::unique_ptr<SqliteHubStore> store;
  Status s = SqliteHubStore::Open(path, OpenOptions(), &store);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return store;
}

class HubStoreContract : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->name());
    for (char& c : name) if (c == '/') c = '_';
    store_ = GetParam().open_empty(name);
    ASSERT_NE(store_, nullptr);
  }

  // Stores a customer of `shop` (a shop-scoped row) at hub sequence `seq`, over what it held.
  StoredRow PutCustomer(const std::string& id, const std::string& shop, const std::string& name, int64_t seq) {
    const TableSpec& spec = *FindTable("customers");
    StoredRow before, row;
    EXPECT_TRUE(store_->LoadRow(spec, id, &before).ok());
    row.values = Json{{"shop_id", shop}, {"name", name}};
    row.clocks = Json{{"*", "c" + std::to_string(seq)}};
    row.seq = seq;
    row.version = before.exists ? before.version + 1 : 1;
    Status s = store_->StoreRow(spec, id, before, &row);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return row;
  }

  // Stores a product (a catalog row, scope "") at hub sequence `seq`.
  StoredRow PutProduct(const std::string& id, int64_t price, int64_t seq) {
    const TableSpec& spec = *FindTable("products");
    StoredRow before, row;
    EXPECT_TRUE(store_->LoadRow(spec, id, &before).ok());
    row.values = Json{{"name", "p"}, {"price_minor", price}, {"tax_rate_bp", 0}, {"active", 1}};
    row.seq = seq;
    row.version = before.exists ? before.version + 1 : 1;
    Status s = store_->StoreRow(spec, id, before, &row);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return row;
  }

  bool CustomerExists(const std::string& id) {
    StoredRow row;
    EXPECT_TRUE(store_->LoadRow(*FindTable("customers"), id, &row).ok());
    return row.exists;
  }

  uint64_t Checksum(const std::string& scope) {
    uint64_t sum = 0;
    EXPECT_TRUE(store_->ScopeChecksum(scope, &sum).ok());
    return sum;
  }

  std::unique_ptr<HubStore> store_;
};

TEST_P(HubStoreContract, ARolledBackScopeUndoesExactlyItsWrites) {
  ASSERT_TRUE(store_->BeginWrite().ok());
  ASSERT_TRUE(store_->AddDeviceCursor("dev_a", "shop_a").ok());
  StoredRow kept = PutCustomer("c1", "shop_a", "kept", 1);
  ASSERT_TRUE(store_->RecordOp("dev_a", 1, 11, "").ok());
  ASSERT_TRUE(store_->SetDeviceCursor("dev_a", 1).ok());

  ASSERT_TRUE(store_->BeginScope().ok());
  StoredRow released = PutCustomer("c2", "shop_a", "released", 2);
  ASSERT_TRUE(store_->RecordOp("dev_a", 2, 22, "").ok());
  ASSERT_TRUE(store_->ReleaseScope().ok());

  ASSERT_TRUE(store_->BeginScope().ok());
  PutCustomer("c3", "shop_a", "undone", 3);
  PutCustomer("c1", "shop_a", "changed, then undone", 4);
  ASSERT_TRUE(store_->RecordOp("dev_a", 3, 33, "x").ok());
  ASSERT_TRUE(store_->SetDeviceCursor("dev_a", 3).ok());
  // Inside the scope its writes are visible, checksum included.
  EXPECT_TRUE(CustomerExists("c3"));
  EXPECT_NE(Checksum("shop_a"), kept.hash + released.hash);
  store_->RollbackScope();

  EXPECT_FALSE(CustomerExists("c3"));
  StoredRow c1;
  ASSERT_TRUE(store_->LoadRow(*FindTable("customers"), "c1", &c1).ok());
  EXPECT_EQ(c1.values["name"], "kept");
  EXPECT_EQ(c1.seq, 1);
  EXPECT_EQ(Checksum("shop_a"), kept.hash + released.hash);
  OpRecord op;
  ASSERT_TRUE(store_->FindOp("dev_a", 3, &op).ok());
  EXPECT_FALSE(op.found);
  ASSERT_TRUE(store_->FindOp("dev_a", 2, &op).ok());
  EXPECT_TRUE(op.found);
  DeviceCursor cursor;
  ASSERT_TRUE(store_->FindDeviceCursor("dev_a", &cursor).ok());
  EXPECT_EQ(cursor.last_seq, 1);
  ASSERT_TRUE(store_->Commit().ok());

  // After the commit: what the transaction kept, the checksum moved by exactly those rows.
  EXPECT_TRUE(CustomerExists("c1"));
  EXPECT_TRUE(CustomerExists("c2"));
  EXPECT_FALSE(CustomerExists("c3"));
  EXPECT_EQ(Checksum("shop_a"), kept.hash + released.hash);
}

TEST_P(HubStoreContract, NestedScopesRollBackInnermostFirst) {
  ASSERT_TRUE(store_->BeginWrite().ok());
  ASSERT_TRUE(store_->BeginScope().ok());
  StoredRow outer = PutCustomer("c1", "shop_a", "outer", 1);
  ASSERT_TRUE(store_->BeginScope().ok());
  PutCustomer("c2", "shop_a", "inner", 2);
  store_->RollbackScope();
  EXPECT_EQ(Checksum("shop_a"), outer.hash);
  ASSERT_TRUE(store_->ReleaseScope().ok());
  ASSERT_TRUE(store_->Commit().ok());
  EXPECT_TRUE(CustomerExists("c1"));
  EXPECT_FALSE(CustomerExists("c2"));
  EXPECT_EQ(Checksum("shop_a"), outer.hash);
}

TEST_P(HubStoreContract, ARolledBackTransactionKeepsNothing) {
  ASSERT_TRUE(store_->BeginWrite().ok());
  StoredRow first = PutCustomer("c1", "shop_a", "first", 1);
  ASSERT_TRUE(store_->SaveHubState("hlc-1", 1).ok());
  ASSERT_TRUE(store_->Commit().ok());

  ASSERT_TRUE(store_->BeginWrite().ok());
  PutCustomer("c2", "shop_a", "second", 2);
  ASSERT_TRUE(store_->RecordOp("dev_a", 1, 1, "").ok());
  ASSERT_TRUE(store_->SaveHubState("hlc-2", 2).ok());
  ASSERT_TRUE(store_->AddOpCounters(1, 0, 0).ok());
  store_->Rollback();

  EXPECT_FALSE(CustomerExists("c2"));
  EXPECT_EQ(Checksum("shop_a"), first.hash);
  OpRecord op;
  ASSERT_TRUE(store_->FindOp("dev_a", 1, &op).ok());
  EXPECT_FALSE(op.found);
  std::string hlc;
  int64_t last_seq = 0;
  ASSERT_TRUE(store_->LoadHubState(&hlc, &last_seq).ok());
  EXPECT_EQ(hlc, "hlc-1");
  EXPECT_EQ(last_seq, 1);
  HubStats stats;
  ASSERT_TRUE(store_->ReadStats(&stats).ok());
  EXPECT_EQ(stats.ops_applied, 0);
}

TEST_P(HubStoreContract, FeedIsInSeqOrderPerScopeFromTheCursor) {
  ASSERT_TRUE(store_->BeginWrite().ok());
  PutCustomer("c1", "shop_a", "one", 1);
  PutProduct("p1", 100, 2);
  PutCustomer("c2", "shop_b", "other shop", 3);
  PutCustomer("c3", "shop_a", "three", 4);
  PutCustomer("c1", "shop_a", "one again", 5);  // moves c1 to the end of the feed
  PutProduct("p2", 200, 6);
  ASSERT_TRUE(store_->Commit().ok());

  ASSERT_TRUE(store_->BeginRead().ok());
  std::vector<FeedEntry> feed;
  ASSERT_TRUE(store_->Feed("shop_a", 0, 10, &feed).ok());
  ASSERT_EQ(feed.size(), 2u);
  EXPECT_EQ(feed[0].id, "c3");
  EXPECT_EQ(feed[0].seq, 4);
  EXPECT_EQ(feed[1].id, "c1");
  EXPECT_EQ(feed[1].seq, 5);
  EXPECT_EQ(feed[1].table, "customers");
  EXPECT_EQ(feed[1].version, 2);
  EXPECT_EQ(feed[1].clocks_json, "{\"*\":\"c5\"}");

  // Appends, honours the cursor and the limit; the count ignores the limit.
  ASSERT_TRUE(store_->Feed("", 0, 1, &feed).ok());
  ASSERT_EQ(feed.size(), 3u);
  EXPECT_EQ(feed[2].id, "p1");
  std::vector<FeedEntry> after;
  ASSERT_TRUE(store_->Feed("", 2, 10, &after).ok());
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, "p2");
  int64_t count = 0;
  ASSERT_TRUE(store_->FeedCount("shop_a", 4, &count).ok());
  EXPECT_EQ(count, 1);
  ASSERT_TRUE(store_->FeedCount("", 0, &count).ok());
  EXPECT_EQ(count, 2);
  ASSERT_TRUE(store_->FeedCount("shop_c", 0, &count).ok());
  EXPECT_EQ(count, 0);

  Json values;
  bool exists = false;
  ASSERT_TRUE(store_->LoadRowValues(*FindTable("customers"), "c1", &values, &exists).ok());
  EXPECT_TRUE(exists);
  EXPECT_EQ(values["name"], "one again");
  // The typed read a version 2 pull page is written from: the same values, column by column.
  const TableSpec& customers = *FindTable("customers");
  std::vector<ColumnValue> cells;
  ASSERT_TRUE(store_->LoadRowCells(customers, "c1", &cells, &exists).ok());
  EXPECT_TRUE(exists);
  ASSERT_EQ(cells.size(), customers.columns.size());
  for (size_t c = 0; c < cells.size(); ++c) {
    SCOPED_TRACE(customers.columns[c].name);
    const Json& v = values[customers.columns[c].name];
    switch (cells[c].kind) {
      case ColumnValue::Kind::kInt: EXPECT_EQ(Json(cells[c].number), v); break;
      case ColumnValue::Kind::kText: EXPECT_EQ(Json(cells[c].text), v); break;
      case ColumnValue::Kind::kNull: EXPECT_TRUE(v.is_null()); break;
    }
  }
  ASSERT_TRUE(store_->LoadRowCells(customers, "c-none", &cells, &exists).ok());
  EXPECT_FALSE(exists);
  store_->EndRead();
}

TEST_P(HubStoreContract, OpLogAndDeviceCursorsFindExactlyWhatWasRecorded) {
  const uint64_t high_hash = 0xfedcba9876543210ULL;  // top bit set: must come back unchanged
  ASSERT_TRUE(store_->BeginWrite().ok());
  ASSERT_TRUE(store_->AddDeviceCursor("dev_a", "shop_a").ok());
  ASSERT_TRUE(store_->AddDeviceCursor("dev_b", "shop_b").ok());
  ASSERT_TRUE(store_->RecordOp("dev_a", 1, high_hash, "").ok());
  ASSERT_TRUE(store_->RecordOp("dev_a", 2, 7, "{\"stored\":true}").ok());
  ASSERT_TRUE(store_->SetDeviceCursor("dev_a", 2).ok());
  ASSERT_TRUE(store_->Commit().ok());

  OpRecord op;
  ASSERT_TRUE(store_->FindOp("dev_a", 1, &op).ok());
  EXPECT_TRUE(op.found);
  EXPECT_EQ(op.hash, high_hash);
  EXPECT_EQ(op.answer, "");
  ASSERT_TRUE(store_->FindOp("dev_a", 2, &op).ok());
  EXPECT_EQ(op.hash, 7u);
  EXPECT_EQ(op.answer, "{\"stored\":true}");
  ASSERT_TRUE(store_->FindOp("dev_b", 1, &op).ok());
  EXPECT_FALSE(op.found);
  ASSERT_TRUE(store_->FindOp("dev_a", 3, &op).ok());
  EXPECT_FALSE(op.found);

  DeviceCursor cursor;
  ASSERT_TRUE(store_->FindDeviceCursor("dev_a", &cursor).ok());
  EXPECT_TRUE(cursor.found);
  EXPECT_EQ(cursor.shop_id, "shop_a");
  EXPECT_EQ(cursor.last_seq, 2);
  ASSERT_TRUE(store_->FindDeviceCursor("dev_b", &cursor).ok());
  EXPECT_EQ(cursor.last_seq, 0);
  ASSERT_TRUE(store_->FindDeviceCursor("dev_c", &cursor).ok());
  EXPECT_FALSE(cursor.found);

  // The same (device, seq) is never recorded twice: exactly-once rests on it.
  ASSERT_TRUE(store_->BeginWrite().ok());
  EXPECT_FALSE(store_->RecordOp("dev_a", 1, 1, "").ok());
  store_->Rollback();
}

TEST_P(HubStoreContract, HubStateAndCountersPersistAcrossTransactions) {
  std::string hlc = "unset";
  int64_t last_seq = -1;
  ASSERT_TRUE(store_->LoadHubState(&hlc, &last_seq).ok());
  EXPECT_EQ(hlc, "");
  EXPECT_EQ(last_seq, 0);
  for (int i = 1; i <= 2; ++i) {
    ASSERT_TRUE(store_->BeginWrite().ok());
    ASSERT_TRUE(store_->SaveHubState("hlc-" + std::to_string(i), 10 * i).ok());
    ASSERT_TRUE(store_->AddOpCounters(3, 1, i).ok());
    ASSERT_TRUE(store_->Commit().ok());
  }
  ASSERT_TRUE(store_->LoadHubState(&hlc, &last_seq).ok());
  EXPECT_EQ(hlc, "hlc-2");
  EXPECT_EQ(last_seq, 20);
  HubStats stats;
  ASSERT_TRUE(store_->ReadStats(&stats).ok());
  EXPECT_EQ(stats.ops_applied, 6);
  EXPECT_EQ(stats.ops_rejected, 2);
  EXPECT_EQ(stats.ops_conflicted, 3);
}

TEST_P(HubStoreContract, FindShopReadsTheReplicatedShopRow) {
  const TableSpec& spec = *FindTable("shops");
  ASSERT_TRUE(store_->BeginWrite().ok());
  StoredRow before, row;
  ASSERT_TRUE(store_->LoadRow(spec, "shop_a", &before).ok());
  row.values = Json{{"shop_id", "shop_a"}, {"name", "Corner"}, {"currency", "EUR"}, {"created_at", 1700}};
  row.clocks = Json{{"*", "c1"}};
  row.seq = 1;
  row.version = 1;
  ASSERT_TRUE(store_->StoreRow(spec, "shop_a", before, &row).ok());
  ASSERT_TRUE(store_->Commit().ok());

  bool found = false;
  ShopRecord shop;
  ASSERT_TRUE(store_->FindShop("shop_a", &found, &shop).ok());
  ASSERT_TRUE(found);
  EXPECT_EQ(shop.id, "shop_a");
  EXPECT_EQ(shop.name, "Corner");
  EXPECT_EQ(shop.currency, "EUR");
  EXPECT_EQ(shop.created_at, 1700);
  ASSERT_TRUE(store_->FindShop("shop_b", &found, &shop).ok());
  EXPECT_FALSE(found);
}

// Not part of the contract: what the SQLite store keeps of the shared schema. The indexes that
// only a till's screens read are gone from a hub database, a new one or one that had them; a
// device database opened from the same migrations keeps them.
TEST(SqliteHubStoreSchema, KeepsNoIndexOnlyATillsScreensRead) {
  const char* kTillOnly = "'order_lines_by_order','payments_by_order','stock_movements_by_product','sales_orders_by_shop_time'";
  auto count = [&](Database* db) {
    Statement st;
    EXPECT_TRUE(db->Prepare(std::string("SELECT COUNT(*) FROM sqlite_master WHERE type='index' AND name IN (") + kTillOnly + ")", &st).ok());
    bool row = false;
    EXPECT_TRUE(st.Step(&row).ok());
    return row ? st.Int(0) : -1;
  };
  std::string path = ::testing::TempDir() + "hub_store_schema.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  {
    // A hub database as older builds left it: every index of the migrations.
    std::unique_ptr<Database> db;
    ASSERT_TRUE(Database::Open(path, OpenOptions(), &db).ok());
    ASSERT_TRUE(Migrate(db.get()).ok());
    EXPECT_EQ(count(db.get()), 4) << "a device database keeps them";
  }
  for (int open = 0; open < 2; ++open) {
    std::unique_ptr<SqliteHubStore> store;
    ASSERT_TRUE(SqliteHubStore::Open(path, OpenOptions(), &store).ok());
    EXPECT_EQ(count(store->db()), 0);
    Statement st;
    ASSERT_TRUE(store->db()->Prepare("SELECT COUNT(*) FROM sqlite_master WHERE name='products_by_barcode'", &st).ok());
    bool row = false;
    ASSERT_TRUE(st.Step(&row).ok());
    EXPECT_EQ(st.Int(0), 1) << "catalog lookups keep theirs";
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, HubStoreContract, ::testing::Values(StoreKind{"Sqlite", NewSqliteStore}),
                         [](const ::testing::TestParamInfo<StoreKind>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tillsync
