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

TEST(OutboxTextTest, ADamagedMaskIsRefusedWithAClearError) {
  const std::string stored = OutboxText(SaleLikeOperation(), kWriter);
  const size_t at = stored.find("\"restore\":");
  ASSERT_NE(at, std::string::npos);
  const size_t end = stored.find_first_of(",}", at);
  for (const char* bad : {"0", "32", "\"x\"", "1.5"}) {
    std::string damaged = stored.substr(0, at) + "\"restore\":" + bad + stored.substr(end);
    Operation op;
    Status s = OperationFromOutboxText(damaged, kWriter, "outbox", &op);
    EXPECT_EQ(s.code(), ErrorCode::kBadRequest) << bad;
    EXPECT_NE(s.message().find("outbox.changes[0].restore"), std::string::npos) << s.message();
  }
  // A mask that names a value which is present: the row was edited, not written by a device.
  Json j = Json::parse(stored);
  j["changes"][0]["values"]["shop_id"] = "shop-a";
  Operation op;
  Status s = OperationFromOutboxText(j.dump(), kWriter, "outbox", &op);
  EXPECT_EQ(s.code(), ErrorCode::kBadRequest);
}

}  // namespace
}  // namespace tillsync
