#include "core/pull_snapshot.h"

#include <gtest/gtest.h>

namespace tillsync {
namespace {

TEST(PullSnapshotTest, PositionsReadBackAsTheyWereWritten) {
  SnapshotPosition catalog;
  catalog.through = 812;
  catalog.table = "products";
  catalog.id = "p-00:17.a_b";
  catalog.catalog_left = 95000;
  SnapshotPosition shop;
  shop.through = 812;
  shop.in_shop = true;
  shop.shop_seq = 640;
  for (const SnapshotPosition& p : {catalog, shop}) {
    SnapshotPosition back;
    ASSERT_TRUE(ParseSnapshotPosition(FormatSnapshotPosition(p), &back).ok()) << FormatSnapshotPosition(p);
    EXPECT_EQ(back.through, p.through);
    EXPECT_EQ(back.in_shop, p.in_shop);
    EXPECT_EQ(back.table, p.table);
    EXPECT_EQ(back.id, p.id);
    EXPECT_EQ(back.shop_seq, p.shop_seq);
    EXPECT_EQ(back.catalog_left, p.catalog_left);
  }
  EXPECT_EQ(FormatSnapshotPosition(catalog), "812 95000 products p-00:17.a_b");
  EXPECT_EQ(FormatSnapshotPosition(shop), "812 640");
}

TEST(PullSnapshotTest, AnythingElseIsRefusedAsABadValue) {
  for (const char* text : {"", " ", "812", "812 ", " 812 640", "812  640", "812 640 ", "x 640", "-1 640", "812 -5",
                           "812 900", "812 products", "812 products p1", "812 5 products p1 extra", "812 5 expenses e1",
                           "812 5 nosuch p1", "812 5 products bad/id", "812 -5 products p1", "812 x products p1",
                           "1234567890123456789 1", "812 0x10"}) {
    SnapshotPosition out;
    EXPECT_EQ(ParseSnapshotPosition(text, &out).code(), ErrorCode::kBadValue) << '"' << text << '"';
  }
}

TEST(PullSnapshotTest, CatalogTablesGoInNameOrderAndHoldNoShopTable) {
  const std::vector<const TableSpec*>& tables = SnapshotCatalogTables();
  ASSERT_FALSE(tables.empty());
  for (size_t i = 0; i < tables.size(); ++i) {
    EXPECT_EQ(tables[i]->scope, Scope::kCatalog);
    if (i > 0) EXPECT_LT(tables[i - 1]->name, tables[i]->name);
  }
  size_t catalog = 0;
  for (const TableSpec& t : AllTables()) catalog += t.scope == Scope::kCatalog;
  EXPECT_EQ(tables.size(), catalog);
}

}  // namespace
}  // namespace tillsync
