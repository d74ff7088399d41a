#include "base/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace jf {
namespace {

TEST(Json, ParsesEveryTypeAndWritesItBack) {
  const std::string text = R"({"a":null,"b":true,"c":false,"d":-12.5e-3,"e":"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00","f":[1,[],{}],"g":{}})";
  auto json = parse_json(text);
  ASSERT_TRUE(json.ok()) << json.status().to_string();
  EXPECT_TRUE(json->find("a")->is_null());
  EXPECT_TRUE(json->find("b")->as_bool());
  EXPECT_DOUBLE_EQ(json->find("d")->as_number(), -0.0125);
  EXPECT_EQ(json->find("e")->as_string(), "x\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(json->find("f")->items().size(), 3u);
  auto again = parse_json(to_json(*json));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(to_json(*again), to_json(*json));
}

TEST(Json, NumbersRoundTripExactly) {
  for (double x : {0.0, 1.0, -7.0, 123456789012345.0, 0.1, 1e-300, 1.7976931348623157e308, 3.14159265358979}) {
    auto back = parse_json(to_json(Json::number(x)));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->as_number(), x);
  }
  EXPECT_EQ(to_json(Json::number(4096)), "4096");
  EXPECT_EQ(to_json(Json::number(NAN)), "null");
}

TEST(Json, RejectsWhatIsNotJson) {
  const char* bad[] = {
      "", "  ", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "01", "+1", ".5", "1.", "1e", "-", "NaN", "Infinity",
      "1e400", "tru", "nul", "\"abc", "\"a\x01\"", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"",
      "\"\\ud800\\u0041\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"",
      "{\"a\":1,\"a\":2}", "[1] 2", "// comment\n1", "{\"a\" 1}", "[1 2]",
  };
  for (const char* text : bad) {
    auto json = parse_json(text);
    EXPECT_FALSE(json.ok()) << "accepted: " << text;
    if (!json.ok()) {
      EXPECT_EQ(json.status().code(), StatusCode::kCorruptFile);
    }
  }
}

TEST(Json, ErrorsNameTheByteOffset) {
  auto json = parse_json("{\"a\": [1, 2,, 3]}");
  ASSERT_FALSE(json.ok());
  EXPECT_NE(json.status().message().find("at byte 12"), std::string::npos) << json.status().message();
}

TEST(Json, DepthIsLimited) {
  std::string deep(kMaxJsonDepth + 2, '[');
  deep += std::string(kMaxJsonDepth + 2, ']');
  EXPECT_FALSE(parse_json(deep).ok());
  std::string ok(kMaxJsonDepth, '[');
  ok += std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(parse_json(ok).ok());
}

TEST(Json, WriterEscapesControlCharacters) {
  EXPECT_EQ(to_json(Json::string(std::string("a\x01\n\"", 4))), "\"a\\u0001\\n\\\"\"");
  Json object = Json::object();
  object.set("k", Json::number(1));
  object.set("k", Json::number(2));  // replaces
  EXPECT_EQ(to_json(object), "{\"k\":2}");
}

}  // namespace
}  // namespace jf
