// The JSON helpers: AppendJson must write exactly what DumpJson writes (row hashes and queued
// operations depend on those bytes), and JsonReader's checked access.
#include "core/json_reader.h"

#include <gtest/gtest.h>

namespace tillsync {
namespace {

std::string Appended(const Json& v) {
  std::string out = "prefix:";
  AppendJson(v, &out);
  return out;
}

TEST(JsonReaderTest, AppendJsonWritesTheBytesDumpJsonWrites) {
  std::vector<Json> values = {
      nullptr, true, false, 0, -1, INT64_MIN, INT64_MAX, uint64_t(UINT64_MAX), 2.5, -0.0, 1e300,
      "", "plain", "quote \" backslash \\ slash /", "\b\f\n\r\t", std::string("nul \0 inside", 12),
      "\x01\x1f\x7f", "caf\u00e9 \u2615 \U0001F600", "bad \xff\xfe utf-8", "cut \xe2\x98",
      Json::array(), Json::object(), Json::array({1, "two", nullptr, Json::object({{"k", 3}})}),
      Json{{"zeta", 1}, {"alpha", "a"}, {"mid", nullptr}, {"nested", {{"b", 2}, {"a", Json::array({"x"})}}}},
      Json{{"key \"quoted\"\n", "v"}, {"\u00e9", 1}},
  };
  for (const Json& v : values) EXPECT_EQ(Appended(v), "prefix:" + DumpJson(v)) << DumpJson(v);
  // Every single byte value inside a string.
  for (int b = 0; b < 256; ++b) {
    Json v = std::string("a") + char(b) + "z";
    EXPECT_EQ(Appended(v), "prefix:" + DumpJson(v)) << "byte " << b;
  }
}

TEST(JsonReaderTest, AppendJsonStringQuotesLikeDumpJson) {
  for (std::string s : {"", "x", "a\"b", "tab\there", "caf\u00e9"}) {
    std::string out;
    AppendJsonString(s, &out);
    EXPECT_EQ(out, DumpJson(Json(s)));
  }
}

}  // namespace
}  // namespace tillsync
