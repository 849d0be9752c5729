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
  WireRow customer;
  customer.table = "customers";
  customer.id = "c1";
  customer.values = Json{{"shop_id", "s1"}, {"name", "Ann"}, {"phone", "111"}, {"email", nullptr}, {"notes", nullptr}};
  customer.clocks = Json{{"*", "0" + HlcTimestamp{100, 0, "dev-2"}.ToString()}};
  customer.version = 4;
  customer.seq = 77;
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

}  // namespace
}  // namespace tillsync
