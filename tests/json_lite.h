// json_lite: a small, strict JSON reader for test data (the golden files of ../shared/golden).
// Header-only. Objects keep their key order; strings are UTF-8 (\uXXXX escapes, surrogate pairs
// included, are decoded); numbers keep their double value and, when written as an integer that
// fits, their exact int64 value. parse() reports the first error with its byte offset instead of
// throwing. Accessors never throw either: asking a value for the wrong type, or an object for a
// missing key, gives an empty/null value, so a test can check `is_*()` or compare and move on.
//
//   std::string err;
//   auto doc = jf::json_lite::parse_file(path, &err);   // std::nullopt on error, err says why
//   for (const auto& p : (*doc)["prompts"].as_array()) use(p["id"].as_string(), p["tokens"][0].as_int());
#pragma once

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <concepts>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace jf::json_lite {

class Value {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Array = std::vector<Value>;
  using Object = std::vector<std::pair<std::string, Value>>;
  struct Number {
    double value = 0;
    std::optional<int64_t> integer;  // set when the text was an integer that fits in int64
  };

  Value() = default;
  explicit Value(bool b) : data_(b) {}
  explicit Value(Number n) : data_(n) {}
  explicit Value(std::string s) : data_(std::move(s)) {}
  explicit Value(Array a) : data_(std::move(a)) {}
  explicit Value(Object o) : data_(std::move(o)) {}

  Type type() const { return static_cast<Type>(data_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_number() const { return type() == Type::kNumber; }
  bool is_integer() const { return is_number() && std::get<Number>(data_).integer.has_value(); }
  bool is_string() const { return type() == Type::kString; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_object() const { return type() == Type::kObject; }

  bool as_bool() const { return is_bool() && std::get<bool>(data_); }
  double as_number() const { return is_number() ? std::get<Number>(data_).value : 0.0; }
  // The exact integer; a non-integral number is truncated, anything else gives 0.
  int64_t as_int() const {
    if (!is_number()) return 0;
    const Number& n = std::get<Number>(data_);
    return n.integer ? *n.integer : static_cast<int64_t>(n.value);
  }
  const std::string& as_string() const { return is_string() ? std::get<std::string>(data_) : empty<std::string>(); }
  const Array& as_array() const { return is_array() ? std::get<Array>(data_) : empty<Array>(); }
  const Object& as_object() const { return is_object() ? std::get<Object>(data_) : empty<Object>(); }

  // Elements of an array or members of an object; 0 for anything else.
  size_t size() const { return is_array() ? as_array().size() : as_object().size(); }
  // The member named `key` (the first one if repeated), or nullptr.
  const Value* find(std::string_view key) const {
    for (const auto& [k, v] : as_object()) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  const Value& operator[](std::string_view key) const {
    const Value* v = find(key);
    return v != nullptr ? *v : empty<Value>();
  }
  const Value& operator[](const char* key) const { return (*this)[std::string_view(key)]; }
  // Any integer type (a plain `0` would otherwise be ambiguous with the const char* key).
  const Value& operator[](std::integral auto index) const {
    const Array& a = as_array();
    return index >= 0 && static_cast<size_t>(index) < a.size() ? a[static_cast<size_t>(index)] : empty<Value>();
  }

 private:
  template <typename T>
  static const T& empty() {
    static const T kEmpty{};
    return kEmpty;
  }

  std::variant<std::monostate, bool, Number, std::string, Array, Object> data_;
};

namespace detail {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::optional<Value> parse_document(std::string* error) {
    std::optional<Value> v = parse_value(0);
    if (v) {
      skip_space();
      if (pos_ != text_.size()) v = fail("unexpected text after the value");
    }
    if (!v && error != nullptr) *error = error_ + " at byte " + std::to_string(error_pos_);
    return v;
  }

 private:
  static constexpr int kMaxDepth = 512;  // deeper nesting is refused rather than overflowing the stack

  // Records the first error; false, for the bool-returning helpers.
  bool error_at(const char* what) {
    if (error_.empty()) {
      error_ = what;
      error_pos_ = pos_;
    }
    return false;
  }
  std::optional<Value> fail(const char* what) {
    error_at(what);
    return std::nullopt;
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) ++pos_;
  }

  bool consume(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  std::optional<Value> parse_value(int depth) {
    if (depth > kMaxDepth) return fail("nesting too deep");
    skip_space();
    if (pos_ >= text_.size()) return fail("unexpected end of input");
    const char c = text_[pos_];
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') {
      std::string s;
      if (!parse_string(s)) return std::nullopt;
      return Value(std::move(s));
    }
    if (consume("true")) return Value(true);
    if (consume("false")) return Value(false);
    if (consume("null")) return Value();
    return parse_number();
  }

  std::optional<Value> parse_object(int depth) {
    ++pos_;  // '{'
    Value::Object members;
    skip_space();
    if (consume("}")) return Value(std::move(members));
    while (true) {
      skip_space();
      std::string key;
      if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected a string key");
      if (!parse_string(key)) return std::nullopt;
      skip_space();
      if (!consume(":")) return fail("expected ':'");
      std::optional<Value> v = parse_value(depth + 1);
      if (!v) return std::nullopt;
      members.emplace_back(std::move(key), std::move(*v));
      skip_space();
      if (consume("}")) return Value(std::move(members));
      if (!consume(",")) return fail("expected ',' or '}'");
    }
  }

  std::optional<Value> parse_array(int depth) {
    ++pos_;  // '['
    Value::Array items;
    skip_space();
    if (consume("]")) return Value(std::move(items));
    while (true) {
      std::optional<Value> v = parse_value(depth + 1);
      if (!v) return std::nullopt;
      items.push_back(std::move(*v));
      skip_space();
      if (consume("]")) return Value(std::move(items));
      if (!consume(",")) return fail("expected ',' or ']'");
    }
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  std::optional<Value> parse_number() {
    const size_t start = pos_;
    const auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
      return pos_ > from;
    };
    consume("-");
    if (!consume("0") && !digits()) return fail("invalid value");
    bool integral = true;
    if (consume(".")) {
      integral = false;
      if (!digits()) return fail("expected digits after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (!consume("+")) consume("-");
      if (!digits()) return fail("expected exponent digits");
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    Value::Number n;
    // strtod on a copy: Emscripten's libc++ has no floating-point from_chars.
    const std::string number(first, last);
    char* end = nullptr;
    n.value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size() || !std::isfinite(n.value)) return fail("number out of range");
    int64_t i = 0;
    if (integral && std::from_chars(first, last, i).ec == std::errc()) n.integer = i;
    return Value(n);
  }

  bool parse_hex4(uint32_t& out) {
    if (pos_ + 4 > text_.size()) return false;
    out = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text_[pos_++];
      out <<= 4;
      if (is_digit(c)) out |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') out |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') out |= static_cast<uint32_t>(c - 'A' + 10);
      else return false;
    }
    return true;
  }

  static void append_utf8(uint32_t cpt, std::string& out) {
    if (cpt < 0x80) {
      out += static_cast<char>(cpt);
    } else if (cpt < 0x800) {
      out += static_cast<char>(0xC0 | (cpt >> 6));
      out += static_cast<char>(0x80 | (cpt & 0x3F));
    } else if (cpt < 0x10000) {
      out += static_cast<char>(0xE0 | (cpt >> 12));
      out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cpt & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cpt >> 18));
      out += static_cast<char>(0x80 | ((cpt >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cpt & 0x3F));
    }
  }

  // \uXXXX, with a following \uXXXX low surrogate when XXXX is a high surrogate.
  bool parse_unicode_escape(std::string& out) {
    uint32_t cpt = 0;
    if (!parse_hex4(cpt)) return error_at("invalid \\u escape");
    if (cpt >= 0xDC00 && cpt <= 0xDFFF) return error_at("lone low surrogate");
    if (cpt >= 0xD800 && cpt <= 0xDBFF) {
      uint32_t low = 0;
      if (!consume("\\u") || !parse_hex4(low) || low < 0xDC00 || low > 0xDFFF) return error_at("unpaired high surrogate");
      cpt = 0x10000 + ((cpt - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(cpt, out);
    return true;
  }

  bool parse_string(std::string& out) {
    ++pos_;  // opening quote
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return error_at("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) break;
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u':
          if (!parse_unicode_escape(out)) return false;
          break;
        default: return error_at("invalid escape");
      }
    }
    return error_at("unterminated string");
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
  size_t error_pos_ = 0;
};

}  // namespace detail

// Parses one JSON document. On failure returns std::nullopt and, if `error` is given, says what
// was wrong and at which byte.
inline std::optional<Value> parse(std::string_view text, std::string* error = nullptr) {
  return detail::Parser(text).parse_document(error);
}

inline std::optional<Value> parse_file(const std::string& path, std::string* error = nullptr) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (error != nullptr) *error = "cannot open " + path;
    return std::nullopt;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::optional<Value> v = parse(buffer.str(), error);
  if (!v && error != nullptr) *error = path + ": " + *error;
  return v;
}

}  // namespace jf::json_lite
