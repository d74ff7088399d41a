// Tests of tests/json_lite.h (kept here because the golden tokenizer tests are its first user).
#include "json_lite.h"

#include <gtest/gtest.h>

namespace jf::json_lite {
namespace {

TEST(JsonLite, ParsesNestedDocuments) {
  std::string err;
  const auto doc = parse(R"( {"a": [1, -2.5e1, true, null, "x"], "b": {"c": false}, "a": 3} )", &err);
  ASSERT_TRUE(doc.has_value()) << err;
  ASSERT_TRUE(doc->is_object());
  EXPECT_EQ(doc->size(), 3u);
  const Value& a = (*doc)["a"];  // the first of a repeated key
  ASSERT_EQ(a.size(), 5u);
  EXPECT_TRUE(a[0].is_integer());
  EXPECT_EQ(a[0].as_int(), 1);
  EXPECT_FALSE(a[1].is_integer());
  EXPECT_EQ(a[1].as_number(), -25.0);
  EXPECT_TRUE(a[2].as_bool());
  EXPECT_TRUE(a[3].is_null());
  EXPECT_EQ(a[4].as_string(), "x");
  EXPECT_FALSE((*doc)["b"]["c"].as_bool());
  EXPECT_TRUE((*doc)["b"]["c"].is_bool());
  EXPECT_EQ(doc->as_object()[2].first, "a");
}

TEST(JsonLite, MissingAndMistypedValuesAreEmpty) {
  const auto doc = parse(R"({"n": 5})");
  ASSERT_TRUE(doc.has_value());
  EXPECT_TRUE((*doc)["missing"].is_null());
  EXPECT_EQ((*doc)["missing"]["deeper"][3].as_string(), "");
  EXPECT_EQ((*doc)["n"].as_string(), "");
  EXPECT_EQ((*doc)["n"].as_array().size(), 0u);
  EXPECT_EQ((*doc)["n"][0].as_int(), 0);
  EXPECT_FALSE(doc->contains("missing"));
  EXPECT_TRUE(doc->contains("n"));
}

TEST(JsonLite, DecodesStringEscapes) {
  const auto doc = parse(R"(["a\"b\\c\/\b\f\n\r\t", "\u00e9\u2014", "\ud83d\ude42", "caf\u00E9"])");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ((*doc)[0].as_string(), "a\"b\\c/\b\f\n\r\t");
  EXPECT_EQ((*doc)[1].as_string(), "\xC3\xA9\xE2\x80\x94");
  EXPECT_EQ((*doc)[2].as_string(), "\xF0\x9F\x99\x82");
  EXPECT_EQ((*doc)[3].as_string(), "caf\xC3\xA9");
}

TEST(JsonLite, NumbersKeepExactIntegers) {
  const auto doc = parse("[9007199254740993, -0, 0.5, 1E2, 12345678901234567890]");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ((*doc)[0].as_int(), 9007199254740993);  // not representable as a double
  EXPECT_EQ((*doc)[1].as_int(), 0);
  EXPECT_EQ((*doc)[2].as_number(), 0.5);
  EXPECT_EQ((*doc)[3].as_number(), 100.0);
  EXPECT_FALSE((*doc)[4].is_integer());  // too big for int64: only the double is kept
  EXPECT_EQ((*doc)[4].as_number(), 12345678901234567890.0);
}

TEST(JsonLite, ReportsErrorsWithTheirOffset) {
  const std::pair<const char*, const char*> bad[] = {
      {"", "unexpected end of input at byte 0"},
      {"[1, 2", "expected ',' or ']' at byte 5"},
      {"{\"a\" 1}", "expected ':' at byte 5"},
      {"[01]", "expected ',' or ']' at byte 2"},
      {"[1.]", "expected digits after '.' at byte 3"},
      {"\"abc", "unterminated string at byte 4"},
      {"\"\\x\"", "invalid escape at byte 3"},
      {"\"\\ud83d\"", "unpaired high surrogate at byte 7"},
      {"\"a\nb\"", "control character in string at byte 3"},
      {"{} x", "unexpected text after the value at byte 3"},
      {"nul", "invalid value at byte 0"},
  };
  for (const auto& [text, message] : bad) {
    std::string err;
    EXPECT_FALSE(parse(text, &err).has_value()) << text;
    EXPECT_EQ(err, message) << text;
  }
  std::string err;
  EXPECT_FALSE(parse(std::string(10000, '['), &err).has_value());
  EXPECT_NE(err.find("nesting too deep"), std::string::npos);
  EXPECT_FALSE(parse_file("/no/such/file.json", &err).has_value());
  EXPECT_NE(err.find("/no/such/file.json"), std::string::npos);
}

}  // namespace
}  // namespace jf::json_lite
