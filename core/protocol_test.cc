// The wire codec: every message round-trips, every decoder refuses what the grammar does not
// allow with a stable code, and no input at all can make a decoder abort. The core is built
// without exceptions, so an unchecked nlohmann access would abort the whole process (the hub
// serving every shop); the mutation loops below would then kill this test binary.
#include "core/protocol.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "core/env.h"
#include "core/hybrid_clock.h"
#include "core/row_store.h"
#include "tests/support/wire_row_samples.h"

namespace tillsync {
namespace {

Operation SaleOperation(int64_t seq) {
  Operation op;
  op.seq = seq;
  op.hlc = HlcTimestamp{1'700'000'000'000 + seq, uint32_t(seq), "dev-1"}.ToString();
  op.wall_ms = 1'700'000'000'000 + seq;
  std::string o = "o" + std::to_string(seq);
  op.changes.push_back({"sales_orders", o,
                        Json{{"shop_id", "s1"}, {"device_id", "dev-1"}, {"receipt_no", "D1-00000" + std::to_string(seq)},
                             {"status", "completed"}, {"subtotal_minor", 500}, {"tax_minor", 100},
                             {"total_minor", 600}, {"currency", "EUR"}, {"created_at", op.wall_ms},
                             {"customer_id", nullptr}}});
  op.changes.push_back({"order_lines", o + "-l1",
                        Json{{"order_id", o}, {"shop_id", "s1"}, {"product_id", "p1"}, {"name", "Café crème"},
                             {"qty", 2}, {"unit_price_minor", 250}, {"tax_minor", 100}, {"line_total_minor", 500}}});
  op.changes.push_back({"payments", o + "-p1",
                        Json{{"order_id", o}, {"shop_id", "s1"}, {"method", "cash"}, {"amount_minor", 600},
                             {"tendered_minor", 1000}, {"change_minor", 400}}});
  op.changes.push_back({"customers", "c1", Json{{"phone", "+44 1"}}, 3});
  return op;
}

WireRow ProductRow(const std::string& id, int64_t seq) {
  WireRow w;
  w.table = "products";
  w.id = id;
  w.values = Json{{"name", "Coffee"}, {"price_minor", 250}, {"tax_rate_bp", 2000}, {"active", 1},
                  {"category_id", nullptr}, {"sku", "C-1"}, {"barcode", nullptr}, {"origin_shop_id", "s1"},
                  {"last_modified_shop_id", nullptr}, {"last_modified_at", 12}};
  w.clocks = Json{{"*", "0" + HlcTimestamp{100, 0, "hub"}.ToString()}, {"price_minor", "1" + HlcTimestamp{200, 1, "hub"}.ToString()}};
  w.version = 3;
  w.seq = seq;
  return w;
}

PushRequest SamplePushRequest() {
  PushRequest r;
  r.device_id = "dev-1";
  r.schema_version = 1;
  r.ops = {SaleOperation(7), SaleOperation(8)};
  return r;
}

PushResponse SamplePushResponse() {
  PushResponse r;
  r.hub_hlc = HlcTimestamp{1'700'000'000'500, 2, "hub"}.ToString();
  OpResult applied;
  applied.seq = 7;
  OpResult rejected;
  rejected.seq = 8;
  rejected.status = OpStatus::kRejected;
  rejected.code = "status_regression";
  rejected.message = "sale D1-000001 is already voided; it cannot become refunded";
  OpResult conflict;
  conflict.seq = 9;
  conflict.status = OpStatus::kConflict;
  const WireRow customer = test_support::SampleCustomerRow("0" + HlcTimestamp{100, 0, "dev-2"}.ToString(), 77);
  conflict.current = {customer};
  r.results = {applied, rejected, conflict};
  return r;
}

PullRequest SamplePullRequest() {
  PullRequest r;
  r.device_id = "dev-1";
  r.schema_version = 1;
  r.cursor = 1234;
  r.limit = 50;
  return r;
}

PullResponse SamplePullResponse() {
  PullResponse r;
  r.rows = {ProductRow("p1", 10), ProductRow("p2", 11)};
  r.cursor = 11;
  r.more = false;
  r.remaining = 0;
  r.checksum = ChecksumHex(0x0123456789abcdefULL);
  r.hub_hlc = HlcTimestamp{1'700'000'000'900, 0, "hub"}.ToString();
  return r;
}

// A version 2 page: three runs (products, a customer, products again), shared and own clocks,
// text that needs escaping and non-ASCII text, nulls.
PullResponse SampleColumnarPage() {
  PullResponse r = SamplePullResponse();
  r.page_version = kPullPageVersion2;
  const std::string shared = "0" + HlcTimestamp{150, 2, "hub"}.ToString();
  WireRow p3 = ProductRow("p3", 12), p4 = ProductRow("p4", 13), p5 = ProductRow("p5", 15);
  p3.clocks = Json{{"*", shared}};
  p4.clocks = Json{{"*", shared}};
  p4.values["name"] = "Th\u00e9 \"vert\"\n\\";
  p4.values["last_modified_at"] = 0;
  p5.clocks = Json{{"*", "0" + HlcTimestamp{160, 0, "dev-1"}.ToString()}};
  const WireRow customer = test_support::SampleCustomerRow(shared);
  r.rows = {ProductRow("p1", 10), ProductRow("p2", 11), p3, p4, customer, p5};
  r.cursor = 15;
  return r;
}


// The four decoders behind one signature, for the table-driven and mutation tests.
using Decoder = std::function<Status(std::string_view)>;
struct Message {
  const char* name;
  std::string valid_body;
  Decoder decode;
};

std::vector<Message> AllMessages() {
  return {
      {"push request", EncodePushRequest(SamplePushRequest()),
       [](std::string_view b) { PushRequest r; return DecodePushRequest(b, &r); }},
      {"push response", EncodePushResponse(SamplePushResponse()),
       [](std::string_view b) { PushResponse r; return DecodePushResponse(b, &r); }},
      {"pull request", EncodePullRequest(SamplePullRequest()),
       [](std::string_view b) { PullRequest r; return DecodePullRequest(b, &r); }},
      {"pull response", EncodePullResponse(SamplePullResponse()),
       [](std::string_view b) { PullResponse r; return DecodePullResponse(b, &r); }},
      {"columnar pull response", EncodePullResponse(SampleColumnarPage()),
       [](std::string_view b) { PullResponse r; return DecodePullResponse(b, &r); }},
  };
}

// --- Round trips --------------------------------------------------------------------------------

TEST(ProtocolTest, PushRequestRoundTrips) {
  PushRequest in = SamplePushRequest(), out;
  std::string body = EncodePushRequest(in);
  ASSERT_TRUE(DecodePushRequest(body, &out).ok());
  EXPECT_EQ(out.device_id, in.device_id);
  EXPECT_EQ(out.schema_version, in.schema_version);
  ASSERT_EQ(out.ops.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(OperationToJson(out.ops[i]), OperationToJson(in.ops[i]));
  EXPECT_EQ(out.ops[0].changes[3].base_version, 3);
  EXPECT_EQ(EncodePushRequest(out), body);  // canonical: decoding then encoding gives the same bytes
}

TEST(ProtocolTest, PushResponseRoundTripsEveryResultKind) {
  PushResponse in = SamplePushResponse(), out;
  std::string body = EncodePushResponse(in);
  ASSERT_TRUE(DecodePushResponse(body, &out).ok());
  EXPECT_EQ(out.hub_hlc, in.hub_hlc);
  ASSERT_EQ(out.results.size(), 3u);
  EXPECT_EQ(out.results[0].status, OpStatus::kApplied);
  EXPECT_EQ(out.results[1].status, OpStatus::kRejected);
  EXPECT_EQ(out.results[1].code, "status_regression");
  EXPECT_EQ(out.results[1].message, in.results[1].message);
  ASSERT_EQ(out.results[2].status, OpStatus::kConflict);
  ASSERT_EQ(out.results[2].current.size(), 1u);
  EXPECT_EQ(out.results[2].current[0].values, in.results[2].current[0].values);
  EXPECT_EQ(out.results[2].current[0].version, 4);
  EXPECT_EQ(EncodePushResponse(out), body);
}

TEST(ProtocolTest, PullRequestRoundTripsAndDefaultsItsLimit) {
  PullRequest in = SamplePullRequest(), out;
  ASSERT_TRUE(DecodePullRequest(EncodePullRequest(in), &out).ok());
  EXPECT_EQ(out.device_id, "dev-1");
  EXPECT_EQ(out.cursor, 1234);
  EXPECT_EQ(out.limit, 50);
  ASSERT_TRUE(DecodePullRequest(R"({"v":1,"device_id":"d","schema_version":1,"cursor":0})", &out).ok());
  EXPECT_EQ(out.limit, kDefaultPullLimit);
}

TEST(ProtocolTest, PullResponseRoundTripsWithAndWithoutChecksum) {
  PullResponse in = SamplePullResponse(), out;
  std::string body = EncodePullResponse(in);
  ASSERT_TRUE(DecodePullResponse(body, &out).ok());
  ASSERT_EQ(out.rows.size(), 2u);
  EXPECT_EQ(out.rows[1].id, "p2");
  EXPECT_EQ(out.rows[0].values, in.rows[0].values);
  EXPECT_EQ(out.rows[0].clocks, in.rows[0].clocks);
  EXPECT_EQ(out.checksum, "0123456789abcdef");
  EXPECT_FALSE(out.more);
  EXPECT_EQ(EncodePullResponse(out), body);

  in.more = true;
  in.remaining = 99;
  in.checksum.clear();  // only the last page carries one
  body = EncodePullResponse(in);
  EXPECT_EQ(body.find("checksum"), std::string::npos);
  ASSERT_TRUE(DecodePullResponse(body, &out).ok());
  EXPECT_TRUE(out.more);
  EXPECT_EQ(out.remaining, 99);
  EXPECT_TRUE(out.checksum.empty());
}

// The pull answer is written out directly, not through a DOM: it must still be exactly the
// canonical text (keys sorted, compact), as every other message is.
TEST(ProtocolTest, PullResponseIsCanonicalJson) {
  PullResponse in = SamplePullResponse();
  in.rows[1].id = "p\"2";  // a string that needs escaping (the decoder would refuse the id, not the encoder)
  for (bool with_checksum : {true, false}) {
    if (!with_checksum) in.checksum.clear();
    std::string body = EncodePullResponse(in);
    Json parsed;
    ASSERT_TRUE(ParseJson(body, &parsed).ok()) << body;
    EXPECT_EQ(DumpJson(parsed), body);
    ASSERT_EQ(parsed["rows"].size(), 2u);
    EXPECT_EQ(parsed["rows"][1]["id"], "p\"2");
    EXPECT_EQ(parsed["rows"][0]["values"], in.rows[0].values);
    EXPECT_EQ(parsed.contains("checksum"), with_checksum);
  }
  in.rows.clear();
  std::string empty = EncodePullResponse(in);
  Json parsed;
  ASSERT_TRUE(ParseJson(empty, &parsed).ok()) << empty;
  EXPECT_EQ(DumpJson(parsed), empty);
  EXPECT_TRUE(parsed["rows"].is_array());
}

// --- Refusals -----------------------------------------------------------------------------------

struct Refusal {
  const char* name;
  size_t message;                     // index into AllMessages()
  std::function<void(Json&)> mutate;  // applied to the parsed valid body
  ErrorCode expected;
};

Json Big(size_t n, const Json& item) {
  Json a = Json::array();
  for (size_t i = 0; i < n; ++i) a.push_back(item);
  return a;
}

TEST(ProtocolTest, DecodersRefuseWhatTheGrammarDoesNotAllow) {
  enum { kPushReq, kPushResp, kPullReq, kPullResp };
  const Refusal cases[] = {
      // Unknown fields, at every level.
      {"push: unknown top-level field", kPushReq, [](Json& j) { j["token"] = "x"; }, ErrorCode::kBadRequest},
      {"push: unknown op field", kPushReq, [](Json& j) { j["ops"][0]["user"] = 1; }, ErrorCode::kBadRequest},
      {"push answer: unknown result field", kPushResp, [](Json& j) { j["results"][0]["why"] = "x"; }, ErrorCode::kBadRequest},
      {"pull: unknown field", kPullReq, [](Json& j) { j["since"] = 0; }, ErrorCode::kBadRequest},
      {"pull answer: unknown row field", kPullResp, [](Json& j) { j["rows"][0]["deleted"] = false; }, ErrorCode::kBadRequest},
      // Wrong types.
      {"push: version as text", kPushReq, [](Json& j) { j["v"] = "1"; }, ErrorCode::kBadRequest},
      {"push: device id as number", kPushReq, [](Json& j) { j["device_id"] = 5; }, ErrorCode::kBadRequest},
      {"push: ops as object", kPushReq, [](Json& j) { j["ops"] = Json::object(); }, ErrorCode::kBadRequest},
      {"push: seq as float", kPushReq, [](Json& j) { j["ops"][0]["seq"] = 7.0; }, ErrorCode::kBadRequest},
      {"push answer: results as text", kPushResp, [](Json& j) { j["results"] = "[]"; }, ErrorCode::kBadRequest},
      {"pull: cursor as text", kPullReq, [](Json& j) { j["cursor"] = "12"; }, ErrorCode::kBadRequest},
      {"pull answer: more as 1", kPullResp, [](Json& j) { j["more"] = 1; }, ErrorCode::kBadRequest},
      {"pull answer: checksum as number", kPullResp, [](Json& j) { j["checksum"] = 12; }, ErrorCode::kBadRequest},
      {"pull answer: clock as number", kPullResp, [](Json& j) { j["rows"][0]["clocks"]["*"] = 1; }, ErrorCode::kBadRequest},
      {"body is an array", kPushReq, [](Json& j) { j = Json::array(); }, ErrorCode::kBadRequest},
      // Missing fields.
      {"push: no device id", kPushReq, [](Json& j) { j.erase("device_id"); }, ErrorCode::kBadRequest},
      {"push answer: no hub clock", kPushResp, [](Json& j) { j.erase("hub_hlc"); }, ErrorCode::kBadRequest},
      {"push answer: rejected without code", kPushResp, [](Json& j) { j["results"][1].erase("code"); }, ErrorCode::kBadRequest},
      {"pull: no cursor", kPullReq, [](Json& j) { j.erase("cursor"); }, ErrorCode::kBadRequest},
      {"pull answer: no more flag", kPullResp, [](Json& j) { j.erase("more"); }, ErrorCode::kBadRequest},
      // Versions.
      {"push: version 2", kPushReq, [](Json& j) { j["v"] = 2; }, ErrorCode::kBadVersion},
      {"push answer: version 0", kPushResp, [](Json& j) { j["v"] = 0; }, ErrorCode::kBadVersion},
      {"pull: version 99", kPullReq, [](Json& j) { j["v"] = 99; }, ErrorCode::kBadVersion},
      {"pull answer: no version", kPullResp, [](Json& j) { j.erase("v"); }, ErrorCode::kBadRequest},
      // Sizes and ranges.
      {"push: 501 ops", kPushReq, [](Json& j) { j["ops"] = Big(kMaxOpsPerPush + 1, j["ops"][0]); }, ErrorCode::kTooLarge},
      {"push answer: 501 results", kPushResp, [](Json& j) { j["results"] = Big(kMaxOpsPerPush + 1, j["results"][0]); }, ErrorCode::kTooLarge},
      {"pull: limit above the maximum", kPullReq, [](Json& j) { j["limit"] = kMaxPullLimit + 1; }, ErrorCode::kTooLarge},
      {"pull: limit zero", kPullReq, [](Json& j) { j["limit"] = 0; }, ErrorCode::kTooLarge},
      {"pull answer: 5001 rows", kPullResp, [](Json& j) { j["rows"] = Big(size_t(kMaxPullLimit) + 1, j["rows"][0]); }, ErrorCode::kTooLarge},
      {"push: device id of 300 bytes", kPushReq, [](Json& j) { j["device_id"] = std::string(300, 'd'); }, ErrorCode::kBadValue},
      {"push answer: message of 5000 bytes", kPushResp, [](Json& j) { j["results"][1]["message"] = std::string(5000, 'm'); }, ErrorCode::kBadValue},
      {"pull answer: checksum of 17 digits", kPullResp, [](Json& j) { j["checksum"] = "0123456789abcdef0"; }, ErrorCode::kBadValue},
      {"pull answer: checksum of 15 digits", kPullResp, [](Json& j) { j["checksum"] = "0123456789abcde"; }, ErrorCode::kBadValue},
      {"pull: negative cursor", kPullReq, [](Json& j) { j["cursor"] = -1; }, ErrorCode::kBadValue},
      {"pull: cursor beyond int64", kPullReq, [](Json& j) { j["cursor"] = uint64_t(1) << 63; }, ErrorCode::kBadRequest},
      // Values.
      {"push: device id with a slash", kPushReq, [](Json& j) { j["device_id"] = "a/b"; }, ErrorCode::kBadId},
      {"push: ops not consecutive", kPushReq, [](Json& j) { j["ops"][1]["seq"] = 9; }, ErrorCode::kSequenceGap},
      {"push: float money in an op", kPushReq, [](Json& j) { j["ops"][0]["changes"][2]["values"]["amount_minor"] = 6.5; }, ErrorCode::kFloatMoney},
      {"push answer: unknown status", kPushResp, [](Json& j) { j["results"][0]["status"] = "maybe"; }, ErrorCode::kBadValue},
      {"push answer: malformed hub clock", kPushResp, [](Json& j) { j["hub_hlc"] = "now"; }, ErrorCode::kBadValue},
      {"pull answer: row of an unknown table", kPullResp, [](Json& j) { j["rows"][0]["table"] = "users"; }, ErrorCode::kUnknownTable},
      {"pull answer: row with a bad id", kPullResp, [](Json& j) { j["rows"][0]["id"] = "p 1"; }, ErrorCode::kBadId},
      {"pull answer: clock of an unknown column", kPullResp, [](Json& j) { j["rows"][0]["clocks"]["colour"] = "x"; }, ErrorCode::kBadRequest},
      {"pull answer: float money in a row", kPullResp, [](Json& j) { j["rows"][0]["values"]["price_minor"] = 2.5; }, ErrorCode::kFloatMoney},
      {"conflict row with an unknown column", kPushResp, [](Json& j) { j["results"][2]["current"][0]["values"]["age"] = 3; }, ErrorCode::kUnknownColumn},
  };
  std::vector<Message> messages = AllMessages();
  for (const Refusal& c : cases) {
    SCOPED_TRACE(c.name);
    Json j = Json::parse(messages[c.message].valid_body);
    c.mutate(j);
    Status s = messages[c.message].decode(j.dump());
    EXPECT_EQ(std::string(s.code_name()), ErrorCodeName(c.expected)) << s.ToString();
  }
}

TEST(ProtocolTest, DecodersRefuseTextThatIsNotJson) {
  for (const Message& m : AllMessages()) {
    SCOPED_TRACE(m.name);
    for (const char* body : {"", "{", "nul", "{\"v\":1,}", "\xff\xfe", "{\"v\":1} trailing"})
      EXPECT_EQ(m.decode(body).code(), ErrorCode::kBadJson) << body;
  }
}

// --- Never abort --------------------------------------------------------------------------------

// Codes a decoder may give for bad input. kInternal (or a crash) would mean a decoder bug.
const std::set<ErrorCode> kInputErrors = {
    ErrorCode::kBadJson,     ErrorCode::kBadRequest,  ErrorCode::kBadVersion,  ErrorCode::kUnknownTable,
    ErrorCode::kUnknownColumn, ErrorCode::kBadId,     ErrorCode::kBadValue,    ErrorCode::kFloatMoney,
    ErrorCode::kBadQuantity, ErrorCode::kBadAmount,   ErrorCode::kMissingField, ErrorCode::kSequenceGap,
    ErrorCode::kTooLarge};

TEST(ProtocolTest, TruncatedBodiesAreRefusedNeverAborted) {
  for (const Message& m : AllMessages()) {
    SCOPED_TRACE(m.name);
    ASSERT_TRUE(m.decode(m.valid_body).ok());
    for (size_t len = 0; len < m.valid_body.size(); ++len) {
      Status s = m.decode(std::string_view(m.valid_body).substr(0, len));
      ASSERT_FALSE(s.ok()) << "prefix of " << len << " bytes decoded";
      ASSERT_EQ(s.code(), ErrorCode::kBadJson) << len;
    }
  }
}

TEST(ProtocolTest, ByteMutatedBodiesNeverAbort) {
  ManualEnv rng(0, 20240611);
  int refused = 0, accepted = 0;
  const char kInteresting[] = "{}[]\",:0123456789-.eE+tfn\\u \x7f\x80\xff";
  for (const Message& m : AllMessages()) {
    SCOPED_TRACE(m.name);
    for (int i = 0; i < 3000; ++i) {
      std::string body = m.valid_body;
      int edits = 1 + int(rng.Random64() % 4);
      for (int e = 0; e < edits && !body.empty(); ++e) {
        size_t at = size_t(rng.Random64() % body.size());
        char c = (rng.Random64() % 2) ? char(rng.Random64()) : kInteresting[rng.Random64() % (sizeof kInteresting - 1)];
        switch (rng.Random64() % 3) {
          case 0: body[at] = c; break;
          case 1: body.insert(body.begin() + long(at), c); break;
          default: body.erase(at, 1 + size_t(rng.Random64() % 8)); break;
        }
      }
      Status s = m.decode(body);
      if (s.ok()) {
        ++accepted;  // e.g. a digit changed inside a string
      } else {
        ++refused;
        ASSERT_EQ(kInputErrors.count(s.code()), 1u) << s.ToString() << "\nbody: " << body;
      }
    }
  }
  EXPECT_GT(refused, 1000);  // the loop really exercised the refusal paths
  EXPECT_GT(accepted, 0);
}

void CollectPointers(const Json& j, const Json::json_pointer& at, std::vector<Json::json_pointer>* out) {
  out->push_back(at);
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) CollectPointers(*it, at / it.key(), out);
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) CollectPointers(j[i], at / i, out);
  }
}

TEST(ProtocolTest, EveryNodeReplacedByEveryKindOfValueNeverAborts) {
  // Structure-aware mutation: each node of each valid message in turn becomes a value of each
  // JSON kind (the type confusions that abort an unchecked nlohmann get<>), each object also
  // loses each key in turn and gains an unknown one.
  const std::vector<Json> replacements = {
      Json(nullptr), Json(true), Json(0), Json(-1), Json(uint64_t(1) << 63), Json(INT64_MIN), Json(1.5),
      Json(1e300), Json(""), Json("x"), Json(std::string(5000, 'z')), Json::array(), Json::array({1, "a"}),
      Json::object(), Json{{"k", 1}}};
  int decoded = 0, refused = 0;
  for (const Message& m : AllMessages()) {
    SCOPED_TRACE(m.name);
    Json valid = Json::parse(m.valid_body);
    std::vector<Json::json_pointer> pointers;
    CollectPointers(valid, Json::json_pointer(), &pointers);
    for (const Json::json_pointer& p : pointers) {
      std::vector<Json> variants;
      for (const Json& r : replacements) {
        Json copy = valid;
        copy[p] = r;
        variants.push_back(std::move(copy));
      }
      const Json& node = valid[p];
      if (node.is_object()) {
        for (auto it = node.begin(); it != node.end(); ++it) {
          Json copy = valid;
          copy[p].erase(it.key());
          variants.push_back(std::move(copy));
        }
        Json copy = valid;
        copy[p]["zz_unknown"] = 1;
        variants.push_back(std::move(copy));
      }
      for (const Json& v : variants) {
        Status s = m.decode(v.dump());
        if (s.ok()) {
          ++decoded;
        } else {
          ++refused;
          ASSERT_EQ(kInputErrors.count(s.code()), 1u) << s.ToString() << " at " << p.to_string();
        }
      }
    }
  }
  EXPECT_GT(refused, 1000);
  EXPECT_GT(decoded, 0);  // e.g. a nullable column set to null
}

TEST(ProtocolTest, DeeplyNestedInputIsRefusedNotACrash) {
  std::string deep = "{\"v\":1,\"ops\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  PushRequest r;
  EXPECT_FALSE(DecodePushRequest(deep, &r).ok());
}

// --- The pull answer's streaming decoder ------------------------------------------------------
// DecodePullResponse builds one row at a time instead of a DOM of the whole page. These cases
// are what such a decoder can get wrong that a DOM decoder gets right for free.

Status DecodePull(const std::string& body, PullResponse* out) { return DecodePullResponse(body, out); }

// The valid sample answer's text with its "rows" value replaced by `rows_text` (raw JSON).
std::string PullBodyWithRows(const std::string& rows_text) {
  Json j = Json::parse(EncodePullResponse(SamplePullResponse()));
  j["rows"] = Json::array();
  std::string body = j.dump();
  const std::string empty = "\"rows\":[]";
  return body.replace(body.find(empty), empty.size(), "\"rows\":" + rows_text);
}

TEST(ProtocolTest, PullDecoderKeepsTheLastOfRepeatedKeysAsTheDomDid) {
  Json sample = Json::parse(EncodePullResponse(SamplePullResponse()));
  const std::string good_rows = sample["rows"].dump();
  const std::string bad_rows = R"([{"table":"users"}])";
  PullResponse out;
  // "rows" twice: the second array is the page, whatever the first held.
  std::string body = PullBodyWithRows(bad_rows);
  body.insert(body.size() - 1, ",\"rows\":" + good_rows);
  ASSERT_TRUE(DecodePull(body, &out).ok()) << DecodePull(body, &out).ToString();
  EXPECT_EQ(out.rows.size(), 2u);
  body = PullBodyWithRows(good_rows);
  body.insert(body.size() - 1, ",\"rows\":" + bad_rows);
  EXPECT_EQ(DecodePull(body, &out).code(), ErrorCode::kUnknownTable);
  body = PullBodyWithRows(good_rows);
  body.insert(body.size() - 1, ",\"rows\":7");
  EXPECT_EQ(DecodePull(body, &out).code(), ErrorCode::kBadRequest);
  // A key repeated inside a row, and inside its values: the last one counts.
  std::string row = sample["rows"][0].dump();
  row.insert(1, "\"id\":\"first\",\"seq\":\"not a number\",");
  std::string values_key = "\"values\":{";
  row.insert(row.find(values_key) + values_key.size(), "\"price_minor\":\"text\",");
  ASSERT_TRUE(DecodePull(PullBodyWithRows("[" + row + "]"), &out).ok());
  ASSERT_EQ(out.rows.size(), 1u);
  EXPECT_EQ(out.rows[0].id, "p1");
  EXPECT_EQ(out.rows[0].seq, 10);
  EXPECT_EQ(out.rows[0].values["price_minor"], 250);
}

TEST(ProtocolTest, PullDecoderRefusesEveryTruncationAsNotJson) {
  const std::string body = EncodePullResponse(SamplePullResponse());
  PullResponse out;
  for (size_t n = 0; n < body.size(); ++n)
    EXPECT_EQ(DecodePull(body.substr(0, n), &out).code(), ErrorCode::kBadJson) << n;
  // Well-formedness is checked past a bad row and past the row limit too.
  std::string bad_first = PullBodyWithRows(R"([{"table":"users"},{"table":"products"}])");
  EXPECT_EQ(DecodePull(bad_first.substr(0, bad_first.find("\"products\"") + 4), &out).code(), ErrorCode::kBadJson);
  Json j = Json::parse(body);
  j["rows"] = Big(size_t(kMaxPullLimit) + 3, j["rows"][0]);
  std::string big = j.dump();
  EXPECT_EQ(DecodePull(big.substr(0, big.size() - 40), &out).code(), ErrorCode::kBadJson);
}

TEST(ProtocolTest, PullDecoderGivesTheSameCodeAsTheDomDecoderForABadRow) {
  // The push answer's conflict rows still go through a DOM: the same row there and in a pull
  // page must be refused with the same code.
  const std::vector<std::function<void(Json&)>> mutations = {
      [](Json& r) { r["values"]["name"] = Json::array({1, 2}); },
      [](Json& r) { r["values"]["name"] = Json{{"deep", {{"deeper", 1}}}}; },
      [](Json& r) { r["values"]["price_minor"] = "250"; },
      [](Json& r) { r["values"]["price_minor"] = -1.5; },
      [](Json& r) { r["values"]["active"] = true; },
      [](Json& r) { r["values"]["colour"] = "red"; },
      [](Json& r) { r["values"] = Json::array(); },
      [](Json& r) { r["clocks"]["*"] = Json::object(); },
      [](Json& r) { r["clocks"] = "x"; },
      [](Json& r) { r["version"] = "3"; },
      [](Json& r) { r["seq"] = 1e30; },
      [](Json& r) { r["seq"] = uint64_t(1) << 63; },
      [](Json& r) { r["table"] = 5; },
      [](Json& r) { r.erase("id"); },
      [](Json& r) { r = Json::array({r}); },
      [](Json& r) { r = nullptr; },
      [](Json& r) { r = "row"; },
  };
  const Json sample_pull = Json::parse(EncodePullResponse(SamplePullResponse()));
  const Json sample_push = Json::parse(EncodePushResponse(SamplePushResponse()));
  for (size_t i = 0; i < mutations.size(); ++i) {
    SCOPED_TRACE(i);
    Json pull = sample_pull, push = sample_push;
    push["results"][2]["current"][0] = pull["rows"][1];
    mutations[i](pull["rows"][1]);
    mutations[i](push["results"][2]["current"][0]);
    PullResponse pulled;
    PushResponse pushed;
    Status via_stream = DecodePull(pull.dump(), &pulled);
    Status via_dom = DecodePushResponse(push.dump(), &pushed);
    EXPECT_FALSE(via_stream.ok());
    EXPECT_EQ(via_stream.code(), via_dom.code()) << via_stream.ToString() << " / " << via_dom.ToString();
    std::string dom_message = via_dom.message();
    const std::string dom_path = "results[2].current[0]";
    for (size_t at = dom_message.find(dom_path); at != std::string::npos; at = dom_message.find(dom_path))
      dom_message.replace(at, dom_path.size(), "rows[1]");
    EXPECT_EQ(via_stream.message(), dom_message);
  }
}

TEST(ProtocolTest, PullDecoderChecksTheAnswerBeforeItsRows) {
  // A bad row is reported only if the answer itself is sound, as when the whole DOM came first.
  PullResponse out;
  Json j = Json::parse(EncodePullResponse(SamplePullResponse()));
  j["rows"][0]["table"] = "users";
  Json v = j;
  v["v"] = 4;  // 2 and 3 are the columnar forms, whose checks refuse "rows" before they reach a row
  EXPECT_EQ(DecodePull(v.dump(), &out).code(), ErrorCode::kBadVersion);
  Json unknown = j;
  unknown["zzz"] = 1;  // after "rows" in the text
  Status s = DecodePull(unknown.dump(), &out);
  EXPECT_EQ(s.code(), ErrorCode::kBadRequest);
  EXPECT_NE(s.message().find("zzz"), std::string::npos) << s.ToString();
  Json many = j;
  many["rows"] = Big(size_t(kMaxPullLimit) + 1, j["rows"][1]);
  many["rows"][0]["table"] = "users";
  EXPECT_EQ(DecodePull(many.dump(), &out).code(), ErrorCode::kTooLarge);
  EXPECT_EQ(DecodePull(j.dump(), &out).code(), ErrorCode::kUnknownTable);
}

TEST(ProtocolTest, PullDecoderTakesAFullPageAndRefusesAHugeOne) {
  PullResponse in = SamplePullResponse(), out;
  in.rows.clear();
  for (int64_t i = 0; i < kMaxPullLimit; ++i) in.rows.push_back(ProductRow("p" + std::to_string(i), i + 1));
  std::string body = EncodePullResponse(in);
  ASSERT_TRUE(DecodePull(body, &out).ok());
  ASSERT_EQ(out.rows.size(), size_t(kMaxPullLimit));
  EXPECT_EQ(out.rows.back().id, "p" + std::to_string(kMaxPullLimit - 1));
  EXPECT_EQ(EncodePullResponse(out), body);
  // Twenty times the limit: refused as too large, not decoded.
  Json j = Json::parse(body);
  j["rows"] = Big(size_t(kMaxPullLimit) * 20, j["rows"][0]);
  Status s = DecodePull(j.dump(), &out);
  EXPECT_EQ(s.code(), ErrorCode::kTooLarge) << s.ToString();
}

// --- Version 2: the columnar pull page ------------------------------------------------------

TEST(ProtocolTest, PullRequestSaysWhichPageFormItReads) {
  PullRequest in = SamplePullRequest(), out;
  EXPECT_EQ(in.page_version, kPullPageVersion3);  // what this build's devices ask for
  ASSERT_TRUE(DecodePullRequest(EncodePullRequest(in), &out).ok());
  EXPECT_EQ(out.page_version, kPullPageVersion3);
  EXPECT_TRUE(out.snapshot.empty());
  EXPECT_EQ(EncodePullRequest(in).find("snapshot"), std::string::npos);  // sent only when there is one
  in.snapshot = "812 5 products p-1";  // a snapshot position goes back as it came
  ASSERT_TRUE(DecodePullRequest(EncodePullRequest(in), &out).ok());
  EXPECT_EQ(out.snapshot, "812 5 products p-1");
  in.page_version = kPullPageVersion2;  // a device built before version 3: no snapshot
  EXPECT_EQ(DecodePullRequest(EncodePullRequest(in), &out).code(), ErrorCode::kBadRequest);
  in.snapshot.clear();
  ASSERT_TRUE(DecodePullRequest(EncodePullRequest(in), &out).ok());
  EXPECT_EQ(out.page_version, kPullPageVersion2);
  in.page_version = kPullPageVersion3;
  in.snapshot = std::string(kMaxSnapshotLength + 1, '1');
  EXPECT_NE(DecodePullRequest(EncodePullRequest(in), &out).code(), ErrorCode::kOk);
  in.snapshot.clear();
  in.page_version = kPullPageVersion1;  // a device built before version 2
  std::string old_body = EncodePullRequest(in);
  EXPECT_NE(old_body.find("\"v\":1"), std::string::npos) << old_body;
  ASSERT_TRUE(DecodePullRequest(old_body, &out).ok());
  EXPECT_EQ(out.page_version, kPullPageVersion1);
  for (int v : {0, 4, -1})
    EXPECT_EQ(DecodePullRequest("{\"v\":" + std::to_string(v) + R"(,"device_id":"d","schema_version":1,"cursor":0})", &out)
                  .code(),
              ErrorCode::kBadVersion);
}

TEST(ProtocolTest, ColumnarPageCarriesTheSameRowsAsVersion1) {
  PullResponse in = SampleColumnarPage(), v2, v1;
  const std::string body = EncodePullResponse(in);
  Json parsed;
  ASSERT_TRUE(ParseJson(body, &parsed).ok()) << body;
  EXPECT_EQ(DumpJson(parsed), body);  // canonical, like every other message
  EXPECT_LT(body.find("\"more\""), body.find("\"tables\""));  // the worker's prefetch reads these first
  ASSERT_TRUE(DecodePullResponse(body, &v2).ok()) << DecodePullResponse(body, &v2).ToString();
  EXPECT_EQ(v2.page_version, kPullPageVersion2);
  EXPECT_TRUE(v2.rows.empty());
  ASSERT_EQ(v2.tables.size(), 3u);  // products, customers, products: consecutive runs keep the hub's order
  EXPECT_EQ(v2.tables[0].spec->name, std::string("products"));
  EXPECT_EQ(v2.tables[1].spec->name, std::string("customers"));
  ASSERT_EQ(v2.tables[0].rows.size(), 4u);
  ASSERT_EQ(v2.tables[0].clocks.size(), 2u);  // p1 and p2 share theirs, p3 and p4 theirs
  EXPECT_EQ(v2.tables[0].rows[0].clock, 0u);
  EXPECT_EQ(v2.tables[0].rows[1].clock, 0u);
  EXPECT_EQ(v2.tables[0].rows[2].clock, 1u);
  EXPECT_EQ(v2.tables[0].rows[3].clock, 1u);
  EXPECT_EQ(v2.tables[2].clocks.size(), 1u);
  EXPECT_EQ(v2.cursor, 15);
  EXPECT_EQ(v2.checksum, in.checksum);
  EXPECT_EQ(v2.hub_hlc, in.hub_hlc);

  PullResponse old_form = in;
  old_form.page_version = kPullPageVersion1;
  const std::string old_body = EncodePullResponse(old_form);
  ASSERT_TRUE(DecodePullResponse(old_body, &v1).ok());
  EXPECT_TRUE(v1.tables.empty());
  std::vector<WireRow> rows = PageRowsOf(std::move(v2));
  ASSERT_EQ(rows.size(), v1.rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(i);
    const TableSpec& spec = *FindTable(v1.rows[i].table);
    EXPECT_EQ(rows[i].table, v1.rows[i].table);
    EXPECT_EQ(rows[i].id, v1.rows[i].id);
    EXPECT_EQ(rows[i].values, RowStore::Normalize(spec, v1.rows[i].values));
    EXPECT_EQ(DumpJson(rows[i].values), DumpJson(RowStore::Normalize(spec, v1.rows[i].values)));
    EXPECT_EQ(rows[i].clocks, v1.rows[i].clocks);
    EXPECT_EQ(rows[i].version, v1.rows[i].version);
    EXPECT_EQ(rows[i].seq, v1.rows[i].seq);
  }
  EXPECT_LT(body.size(), old_body.size());

  // A page of one table written together: every row shares one clock, fewer than half the bytes.
  PullResponse big = SamplePullResponse();
  big.rows.clear();
  for (int64_t i = 0; i < 1000; ++i) {
    WireRow r = ProductRow("p-" + std::to_string(i), i + 1);
    r.clocks = Json{{"*", "0" + HlcTimestamp{100, 0, "hub"}.ToString()}};
    big.rows.push_back(std::move(r));
  }
  std::string big_v1 = EncodePullResponse(big);
  big.page_version = kPullPageVersion2;
  std::string big_v2 = EncodePullResponse(big);
  EXPECT_LT(big_v2.size() * 2, big_v1.size()) << big_v2.size() << " vs " << big_v1.size();
  ASSERT_TRUE(DecodePullResponse(big_v2, &v2).ok());
  ASSERT_EQ(v2.tables.size(), 1u);
  EXPECT_EQ(v2.tables[0].rows.size(), 1000u);
}

TEST(ProtocolTest, ClocksTextIsWrittenAsTheClocksObjectWouldBe) {
  // The hub hands its stored clocks text to the encoder instead of a parsed object: both page
  // forms must come out byte for byte as they do from the object.
  for (int version : {kPullPageVersion1, kPullPageVersion2}) {
    SCOPED_TRACE(version);
    PullResponse objects = SampleColumnarPage();
    objects.page_version = version;
    PullResponse texts = objects;
    for (WireRow& r : texts.rows) {
      r.clocks_text = DumpJson(r.clocks);
      r.clocks = Json();
    }
    EXPECT_EQ(EncodePullResponse(texts), EncodePullResponse(objects));
  }
}

TEST(ProtocolTest, TypedCellsAreWrittenAsTheirJsonValuesWouldBe) {
  // The hub writes a version 2 page from typed cells (WireRow::cells), not from Json values: the
  // page must come out byte for byte as it does from the values (every column present, as the
  // hub's rows hold them), escapes, zero, negative numbers and nulls included.
  PullResponse objects = SampleColumnarPage();
  objects.rows[0].values["price_minor"] = -42;  // not a valid price: checked for its text only
  for (WireRow& r : objects.rows) r.values = RowStore::Normalize(*FindTable(r.table), r.values);
  PullResponse typed = objects;
  for (WireRow& r : typed.rows) {
    const TableSpec* spec = FindTable(r.table);
    r.cells_spec = spec;
    r.cells.assign(spec->columns.size(), ColumnValue());
    for (size_t c = 0; c < spec->columns.size(); ++c) {
      const Json& v = r.values[spec->columns[c].name];
      if (v.is_number_integer()) r.cells[c] = ColumnValue{ColumnValue::Kind::kInt, v.get<int64_t>(), ""};
      else if (v.is_string()) r.cells[c] = ColumnValue{ColumnValue::Kind::kText, 0, v.get<std::string>()};
    }
    r.values = Json();
  }
  const std::string body = EncodePullResponse(typed);
  EXPECT_EQ(body, EncodePullResponse(objects));
  EXPECT_NE(body.find(",-42,"), std::string::npos);
  Json parsed;
  ASSERT_TRUE(ParseJson(body, &parsed).ok());
  EXPECT_EQ(parsed["tables"].size(), 3u);  // products, customers, products
}

TEST(ProtocolTest, ColumnarPageRefusesABadRowWithTheCodeVersion1Gives) {
  // The encoder writes whatever it is given; both decoders must refuse the same rows the same way.
  const std::vector<std::function<void(WireRow&)>> mutations = {
      [](WireRow& r) { r.values["name"] = Json::array({1, 2}); },
      [](WireRow& r) { r.values["name"] = Json{{"deep", {{"deeper", 1}}}}; },
      [](WireRow& r) { r.values["name"] = 5; },
      [](WireRow& r) { r.values["name"] = true; },
      [](WireRow& r) { r.values["name"] = nullptr; },
      [](WireRow& r) { r.values["name"] = ""; },
      [](WireRow& r) { r.values["name"] = std::string(5000, 'x'); },
      [](WireRow& r) { r.values["price_minor"] = "250"; },
      [](WireRow& r) { r.values["price_minor"] = 2.5; },
      [](WireRow& r) { r.values["price_minor"] = -1; },
      [](WireRow& r) { r.values["price_minor"] = kMaxMoney + 1; },
      [](WireRow& r) { r.values["price_minor"] = uint64_t(1) << 63; },
      [](WireRow& r) { r.values["price_minor"] = nullptr; },
      [](WireRow& r) { r.values["tax_rate_bp"] = -5; },
      [](WireRow& r) { r.values["tax_rate_bp"] = 1.0; },
      [](WireRow& r) { r.values["active"] = 2; },
      [](WireRow& r) { r.values["active"] = false; },
      [](WireRow& r) { r.values["category_id"] = "not an id"; },
      [](WireRow& r) { r.values["origin_shop_id"] = 7; },
      [](WireRow& r) { r.values["colour"] = "red"; },
      [](WireRow& r) { r.clocks["colour"] = "x"; },
      [](WireRow& r) { r.clocks["*"] = 1; },
      [](WireRow& r) { r.clocks = Json{{"*", Json::object()}}; },
      [](WireRow& r) { r.id = "p 1"; },
      [](WireRow& r) { r.id = std::string(65, 'p'); },
      [](WireRow& r) { r.id = ""; },
      [](WireRow& r) { r.table = "users"; },
      [](WireRow& r) { r.seq = -1; r.version = -2; },  // accepted by both: the page's numbers are the hub's
  };
  for (size_t i = 0; i < mutations.size(); ++i) {
    SCOPED_TRACE(i);
    PullResponse page = SampleColumnarPage();
    mutations[i](page.rows[3]);
    PullResponse v2, v1;
    Status columnar = DecodePullResponse(EncodePullResponse(page), &v2);
    page.page_version = kPullPageVersion1;
    Status objects = DecodePullResponse(EncodePullResponse(page), &v1);
    EXPECT_EQ(columnar.code(), objects.code()) << columnar.ToString() << " / " << objects.ToString();
    if (i + 1 < mutations.size()) {
      EXPECT_FALSE(columnar.ok());
    }
  }
}

TEST(ProtocolTest, ColumnarPageRefusesWhatItsGrammarDoesNotAllow) {
  const Json sample = Json::parse(EncodePullResponse(SampleColumnarPage()));
  ASSERT_EQ(sample["tables"][0]["rows"][2][3], 1);  // p3's clocks: the run's second
  struct Case {
    const char* name;
    std::function<void(Json&)> mutate;
    ErrorCode expected;
  };
  const std::vector<Case> cases = {
      {"a run that is not an object", [](Json& j) { j["tables"][0] = 5; }, ErrorCode::kBadRequest},
      {"a run that is an array", [](Json& j) { j["tables"][1] = Json::array({1}); }, ErrorCode::kBadRequest},
      {"an unknown run field", [](Json& j) { j["tables"][0]["deleted"] = false; }, ErrorCode::kBadRequest},
      {"no table", [](Json& j) { j["tables"][0].erase("table"); }, ErrorCode::kBadRequest},
      {"an unknown table", [](Json& j) { j["tables"][0]["table"] = "users"; }, ErrorCode::kUnknownTable},
      {"no columns", [](Json& j) { j["tables"][0].erase("columns"); }, ErrorCode::kBadRequest},
      {"columns not an array", [](Json& j) { j["tables"][0]["columns"] = "name"; }, ErrorCode::kBadRequest},
      {"a column not a string", [](Json& j) { j["tables"][0]["columns"][0] = 1; }, ErrorCode::kBadRequest},
      {"an unknown column", [](Json& j) { j["tables"][0]["columns"][0] = "colour"; }, ErrorCode::kUnknownColumn},
      {"a column twice", [](Json& j) { j["tables"][0]["columns"][1] = j["tables"][0]["columns"][0]; }, ErrorCode::kBadRequest},
      {"no clocks", [](Json& j) { j["tables"][0].erase("clocks"); }, ErrorCode::kBadRequest},
      {"clocks not an object", [](Json& j) { j["tables"][0]["clocks"][0] = "0x"; }, ErrorCode::kBadRequest},
      {"a clock not a string", [](Json& j) { j["tables"][0]["clocks"][0]["*"] = 1; }, ErrorCode::kBadRequest},
      {"a clock of an unknown column", [](Json& j) { j["tables"][0]["clocks"][1]["colour"] = "x"; }, ErrorCode::kBadRequest},
      {"clocks no row uses, still checked", [](Json& j) { j["tables"][0]["clocks"].push_back(5); }, ErrorCode::kBadRequest},
      {"no rows", [](Json& j) { j["tables"][0].erase("rows"); }, ErrorCode::kBadRequest},
      {"rows not an array", [](Json& j) { j["tables"][0]["rows"] = Json::object(); }, ErrorCode::kBadRequest},
      {"a row not an array", [](Json& j) { j["tables"][0]["rows"][1] = Json::object(); }, ErrorCode::kBadRequest},
      {"a row one value short", [](Json& j) { j["tables"][0]["rows"][1].erase(4); }, ErrorCode::kBadRequest},
      {"a row one value long", [](Json& j) { j["tables"][0]["rows"][1].push_back(nullptr); }, ErrorCode::kBadRequest},
      {"an id not a string", [](Json& j) { j["tables"][0]["rows"][1][0] = 1; }, ErrorCode::kBadRequest},
      {"seq as text", [](Json& j) { j["tables"][0]["rows"][1][1] = "11"; }, ErrorCode::kBadRequest},
      {"version beyond int64", [](Json& j) { j["tables"][0]["rows"][1][2] = uint64_t(1) << 63; }, ErrorCode::kBadRequest},
      {"a clock index out of range", [](Json& j) { j["tables"][0]["rows"][2][3] = 2; }, ErrorCode::kBadRequest},
      {"a clock index beyond int64", [](Json& j) { j["tables"][0]["rows"][2][3] = uint64_t(1) << 63; }, ErrorCode::kBadRequest},
      {"clocks inline", [](Json& j) { j["tables"][0]["rows"][2][3] = j["tables"][0]["clocks"][1]; }, ErrorCode::kBadRequest},
      {"a negative clock index", [](Json& j) { j["tables"][0]["rows"][2][3] = -1; }, ErrorCode::kBadRequest},
      {"a clock as text", [](Json& j) { j["tables"][0]["rows"][2][3] = "0"; }, ErrorCode::kBadRequest},
      {"a clock as an array", [](Json& j) { j["tables"][0]["rows"][2][3] = Json::array(); }, ErrorCode::kBadRequest},
      {"tables not an array", [](Json& j) { j["tables"] = Json::object(); }, ErrorCode::kBadRequest},
      {"no tables", [](Json& j) { j.erase("tables"); }, ErrorCode::kBadRequest},
      {"rows beside tables", [](Json& j) { j["rows"] = Json::array(); }, ErrorCode::kBadRequest},
      {"tables in a version 1 answer", [](Json& j) { j["v"] = 1; }, ErrorCode::kBadRequest},
      {"version 4", [](Json& j) { j["v"] = 4; }, ErrorCode::kBadRequest},
      {"a snapshot in a version 2 answer", [](Json& j) { j["snapshot"] = "1 1"; }, ErrorCode::kBadRequest},
      {"a snapshot not a string in a version 3 answer", [](Json& j) { j["v"] = 3; j["snapshot"] = 1; },
       ErrorCode::kBadRequest},
      {"5001 rows", [](Json& j) { j["tables"][0]["rows"] = Big(size_t(kMaxPullLimit) + 1, j["tables"][0]["rows"][2]); },
       ErrorCode::kTooLarge},
      {"5001 rows over two runs, the first bad",
       [](Json& j) {
         j["tables"][0]["rows"] = Big(size_t(kMaxPullLimit), j["tables"][0]["rows"][2]);
         j["tables"][0]["table"] = "users";
       },
       ErrorCode::kTooLarge},
      {"a bad run after a bad answer field", [](Json& j) { j["tables"][0]["table"] = "users"; j["zzz"] = 1; },
       ErrorCode::kBadRequest},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Json j = sample;
    c.mutate(j);
    PullResponse out;
    Status s = DecodePullResponse(j.dump(), &out);
    EXPECT_EQ(s.code(), c.expected) << s.ToString();
  }
}

TEST(ProtocolTest, ColumnarPageRefusesEveryTruncationAsNotJson) {
  const std::string body = EncodePullResponse(SampleColumnarPage());
  PullResponse out;
  for (size_t n = 0; n < body.size(); ++n)
    EXPECT_EQ(DecodePull(body.substr(0, n), &out).code(), ErrorCode::kBadJson) << n;
}

TEST(ProtocolTest, ColumnarPageTakesAFullPageAndRefusesAHugeOne) {
  PullResponse in = SamplePullResponse(), out;
  in.page_version = kPullPageVersion2;
  in.rows.clear();
  for (int64_t i = 0; i < kMaxPullLimit; ++i) in.rows.push_back(ProductRow("p" + std::to_string(i), i + 1));
  std::string body = EncodePullResponse(in);
  ASSERT_TRUE(DecodePull(body, &out).ok());
  ASSERT_EQ(out.tables.size(), 1u);
  ASSERT_EQ(out.tables[0].rows.size(), size_t(kMaxPullLimit));
  EXPECT_EQ(out.tables[0].rows.back().id, "p" + std::to_string(kMaxPullLimit - 1));
  Json j = Json::parse(body);
  j["tables"][0]["rows"] = Big(size_t(kMaxPullLimit) * 20, j["tables"][0]["rows"][0]);
  Status s = DecodePull(j.dump(), &out);
  EXPECT_EQ(s.code(), ErrorCode::kTooLarge) << s.ToString();
}

}  // namespace
}  // namespace tillsync
