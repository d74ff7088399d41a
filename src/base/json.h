// A small, strict JSON (RFC 8259) value, parser and writer for the kernel database, the
// microbenchmark report and sparsity thresholds. Strict because these files come from other machines: anything that is
// not exactly JSON (comments, trailing commas, NaN, lone surrogates, invalid UTF-8, duplicate
// keys, numbers that overflow a double, nesting deeper than kMaxJsonDepth) is an error with the
// byte offset, never a guess.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jitflow/status.h"

namespace jf {

inline constexpr int kMaxJsonDepth = 64;

class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Json() = default;  // null
  static Json boolean(bool value);
  static Json number(double value);  // a non-finite value is written as null
  static Json string(std::string value);
  static Json array();
  static Json object();

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Accessors return the value of the matching type, or a default (false, 0, "", empty).
  bool as_bool() const { return bool_; }
  double as_number() const { return number_; }
  const std::string& as_string() const { return string_; }
  const std::vector<Json>& items() const { return items_; }
  const std::vector<std::pair<std::string, Json>>& members() const { return members_; }

  // Member `key` of an object; nullptr when absent or when this is not an object.
  const Json* find(std::string_view key) const;

  // Builders. push_back on an array; set on an object replaces an existing key, else appends
  // (members keep insertion order, so the written text is stable).
  Json& push_back(Json value);
  Json& set(std::string key, Json value);

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

// Parses exactly one JSON value (whitespace around it allowed). Errors are kCorruptFile with
// "at byte N: what".
Result<Json> parse_json(std::string_view text);

// Compact single-line text: no spaces, members in insertion order, numbers in the shortest form
// that reads back to the same double (integers without a fraction).
std::string to_json(const Json& value);

}  // namespace jf
