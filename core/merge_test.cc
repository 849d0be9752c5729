// Merge rules, one table kind at a time, on hand-built rows and clocks: no database involved,
// because MergeChange and MergePulledRow are pure functions over values.
#include "core/merge.h"

#include <gtest/gtest.h>

#include <map>

#include "core/hybrid_clock.h"

namespace tillsync {
namespace {

const TableSpec& Spec(const char* name) {
  const TableSpec* spec = FindTable(name);
  EXPECT_NE(spec, nullptr) << name;
  return *spec;
}

std::string Hlc(int64_t wall, uint32_t logical, const std::string& node) {
  return HlcTimestamp{wall, logical, node}.ToString();
}

// A stored row whose every column carries `clock`.
StoredRow Stored(const TableSpec& spec, const Json& values, const std::string& clock, int64_t version = 1) {
  StoredRow row;
  row.exists = true;
  row.values = RowStore::Normalize(spec, values);
  row.clocks = Json{{"*", clock}};
  row.version = version;
  row.scope = RowStore::ScopeOf(spec, row.values);
  return row;
}

struct Merged {
  Status status;
  MergeOutcome outcome = MergeOutcome::kUnchanged;
  StoredRow row;
};

Merged Merge(const TableSpec& spec, const StoredRow& current, const Change& change, const std::string& clock,
             MergeOptions options = {}) {
  Merged m;
  m.status = MergeChange(spec, current, change, clock, options, &m.outcome, &m.row);
  return m;
}

const Json kCoffee = {{"name", "Coffee"}, {"price_minor", 250}, {"tax_rate_bp", 2000}, {"active", 1}};

// --- Last-writer-wins ----------------------------------------------------------------------

struct LwwCase {
  const char* name;
  std::string stored_hlc;
  std::string incoming_hlc;
  bool incoming_wins;
};

TEST(MergeTest, LastWriterWinsOrdersByClockThenNode) {
  const TableSpec& products = Spec("products");
  const LwwCase cases[] = {
      {"later wall time wins", Hlc(100, 0, "dev-a"), Hlc(200, 0, "dev-a"), true},
      {"earlier wall time loses", Hlc(200, 0, "dev-a"), Hlc(100, 0, "dev-b"), false},
      {"same wall, higher logical wins", Hlc(100, 1, "dev-a"), Hlc(100, 2, "dev-a"), true},
      {"same wall, lower logical loses", Hlc(100, 2, "dev-b"), Hlc(100, 1, "dev-a"), false},
      {"exact tie: higher node id wins", Hlc(100, 0, "dev-a"), Hlc(100, 0, "dev-b"), true},
      {"exact tie: lower node id loses", Hlc(100, 0, "dev-b"), Hlc(100, 0, "dev-a"), false},
      {"the same write again changes nothing", Hlc(100, 0, "dev-a"), Hlc(100, 0, "dev-a"), false},
  };
  for (const LwwCase& c : cases) {
    SCOPED_TRACE(c.name);
    StoredRow current = Stored(products, kCoffee, ColumnClock(products, c.stored_hlc, false));
    Change change{"products", "p1", Json{{"price_minor", 300}}};
    Merged m = Merge(products, current, change, ColumnClock(products, c.incoming_hlc, false));
    ASSERT_TRUE(m.status.ok()) << m.status.ToString();
    if (c.incoming_wins) {
      ASSERT_EQ(m.outcome, MergeOutcome::kApplied);
      EXPECT_EQ(m.row.values["price_minor"], 300);
      EXPECT_EQ(m.row.ClockOf("price_minor"), ColumnClock(products, c.incoming_hlc, false));
      EXPECT_EQ(m.row.values["name"], "Coffee");  // columns the change did not name stay
    } else {
      EXPECT_EQ(m.outcome, MergeOutcome::kUnchanged);
    }
  }
}

TEST(MergeTest, LastWriterWinsDecidesEachColumnOnItsOwn) {
  const TableSpec& products = Spec("products");
  const std::string t1 = ColumnClock(products, Hlc(100, 0, "a"), false);
  const std::string t2 = ColumnClock(products, Hlc(200, 0, "a"), false);
  const std::string t3 = ColumnClock(products, Hlc(300, 0, "b"), false);
  // The name was renamed at t3; the price was last set at t1.
  StoredRow current = Stored(products, kCoffee, t1);
  current.values["name"] = "Espresso";
  current.clocks = RowStore::CompactClocks(products, {{"name", t3}, {"price_minor", t1}, {"tax_rate_bp", t1},
                                                      {"active", t1}, {"category_id", t1}, {"sku", t1},
                                                      {"barcode", t1}, {"origin_shop_id", t1},
                                                      {"last_modified_shop_id", t1}, {"last_modified_at", t1}});
  // A write made at t2 that touched both: its price is newer, its name is older.
  Change change{"products", "p1", Json{{"name", "Latte"}, {"price_minor", 320}}};
  Merged m = Merge(products, current, change, t2);
  ASSERT_TRUE(m.status.ok());
  ASSERT_EQ(m.outcome, MergeOutcome::kApplied);
  EXPECT_EQ(m.row.values["name"], "Espresso");
  EXPECT_EQ(m.row.values["price_minor"], 320);
  EXPECT_EQ(m.row.ClockOf("name"), t3);
  EXPECT_EQ(m.row.ClockOf("price_minor"), t2);
  EXPECT_EQ(m.row.ClockOf("tax_rate_bp"), t1);
}

TEST(MergeTest, ConcurrentWritesConvergeWhicheverArrivesFirst) {
  const TableSpec& products = Spec("products");
  StoredRow base = Stored(products, kCoffee, ColumnClock(products, Hlc(100, 0, "a"), false));
  Change from_a{"products", "p1", Json{{"price_minor", 300}, {"sku", "A-1"}}};
  Change from_b{"products", "p1", Json{{"price_minor", 310}, {"barcode", "123"}}};
  std::string clock_a = ColumnClock(products, Hlc(500, 0, "dev-a"), false);
  std::string clock_b = ColumnClock(products, Hlc(500, 0, "dev-b"), false);  // same instant

  Merged ab1 = Merge(products, base, from_a, clock_a);
  Merged ab2 = Merge(products, ab1.row, from_b, clock_b);
  Merged ba1 = Merge(products, base, from_b, clock_b);
  Merged ba2 = Merge(products, ba1.row, from_a, clock_a);
  ASSERT_TRUE(ab2.status.ok() && ba2.status.ok());
  EXPECT_EQ(ab2.row.values, ba2.row.values);
  EXPECT_EQ(ab2.row.clocks, ba2.row.clocks);
  EXPECT_EQ(ab2.row.values["price_minor"], 310);  // dev-b > dev-a breaks the tie
  EXPECT_EQ(ab2.row.values["sku"], "A-1");        // columns only one side wrote both survive
  EXPECT_EQ(ab2.row.values["barcode"], "123");
}

TEST(MergeTest, NewRowNeedsEveryRequiredColumn) {
  const TableSpec& products = Spec("products");
  Change change{"products", "p9", Json{{"name", "Tea"}, {"price_minor", 100}}};  // no tax, no active
  Merged m = Merge(products, StoredRow(), change, ColumnClock(products, Hlc(1, 0, "a"), false));
  EXPECT_EQ(m.status.code(), ErrorCode::kMissingField);
}

TEST(MergeTest, NewRowClocksAreTheCompactFormOfEachWrittenColumnsClock) {
  // A new row's clocks: every written column has the write's clock, every other none (""), in
  // CompactClocks' form. Stored hashes and pulled-row comparisons depend on this exact form.
  const std::string clock = "0" + Hlc(5, 1, "dev-a");
  int checked = 0;
  for (const char* table : {"products", "order_lines", "customers", "stock_movements"}) {
    const TableSpec& spec = Spec(table);
    for (size_t written = 1; written <= spec.columns.size(); ++written) {
      Json values = Json::object();
      std::map<std::string, std::string> expected_clocks;
      for (size_t i = 0; i < spec.columns.size(); ++i) {
        const ColumnSpec& c = spec.columns[i];
        bool is_written = i < written;
        if (is_written) values[c.name] = c.type == ColumnType::kText ? Json("x") : Json(1);
        expected_clocks[c.name] = is_written ? clock : "";
      }
      StoredRow out;
      MergeOutcome outcome;
      Status s = MergeChange(spec, StoredRow(), Change{table, "r1", values}, clock, MergeOptions(), &outcome, &out);
      if (!s.ok()) continue;  // a required column left out: refused, as NewRowNeedsEveryRequiredColumn shows
      EXPECT_EQ(outcome, MergeOutcome::kApplied);
      EXPECT_EQ(out.clocks, RowStore::CompactClocks(spec, expected_clocks)) << table << " " << written;
      EXPECT_EQ(out.values, RowStore::Normalize(spec, values)) << table << " " << written;
      ++checked;
    }
  }
  EXPECT_GE(checked, 10);  // both forms: "*" plus unwritten columns, and written columns listed
}

// --- Hub wins ---------------------------------------------------------------------------------

TEST(MergeTest, HubEditBeatsALaterShopEditOnHubWinsTables) {
  const TableSpec& categories = Spec("categories");
  Json values = {{"name", "Drinks"}, {"sort_order", 1}, {"active", 1}};
  StoredRow by_hub = Stored(categories, values, ColumnClock(categories, Hlc(100, 0, "hub"), true));
  // The shop's clock is an hour later, and still loses.
  Change shop_edit{"categories", "c1", Json{{"name", "Beverages"}}};
  Merged m = Merge(categories, by_hub, shop_edit, ColumnClock(categories, Hlc(3'600'100, 0, "dev-a"), false));
  ASSERT_TRUE(m.status.ok());
  EXPECT_EQ(m.outcome, MergeOutcome::kUnchanged);

  // And the other way round: an older hub edit overrides a newer shop edit.
  StoredRow by_shop = Stored(categories, values, ColumnClock(categories, Hlc(3'600'100, 0, "dev-a"), false));
  Change hub_edit{"categories", "c1", Json{{"name", "Hot drinks"}}};
  m = Merge(categories, by_shop, hub_edit, ColumnClock(categories, Hlc(100, 0, "hub"), true));
  ASSERT_TRUE(m.status.ok());
  ASSERT_EQ(m.outcome, MergeOutcome::kApplied);
  EXPECT_EQ(m.row.values["name"], "Hot drinks");
}

TEST(MergeTest, HubPriorityAppliesOnlyToHubWinsTables) {
  // On a plain last-writer-wins table an admin edit is just another write by time.
  EXPECT_EQ(ColumnClock(Spec("products"), "x", true), "0x");
  EXPECT_EQ(ColumnClock(Spec("categories"), "x", true), "1x");
  EXPECT_EQ(ColumnClock(Spec("categories"), "x", false), "0x");
}

// --- Append-only and movements ------------------------------------------------------------------

TEST(MergeTest, AppendOnlyRowsAcceptAnIdenticalRewriteAndRefuseAnyChange) {
  const Json line = {{"order_id", "o1"}, {"shop_id", "s1"}, {"product_id", "p1"}, {"name", "Coffee"},
                     {"qty", 2}, {"unit_price_minor", 250}, {"tax_minor", 100}, {"line_total_minor", 500}};
  const Json movement = {{"shop_id", "s1"}, {"product_id", "p1"}, {"qty_delta", -2}, {"kind", "sale"},
                         {"ref_id", "o1"}, {"created_at", 5}};
  struct Case {
    const char* name;
    const char* table;
    Json stored;
    Json change;
    ErrorCode expected;
  } cases[] = {
      {"identical line rewrite", "order_lines", line, line, ErrorCode::kOk},
      {"line rewrite naming a subset of columns, unchanged", "order_lines", line, Json{{"qty", 2}}, ErrorCode::kOk},
      {"line with another quantity", "order_lines", line, Json{{"qty", 3}}, ErrorCode::kImmutable},
      {"line with a price nulled", "order_lines", line, Json{{"unit_price_minor", nullptr}}, ErrorCode::kImmutable},
      {"identical movement rewrite", "stock_movements", movement, movement, ErrorCode::kOk},
      {"movement with another delta", "stock_movements", movement, Json{{"qty_delta", -5}}, ErrorCode::kImmutable},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const TableSpec& spec = Spec(c.table);
    StoredRow current = Stored(spec, c.stored, ColumnClock(spec, Hlc(100, 0, "a"), false));
    // A later clock must not help: these rows are never rewritten.
    Merged m = Merge(spec, current, Change{c.table, "r1", c.change}, ColumnClock(spec, Hlc(999, 0, "z"), false));
    EXPECT_EQ(m.status.code(), c.expected) << m.status.ToString();
    EXPECT_EQ(m.outcome, MergeOutcome::kUnchanged);
  }
}

// --- Monotonic status ---------------------------------------------------------------------------

TEST(MergeTest, SaleStatusOnlyMovesForwardFromCompleted) {
  const TableSpec& orders = Spec("sales_orders");
  struct Case {
    const char* name;
    const char* from;
    const char* to;
    ErrorCode expected;
  } cases[] = {
      {"completed to voided", "completed", "voided", ErrorCode::kOk},
      {"completed to refunded", "completed", "refunded", ErrorCode::kOk},
      {"voided back to completed", "voided", "completed", ErrorCode::kStatusRegression},
      {"refunded back to completed", "refunded", "completed", ErrorCode::kStatusRegression},
      {"completed to completed", "completed", "completed", ErrorCode::kStatusRegression},
      {"voided to voided", "voided", "voided", ErrorCode::kStatusRegression},
      // Voided and refunded are both final: a void racing a refund must lose whichever arrives
      // second, or the sale's stock is put back twice (one void and one refund movement set).
      {"refunded to voided", "refunded", "voided", ErrorCode::kStatusRegression},
      {"voided to refunded", "voided", "refunded", ErrorCode::kStatusRegression},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Json order = {{"shop_id", "s1"}, {"device_id", "d1"}, {"receipt_no", "D1-000001"}, {"status", c.from},
                  {"subtotal_minor", 500}, {"tax_minor", 100}, {"total_minor", 600}, {"currency", "EUR"},
                  {"created_at", 5}};
    StoredRow current = Stored(orders, order, ColumnClock(orders, Hlc(100, 0, "a"), false));
    std::string clock = ColumnClock(orders, Hlc(200, 0, "b"), false);
    Merged m = Merge(orders, current, Change{"sales_orders", "o1", Json{{"status", c.to}}}, clock);
    EXPECT_EQ(m.status.code(), c.expected) << m.status.ToString();
    if (c.expected == ErrorCode::kOk) {
      ASSERT_EQ(m.outcome, MergeOutcome::kApplied);
      EXPECT_EQ(m.row.values["status"], c.to);
      EXPECT_EQ(m.row.ClockOf("status"), clock);
      EXPECT_EQ(m.row.values["total_minor"], 600);
    }
  }
}

TEST(MergeTest, SaleColumnsOtherThanStatusAreImmutable) {
  const TableSpec& orders = Spec("sales_orders");
  Json order = {{"shop_id", "s1"}, {"device_id", "d1"}, {"receipt_no", "D1-000001"}, {"status", "completed"},
                {"subtotal_minor", 500}, {"tax_minor", 100}, {"total_minor", 600}, {"currency", "EUR"},
                {"created_at", 5}};
  StoredRow current = Stored(orders, order, ColumnClock(orders, Hlc(100, 0, "a"), false));
  std::string later = ColumnClock(orders, Hlc(200, 0, "a"), false);
  Merged m = Merge(orders, current, Change{"sales_orders", "o1", Json{{"total_minor", 1}}}, later);
  EXPECT_EQ(m.status.code(), ErrorCode::kImmutable);
  m = Merge(orders, current, Change{"sales_orders", "o1", Json{{"status", "voided"}, {"receipt_no", "X-1"}}}, later);
  EXPECT_EQ(m.status.code(), ErrorCode::kImmutable);
  // Repeating unchanged columns next to a status move is fine (a full row sent again).
  m = Merge(orders, current, Change{"sales_orders", "o1", Json{{"status", "voided"}, {"total_minor", 600}}}, later);
  EXPECT_TRUE(m.status.ok()) << m.status.ToString();
  EXPECT_EQ(m.outcome, MergeOutcome::kApplied);
  // The whole order written again, identical, is the "written once" part replayed (a retried
  // quarantined sale carries it): nothing to do, as for an append-only row.
  m = Merge(orders, current, Change{"sales_orders", "o1", order}, later);
  EXPECT_TRUE(m.status.ok()) << m.status.ToString();
  EXPECT_EQ(m.outcome, MergeOutcome::kUnchanged);
  // But a status move to the status it already has is refused: two devices voiding the same
  // sale would otherwise both put its stock back.
  m = Merge(orders, current, Change{"sales_orders", "o1", Json{{"status", "completed"}}}, later);
  EXPECT_EQ(m.status.code(), ErrorCode::kStatusRegression);
}

// --- Manual and custom --------------------------------------------------------------------------

const Json kCustomer = {{"shop_id", "s1"}, {"name", "Ann"}, {"phone", "1"}, {"notes", "likes tea"}};

TEST(MergeTest, ManualTableTurnsAStaleBaseIntoAConflictAndAppliesAFreshOne) {
  const TableSpec& customers = Spec("customers");
  StoredRow current = Stored(customers, kCustomer, ColumnClock(customers, Hlc(100, 0, "a"), false), /*version=*/3);
  std::string later = ColumnClock(customers, Hlc(200, 0, "b"), false);

  Change stale{"customers", "c1", Json{{"phone", "222"}}, /*base_version=*/2};
  Merged m = Merge(customers, current, stale, later);
  ASSERT_TRUE(m.status.ok());
  EXPECT_EQ(m.outcome, MergeOutcome::kConflict);

  Change unstated{"customers", "c1", Json{{"phone", "222"}}};  // no base given counts as stale
  EXPECT_EQ(Merge(customers, current, unstated, later).outcome, MergeOutcome::kConflict);

  Change fresh{"customers", "c1", Json{{"phone", "333"}}, /*base_version=*/3};
  m = Merge(customers, current, fresh, later);
  ASSERT_TRUE(m.status.ok());
  ASSERT_EQ(m.outcome, MergeOutcome::kApplied);
  EXPECT_EQ(m.row.values["phone"], "333");
  EXPECT_EQ(m.row.values["name"], "Ann");

  // A device writing its own replica does not check bases: its row is its latest intent.
  MergeOptions local;
  local.check_base_version = false;
  m = Merge(customers, current, stale, later, local);
  EXPECT_EQ(m.outcome, MergeOutcome::kApplied);
}

TableSpec CustomCustomers() {
  TableSpec spec = Spec("customers");
  spec.rule = MergeRule::kCustom;
  return spec;
}

TEST(MergeTest, CustomResolverDecidesAStaleWrite) {
  TableSpec spec = CustomCustomers();
  ResolverRegistry resolvers;
  int calls = 0;
  // Keeps both sides' notes instead of letting one overwrite the other.
  resolvers.Register("customers", [&calls](const Json& stored, const Json& incoming, Json* merged) {
    ++calls;
    *merged = incoming;
    (*merged)["notes"] = stored["notes"].get<std::string>() + " | " + incoming["notes"].get<std::string>();
    return true;
  });
  MergeOptions options;
  options.resolvers = &resolvers;
  StoredRow current = Stored(spec, kCustomer, ColumnClock(spec, Hlc(100, 0, "a"), false), 3);
  std::string later = ColumnClock(spec, Hlc(200, 0, "b"), false);

  Merged m = Merge(spec, current, Change{"customers", "c1", Json{{"notes", "no sugar"}}, 2}, later, options);
  ASSERT_TRUE(m.status.ok());
  ASSERT_EQ(m.outcome, MergeOutcome::kApplied);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(m.row.values["notes"], "likes tea | no sugar");
  EXPECT_EQ(m.row.values["name"], "Ann");

  // A fresh base needs no resolver: plain last-writer-wins.
  m = Merge(spec, current, Change{"customers", "c1", Json{{"notes", "no sugar"}}, 3}, later, options);
  ASSERT_EQ(m.outcome, MergeOutcome::kApplied);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(m.row.values["notes"], "no sugar");
}

TEST(MergeTest, CustomTableFallsBackToLastWriterWins) {
  TableSpec spec = CustomCustomers();
  StoredRow current = Stored(spec, kCustomer, ColumnClock(spec, Hlc(100, 0, "a"), false), 3);
  Change stale{"customers", "c1", Json{{"notes", "no sugar"}}, 2};

  // Nothing registered: a newer stale write wins by clock, an older one loses.
  Merged m = Merge(spec, current, stale, ColumnClock(spec, Hlc(200, 0, "b"), false));
  ASSERT_TRUE(m.status.ok());
  ASSERT_EQ(m.outcome, MergeOutcome::kApplied);
  EXPECT_EQ(m.row.values["notes"], "no sugar");
  EXPECT_EQ(Merge(spec, current, stale, ColumnClock(spec, Hlc(50, 0, "b"), false)).outcome,
            MergeOutcome::kUnchanged);

  // A resolver that declines (returns false) also falls back to last-writer-wins.
  ResolverRegistry resolvers;
  resolvers.Register("customers", [](const Json&, const Json&, Json*) { return false; });
  MergeOptions options;
  options.resolvers = &resolvers;
  m = Merge(spec, current, stale, ColumnClock(spec, Hlc(200, 0, "b"), false), options);
  ASSERT_EQ(m.outcome, MergeOutcome::kApplied);
  EXPECT_EQ(m.row.values["notes"], "no sugar");
}

// --- Pulled rows --------------------------------------------------------------------------------

TEST(MergeTest, PulledRowKeepsALocalColumnWrittenLaterAndTakesTheRest) {
  const TableSpec& products = Spec("products");
  const std::string t1 = ColumnClock(products, Hlc(100, 0, "a"), false);
  const std::string t2 = ColumnClock(products, Hlc(200, 0, "hub"), false);
  const std::string t3 = ColumnClock(products, Hlc(300, 0, "a"), false);
  // Locally: the price was changed at t3 and is not yet acknowledged.
  StoredRow local = Stored(products, kCoffee, t1);
  local.values["price_minor"] = 275;
  std::map<std::string, std::string> local_clocks;
  for (const ColumnSpec& c : products.columns) local_clocks[c.name] = t1;
  local_clocks["price_minor"] = t3;
  local.clocks = RowStore::CompactClocks(products, local_clocks);
  // The hub's row: someone renamed it at t2 (and the hub still has the old price at t2).
  StoredRow remote = Stored(products, kCoffee, t2);
  remote.values["name"] = "House coffee";

  StoredRow merged = MergePulledRow(products, local, remote);
  EXPECT_EQ(merged.values["price_minor"], 275);
  EXPECT_EQ(merged.values["name"], "House coffee");
  EXPECT_EQ(merged.ClockOf("price_minor"), t3);
  EXPECT_EQ(merged.ClockOf("name"), t2);

  // Once the hub has the local write (same clock), the pulled row is simply the hub's.
  remote.values["price_minor"] = 275;
  std::map<std::string, std::string> hub_clocks;
  for (const ColumnSpec& c : products.columns) hub_clocks[c.name] = t2;
  hub_clocks["price_minor"] = t3;
  remote.clocks = RowStore::CompactClocks(products, hub_clocks);
  merged = MergePulledRow(products, local, remote);
  EXPECT_EQ(merged.values, remote.values);
  EXPECT_EQ(merged.clocks, remote.clocks);
}

TEST(MergeTest, PulledSaleKeepsAnUnacknowledgedLocalVoid) {
  const TableSpec& orders = Spec("sales_orders");
  Json order = {{"shop_id", "s1"}, {"device_id", "d1"}, {"receipt_no", "D1-000001"}, {"status", "completed"},
                {"subtotal_minor", 500}, {"tax_minor", 100}, {"total_minor", 600}, {"currency", "EUR"},
                {"created_at", 5}};
  StoredRow remote = Stored(orders, order, ColumnClock(orders, Hlc(100, 0, "a"), false));
  StoredRow local = remote;
  local.values["status"] = "voided";
  std::string void_clock = ColumnClock(orders, Hlc(200, 0, "a"), false);
  local.clocks = Json{{"*", remote.ClockOf("status")}, {"status", void_clock}};
  StoredRow merged = MergePulledRow(orders, local, remote);
  EXPECT_EQ(merged.values["status"], "voided");
  EXPECT_EQ(merged.ClockOf("status"), void_clock);
  // The other way round (the hub already has the void) the hub's row is taken as it is.
  merged = MergePulledRow(orders, remote, local);
  EXPECT_EQ(merged.values["status"], "voided");
}

TEST(MergeTest, PulledAppendOnlyRowIsTheHubsCopy) {
  const TableSpec& lines = Spec("order_lines");
  Json line = {{"order_id", "o1"}, {"shop_id", "s1"}, {"product_id", "p1"}, {"name", "Coffee"}, {"qty", 2},
               {"unit_price_minor", 250}, {"tax_minor", 100}, {"line_total_minor", 500}};
  StoredRow local = Stored(lines, line, ColumnClock(lines, Hlc(900, 0, "a"), false));
  StoredRow remote = Stored(lines, line, ColumnClock(lines, Hlc(100, 0, "a"), false));
  remote.version = 1;
  remote.seq = 42;
  StoredRow merged = MergePulledRow(lines, local, remote);
  EXPECT_EQ(merged.clocks, remote.clocks);
  EXPECT_EQ(merged.seq, 42);
}

}  // namespace
}  // namespace tillsync
