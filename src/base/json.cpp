#include "base/json.h"

#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstring>

namespace jf {

Json Json::boolean(bool value) {
  Json j;
  j.type_ = Type::kBool;
  j.bool_ = value;
  return j;
}

Json Json::number(double value) {
  Json j;
  j.type_ = Type::kNumber;
  j.number_ = value;
  return j;
}

Json Json::string(std::string value) {
  Json j;
  j.type_ = Type::kString;
  j.string_ = std::move(value);
  return j;
}

Json Json::array() {
  Json j;
  j.type_ = Type::kArray;
  return j;
}

Json Json::object() {
  Json j;
  j.type_ = Type::kObject;
  return j;
}

const Json* Json::find(std::string_view key) const {
  for (const auto& [name, value] : members_) {
    if (name == key) return &value;
  }
  return nullptr;
}

Json& Json::push_back(Json value) {
  items_.push_back(std::move(value));
  return *this;
}

Json& Json::set(std::string key, Json value) {
  for (auto& [name, existing] : members_) {
    if (name == key) {
      existing = std::move(value);
      return *this;
    }
  }
  members_.emplace_back(std::move(key), std::move(value));
  return *this;
}

namespace {

// Recursive descent over the RFC 8259 grammar. Every failure records the first error and
// unwinds; nothing is guessed or repaired.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<Json> parse_document() {
    skip_whitespace();
    Json value = parse_value(0);
    skip_whitespace();
    if (error_.ok() && pos_ != text_.size()) fail("unexpected text after the value");
    if (!error_.ok()) return error_;
    return value;
  }

 private:
  bool failed() const { return !error_.ok(); }

  // Records the first error; returns false for bool parsers, see also fail_value.
  bool fail(const char* what) {
    if (error_.ok()) error_ = error(StatusCode::kCorruptFile, "at byte %zu: %s", pos_, what);
    return false;
  }
  Json fail_value(const char* what) {
    fail(what);
    return Json();
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  void skip_whitespace() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }

  bool consume_literal(const char* literal) {
    const size_t n = std::strlen(literal);
    if (text_.substr(pos_, n) != literal) return false;
    pos_ += n;
    return true;
  }

  Json parse_value(int depth) {
    if (depth > kMaxJsonDepth) return fail_value("nesting too deep");
    switch (peek()) {
      case '{': return parse_object(depth);
      case '[': return parse_array(depth);
      case '"': {
        std::string s;
        if (!parse_string(&s)) return Json();
        return Json::string(std::move(s));
      }
      case 't': return consume_literal("true") ? Json::boolean(true) : fail_value("invalid literal");
      case 'f': return consume_literal("false") ? Json::boolean(false) : fail_value("invalid literal");
      case 'n': return consume_literal("null") ? Json() : fail_value("invalid literal");
      default: return parse_number();
    }
  }

  Json parse_object(int depth) {
    ++pos_;  // '{'
    Json object = Json::object();
    skip_whitespace();
    if (peek() == '}') {
      ++pos_;
      return object;
    }
    for (;;) {
      skip_whitespace();
      if (peek() != '"') return fail_value("expected a member name");
      std::string key;
      if (!parse_string(&key)) return Json();
      if (object.find(key) != nullptr) return fail_value("duplicate member name");
      skip_whitespace();
      if (peek() != ':') return fail_value("expected ':'");
      ++pos_;
      skip_whitespace();
      Json value = parse_value(depth + 1);
      if (failed()) return Json();
      object.set(std::move(key), std::move(value));
      skip_whitespace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return object;
      }
      return fail_value("expected ',' or '}'");
    }
  }

  Json parse_array(int depth) {
    ++pos_;  // '['
    Json array = Json::array();
    skip_whitespace();
    if (peek() == ']') {
      ++pos_;
      return array;
    }
    for (;;) {
      skip_whitespace();
      Json value = parse_value(depth + 1);
      if (failed()) return Json();
      array.push_back(std::move(value));
      skip_whitespace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return array;
      }
      return fail_value("expected ',' or ']'");
    }
  }

  bool is_digit(char c) const { return c >= '0' && c <= '9'; }

  // Checks the grammar first (from_chars alone would accept "01", "+1", ".5", "1.").
  Json parse_number() {
    const size_t start = pos_;
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (is_digit(peek())) {
      while (is_digit(peek())) ++pos_;
    } else {
      return fail_value(pos_ == start ? "expected a value" : "invalid number");
    }
    if (peek() == '.') {
      ++pos_;
      if (!is_digit(peek())) return fail_value("invalid number");
      while (is_digit(peek())) ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!is_digit(peek())) return fail_value("invalid number");
      while (is_digit(peek())) ++pos_;
    }
    // strtod on a copy (the text is not NUL-terminated): Emscripten's libc++ has no floating-point
    // from_chars. The grammar was checked above, so strtod reads exactly these characters.
    const std::string digits(text_.substr(start, pos_ - start));
    char* end = nullptr;
    const double value = std::strtod(digits.c_str(), &end);
    if (end != digits.c_str() + digits.size() || !std::isfinite(value)) {
      pos_ = start;
      return fail_value("number out of range");
    }
    return Json::number(value);
  }

  int hex_value(char c) const {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // Four hex digits after "\u"; -1 on a malformed escape.
  int32_t parse_hex4() {
    if (pos_ + 4 > text_.size()) return -1;
    int32_t code = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = hex_value(text_[pos_ + i]);
      if (digit < 0) return -1;
      code = code * 16 + digit;
    }
    pos_ += 4;
    return code;
  }

  static void append_utf8(uint32_t code, std::string* out) {
    if (code < 0x80) {
      out->push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (code >> 6)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (code >> 12)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (code >> 18)));
      out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  // "\uXXXX", with a following "\uXXXX" low surrogate when the first is a high surrogate.
  bool parse_unicode_escape(std::string* out) {
    int32_t code = parse_hex4();
    if (code < 0) return fail("invalid \\u escape");
    if (code >= 0xDC00 && code <= 0xDFFF) return fail("lone low surrogate");
    if (code >= 0xD800 && code <= 0xDBFF) {
      if (!consume_literal("\\u")) return fail("high surrogate without a low one");
      const int32_t low = parse_hex4();
      if (low < 0xDC00 || low > 0xDFFF) return fail("high surrogate without a low one");
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(static_cast<uint32_t>(code), out);
    return true;
  }

  bool parse_escape(std::string* out) {
    ++pos_;  // '\'
    const char c = peek();
    ++pos_;
    switch (c) {
      case '"': out->push_back('"'); return true;
      case '\\': out->push_back('\\'); return true;
      case '/': out->push_back('/'); return true;
      case 'b': out->push_back('\b'); return true;
      case 'f': out->push_back('\f'); return true;
      case 'n': out->push_back('\n'); return true;
      case 'r': out->push_back('\r'); return true;
      case 't': out->push_back('\t'); return true;
      case 'u': return parse_unicode_escape(out);
      default: --pos_; return fail("invalid escape");
    }
  }

  // Length of the well-formed UTF-8 sequence at pos_ (no overlongs, no surrogates, <= U+10FFFF),
  // or 0 when it is not one.
  size_t utf8_sequence_length() const {
    const auto byte = [&](size_t i) { return pos_ + i < text_.size() ? static_cast<uint8_t>(text_[pos_ + i]) : 0; };
    const auto continuation = [&](size_t i) { return (byte(i) & 0xC0) == 0x80; };
    const uint8_t b0 = byte(0);
    if (b0 >= 0xC2 && b0 <= 0xDF) return continuation(1) ? 2 : 0;
    if (b0 >= 0xE0 && b0 <= 0xEF) {
      const uint8_t b1 = byte(1);
      if (b0 == 0xE0 && b1 < 0xA0) return 0;  // overlong
      if (b0 == 0xED && b1 > 0x9F) return 0;  // UTF-16 surrogate
      return continuation(1) && continuation(2) ? 3 : 0;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
      const uint8_t b1 = byte(1);
      if (b0 == 0xF0 && b1 < 0x90) return 0;  // overlong
      if (b0 == 0xF4 && b1 > 0x8F) return 0;  // above U+10FFFF
      return continuation(1) && continuation(2) && continuation(3) ? 4 : 0;
    }
    return 0;
  }

  bool parse_string(std::string* out) {
    ++pos_;  // opening quote
    for (;;) {
      if (at_end()) return fail("unterminated string");
      const uint8_t c = static_cast<uint8_t>(peek());
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        if (!parse_escape(out)) return false;
      } else if (c < 0x20) {
        return fail("control character in string");
      } else if (c < 0x80) {
        out->push_back(static_cast<char>(c));
        ++pos_;
      } else {
        const size_t n = utf8_sequence_length();
        if (n == 0) return fail("invalid UTF-8");
        out->append(text_.substr(pos_, n));
        pos_ += n;
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  Status error_;
};

void write_string(const std::string& s, std::string* out) {
  out->push_back('"');
  for (const char ch : s) {
    const uint8_t c = static_cast<uint8_t>(ch);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20) out->append(str_printf("\\u%04x", c));
        else out->push_back(ch);
    }
  }
  out->push_back('"');
}

void write_number(double value, std::string* out) {
  if (!std::isfinite(value)) {
    out->append("null");
    return;
  }
  // The fewest significant digits (up to 17) that read back as the same double: Emscripten's libc++
  // has no floating-point to_chars.
  char buffer[32];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", digits, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  out->append(buffer);
}

void write_value(const Json& value, std::string* out) {
  switch (value.type()) {
    case Json::Type::kNull: out->append("null"); return;
    case Json::Type::kBool: out->append(value.as_bool() ? "true" : "false"); return;
    case Json::Type::kNumber: write_number(value.as_number(), out); return;
    case Json::Type::kString: write_string(value.as_string(), out); return;
    case Json::Type::kArray: {
      out->push_back('[');
      for (size_t i = 0; i < value.items().size(); ++i) {
        if (i > 0) out->push_back(',');
        write_value(value.items()[i], out);
      }
      out->push_back(']');
      return;
    }
    case Json::Type::kObject: {
      out->push_back('{');
      for (size_t i = 0; i < value.members().size(); ++i) {
        if (i > 0) out->push_back(',');
        write_string(value.members()[i].first, out);
        out->push_back(':');
        write_value(value.members()[i].second, out);
      }
      out->push_back('}');
      return;
    }
  }
}

}  // namespace

Result<Json> parse_json(std::string_view text) { return Parser(text).parse_document(); }

std::string to_json(const Json& value) {
  std::string out;
  write_value(value, &out);
  return out;
}

}  // namespace jf
