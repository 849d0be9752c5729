// RowStore: rows with their sync metadata, and the per-scope checksum that every write moves.
// The incremental checksum must always equal the sum of the row hashes computed from scratch,
// whatever order rows are inserted, updated or moved between scopes.
#include "core/row_store.h"

#include <gtest/gtest.h>

#include <map>

#include "core/env.h"
#include "core/migrations.h"

namespace tillsync {
namespace {

class RowStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = NewDb(); rows_ = std::make_unique<RowStore>(db_.get()); }

  static std::unique_ptr<Database> NewDb() {
    OpenOptions o;
    o.journal_mode = "";
    std::unique_ptr<Database> db;
    EXPECT_TRUE(Database::Open(":memory:", o, &db).ok());
    EXPECT_TRUE(Migrate(db.get()).ok());
    return db;
  }

  // Writes `values` over whatever row `id` holds, as the hub and devices do.
  static void Put(RowStore* rows, const char* table, const std::string& id, const Json& values,
                  const std::string& clock = "0x") {
    const TableSpec& spec = *FindTable(table);
    StoredRow before, row;
    ASSERT_TRUE(rows->Load(spec, id, &before).ok());
    row = before;
    row.values = values;
    row.clocks = Json{{"*", clock}};
    Status s = rows->Store(spec, id, before, &row);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Put(const char* table, const std::string& id, const Json& values) { Put(rows_.get(), table, id, values); }

  // Sums RowHash over every replicated row, by scope, reading the domain tables directly.
  std::map<std::string, uint64_t> FromScratch() {
    std::map<std::string, uint64_t> sums;
    for (const TableSpec& spec : AllTables()) {
      Statement st;
      EXPECT_TRUE(db_->Prepare(std::string("SELECT id FROM ") + spec.name, &st).ok());
      bool row = false;
      while (st.Step(&row).ok() && row) {
        StoredRow r;
        EXPECT_TRUE(rows_->Load(spec, st.Text(0), &r).ok());
        sums[RowStore::ScopeOf(spec, r.values)] += RowStore::RowHash(spec, st.Text(0), r.values);
      }
    }
    return sums;
  }

  void ExpectChecksumsMatchScratch() {
    std::map<std::string, uint64_t> scratch = FromScratch();
    for (const std::string& scope : {std::string(), std::string("s1"), std::string("s2"), std::string("s3")}) {
      uint64_t incremental = 0;
      ASSERT_TRUE(rows_->ScopeChecksum(scope, &incremental).ok());
      EXPECT_EQ(incremental, scratch[scope]) << "scope '" << scope << "'";
    }
  }

  std::unique_ptr<Database> db_;
  std::unique_ptr<RowStore> rows_;
};

Json Product(const char* name, int64_t price) {
  return Json{{"name", name}, {"price_minor", price}, {"tax_rate_bp", 2000}, {"active", 1}};
}
Json Customer(const char* shop, const char* name) { return Json{{"shop_id", shop}, {"name", name}}; }

TEST_F(RowStoreTest, ChecksumIsTheSumOfRowHashesAfterInsertsUpdatesAndMoves) {
  ExpectChecksumsMatchScratch();  // empty: all zero
  Put("products", "p1", Product("Coffee", 250));
  Put("products", "p2", Product("Tea", 200));
  Put("customers", "c1", Customer("s1", "Ann"));
  Put("customers", "c2", Customer("s2", "Bob"));
  Put("expenses", "e1", Json{{"shop_id", "s1"}, {"device_id", "d1"}, {"description", "milk"},
                             {"amount_minor", 199}, {"created_at", 5}});
  ExpectChecksumsMatchScratch();
  Put("products", "p1", Product("Coffee", 275));  // update in place
  Put("customers", "c1", Customer("s1", "Ann Smith"));
  ExpectChecksumsMatchScratch();
  Put("customers", "c2", Customer("s3", "Bob"));  // moves from scope s2 to s3
  ExpectChecksumsMatchScratch();
  uint64_t s2 = 1;
  ASSERT_TRUE(rows_->ScopeChecksum("s2", &s2).ok());
  EXPECT_EQ(s2, 0u);  // nothing left in s2
  Put("customers", "c2", Customer("s3", "Bob"));  // an identical rewrite moves nothing
  ExpectChecksumsMatchScratch();
}

TEST_F(RowStoreTest, ChecksumDoesNotDependOnWriteOrder) {
  auto other_db = NewDb();
  RowStore other(other_db.get());
  Put("products", "p1", Product("Coffee", 250));
  Put("products", "p2", Product("Tea", 200));
  Put("products", "p1", Product("Coffee", 300));
  Put(&other, "products", "p2", Product("Tea", 200));
  Put(&other, "products", "p1", Product("Coffee", 300));
  uint64_t a = 0, b = 0;
  ASSERT_TRUE(rows_->ScopeChecksum("", &a).ok());
  ASSERT_TRUE(other.ScopeChecksum("", &b).ok());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, 0u);
}

TEST_F(RowStoreTest, RowHashSeesEveryValueAndOnlyValues) {
  const TableSpec& products = *FindTable("products");
  Json v = RowStore::Normalize(products, Product("Coffee", 250));
  uint64_t h = RowStore::RowHash(products, "p1", v);
  EXPECT_NE(h, RowStore::RowHash(products, "p2", v));  // the id counts
  Json cheaper = v;
  cheaper["price_minor"] = 249;
  EXPECT_NE(h, RowStore::RowHash(products, "p1", cheaper));
  Json nulled = v;
  nulled["sku"] = "";
  EXPECT_NE(h, RowStore::RowHash(products, "p1", nulled));  // "" is not null
  // Key order in the input does not matter: values are canonical JSON.
  Json reordered = Json::parse(R"({"active":1,"tax_rate_bp":2000,"price_minor":250,"name":"Coffee"})");
  EXPECT_EQ(h, RowStore::RowHash(products, "p1", RowStore::Normalize(products, reordered)));
}

TEST_F(RowStoreTest, LoadReturnsWhatStoreWrote) {
  const TableSpec& customers = *FindTable("customers");
  StoredRow missing;
  ASSERT_TRUE(rows_->Load(customers, "c1", &missing).ok());
  EXPECT_FALSE(missing.exists);

  StoredRow before, row;
  row.values = Customer("s1", "Ann");
  row.clocks = Json{{"*", "0a"}, {"phone", "0b"}};
  row.seq = 17;
  row.version = 3;
  ASSERT_TRUE(rows_->Store(customers, "c1", before, &row).ok());
  StoredRow back;
  ASSERT_TRUE(rows_->Load(customers, "c1", &back).ok());
  EXPECT_TRUE(back.exists);
  EXPECT_EQ(back.values, RowStore::Normalize(customers, Customer("s1", "Ann")));
  EXPECT_TRUE(back.values["phone"].is_null());  // absent columns are stored as null
  EXPECT_EQ(back.clocks, row.clocks);
  EXPECT_EQ(back.ClockOf("phone"), "0b");
  EXPECT_EQ(back.ClockOf("name"), "0a");
  EXPECT_EQ(back.scope, "s1");
  EXPECT_EQ(back.seq, 17);
  EXPECT_EQ(back.version, 3);
  EXPECT_EQ(back.hash, row.hash);
}

TEST_F(RowStoreTest, CompactClocksKeepsTheMostCommonAsDefault) {
  const TableSpec& products = *FindTable("products");
  std::map<std::string, std::string> clocks;
  for (const ColumnSpec& c : products.columns) clocks[c.name] = "0t1";
  clocks["price_minor"] = "0t2";
  Json compact = RowStore::CompactClocks(products, clocks);
  EXPECT_EQ(compact, (Json{{"*", "0t1"}, {"price_minor", "0t2"}}));
  StoredRow r;
  r.clocks = compact;
  for (const auto& [col, clock] : clocks) EXPECT_EQ(r.ClockOf(col), clock) << col;
}

TEST_F(RowStoreTest, RemoveAllEmptiesRowsMetadataAndChecksums) {
  Put("products", "p1", Product("Coffee", 250));
  Put("customers", "c1", Customer("s1", "Ann"));
  ASSERT_TRUE(rows_->RemoveAll().ok());
  uint64_t sum = 1;
  ASSERT_TRUE(rows_->ScopeChecksum("", &sum).ok());
  EXPECT_EQ(sum, 0u);
  ASSERT_TRUE(rows_->ScopeChecksum("s1", &sum).ok());
  EXPECT_EQ(sum, 0u);
  std::string dump;
  ASSERT_TRUE(CanonicalDumpOf(db_.get(), {"", "s1"}, &dump).ok());
  EXPECT_EQ(dump, "");
}

TEST_F(RowStoreTest, CanonicalDumpIsSortedScopedAndIndependentOfHistory) {
  Put("customers", "c2", Customer("s1", "Bob"));
  Put("products", "p1", Product("Coffee", 250));
  Put("customers", "c1", Customer("s1", "Ann"));
  Put("customers", "c9", Customer("s2", "Zed"));  // another shop: never in s1's dump
  std::string dump;
  ASSERT_TRUE(CanonicalDumpOf(db_.get(), {"", "s1"}, &dump).ok());
  const std::string expected =
      "customers c1 {\"email\":null,\"name\":\"Ann\",\"notes\":null,\"phone\":null,\"shop_id\":\"s1\"}\n"
      "customers c2 {\"email\":null,\"name\":\"Bob\",\"notes\":null,\"phone\":null,\"shop_id\":\"s1\"}\n"
      "products p1 {\"active\":1,\"barcode\":null,\"category_id\":null,\"last_modified_at\":null,"
      "\"last_modified_shop_id\":null,\"name\":\"Coffee\",\"origin_shop_id\":null,\"price_minor\":250,"
      "\"sku\":null,\"tax_rate_bp\":2000}\n";
  EXPECT_EQ(dump, expected);

  // Another database reaching the same rows by another route dumps the same bytes, even with
  // different clocks and sequence numbers: the dump compares data, not history.
  auto other_db = NewDb();
  RowStore other(other_db.get());
  Put(&other, "products", "p1", Product("Coffee", 100), "0early");
  Put(&other, "customers", "c1", Customer("s1", "Ann"), "0late");
  Put(&other, "products", "p1", Product("Coffee", 250), "0later");
  Put(&other, "customers", "c2", Customer("s1", "Bob"));
  std::string other_dump;
  ASSERT_TRUE(CanonicalDumpOf(other_db.get(), {"", "s1"}, &other_dump).ok());
  EXPECT_EQ(other_dump, dump);
}

}  // namespace
}  // namespace tillsync
