// RowStore: rows with their sync metadata, and the per-scope checksum that every write moves.
// The incremental checksum must always equal the sum of the row hashes computed from scratch,
// whatever order rows are inserted, updated or moved between scopes.
#include "core/row_store.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "core/env.h"
#include "core/merge.h"
#include "core/migrations.h"
#include "tests/support/sync_helpers.h"

namespace tillsync {
namespace {

using test_support::QueryInt;
using test_support::QueryRowsText;

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

// Typed rows (a columnar pull page's): the hash must be exactly RowHash's over the canonical JSON
// of the same values, because hub and devices compare checksums built from both.
struct TypedRow {
  Json values = Json::object();
  std::vector<ColumnValue> typed;
};

TypedRow RandomRow(const TableSpec& spec, std::mt19937_64& rng) {
  // Text that exercises every branch of the canonical string encoder: plain ASCII, quotes and
  // backslashes, control characters, multi-byte UTF-8, and bytes that are not UTF-8 at all.
  static const std::vector<std::string> pieces = {
      "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\b", "\f", "\r", std::string(1, '\x01'), std::string(1, '\x1f'),
      "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x8d\x95", "\xff", "\xc3", "-", "_", ":", "."};
  TypedRow row;
  row.typed.resize(spec.columns.size());
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    ColumnValue& v = row.typed[i];
    Json& j = row.values[spec.columns[i].name];
    switch (rng() % 4) {
      case 0: break;  // null
      case 1: {
        static const int64_t edges[] = {0, 1, -1, INT64_MAX, INT64_MIN, 1'000'000'000'000, -999};
        v.kind = ColumnValue::Kind::kInt;
        v.number = rng() % 2 ? edges[rng() % 7] : int64_t(rng());
        // The v1 decoder makes non-negative integers unsigned: hash both forms alike.
        j = v.number >= 0 && rng() % 2 ? Json(uint64_t(v.number)) : Json(v.number);
        break;
      }
      default: {
        v.kind = ColumnValue::Kind::kText;
        size_t n = rng() % 12;
        for (size_t k = 0; k < n; ++k) v.text += pieces[rng() % pieces.size()];
        j = v.text;
      }
    }
  }
  return row;
}

TEST_F(RowStoreTest, TypedRowHashIsRowHashForManyRows) {
  std::mt19937_64 rng(20261123);
  size_t rows = 0;
  for (const TableSpec& spec : AllTables()) {
    for (int i = 0; i < 4000; ++i, ++rows) {
      TypedRow row = RandomRow(spec, rng);
      const std::string id = "r-" + std::to_string(i);
      ASSERT_EQ(rows_->TypedRowHash(spec, id, row.typed), RowStore::RowHash(spec, id, row.values))
          << spec.name << " " << DumpJson(row.values);
    }
  }
  EXPECT_GT(rows, 20000u);
}

TEST_F(RowStoreTest, InsertChangeStoresWhatMergeAndInsertStore) {
  // A device's new row under a minted id, two ways on two device-configured databases: straight
  // from the change's values (InsertChange), and through MergeChange + Insert as before it
  // existed. Random values (every kind of text the encoder meets, integers of both JSON kinds,
  // nulls) with random optional columns left out: the same stored rows and types, the same
  // checksums, hence the same row hashes.
  std::unique_ptr<Database> a_db = NewDb(), b_db = NewDb();
  RowStore a(a_db.get(), RowMeta::kMergedRowsOnly, ChecksumHome::kKvTable);
  RowStore b(b_db.get(), RowMeta::kMergedRowsOnly, ChecksumHome::kKvTable);
  std::mt19937_64 rng(2026112308);
  int stored = 0;
  for (const TableSpec& spec : AllTables()) {
    if (a.KeepsMeta(spec)) continue;
    for (int i = 0; i < 300; ++i) {
      TypedRow row = RandomRow(spec, rng);
      Json values = Json::object();
      for (const ColumnSpec& c : spec.columns) {
        Json v = row.values[c.name];
        if (c.required && v.is_null()) v = "req";  // the store's NOT NULL holds
        if (std::string(c.name) == "shop_id") v = i % 3 ? "s1" : "s2";
        if (!c.required && rng() % 3 == 0) continue;  // left out: stored as null
        values[c.name] = v;
      }
      const std::string id = "dev-" + std::to_string(i);
      bool handled = false;
      Status s = a.InsertChange(spec, id, values, &handled);
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_TRUE(handled) << spec.name << " " << DumpJson(values);
      Change change{spec.name, id, values};
      StoredRow next;
      MergeOutcome outcome;
      ASSERT_TRUE(MergeChange(spec, StoredRow(), change, ColumnClock(spec, "0018bcfe568000.0000.dev", false),
                              MergeOptions(), &outcome, &next).ok());
      ASSERT_EQ(outcome, MergeOutcome::kApplied);
      ASSERT_TRUE(b.Insert(spec, id, &next).ok());
      ++stored;
    }
    const std::string dump = "SELECT id, " + [&] {
      std::string cols;
      for (const ColumnSpec& c : spec.columns) cols += std::string(cols.empty() ? "" : ", ") + "typeof(" + c.name + "), " + c.name;
      return cols;
    }() + " FROM " + spec.name + " ORDER BY id";
    EXPECT_EQ(QueryRowsText(a_db.get(), dump.c_str()), QueryRowsText(b_db.get(), dump.c_str())) << spec.name;
  }
  EXPECT_GT(stored, 1000);
  const char* sums = "SELECT key, value FROM _ts_kv WHERE key LIKE 'checksum:%' ORDER BY key";
  EXPECT_EQ(QueryRowsText(a_db.get(), sums), QueryRowsText(b_db.get(), sums));
  EXPECT_NE(QueryRowsText(a_db.get(), sums), "");
  std::string a_dump, b_dump;
  ASSERT_TRUE(CanonicalDumpOf(a_db.get(), {"", "s1", "s2"}, &a_dump).ok());
  ASSERT_TRUE(CanonicalDumpOf(b_db.get(), {"", "s1", "s2"}, &b_dump).ok());
  EXPECT_EQ(a_dump, b_dump);

  // What it leaves to the merge path: nothing written, *handled false.
  const TableSpec& payments = *FindTable("payments");
  const Json good = {{"order_id", "o1"}, {"shop_id", "s1"}, {"method", "cash"},
                     {"amount_minor", 5}, {"tendered_minor", 5}, {"change_minor", 0}};
  std::vector<Json> refused;
  Json missing = good;
  missing.erase("method");  // a required column left out
  refused.push_back(missing);
  Json null_required = good;
  null_required["amount_minor"] = nullptr;
  refused.push_back(null_required);
  for (const char* stray : {"aaa", "mz", "zzz"}) {  // a key that is no column: first, between, last
    Json with_stray = good;
    with_stray[stray] = 1;
    refused.push_back(with_stray);
  }
  const std::string before = QueryRowsText(a_db.get(), "SELECT COUNT(*) FROM payments") + QueryRowsText(a_db.get(), sums);
  for (const Json& values : refused) {
    bool handled = true;
    ASSERT_TRUE(a.InsertChange(payments, "new-pay", values, &handled).ok());
    EXPECT_FALSE(handled) << DumpJson(values);
  }
  bool handled = true;
  ASSERT_TRUE(a.InsertChange(*FindTable("products"), "p-new", Product("Tea", 100), &handled).ok());
  EXPECT_FALSE(handled) << "products keep metadata on a device: merged, not inserted directly";
  EXPECT_EQ(QueryRowsText(a_db.get(), "SELECT COUNT(*) FROM payments") + QueryRowsText(a_db.get(), sums), before);
  EXPECT_EQ(QueryRowsText(a_db.get(), "SELECT COUNT(*) FROM products"), "0|\n");

  // An id that is taken after all: refused, not overwritten, checksum unmoved.
  ASSERT_TRUE(a.InsertChange(payments, "pay-1", good, &handled).ok());
  ASSERT_TRUE(handled);
  const std::string with_one = QueryRowsText(a_db.get(), "SELECT * FROM payments WHERE id='pay-1'") + QueryRowsText(a_db.get(), sums);
  Json other = good;
  other["amount_minor"] = 7;
  other["tendered_minor"] = 7;
  EXPECT_FALSE(a.InsertChange(payments, "pay-1", other, &handled).ok());
  EXPECT_EQ(QueryRowsText(a_db.get(), "SELECT * FROM payments WHERE id='pay-1'") + QueryRowsText(a_db.get(), sums), with_one);
}

// A row every column of which is set, so the store's own constraints (NOT NULL) hold; shop rows
// alternate between two scopes unevenly (s1 every fourth).
TypedRow ValidRow(const TableSpec& spec, int i, std::mt19937_64& rng) {
  TypedRow row;
  for (const ColumnSpec& c : spec.columns) {
    ColumnValue v;
    if (c.type == ColumnType::kText || c.type == ColumnType::kEnum) {
      v.kind = ColumnValue::Kind::kText;
      v.text = std::string(c.name) == "shop_id" ? (i % 4 == 0 ? "s1" : "s2") : "t\"" + std::to_string(rng() % 1000);
      row.values[c.name] = v.text;
    } else {
      v.kind = ColumnValue::Kind::kInt;
      v.number = int64_t(rng() % 2);
      row.values[c.name] = v.number;
    }
    row.typed.push_back(v);
  }
  return row;
}

TEST_F(RowStoreTest, InsertIfAbsentStoresWhatStoreStoresAndNeverOverwrites) {
  // The same rows through the typed insert on one database and through Load + Store on another:
  // the same domain rows, the same metadata (hash and clocks text included), the same checksums.
  std::unique_ptr<Database> other_db = NewDb();
  RowStore other(other_db.get());
  std::mt19937_64 rng(7);
  const TableSpec& products = *FindTable("products");
  const TableSpec& customers = *FindTable("customers");
  rows_->BeginBatch();
  for (int i = 0; i < 200; ++i) {
    const TableSpec& spec = i % 2 ? products : customers;
    const TypedRow row = ValidRow(spec, i, rng);
    const std::string id = "id-" + std::to_string(i);
    const std::string clocks_text = "{\"*\":\"0clock" + std::to_string(i) + "\"}";
    bool inserted = false;
    ASSERT_TRUE(rows_->InsertIfAbsent(spec, id, row.typed, 100 + i, 3, clocks_text, &inserted).ok());
    EXPECT_TRUE(inserted);
    StoredRow before, stored;
    ASSERT_TRUE(other.Load(spec, id, &before).ok());
    stored.exists = true;
    stored.values = row.values;
    stored.clocks = Json::parse(clocks_text);
    stored.seq = 100 + i;
    stored.version = 3;
    ASSERT_TRUE(other.Store(spec, id, before, &stored).ok());
  }
  ASSERT_TRUE(rows_->FlushChecksums().ok());
  const char* meta = "SELECT tbl, id, scope, seq, version, clocks, hash FROM _ts_rows ORDER BY tbl, id";
  EXPECT_EQ(QueryRowsText(db_.get(), meta), QueryRowsText(other_db.get(), meta));
  EXPECT_EQ(QueryRowsText(db_.get(), "SELECT scope, sum FROM _ts_checksum ORDER BY scope"),
            QueryRowsText(other_db.get(), "SELECT scope, sum FROM _ts_checksum ORDER BY scope"));
  std::string a, b;
  ASSERT_TRUE(CanonicalDumpOf(db_.get(), {"", "s1", "s2"}, &a).ok());
  ASSERT_TRUE(CanonicalDumpOf(other_db.get(), {"", "s1", "s2"}, &b).ok());
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a.empty());
  ExpectChecksumsMatchScratch();

  // A held id: nothing written, the caller is told.
  std::vector<ColumnValue> changed(products.columns.size());
  for (size_t c = 0; c < products.columns.size(); ++c) {
    changed[c].kind = products.columns[c].type == ColumnType::kText ? ColumnValue::Kind::kText : ColumnValue::Kind::kInt;
    changed[c].text = "changed";
    changed[c].number = 1;
  }
  bool inserted = true;
  ASSERT_TRUE(rows_->InsertIfAbsent(products, "id-1", changed, 999, 9, "{}", &inserted).ok());
  EXPECT_FALSE(inserted);
  EXPECT_EQ(QueryRowsText(db_.get(), meta), QueryRowsText(other_db.get(), meta));
  ASSERT_TRUE(CanonicalDumpOf(db_.get(), {"", "s1", "s2"}, &a).ok());
  EXPECT_EQ(a, b);
  ExpectChecksumsMatchScratch();
}

TEST_F(RowStoreTest, InsertAllIfAbsentStoresWhatInsertIfAbsentStoresOrNothingAtAll) {
  // The same rows as one statement per table on one database and one InsertIfAbsent each on
  // another, in bulk mode and out of it: the same rows, metadata and checksums.
  const TableSpec& products = *FindTable("products");
  const TableSpec& customers = *FindTable("customers");
  const char* meta = "SELECT tbl, id, scope, seq, version, clocks, hash FROM _ts_rows ORDER BY tbl, id";
  const char* sums = "SELECT scope, sum FROM _ts_checksum ORDER BY scope";
  for (bool batching : {true, false}) {
    SCOPED_TRACE(batching ? "bulk mode" : "row by row");
    std::unique_ptr<Database> all_db = NewDb(), each_db = NewDb();
    RowStore all(all_db.get()), each(each_db.get());
    if (batching) {
      all.BeginBatch();
      each.BeginBatch();
    }
    std::mt19937_64 rng(11);
    std::vector<std::string> ids;
    std::vector<TypedRow> typed;
    std::vector<std::string> clocks;
    for (int i = 0; i < 120; ++i) {
      ids.push_back((i < 60 ? "c-" : "p-") + std::to_string(1000 + i));
      typed.push_back(ValidRow(i < 60 ? customers : products, i, rng));
      clocks.push_back("{\"*\":\"0clock" + std::to_string(i) + "\"}");
    }
    // A row queued before the statement (bulk mode) must be written before its entries.
    bool inserted = false;
    const TypedRow first = ValidRow(customers, 0, rng);
    ASSERT_TRUE(all.InsertIfAbsent(customers, "c-0", first.typed, 1, 1, "{}", &inserted).ok());
    ASSERT_TRUE(each.InsertIfAbsent(customers, "c-0", first.typed, 1, 1, "{}", &inserted).ok());
    for (int part = 0; part < 2; ++part) {
      const TableSpec& spec = part == 0 ? customers : products;
      std::vector<RowStore::NewRow> rows;
      for (int i = part * 60; i < part * 60 + 60; ++i) {
        rows.push_back(RowStore::NewRow{&ids[size_t(i)], &typed[size_t(i)].typed, 100 + i, 2, clocks[size_t(i)]});
        ASSERT_TRUE(each.InsertIfAbsent(spec, ids[size_t(i)], typed[size_t(i)].typed, 100 + i, 2, clocks[size_t(i)], &inserted).ok());
        EXPECT_TRUE(inserted);
      }
      bool all_inserted = false;
      ASSERT_TRUE(all.InsertAllIfAbsent(spec, rows, &all_inserted).ok());
      EXPECT_TRUE(all_inserted);
    }
    ASSERT_TRUE(all.FlushChecksums().ok());
    ASSERT_TRUE(each.FlushChecksums().ok());
    EXPECT_EQ(QueryRowsText(all_db.get(), meta), QueryRowsText(each_db.get(), meta));
    EXPECT_EQ(QueryRowsText(all_db.get(), sums), QueryRowsText(each_db.get(), sums));
    std::string a, b;
    ASSERT_TRUE(CanonicalDumpOf(all_db.get(), {"", "s1", "s2"}, &a).ok());
    ASSERT_TRUE(CanonicalDumpOf(each_db.get(), {"", "s1", "s2"}, &b).ok());
    EXPECT_EQ(a, b);
    EXPECT_EQ(QueryInt(all_db.get(), "SELECT COUNT(*) FROM _ts_rows"), 121);
    const std::string rows_before = QueryRowsText(all_db.get(), "SELECT * FROM products ORDER BY id") +
                                    QueryRowsText(all_db.get(), meta) + QueryRowsText(all_db.get(), sums);

    // New rows and one held (p-1061, stored above): nothing written, the caller told.
    std::vector<std::string> more_ids = {"p-2000", "p-2001", "p-1061", "p-2002"};
    std::vector<RowStore::NewRow> mixed;
    for (const std::string& id : more_ids) mixed.push_back(RowStore::NewRow{&id, &typed[70].typed, 999, 9, "{}"});
    bool all_inserted = true;
    ASSERT_TRUE(all.InsertAllIfAbsent(products, mixed, &all_inserted).ok());
    EXPECT_FALSE(all_inserted);
    // New rows, one of which breaks NOT NULL (a product's name): nothing written either.
    std::vector<ColumnValue> no_name = typed[70].typed;
    no_name[size_t(products.FindColumn("name") - products.columns.data())] = ColumnValue();
    std::vector<std::string> new_ids = {"p-3000", "p-3001"};
    std::vector<RowStore::NewRow> broken = {RowStore::NewRow{&new_ids[0], &typed[70].typed, 999, 9, "{}"},
                                            RowStore::NewRow{&new_ids[1], &no_name, 999, 9, "{}"}};
    all_inserted = true;
    ASSERT_TRUE(all.InsertAllIfAbsent(products, broken, &all_inserted).ok());
    EXPECT_FALSE(all_inserted);
    ASSERT_TRUE(all.FlushChecksums().ok());
    EXPECT_EQ(QueryRowsText(all_db.get(), "SELECT * FROM products ORDER BY id") + QueryRowsText(all_db.get(), meta) +
                  QueryRowsText(all_db.get(), sums),
              rows_before);
  }
}

}  // namespace
}  // namespace tillsync
