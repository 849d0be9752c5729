// The stored outbox form: what it leaves out comes back exactly (same values, same types, so the
// same push bytes and payload hash), rows stored in full before the form existed read the same,
// and damaged masks are refused with a clear error.
#include "core/outbox_text.h"

#include <gtest/gtest.h>

#include "core/hybrid_clock.h"
#include "core/json_reader.h"

namespace tillsync {
namespace {

constexpr int64_t kWall = 1'700'000'000'123;
const OutboxWriter kWriter{"shop-a", "till-1"};

Operation SaleLikeOperation() {
  Operation op;
  op.seq = 7;
  op.hlc = HlcTimestamp{kWall, 0, "till-1"}.ToString();
  op.wall_ms = kWall;
  op.changes.push_back(Change{"sales_orders", "till-1-1",
                              Json{{"shop_id", "shop-a"}, {"device_id", "till-1"}, {"receipt_no", "L-000001"},
                                   {"total_minor", 300}}});
  // Tracking columns of a new row, then of an existing one (no origin_shop_id), with a base version.
  op.changes.push_back(Change{"products", "cake",
                              Json{{"name", "Cake"}, {"origin_shop_id", "shop-a"}, {"last_modified_shop_id", "shop-a"},
                                   {"last_modified_at", kWall}}});
  op.changes.push_back(Change{"products", "bun", Json{{"name", "Bun"}, {"last_modified_shop_id", "shop-a"},
                                                      {"last_modified_at", kWall}}, 3});
  return op;
}

Operation Decode(const std::string& text) {
  Operation op;
  Status s = OperationFromOutboxText(text, kWriter, "outbox", &op);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return op;
}

TEST(OutboxTextTest, LeftOutValuesComeBackExactly) {
  const Operation op = SaleLikeOperation();
  const std::string stored = OutboxText(op, kWriter);
  EXPECT_EQ(stored.find("shop-a"), std::string::npos) << stored;
  EXPECT_EQ(stored.find("device_id"), std::string::npos) << stored;
  EXPECT_EQ(stored.find("last_modified_at"), std::string::npos) << stored;
  EXPECT_LT(stored.size(), OperationText(op).size());
  EXPECT_EQ(OperationText(Decode(stored)), OperationText(op));
}

TEST(OutboxTextTest, RowsStoredInFullBeforeTheFormExistedReadTheSame) {
  const Operation op = SaleLikeOperation();
  EXPECT_EQ(OperationText(Decode(OperationText(op))), OperationText(op));
}

TEST(OutboxTextTest, OnlyValuesEqualToTheirSourceAndOfTheSameTypeAreLeftOut) {
  Operation op = SaleLikeOperation();
  op.changes[0].values["shop_id"] = "shop-b";                 // another shop's id: kept
  op.changes[2].values["last_modified_at"] = kWall - 1;       // another time: kept
  const std::string stored = OutboxText(op, kWriter);
  EXPECT_NE(stored.find("\"shop_id\":\"shop-b\""), std::string::npos) << stored;
  EXPECT_NE(stored.find("1700000000122"), std::string::npos) << stored;
  EXPECT_EQ(OperationText(Decode(stored)), OperationText(op));
  // Equal, but a float (validation refuses it later; the stored text must still not change it).
  op.changes[1].values["last_modified_at"] = double(kWall);
  EXPECT_NE(OutboxText(op, kWriter).find("1700000000123.0"), std::string::npos);
}

// A sale as a till writes it: ids it minted ("<device id>-<counter>"), lines and movements
// naming their order, created_at at the operation's wall time, its own clock node.
Operation MintedSale() {
  Operation op;
  op.seq = 12;
  op.hlc = HlcTimestamp{kWall, 3, "till-1"}.ToString();
  op.wall_ms = kWall;
  op.changes.push_back(Change{"sales_orders", "till-1-1f",
                              Json{{"shop_id", "shop-a"}, {"device_id", "till-1"}, {"receipt_no", "L-000009"},
                                   {"created_at", kWall}, {"total_minor", 300}}});
  op.changes.push_back(Change{"order_lines", "till-1-20",
                              Json{{"shop_id", "shop-a"}, {"order_id", "till-1-1f"}, {"product_id", "p1"}, {"qty", 1}}});
  op.changes.push_back(Change{"stock_movements", "till-1-21",
                              Json{{"shop_id", "shop-a"}, {"product_id", "p1"}, {"qty_delta", -1}, {"kind", "sale"},
                                   {"ref_id", "till-1-1f"}, {"created_at", kWall}}});
  return op;
}

TEST(OutboxTextTest, MintedIdsTheClockNodeAndTheSaleTimeAreStoredShortAndComeBackExactly) {
  const Operation op = MintedSale();
  const std::string stored = OutboxText(op, kWriter);
  // The device id appears nowhere: not in the ids, the order references, the clock, the till.
  EXPECT_EQ(stored.find("till-1"), std::string::npos) << stored;
  EXPECT_EQ(stored.find("created_at"), std::string::npos) << stored;
  EXPECT_NE(stored.find("\"id\":\"1f\""), std::string::npos) << stored;
  EXPECT_NE(stored.find("\"ref_id\":\"1f\""), std::string::npos) << stored;
  EXPECT_LT(stored.size(), OperationText(op).size());
  EXPECT_EQ(OperationText(Decode(stored)), OperationText(op));
}

TEST(OutboxTextTest, IdsOfOtherDevicesAndOtherTimesAreKeptAsTheyAre) {
  Operation op = MintedSale();
  op.changes[0].id = "till-1";                           // the device id alone: not a minted id
  op.changes[0].values["created_at"] = kWall - 5;        // another time
  op.changes[1].values["order_id"] = "till-10-1f";       // another device whose id begins the same
  op.changes[2].values["ref_id"] = "till-1-";            // the prefix with nothing after it
  op.hlc = HlcTimestamp{kWall, 3, "till-10"}.ToString();  // another node
  const std::string stored = OutboxText(op, kWriter);
  EXPECT_NE(stored.find("\"id\":\"till-1\""), std::string::npos) << stored;
  EXPECT_NE(stored.find("1700000000118"), std::string::npos) << stored;
  EXPECT_NE(stored.find("\"order_id\":\"till-10-1f\""), std::string::npos) << stored;
  EXPECT_NE(stored.find("\"ref_id\":\"till-1-\""), std::string::npos) << stored;
  EXPECT_NE(stored.find(".till-10\""), std::string::npos) << stored;
  Operation back;
  Status read = OperationFromOutboxText(stored, kWriter, "outbox", &back);
  ASSERT_TRUE(read.ok()) << read.ToString();
  EXPECT_EQ(back.hlc, op.hlc);
  EXPECT_EQ(back.changes[0].id, "till-1");
  EXPECT_EQ(back.changes[1].values["order_id"], "till-10-1f");
  EXPECT_EQ(back.changes[2].values["ref_id"], "till-1-");
  EXPECT_EQ(OperationText(back), OperationText(op));
  // A created_at equal to the wall time but a float stays (validation refuses it later).
  op.changes[2].values["created_at"] = double(kWall);
  EXPECT_NE(OutboxText(op, kWriter).find("1700000000123.0"), std::string::npos);
}

TEST(OutboxTextTest, RowsInTheFirstShortFormReadTheSame) {
  // As the build before minted-id shortening stored a sale's order (mask 17: shop_id and
  // device_id left out; ids, created_at and the hlc in full).
  const std::string hlc = HlcTimestamp{kWall, 0, "till-1"}.ToString();
  const std::string first_form = "{\"changes\":[{\"id\":\"till-1-1\",\"restore\":17,\"table\":\"sales_orders\","
                                 "\"values\":{\"created_at\":1700000000123,\"receipt_no\":\"L-000001\",\"total_minor\":300}}],"
                                 "\"hlc\":\"" + hlc + "\",\"seq\":7,\"wall\":1700000000123}";
  Operation expected;
  expected.seq = 7;
  expected.hlc = hlc;
  expected.wall_ms = kWall;
  expected.changes.push_back(Change{"sales_orders", "till-1-1",
                                    Json{{"shop_id", "shop-a"}, {"device_id", "till-1"}, {"receipt_no", "L-000001"},
                                         {"created_at", kWall}, {"total_minor", 300}}});
  EXPECT_EQ(OperationText(Decode(first_form)), OperationText(expected));
}

TEST(OutboxTextTest, ADamagedMaskIsRefusedWithAClearError) {
  const std::string stored = OutboxText(SaleLikeOperation(), kWriter);
  const size_t at = stored.find("\"restore\":");
  ASSERT_NE(at, std::string::npos);
  const size_t end = stored.find_first_of(",}", at);
  for (const char* bad : {"0", "512", "\"x\"", "1.5"}) {
    std::string damaged = stored.substr(0, at) + "\"restore\":" + bad + stored.substr(end);
    Operation op;
    Status s = OperationFromOutboxText(damaged, kWriter, "outbox", &op);
    EXPECT_EQ(s.code(), ErrorCode::kBadRequest) << bad;
    EXPECT_NE(s.message().find("outbox.changes[0].restore"), std::string::npos) << s.message();
  }
  // A mask that shortens an id or a reference that is not there, or not a string.
  for (const char* edit : {"id", "order_id"}) {
    Json j = Json::parse(OutboxText(MintedSale(), kWriter));
    Json& change = j["changes"][1];
    if (std::string(edit) == "id") change["id"] = 5;
    else change["values"].erase("order_id");
    Operation op;
    Status s = OperationFromOutboxText(j.dump(), kWriter, "outbox", &op);
    EXPECT_EQ(s.code(), ErrorCode::kBadRequest) << edit;
    EXPECT_NE(s.message().find("outbox.changes[1].restore"), std::string::npos) << s.message();
  }
  // A mask that names a value which is present: the row was edited, not written by a device.
  Json j = Json::parse(stored);
  j["changes"][0]["values"]["shop_id"] = "shop-a";
  Operation op;
  Status s = OperationFromOutboxText(j.dump(), kWriter, "outbox", &op);
  EXPECT_EQ(s.code(), ErrorCode::kBadRequest);
}

TEST(OutboxTextTest, TheWriteStateRidesAlongReadsBackExactlyAndIsNeverPartOfTheOperation) {
  const Operation op = SaleLikeOperation();
  const std::string plain = OutboxText(op, kWriter);
  OutboxState state;
  state.sums[""] = 0;
  state.sums["shop-a"] = UINT64_MAX;  // the full range of a wrapping sum
  state.row_counter = 0x1a3;
  state.receipt_counter = 42;
  std::string text = plain;
  ASSERT_TRUE(AppendOutboxState(state, kWriter, &text));
  EXPECT_EQ(text.substr(plain.size() - 1), ",\"kv\":\"c0,sffffffffffffffff,r1a3,n2a\"}");
  // Read back exactly, with the operation's complete hlc (its node left out in the stored form).
  OutboxState read;
  std::string hlc;
  bool found = false;
  ASSERT_TRUE(ReadOutboxState(text, kWriter, &read, &hlc, &found).ok());
  EXPECT_TRUE(found);
  EXPECT_EQ(read.sums, state.sums);
  EXPECT_EQ(read.row_counter, 0x1a3);
  EXPECT_EQ(read.receipt_counter, 42);
  EXPECT_EQ(hlc, op.hlc);
  // The operation read from either text is the same, to the byte.
  EXPECT_EQ(OperationText(Decode(text)), OperationText(op));
  EXPECT_EQ(OperationText(Decode(text)), OperationText(Decode(plain)));
  // Text without a state (stored before, or whose state went to _ts_kv): none found.
  ASSERT_TRUE(ReadOutboxState(plain, kWriter, &read, &hlc, &found).ok());
  EXPECT_FALSE(found);
  EXPECT_TRUE(read.sums.empty());
  // Only the two scopes a device has can ride along; anything else is the caller's to store.
  OutboxState other;
  other.sums["shop-b"] = 1;
  std::string unchanged = plain;
  EXPECT_FALSE(AppendOutboxState(other, kWriter, &unchanged));
  EXPECT_EQ(unchanged, plain);
  // A damaged state is an error, not a silently wrong counter.
  for (const char* bad : {"\"x1\"", "\"s\"", "\"r-1\"", "\"rz\"", "\"r8000000000000000\"", "7", "\"s1,,r2\""}) {
    std::string damaged = plain.substr(0, plain.size() - 1) + ",\"kv\":" + bad + "}";
    Status s = ReadOutboxState(damaged, kWriter, &read, &hlc, &found);
    EXPECT_EQ(s.code(), ErrorCode::kCorrupt) << bad;
  }
}

}  // namespace
}  // namespace tillsync
