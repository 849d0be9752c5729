// A device's secondary indexes set aside during a bulk download: dropped when a download brings
// more rows than the table holds (every table of an initial download, a download resumed after
// an open), built by the download's last page with the migration's definitions,
// built at open when a crash or a close interrupted the download, and reads stay correct
// meanwhile. The hub and the device run in one process on the in-memory fault VFS.
#include "core/deferred_indexes.h"

#include <gtest/gtest.h>

#include "core/device.h"
#include "core/migrations.h"
#include "tests/support/fault_vfs.h"
#include "tests/support/sync_helpers.h"

namespace tillsync {
namespace {

using test_support::CallerOf;
using test_support::IntegrityCheck;
using test_support::PullAll;
using test_support::QueryInt;
using test_support::QueryRowsText;

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr int kProducts = 30;
constexpr int64_t kPageRows = 10;  // four pages: the shop's row, 30 products, the device's row

// Every index SQLite keeps a CREATE text for (not the primary keys' autoindexes), "name: sql",
// one a line, sorted by name.
std::string IndexDefinitions(Database* db) {
  return QueryRowsText(db, "SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
                           " AND name <> '_ts_rows_by_scope_seq' ORDER BY name");
}

class DeferredIndexesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HubOptions ho;
    ho.env = &hub_env_;
    ho.open.vfs = hub_vfs_.name();
    ho.open.exclusive_locking = true;
    ASSERT_TRUE(Hub::Open("hub.db", ho, &hub_).ok());
    ASSERT_TRUE(hub_->CreateShop("Shop A", "EUR", &shop_).ok());
    std::vector<Change> catalog;
    for (int i = 0; i < kProducts; ++i) {
      catalog.push_back(Change{"products", "p" + std::to_string(i),
                               Json{{"name", "Product " + std::to_string(i)}, {"price_minor", 100 + i},
                                    {"tax_rate_bp", 2000}, {"active", 1}, {"barcode", "400" + std::to_string(1000 + i)},
                                    {"category_id", "c" + std::to_string(i % 4)}}});
    }
    ASSERT_TRUE(hub_->AdminWrite(catalog).ok());
    ASSERT_TRUE(hub_->RegisterDevice(shop_.id, "till-1", &rec_).ok());
    // The definitions as the migrations make them, in a database of their own.
    std::unique_ptr<Database> ref;
    OpenOptions o;
    o.vfs = hub_vfs_.name();
    ASSERT_TRUE(Database::Open("reference.db", o, &ref).ok());
    ASSERT_TRUE(Migrate(ref.get()).ok());
    migration_indexes_ = IndexDefinitions(ref.get());
    ASSERT_NE(migration_indexes_.find("products_by_barcode|CREATE INDEX products_by_barcode ON products(barcode)|"),
              std::string::npos) << migration_indexes_;
  }

  std::unique_ptr<Device> Open(const std::string& path, int64_t defer_min_rows = 2 * kPageRows) {
    DeviceOptions o;
    o.env = &dev_env_;
    o.open.vfs = vfs_.name();
    o.open.exclusive_locking = true;
    o.pull_limit = kPageRows;
    o.defer_indexes_min_rows = defer_min_rows;
    std::unique_ptr<Device> d;
    Status s = Device::Open(path, DeviceIdentity{rec_.id, rec_.shop_id, rec_.receipt_prefix, "EUR"}, o, &d);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return d;
  }

  Status PullPage(Device* d, PullOutcome* out) {
    std::string body, answer;
    TS_RETURN_IF_ERROR(d->BuildPull(&body));
    TS_RETURN_IF_ERROR(hub_->Pull(CallerOf(d), body, &answer));
    return d->HandlePullResponse(answer, out);
  }

  static std::vector<std::string> Deferred(Device* d) {
    std::vector<std::string> names;
    EXPECT_TRUE(DeferredIndexNames(d->db(), &names).ok());
    return names;
  }

  void ExpectConverged(Device* d) {
    std::string hub_dump, dev_dump;
    ASSERT_TRUE(hub_->CanonicalDump(shop_.id, &hub_dump).ok());
    ASSERT_TRUE(d->CanonicalDump(&dev_dump).ok());
    EXPECT_EQ(dev_dump, hub_dump);
  }

  // The product found by its barcode and the count of a category, through the device's own
  // read door, as a POS screen asks them.
  static std::string Lookups(Device* d) {
    Json rows;
    Status s = d->Query("SELECT id, name FROM products WHERE barcode = ?1", Json::array({"4001013"}), &rows);
    if (!s.ok()) return s.ToString();
    Json count;
    s = d->Query("SELECT COUNT(*) AS n FROM products WHERE category_id = ?1", Json::array({"c3"}), &count);
    if (!s.ok()) return s.ToString();
    return rows.dump() + " " + count.dump();
  }

  ManualEnv hub_env_{kT0, 5};
  ManualEnv dev_env_{kT0, 6};
  FaultVfs hub_vfs_{"deferred-indexes-hub"};
  FaultVfs vfs_{"deferred-indexes-device"};
  std::unique_ptr<Hub> hub_;
  ShopRecord shop_;
  DeviceRecord rec_;
  std::string migration_indexes_;
};

TEST_F(DeferredIndexesTest, BulkDownloadSetsAsideTheIndexesOfEmptyTablesAndBuildsThemInItsLastPage) {
  auto d = Open("till.db");
  ASSERT_EQ(IndexDefinitions(d->db()), migration_indexes_);
  PullOutcome out;
  ASSERT_TRUE(PullPage(d.get(), &out).ok());
  ASSERT_TRUE(out.more);
  // Every replicated table was empty: each index of theirs is set aside, its definition kept.
  EXPECT_EQ(Deferred(d.get()), (std::vector<std::string>{"order_lines_by_order", "payments_by_order",
                                                         "products_by_barcode", "products_by_category",
                                                         "sales_orders_by_shop_time", "stock_movements_by_product"}));
  EXPECT_EQ(IndexDefinitions(d->db()), "");
  ASSERT_TRUE(PullPage(d.get(), &out).ok());
  ASSERT_TRUE(out.more);
  EXPECT_EQ(Deferred(d.get()).size(), 6u);
  // Reads during the download find what has arrived (by a scan, without the index). The catalog
  // comes first, in key order (the shop's row after it): p0, p1, p10 to p19, p2 and p20 to p26
  // so far, of which p11, p15, p19 and p23 are in category c3.
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM products"), 20);
  EXPECT_EQ(Lookups(d.get()), "[{\"id\":\"p13\",\"name\":\"Product 13\"}] [{\"n\":4}]");
  ASSERT_TRUE(PullAll(hub_.get(), d.get(), &out).ok());
  EXPECT_TRUE(out.checksum_checked);
  EXPECT_FALSE(out.repair_started);
  // The last page built them with the migration's own text, and forgot the records.
  EXPECT_EQ(IndexDefinitions(d->db()), migration_indexes_);
  EXPECT_TRUE(Deferred(d.get()).empty());
  EXPECT_EQ(IntegrityCheck(d->db()), "ok");
  EXPECT_EQ(Lookups(d.get()), "[{\"id\":\"p13\",\"name\":\"Product 13\"}] [{\"n\":7}]");
  // The lookup goes through the rebuilt index.
  EXPECT_NE(QueryRowsText(d->db(), "EXPLAIN QUERY PLAN SELECT id FROM products WHERE barcode = '4001007'")
                .find("USING INDEX products_by_barcode"), std::string::npos);
  ExpectConverged(d.get());
}

TEST_F(DeferredIndexesTest, DownloadInterruptedAfterAPageGetsItsIndexesBackAtOpen) {
  auto d = Open("till.db");
  PullOutcome out;
  ASSERT_TRUE(PullPage(d.get(), &out).ok());
  ASSERT_EQ(Deferred(d.get()).size(), 6u);
  const int64_t held = QueryInt(d->db(), "SELECT COUNT(*) FROM products");
  ASSERT_GT(held, 0);
  ASSERT_LT(held, kProducts);
  // The tab closes (or the process dies) with the page committed and the download unfinished.
  d.reset();
  vfs_.Crash(CrashMode::kDropUnsynced);
  d = Open("till.db");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(IndexDefinitions(d->db()), migration_indexes_);
  EXPECT_TRUE(Deferred(d.get()).empty());
  EXPECT_EQ(IntegrityCheck(d->db()), "ok");
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM products"), held);
  // The download goes on from its cursor. Most of it is still to come (22 rows against the 9
  // products held), so the indexes are set aside again, and built at its end.
  ASSERT_TRUE(PullPage(d.get(), &out).ok());
  ASSERT_TRUE(out.more);
  EXPECT_EQ(Deferred(d.get()).size(), 6u);
  EXPECT_EQ(IndexDefinitions(d->db()), "");
  ASSERT_TRUE(PullAll(hub_.get(), d.get(), &out).ok());
  EXPECT_EQ(IndexDefinitions(d->db()), migration_indexes_);
  EXPECT_EQ(Lookups(d.get()), "[{\"id\":\"p13\",\"name\":\"Product 13\"}] [{\"n\":7}]");
  ExpectConverged(d.get());
}

// A crash at every sync point of the page that sets the indexes aside and of the page that
// builds them: after the power cut and a reopen, the database is sound, every index is there
// and none is recorded as set aside, and the download finishes equal to the hub.
TEST_F(DeferredIndexesTest, CrashAtAnySyncOfTheFirstOrLastPageLeavesEveryIndexAfterReopen) {
  for (int page : {0, 3}) {  // the first page (sets aside) and the last (builds)
    int hit = 0;
    for (int64_t n = 1;; ++n) {
      SCOPED_TRACE("page " + std::to_string(page) + " sync " + std::to_string(n));
      ASSERT_LT(n, 200) << "the loop does not end";
      const std::string path = "crash-" + std::to_string(page) + "-" + std::to_string(n) + ".db";
      auto d = Open(path);
      ASSERT_NE(d, nullptr);
      PullOutcome out;
      for (int i = 0; i < page; ++i) ASSERT_TRUE(PullPage(d.get(), &out).ok());
      if (page == 3) {
        ASSERT_EQ(Deferred(d.get()).size(), 6u);
      }
      const int64_t syncs0 = vfs_.syncs();
      vfs_.FreezeAtNthSync(n);
      Status s = PullPage(d.get(), &out);
      const bool reached = vfs_.syncs() - syncs0 >= n;
      if (!reached) {
        EXPECT_EQ(out.more, page == 0);
      }
      d.reset();
      vfs_.CrashFiles(path, CrashMode::kDropUnsynced);
      vfs_.ClearFaults();
      if (!reached) {
        EXPECT_TRUE(s.ok()) << s.ToString();
      }
      hit += reached ? 1 : 0;
      d = Open(path);
      ASSERT_NE(d, nullptr);
      EXPECT_EQ(IntegrityCheck(d->db()), "ok");
      EXPECT_EQ(IndexDefinitions(d->db()), migration_indexes_);
      EXPECT_TRUE(Deferred(d.get()).empty());
      ASSERT_TRUE(PullAll(hub_.get(), d.get(), &out).ok());
      EXPECT_EQ(IndexDefinitions(d->db()), migration_indexes_);
      EXPECT_EQ(Lookups(d.get()), "[{\"id\":\"p13\",\"name\":\"Product 13\"}] [{\"n\":7}]");
      ExpectConverged(d.get());
      if (HasFailure()) return;
      if (!reached) break;
    }
    EXPECT_GT(hit, 0) << "no sync point reached: the loop proved nothing";
  }
}

TEST_F(DeferredIndexesTest, SmallDownloadsAndTablesHoldingMoreRowsThanComeKeepTheirIndexes) {
  {
    // Fewer rows to come than the threshold: no index is touched.
    auto d = Open("small.db", /*defer_min_rows=*/100);
    PullOutcome out;
    ASSERT_TRUE(PullPage(d.get(), &out).ok());
    ASSERT_TRUE(out.more);
    EXPECT_TRUE(Deferred(d.get()).empty());
    EXPECT_EQ(IndexDefinitions(d->db()), migration_indexes_);
  }
  // A device holding the catalog (30 products), then 25 more: over the threshold (20), but the
  // products table holds more rows than are coming and keeps its indexes (the empty shop
  // tables' are set aside and built again at the end).
  auto d = Open("held.db");
  PullOutcome out;
  ASSERT_TRUE(PullAll(hub_.get(), d.get(), &out).ok());
  std::vector<Change> more;
  for (int i = kProducts; i < kProducts + 25; ++i)
    more.push_back(Change{"products", "p" + std::to_string(i),
                          Json{{"name", "More " + std::to_string(i)}, {"price_minor", 5}, {"tax_rate_bp", 0},
                               {"active", 1}, {"barcode", "500" + std::to_string(i)}}});
  ASSERT_TRUE(hub_->AdminWrite(more).ok());
  ASSERT_TRUE(PullPage(d.get(), &out).ok());
  ASSERT_TRUE(out.more);
  EXPECT_EQ(Deferred(d.get()), (std::vector<std::string>{"order_lines_by_order", "payments_by_order",
                                                         "sales_orders_by_shop_time", "stock_movements_by_product"}));
  EXPECT_NE(IndexDefinitions(d->db()).find("products_by_barcode"), std::string::npos);
  ASSERT_TRUE(PullAll(hub_.get(), d.get(), &out).ok());
  EXPECT_EQ(IndexDefinitions(d->db()), migration_indexes_);
  EXPECT_TRUE(Deferred(d.get()).empty());
  ExpectConverged(d.get());
}

// A sale rung up mid-download writes into tables whose indexes are set aside; the rebuilt
// indexes hold its rows.
TEST_F(DeferredIndexesTest, SaleDuringTheDownloadIsInTheRebuiltIndexes) {
  auto d = Open("till.db");
  PullOutcome out;
  ASSERT_TRUE(PullPage(d.get(), &out).ok());
  ASSERT_EQ(Deferred(d.get()).size(), 6u);
  SaleResult sale;
  ASSERT_TRUE(d->RecordSale(test_support::Sale({{"p13", 2}}), &sale).ok());  // in the first page (key order)
  ASSERT_TRUE(PullAll(hub_.get(), d.get(), &out).ok());
  EXPECT_EQ(IndexDefinitions(d->db()), migration_indexes_);
  EXPECT_EQ(IntegrityCheck(d->db()), "ok");
  EXPECT_EQ(QueryInt(d->db(), "SELECT COUNT(*) FROM order_lines INDEXED BY order_lines_by_order WHERE order_id='" +
                                  sale.order_id + "'"), 1);
}

}  // namespace
}  // namespace tillsync
