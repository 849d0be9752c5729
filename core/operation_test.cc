// Operation decoding and validation: the checks both the device (before it writes) and the hub
// (before it applies) run, so a device refuses locally exactly what the hub would refuse.
#include "core/operation.h"

#include <gtest/gtest.h>

#include <functional>

namespace tillsync {
namespace {

const Caller kShopOneTill{"s1", "d1", false};

// A valid sale as a device of shop s1 sends it: 2 x 2.50 at 20 % tax, paid 10.00 cash.
Json SaleOp() {
  Json order = {{"table", "sales_orders"}, {"id", "o1"},
                {"values", {{"shop_id", "s1"}, {"device_id", "d1"}, {"receipt_no", "D1-000001"},
                            {"status", "completed"}, {"subtotal_minor", 500}, {"tax_minor", 100},
                            {"total_minor", 600}, {"currency", "EUR"}, {"created_at", 1000}}}};
  Json line = {{"table", "order_lines"}, {"id", "l1"},
               {"values", {{"order_id", "o1"}, {"shop_id", "s1"}, {"product_id", "p1"}, {"name", "Coffee"},
                           {"qty", 2}, {"unit_price_minor", 250}, {"tax_minor", 100}, {"line_total_minor", 500}}}};
  Json payment = {{"table", "payments"}, {"id", "pay1"},
                  {"values", {{"order_id", "o1"}, {"shop_id", "s1"}, {"method", "cash"}, {"amount_minor", 600},
                              {"tendered_minor", 1000}, {"change_minor", 400}}}};
  Json movement = {{"table", "stock_movements"}, {"id", "m1"},
                   {"values", {{"shop_id", "s1"}, {"product_id", "p1"}, {"qty_delta", -2}, {"kind", "sale"},
                               {"ref_id", "o1"}, {"created_at", 1000}}}};
  return Json{{"seq", 1}, {"hlc", "0000000003e8.0000.d1"}, {"wall", 1000},
              {"changes", Json::array({order, line, payment, movement})}};
}

// Decodes then validates for the caller, as the hub does; the first refusal's code. Every case
// also goes through the decoder that moves the values out (the hub's): it must decide the same
// way, with the same message, and decode the same operation.
ErrorCode Check(const Json& op_json, const Caller& caller = kShopOneTill) {
  Operation op;
  Status s = OperationFromJson(op_json, "ops[0]", &op);
  if (s.ok()) s = ValidateOperation(op, caller);
  Json owned = op_json;
  Operation moved;
  Status m = OperationFromJson(std::move(owned), "ops[0]", &moved);
  if (m.ok()) m = ValidateOperation(moved, caller);
  EXPECT_EQ(m.ToString(), s.ToString());
  if (s.ok()) {
    EXPECT_EQ(OperationText(moved), OperationText(op));
  }
  return s.code();
}

Json& Values(Json& op, size_t change) { return op["changes"][change]["values"]; }

struct Case {
  const char* name;
  std::function<void(Json&)> mutate;
  ErrorCode expected;
};

TEST(OperationTest, ValidSaleIsAccepted) { EXPECT_EQ(Check(SaleOp()), ErrorCode::kOk); }

TEST(OperationTest, RefusesMalformedOperations) {
  const Case cases[] = {
      {"unknown table", [](Json& j) { j["changes"][0]["table"] = "sales"; }, ErrorCode::kUnknownTable},
      {"unknown column", [](Json& j) { Values(j, 1)["colour"] = "red"; }, ErrorCode::kUnknownColumn},
      {"column `id` inside values", [](Json& j) { Values(j, 1)["id"] = "l1"; }, ErrorCode::kUnknownColumn},
      {"empty row id", [](Json& j) { j["changes"][1]["id"] = ""; }, ErrorCode::kBadId},
      {"row id with a space", [](Json& j) { j["changes"][1]["id"] = "l 1"; }, ErrorCode::kBadId},
      {"row id with a slash", [](Json& j) { j["changes"][1]["id"] = "../etc"; }, ErrorCode::kBadId},
      {"row id of 65 bytes", [](Json& j) { j["changes"][1]["id"] = std::string(65, 'a'); }, ErrorCode::kBadId},
      {"row id of 64 bytes is fine", [](Json& j) { j["changes"][3]["id"] = std::string(64, 'a'); }, ErrorCode::kOk},
      {"referenced product id with quotes", [](Json& j) { Values(j, 1)["product_id"] = "p'1"; }, ErrorCode::kBadId},
      {"seq zero", [](Json& j) { j["seq"] = 0; }, ErrorCode::kBadValue},
      {"malformed clock", [](Json& j) { j["hlc"] = "yesterday"; }, ErrorCode::kBadValue},
      {"no changes", [](Json& j) { j["changes"] = Json::array(); }, ErrorCode::kBadRequest},
      {"unknown operation field", [](Json& j) { j["note"] = "x"; }, ErrorCode::kBadRequest},
      {"unknown change field", [](Json& j) { j["changes"][0]["op"] = "insert"; }, ErrorCode::kBadRequest},
      {"negative base version", [](Json& j) { j["changes"][0]["base_version"] = -1; }, ErrorCode::kBadValue},
      {"values not an object", [](Json& j) { j["changes"][0]["values"] = Json::array(); }, ErrorCode::kBadRequest},
      {"status outside its set", [](Json& j) { Values(j, 0)["status"] = "paid"; }, ErrorCode::kBadValue},
      {"payment method outside its set", [](Json& j) { Values(j, 2)["method"] = "iou"; }, ErrorCode::kBadValue},
      {"required column null", [](Json& j) { Values(j, 1)["name"] = nullptr; }, ErrorCode::kMissingField},
      {"text where an integer belongs", [](Json& j) { Values(j, 0)["created_at"] = "1000"; }, ErrorCode::kBadRequest},
      {"integer beyond int64", [](Json& j) { Values(j, 0)["created_at"] = uint64_t(1) << 63; }, ErrorCode::kBadValue},
      {"currency of 4 letters", [](Json& j) { Values(j, 0)["currency"] = "EURO"; }, ErrorCode::kBadValue},
      {"too many changes", [](Json& j) {
         Json c = j["changes"][3];
         for (int i = 0; i < 300; ++i) j["changes"].push_back(c);
       }, ErrorCode::kTooLarge},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Json op = SaleOp();
    c.mutate(op);
    EXPECT_EQ(ErrorCodeName(Check(op)), std::string(ErrorCodeName(c.expected)));
  }
}

TEST(OperationTest, RefusesMoneyThatIsNotIntegerMinorUnits) {
  const Case cases[] = {
      {"fractional unit price", [](Json& j) { Values(j, 1)["unit_price_minor"] = 2.5; }, ErrorCode::kFloatMoney},
      {"whole number written as a float", [](Json& j) { Values(j, 2)["amount_minor"] = 600.0; }, ErrorCode::kFloatMoney},
      {"float total", [](Json& j) { Values(j, 0)["total_minor"] = 6.0e2; }, ErrorCode::kFloatMoney},
      {"negative amount", [](Json& j) { Values(j, 2)["change_minor"] = -1; }, ErrorCode::kBadAmount},
      {"amount beyond the money limit", [](Json& j) { Values(j, 2)["tendered_minor"] = kMaxMoney + 1; }, ErrorCode::kBadAmount},
      {"money as a string", [](Json& j) { Values(j, 2)["amount_minor"] = "600"; }, ErrorCode::kBadRequest},
      // Quantities are not money: a fractional quantity is plainly the wrong type.
      {"fractional quantity", [](Json& j) { Values(j, 1)["qty"] = 1.5; }, ErrorCode::kBadRequest},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Json op = SaleOp();
    c.mutate(op);
    EXPECT_EQ(ErrorCodeName(Check(op)), std::string(ErrorCodeName(c.expected)));
  }
}

TEST(OperationTest, RefusesNegativeZeroAndAbsurdQuantities) {
  const Case cases[] = {
      {"negative line quantity", [](Json& j) { Values(j, 1)["qty"] = -2; }, ErrorCode::kBadQuantity},
      {"zero line quantity", [](Json& j) { Values(j, 1)["qty"] = 0; }, ErrorCode::kBadQuantity},
      {"a million and one", [](Json& j) { Values(j, 1)["qty"] = kMaxQuantity + 1; }, ErrorCode::kBadQuantity},
      {"movement beyond the limit", [](Json& j) { Values(j, 3)["qty_delta"] = -kMaxQuantity - 1; }, ErrorCode::kBadQuantity},
      {"zero movement", [](Json& j) { Values(j, 3)["qty_delta"] = 0; }, ErrorCode::kBadQuantity},
      {"sale movement adding stock", [](Json& j) { Values(j, 3)["qty_delta"] = 2; }, ErrorCode::kBadQuantity},
      {"receipt movement removing stock", [](Json& j) {
         Values(j, 3)["kind"] = "receipt";
         Values(j, 3)["qty_delta"] = -2;
       }, ErrorCode::kBadQuantity},
      {"negative adjustment is fine", [](Json& j) {
         Values(j, 3)["kind"] = "adjustment";
         Values(j, 3)["qty_delta"] = -7;
       }, ErrorCode::kOk},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Json op = SaleOp();
    c.mutate(op);
    EXPECT_EQ(ErrorCodeName(Check(op)), std::string(ErrorCodeName(c.expected)));
  }
}

TEST(OperationTest, RefusesSaleTotalsThatDoNotAddUp) {
  const Case cases[] = {
      {"line total is not qty x unit price", [](Json& j) { Values(j, 1)["line_total_minor"] = 499; }, ErrorCode::kTotalsMismatch},
      {"subtotal is not the sum of lines", [](Json& j) {
         Values(j, 0)["subtotal_minor"] = 501;
         Values(j, 0)["total_minor"] = 601;
       }, ErrorCode::kTotalsMismatch},
      {"tax is not the sum of line taxes", [](Json& j) { Values(j, 0)["tax_minor"] = 99; }, ErrorCode::kTotalsMismatch},
      {"total is not subtotal plus tax", [](Json& j) { Values(j, 0)["total_minor"] = 599; }, ErrorCode::kTotalsMismatch},
      {"payments short of the total", [](Json& j) {
         Values(j, 2)["amount_minor"] = 500;
         Values(j, 2)["change_minor"] = 500;
       }, ErrorCode::kTotalsMismatch},
      {"tendered minus change is not the amount", [](Json& j) { Values(j, 2)["change_minor"] = 300; }, ErrorCode::kTotalsMismatch},
      {"card payment giving change", [](Json& j) { Values(j, 2)["method"] = "card"; }, ErrorCode::kTotalsMismatch},
      {"sale without lines", [](Json& j) {
         j["changes"].erase(1);
       }, ErrorCode::kTotalsMismatch},
      {"two payments adding up", [](Json& j) {
         Values(j, 2)["amount_minor"] = 200;
         Values(j, 2)["tendered_minor"] = 200;
         Values(j, 2)["change_minor"] = 0;
         Json card = j["changes"][2];
         card["id"] = "pay2";
         card["values"]["method"] = "card";
         card["values"]["amount_minor"] = 400;
         card["values"]["tendered_minor"] = 400;
         j["changes"].push_back(card);
       }, ErrorCode::kOk},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Json op = SaleOp();
    c.mutate(op);
    EXPECT_EQ(ErrorCodeName(Check(op)), std::string(ErrorCodeName(c.expected)));
  }
}

TEST(OperationTest, RefusesRowsClaimingAnotherShopOrDevice) {
  const Case cases[] = {
      {"order of another shop", [](Json& j) { Values(j, 0)["shop_id"] = "s2"; }, ErrorCode::kShopMismatch},
      {"line of another shop", [](Json& j) { Values(j, 1)["shop_id"] = "s2"; }, ErrorCode::kShopMismatch},
      {"movement of another shop", [](Json& j) { Values(j, 3)["shop_id"] = "s2"; }, ErrorCode::kShopMismatch},
      {"order made by another device", [](Json& j) { Values(j, 0)["device_id"] = "d2"; }, ErrorCode::kShopMismatch},
      {"expense made by another device", [](Json& j) {
         j["changes"].push_back({{"table", "expenses"}, {"id", "e1"},
                                 {"values", {{"shop_id", "s1"}, {"device_id", "d9"}, {"description", "milk"},
                                             {"amount_minor", 199}, {"created_at", 1}}}});
       }, ErrorCode::kShopMismatch},
      {"shop row written by a till", [](Json& j) {
         j["changes"].push_back({{"table", "shops"}, {"id", "s1"},
                                 {"values", {{"shop_id", "s1"}, {"name", "Mine now"}}}});
       }, ErrorCode::kForbidden},
      {"device row written by a till", [](Json& j) {
         j["changes"].push_back({{"table", "devices"}, {"id", "d1"}, {"values", {{"receipt_prefix", "X"}}}});
       }, ErrorCode::kForbidden},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Json op = SaleOp();
    c.mutate(op);
    EXPECT_EQ(ErrorCodeName(Check(op)), std::string(ErrorCodeName(c.expected)));
  }
  // The same sale checked against a caller of another shop is refused as a whole.
  EXPECT_EQ(Check(SaleOp(), Caller{"s2", "d1", false}), ErrorCode::kShopMismatch);
  // The hub's own admin may write shop rows.
  Json admin = {{"seq", 1}, {"hlc", "0000000003e8.0000.hub"}, {"wall", 1},
                {"changes", {{{"table", "shops"}, {"id", "s1"}, {"values", {{"shop_id", "s1"}, {"name", "Renamed"}}}}}}};
  EXPECT_EQ(Check(admin, Caller{"s1", "hub", true}), ErrorCode::kOk);
}

TEST(OperationTest, LinesAndPaymentsMustTravelWithTheirOrder) {
  Json lines_only = SaleOp();
  lines_only["changes"].erase(0);  // the order row itself is missing
  EXPECT_EQ(Check(lines_only), ErrorCode::kBadRequest);

  Json payment_only = SaleOp();
  payment_only["changes"] = Json::array({SaleOp()["changes"][2]});
  EXPECT_EQ(Check(payment_only), ErrorCode::kBadRequest);

  // A status-only order change (a void) does not open a sale that lines could join.
  Json void_with_line = SaleOp();
  void_with_line["changes"][0]["values"] = {{"status", "voided"}};
  EXPECT_EQ(Check(void_with_line), ErrorCode::kBadRequest);
}

TEST(OperationTest, JsonFormRoundTrips) {
  Json original = SaleOp();
  original["changes"].push_back({{"table", "customers"}, {"id", "c1"}, {"values", {{"phone", "123"}}},
                                 {"base_version", 4}});
  Operation op;
  ASSERT_TRUE(OperationFromJson(original, "op", &op).ok());
  ASSERT_EQ(op.changes.size(), 5u);
  EXPECT_EQ(op.changes[4].base_version, 4);
  EXPECT_EQ(op.changes[0].base_version, -1);
  EXPECT_EQ(OperationToJson(op), original);
}

TEST(OperationTest, TextIsExactlyTheDumpOfItsJsonForm) {
  // Outboxes hold this text and the hub hashes it to spot a replayed id with another payload:
  // the direct encoder must give the bytes DumpJson(OperationToJson(op)) always gave.
  Json original = SaleOp();
  original["changes"].push_back({{"table", "customers"}, {"id", "c1"},
                                 {"values", {{"phone", "12\"3\\"}, {"name", "Caf\u00e9 \u2615 \x01\t"}, {"email", nullptr}}},
                                 {"base_version", 0}});
  Operation op;
  ASSERT_TRUE(OperationFromJson(original, "op", &op).ok());
  op.changes[4].values["name"] = "bad \xff utf-8";  // past validation: the encoders still agree
  EXPECT_EQ(OperationText(op), DumpJson(OperationToJson(op)));
  op.changes[4].base_version = -1;
  op.seq = 9007199254740993;
  op.wall_ms = -5;
  EXPECT_EQ(OperationText(op), DumpJson(OperationToJson(op)));
}

TEST(OperationTest, ErrorsNameTheOffendingField) {
  Json op = SaleOp();
  Values(op, 1)["unit_price_minor"] = 2.5;
  Operation decoded;
  Status s = OperationFromJson(op, "ops[3]", &decoded);
  EXPECT_NE(s.message().find("ops[3].changes[1].values.unit_price_minor"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tillsync
