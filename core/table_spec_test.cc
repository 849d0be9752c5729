// The C++ table declaration (core/table_spec.cc) and the SQL schema (schema/migrations) describe
// the same tables twice; this test is what keeps them in step. It reads the migrated schema back
// through PRAGMA table_info and compares it with AllTables(), both ways.
#include "core/table_spec.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/database.h"
#include "core/json_reader.h"
#include "core/migrations.h"

namespace tillsync {
namespace {

struct SqlColumn {
  std::string type;
  bool not_null = false;
};

class TableSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OpenOptions o;
    o.journal_mode = "";  // an in-memory database: journaling is irrelevant here
    ASSERT_TRUE(Database::Open(":memory:", o, &db_).ok());
    ASSERT_TRUE(Migrate(db_.get()).ok());
  }

  std::map<std::string, SqlColumn> Columns(const std::string& table) {
    std::map<std::string, SqlColumn> out;
    Statement st;
    EXPECT_TRUE(db_->Prepare("SELECT name, type, \"notnull\" FROM pragma_table_info(?1)", &st).ok());
    st.Bind(1, table);
    bool row = false;
    while (st.Step(&row).ok() && row) out[st.Text(0)] = SqlColumn{st.Text(1), st.Int(2) != 0};
    return out;
  }

  std::vector<std::string> Tables() {
    std::vector<std::string> out;
    Statement st;
    EXPECT_TRUE(db_->Prepare("SELECT name FROM sqlite_schema WHERE type='table' AND name NOT LIKE 'sqlite_%'", &st).ok());
    bool row = false;
    while (st.Step(&row).ok() && row) out.push_back(st.Text(0));
    return out;
  }

  std::unique_ptr<Database> db_;
};

const char* SqlTypeFor(ColumnType t) {
  switch (t) {
    case ColumnType::kText:
    case ColumnType::kEnum: return "TEXT";
    case ColumnType::kInteger:
    case ColumnType::kMoney:
    case ColumnType::kBool: return "INTEGER";
  }
  return "?";
}

TEST_F(TableSpecTest, EveryDeclaredColumnExistsInTheSqlWithItsType) {
  for (const TableSpec& spec : AllTables()) {
    SCOPED_TRACE(spec.name);
    std::map<std::string, SqlColumn> sql = Columns(spec.name);
    ASSERT_FALSE(sql.empty()) << "table missing from the SQL schema";
    ASSERT_EQ(sql.count("id"), 1u);
    EXPECT_EQ(sql["id"].type, "TEXT");  // writer-chosen ids, never an autoincrement
    for (const ColumnSpec& c : spec.columns) {
      SCOPED_TRACE(c.name);
      ASSERT_EQ(sql.count(c.name), 1u) << "declared column missing from the SQL";
      EXPECT_EQ(sql[c.name].type, SqlTypeFor(c.type));
      // A column a new row must have is NOT NULL in SQL, and the other way round.
      EXPECT_EQ(sql[c.name].not_null, c.required);
    }
  }
}

TEST_F(TableSpecTest, EverySqlColumnOfAReplicatedTableIsDeclared) {
  std::set<std::string> declared_tables;
  for (const TableSpec& spec : AllTables()) {
    declared_tables.insert(spec.name);
    std::map<std::string, SqlColumn> sql = Columns(spec.name);
    for (const auto& [name, col] : sql) {
      if (name == "id") continue;
      EXPECT_NE(spec.FindColumn(name), nullptr) << spec.name << "." << name << " is in the SQL but not declared";
    }
    EXPECT_EQ(sql.size(), spec.columns.size() + 1) << spec.name;
  }
  // Every table that is not the engine's own bookkeeping is replicated, so it must be declared.
  for (const std::string& table : Tables()) {
    bool bookkeeping = table.rfind("_ts_", 0) == 0 || table.rfind("_hub_", 0) == 0;
    if (!bookkeeping) {
      EXPECT_EQ(declared_tables.count(table), 1u) << table << " is in the SQL but not declared";
    }
  }
}

TEST_F(TableSpecTest, NoColumnAnywhereIsReal) {
  for (const std::string& table : Tables()) {
    for (const auto& [name, col] : Columns(table)) {
      EXPECT_EQ(col.type.find("REAL"), std::string::npos) << table << "." << name;
      EXPECT_EQ(col.type.find("FLOA"), std::string::npos) << table << "." << name;
      EXPECT_EQ(col.type.find("DOUB"), std::string::npos) << table << "." << name;
      EXPECT_EQ(col.type.find("NUM"), std::string::npos) << table << "." << name;
    }
  }
}

TEST_F(TableSpecTest, MoneyIsDeclaredAsMoneyAndStoredAsInteger) {
  int money_columns = 0;
  for (const TableSpec& spec : AllTables()) {
    std::map<std::string, SqlColumn> sql = Columns(spec.name);
    for (const ColumnSpec& c : spec.columns) {
      std::string name = c.name;
      bool named_as_money = name.size() > 6 && name.compare(name.size() - 6, 6, "_minor") == 0;
      // A column named like money but declared as a plain integer would accept 2.5 as kBadRequest
      // instead of kFloatMoney and skip the money bounds.
      EXPECT_EQ(named_as_money, c.type == ColumnType::kMoney) << spec.name << "." << name;
      if (c.type != ColumnType::kMoney) continue;
      ++money_columns;
      EXPECT_EQ(sql[name].type, "INTEGER") << spec.name << "." << name;
      EXPECT_GE(c.min, 0) << spec.name << "." << name;
      EXPECT_LE(c.max, kMaxMoney) << spec.name << "." << name;
    }
  }
  EXPECT_GE(money_columns, 10);
}

TEST_F(TableSpecTest, RulesAndScopesAreWhatTheDesignSays) {
  struct Expect {
    const char* table;
    Scope scope;
    MergeRule rule;
  } expected[] = {
      {"shops", Scope::kShop, MergeRule::kHubWins},
      {"devices", Scope::kShop, MergeRule::kHubWins},
      {"categories", Scope::kCatalog, MergeRule::kHubWins},
      {"products", Scope::kCatalog, MergeRule::kLastWriterWins},
      {"customers", Scope::kShop, MergeRule::kManual},
      {"sales_orders", Scope::kShop, MergeRule::kMonotonicStatus},
      {"order_lines", Scope::kShop, MergeRule::kAppendOnly},
      {"payments", Scope::kShop, MergeRule::kAppendOnly},
      {"expenses", Scope::kShop, MergeRule::kAppendOnly},
      {"stock_movements", Scope::kShop, MergeRule::kMovement},
  };
  ASSERT_EQ(AllTables().size(), sizeof expected / sizeof expected[0]);
  for (const Expect& e : expected) {
    const TableSpec* spec = FindTable(e.table);
    ASSERT_NE(spec, nullptr) << e.table;
    EXPECT_EQ(spec->scope, e.scope) << e.table;
    EXPECT_EQ(spec->rule, e.rule) << e.table;
    // Shop data must name its shop: the hub scopes pulls and pushes by that column.
    if (spec->scope == Scope::kShop) {
      const ColumnSpec* shop = spec->FindColumn("shop_id");
      ASSERT_NE(shop, nullptr) << e.table;
      EXPECT_TRUE(shop->required) << e.table;
    }
    // Catalog rows carry the seeds' tracking columns.
    if (spec->scope == Scope::kCatalog) {
      EXPECT_TRUE(spec->tracking) << e.table;
      for (const char* c : {"origin_shop_id", "last_modified_shop_id", "last_modified_at"})
        EXPECT_NE(spec->FindColumn(c), nullptr) << e.table << "." << c;
    }
  }
  const TableSpec* orders = FindTable("sales_orders");
  ASSERT_NE(orders->status_column, nullptr);
  EXPECT_EQ(orders->StatusRank("completed"), 0);
  EXPECT_GT(orders->StatusRank("voided"), 0);
  EXPECT_GT(orders->StatusRank("refunded"), 0);
  EXPECT_EQ(orders->StatusRank("paid"), -1);
}

TEST_F(TableSpecTest, IdsAreShortPrintableAndSafe) {
  EXPECT_TRUE(IsValidId("dev_0123456789abcdef-1a"));
  EXPECT_TRUE(IsValidId("a.b:c-d_e"));
  EXPECT_TRUE(IsValidId(std::string(kMaxIdLength, 'x')));
  EXPECT_FALSE(IsValidId(""));
  EXPECT_FALSE(IsValidId(std::string(kMaxIdLength + 1, 'x')));
  for (const char* bad : {"a b", "a/b", "a'b", "a\"b", "a;b", "ä", "a\nb"})
    EXPECT_FALSE(IsValidId(bad)) << bad;
  EXPECT_FALSE(IsValidId(std::string_view("a\0b", 3)));
}

// Every byte value against the id alphabet, as the rule reads (the check is a lookup table).
TEST_F(TableSpecTest, IdBytesAreExactlyTheAlphabet) {
  for (int b = 0; b < 256; ++b) {
    const char c = char(b);
    const bool expected = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                          c == '-' || c == '.' || c == ':';
    EXPECT_EQ(IsValidId(std::string("a") + c + "b"), expected) << b;
  }
}

// Names are found only when equal: not a prefix, not a longer name, not one with a NUL inside.
TEST_F(TableSpecTest, NamesMatchWhole) {
  const TableSpec* orders = FindTable("sales_orders");
  ASSERT_NE(orders, nullptr);
  EXPECT_EQ(FindTable("sales_order"), nullptr);
  EXPECT_EQ(FindTable("sales_orders_"), nullptr);
  EXPECT_EQ(FindTable(std::string_view("sales_orders\0", 13)), nullptr);
  EXPECT_EQ(FindTable(""), nullptr);
  const ColumnSpec* total = orders->FindColumn("total_minor");
  ASSERT_NE(total, nullptr);
  EXPECT_STREQ(total->name, "total_minor");
  EXPECT_EQ(orders->FindColumn("total_mino"), nullptr);
  EXPECT_EQ(orders->FindColumn("total_minorr"), nullptr);
  EXPECT_EQ(orders->FindColumn(std::string_view("total_minor\0", 12)), nullptr);
  EXPECT_EQ(orders->FindColumn(""), nullptr);
}

// The name order a typed row is validated and written in (core/typed_change.h) is the order a
// Json object lists the same columns: every column once, names ascending.
TEST_F(TableSpecTest, ColumnsByNameListEveryColumnOnceInTheOrderOfTheirNames) {
  for (const TableSpec& t : AllTables()) {
    ASSERT_LE(t.columns.size(), TableSpec::kMaxColumns) << t.name;
    Json object = Json::object();
    for (const ColumnSpec& c : t.columns) object[c.name] = 0;
    std::vector<std::string> json_order, spec_order;
    for (auto it = object.begin(); it != object.end(); ++it) json_order.push_back(it.key());
    for (size_t k = 0; k < t.columns.size(); ++k) spec_order.push_back(t.columns[t.columns_by_name[k]].name);
    EXPECT_EQ(spec_order, json_order) << t.name;
  }
}

}  // namespace
}  // namespace tillsync
