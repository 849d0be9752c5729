// The fast path for canonical version 2 pull pages against the general decoder: it takes the
// pages the hub writes, and whatever it accepts, the general decoder accepts with the same result.
#include "core/pull_page_scanner.h"

#include <gtest/gtest.h>

#include "core/hybrid_clock.h"
#include "core/table_spec.h"
#include "tests/support/wire_row_samples.h"

namespace tillsync {
namespace {

WireRow Product(const std::string& id, int64_t seq, const std::string& name) {
  WireRow w;
  w.table = "products";
  w.id = id;
  w.values = Json{{"name", name}, {"price_minor", 250 + seq}, {"tax_rate_bp", 2000}, {"active", 1},
                  {"category_id", nullptr}, {"sku", "C-" + std::to_string(seq)}, {"barcode", nullptr},
                  {"origin_shop_id", "s1"}, {"last_modified_shop_id", nullptr}, {"last_modified_at", 12}};
  w.clocks = Json{{"*", "0" + HlcTimestamp{100, 0, "hub"}.ToString()}, {"price_minor", "1" + HlcTimestamp{200, 1, "hub"}.ToString()}};
  w.version = 3;
  w.seq = seq;
  return w;
}

// Runs of products, a customer, products again, a stock movement; escapes the scanner handles,
// UTF-8 of two to four bytes, nulls, a negative number, shared, own and empty clocks.
PullResponse Page(bool with_checksum, bool more) {
  PullResponse r;
  r.page_version = kPullPageVersion2;
  const std::string shared = "0" + HlcTimestamp{150, 2, "hub"}.ToString();
  WireRow p3 = Product("p3", 12, "Th\u00e9 \"vert\"\n\\ /\t\r\b\f"), p4 = Product("p4", 13, "\u20ac 5 \xf0\x9f\x98\x80");
  p3.clocks = Json{{"*", shared}};
  p4.clocks = Json{{"*", shared}, {"barcode", ""}, {"sku", ""}};
  p4.values["last_modified_at"] = 0;
  WireRow movement;
  movement.table = "stock_movements";
  movement.id = "m1";
  movement.values = Json{{"shop_id", "s1"}, {"product_id", "p4"}, {"qty_delta", -7}, {"kind", "sale"},
                         {"ref_id", nullptr}, {"created_at", 1700000000000}};
  movement.clocks = Json::object();
  movement.version = 1;
  movement.seq = 16;
  const WireRow customer = test_support::SampleCustomerRow(shared);
  r.rows = {Product("p1", 10, "Coffee"), Product("p2", 11, "Tea"), p3, p4, customer, Product("p5", 15, "Bun"), movement};
  r.cursor = 16;
  r.more = more;
  r.remaining = more ? 123456789012 : 0;
  if (with_checksum) r.checksum = ChecksumHex(0x0123456789abcdefULL);
  r.hub_hlc = HlcTimestamp{1'700'000'000'900, 0, "hub"}.ToString();
  return r;
}

void ExpectSamePage(const PullResponse& a, const PullResponse& b) {
  EXPECT_EQ(a.page_version, b.page_version);
  EXPECT_EQ(a.cursor, b.cursor);
  EXPECT_EQ(a.more, b.more);
  EXPECT_EQ(a.remaining, b.remaining);
  EXPECT_EQ(a.checksum, b.checksum);
  EXPECT_EQ(a.hub_hlc, b.hub_hlc);
  EXPECT_EQ(a.snapshot, b.snapshot);
  EXPECT_TRUE(a.rows.empty());
  EXPECT_TRUE(b.rows.empty());
  ASSERT_EQ(a.tables.size(), b.tables.size());
  for (size_t t = 0; t < a.tables.size(); ++t) {
    const PageTable& x = a.tables[t];
    const PageTable& y = b.tables[t];
    EXPECT_EQ(x.spec, y.spec);
    EXPECT_EQ(x.clocks, y.clocks);
    ASSERT_EQ(x.rows.size(), y.rows.size());
    for (size_t i = 0; i < x.rows.size(); ++i) {
      const PageRow& r = x.rows[i];
      const PageRow& s = y.rows[i];
      EXPECT_EQ(r.id, s.id);
      EXPECT_EQ(r.seq, s.seq);
      EXPECT_EQ(r.version, s.version);
      EXPECT_EQ(r.clock, s.clock);
      ASSERT_EQ(r.values.size(), s.values.size());
      for (size_t c = 0; c < r.values.size(); ++c) {
        EXPECT_EQ(r.values[c].kind, s.values[c].kind) << r.id << " column " << c;
        EXPECT_EQ(r.values[c].number, s.values[c].number) << r.id << " column " << c;
        EXPECT_EQ(r.values[c].text, s.values[c].text) << r.id << " column " << c;
      }
    }
  }
}

TEST(PullPageScannerTest, TakesThePagesTheHubWritesAndGivesWhatTheGeneralDecoderGives) {
  for (bool with_checksum : {false, true}) {
    for (bool more : {false, true}) {
      SCOPED_TRACE(std::to_string(with_checksum) + std::to_string(more));
      const std::string body = EncodePullResponse(Page(with_checksum, more));
      PullResponse fast, general;
      ASSERT_TRUE(ScanCanonicalPullPage(body, &fast)) << body;
      ASSERT_TRUE(DecodePullResponseGeneral(body, &general).ok());
      ExpectSamePage(fast, general);
      ASSERT_EQ(fast.tables.size(), 4u);
      EXPECT_EQ(fast.tables[0].rows[3].values[size_t(FindTable("products")->FindColumn("name") -
                                                     FindTable("products")->columns.data())].text,
                "\u20ac 5 \xf0\x9f\x98\x80");
    }
  }
  // Version 3, with and without a snapshot position (before "tables": the worker's prefetch
  // finds it in the answer's head).
  for (const std::string snapshot : {"", "812 5 products p-1"}) {
    PullResponse v3 = Page(false, true);
    v3.page_version = kPullPageVersion3;
    v3.snapshot = snapshot;
    const std::string body = EncodePullResponse(v3);
    EXPECT_NE(body.find("],\"v\":3}"), std::string::npos) << body;
    EXPECT_EQ(body.find("\"snapshot\":\"812 5 products p-1\",\"tables\":[") != std::string::npos, !snapshot.empty());
    PullResponse fast, general;
    ASSERT_TRUE(ScanCanonicalPullPage(body, &fast)) << body;
    ASSERT_TRUE(DecodePullResponseGeneral(body, &general).ok());
    ExpectSamePage(fast, general);
    EXPECT_EQ(fast.page_version, kPullPageVersion3);
    EXPECT_EQ(fast.snapshot, snapshot);
  }
  // A version 2 page never carries one: the scanner leaves such text to the general decoder, which refuses it.
  PullResponse v2 = Page(false, true);
  std::string v2_with_snapshot = EncodePullResponse(v2);
  v2_with_snapshot.insert(v2_with_snapshot.find(",\"tables\":"), ",\"snapshot\":\"1 1\"");
  PullResponse refused;
  EXPECT_FALSE(ScanCanonicalPullPage(v2_with_snapshot, &refused));
  EXPECT_EQ(DecodePullResponse(v2_with_snapshot, &refused).code(), ErrorCode::kBadRequest);
  // An empty page, and a full one.
  PullResponse empty = Page(true, false);
  empty.rows.clear();
  std::string body = EncodePullResponse(empty);
  PullResponse fast, general;
  ASSERT_TRUE(ScanCanonicalPullPage(body, &fast)) << body;
  ASSERT_TRUE(DecodePullResponseGeneral(body, &general).ok());
  ExpectSamePage(fast, general);
  PullResponse full = Page(false, true);
  full.rows.clear();
  for (int64_t i = 0; i < kMaxPullLimit; ++i) full.rows.push_back(Product("p-" + std::to_string(i), i + 1, "Product"));
  body = EncodePullResponse(full);
  ASSERT_TRUE(ScanCanonicalPullPage(body, &fast));
  ASSERT_TRUE(DecodePullResponseGeneral(body, &general).ok());
  ExpectSamePage(fast, general);
  ASSERT_EQ(fast.tables[0].rows.size(), size_t(kMaxPullLimit));
}

TEST(PullPageScannerTest, LeavesWhatItDoesNotReadToTheGeneralDecoder) {
  // Valid pages in a form the scanner does not read: DecodePullResponse still decodes them.
  PullResponse page = Page(true, false);
  page.rows[0].values["name"] = std::string("bell \x07");  // written as \u0007
  const std::string escaped = EncodePullResponse(page);
  std::string spaced = EncodePullResponse(Page(true, false));
  spaced.insert(1, " ");
  Json j = Json::parse(EncodePullResponse(Page(true, false)));
  const std::string pretty = j.dump(1);
  PullResponse long_number = Page(true, true);
  long_number.remaining = INT64_MAX;  // 19 digits: the scanner reads at most 18
  const std::string nineteen_digits = EncodePullResponse(long_number);
  for (const std::string& body : {escaped, spaced, pretty, nineteen_digits}) {
    PullResponse fast, general, decoded;
    EXPECT_FALSE(ScanCanonicalPullPage(body, &fast));
    ASSERT_TRUE(DecodePullResponseGeneral(body, &general).ok());
    ASSERT_TRUE(DecodePullResponse(body, &decoded).ok());
    ExpectSamePage(decoded, general);
  }
}

TEST(PullPageScannerTest, NeverAcceptsAMutatedPageTheGeneralDecoderRefusesOrReadsOtherwise) {
  // Every truncation, and every byte replaced by each of a few bytes that matter to JSON, to
  // numbers, ids and UTF-8: whenever the scanner accepts, the general decoder gives the same page.
  const std::string body = EncodePullResponse(Page(true, true));
  const std::string replacements = std::string("\"\\,:[]{}0-9 .eEnx\x01\x7f") + "\xc3\xa9\xed\xa0\xff";
  int accepted = 0, refused_by_both = 0, checked = 0;
  auto check = [&](const std::string& mutated) {
    ++checked;
    PullResponse fast, general;
    const bool scanned = ScanCanonicalPullPage(mutated, &fast);
    const Status s = DecodePullResponseGeneral(mutated, &general);
    if (scanned) {
      ++accepted;
      ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << mutated;
      ExpectSamePage(fast, general);
    } else if (!s.ok()) {
      ++refused_by_both;
    }
  };
  for (size_t n = 0; n < body.size(); ++n) check(body.substr(0, n));
  for (size_t at = 0; at < body.size(); ++at) {
    for (char c : replacements) {
      if (body[at] == c) continue;
      std::string mutated = body;
      mutated[at] = c;
      check(mutated);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  // Both kinds happen (the test is not vacuous): accepted mutations are mostly changed digits
  // and letters inside text values; most others are refused by both.
  EXPECT_GT(accepted, 100) << checked;
  EXPECT_GT(refused_by_both, 1000) << checked;
}

}  // namespace
}  // namespace tillsync
