#include "args.h"

#include <cerrno>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace jf::cli {

ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void ArgParser::add_option(const char* s, const char* l, Kind kind, void* out, const char* help) {
  options_.push_back({s, l, help, kind, out});
}
void ArgParser::add(const char* s, const char* l, std::string* out, const char* help) { add_option(s, l, Kind::kString, out, help); }
void ArgParser::add(const char* s, const char* l, int* out, const char* help) { add_option(s, l, Kind::kInt, out, help); }
void ArgParser::add(const char* s, const char* l, int64_t* out, const char* help) { add_option(s, l, Kind::kInt64, out, help); }
void ArgParser::add(const char* s, const char* l, float* out, const char* help) { add_option(s, l, Kind::kFloat, out, help); }
void ArgParser::add(const char* s, const char* l, double* out, const char* help) { add_option(s, l, Kind::kDouble, out, help); }
void ArgParser::add_flag(const char* s, const char* l, bool* out, const char* help) { add_option(s, l, Kind::kFlag, out, help); }

void ArgParser::allow_positional(const char* name, std::vector<std::string>* out) {
  positional_name_ = name;
  positional_ = out;
}

namespace {

// Parses all of `text` as a base-10 integer in [lo, hi]; false for anything else (no silent
// truncation: "4294967297" is not 1).
bool parse_integer(const std::string& text, long long lo, long long hi, long long* out) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

// Parses all of `text` as a finite number that fits `max_magnitude`.
bool parse_real(const std::string& text, double max_magnitude, double* out) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || end == text.c_str() || *end != '\0' || !std::isfinite(v) || std::fabs(v) > max_magnitude) {
    return false;
  }
  *out = v;
  return true;
}

}  // namespace

Status ArgParser::assign(const Option& option, const std::string& value) {
  long long integer = 0;
  double real = 0;
  switch (option.kind) {
    case Kind::kString: *static_cast<std::string*>(option.out) = value; return Status();
    case Kind::kInt:
      if (!parse_integer(value, INT_MIN, INT_MAX, &integer)) break;
      *static_cast<int*>(option.out) = static_cast<int>(integer);
      return Status();
    case Kind::kInt64:
      if (!parse_integer(value, LLONG_MIN, LLONG_MAX, &integer)) break;
      *static_cast<int64_t*>(option.out) = integer;
      return Status();
    case Kind::kFloat:
      if (!parse_real(value, FLT_MAX, &real)) break;
      *static_cast<float*>(option.out) = static_cast<float>(real);
      return Status();
    case Kind::kDouble:
      if (!parse_real(value, DBL_MAX, &real)) break;
      *static_cast<double*>(option.out) = real;
      return Status();
    case Kind::kFlag: break;
  }
  const char* want = option.kind == Kind::kInt     ? "an integer in -2147483648..2147483647"
                     : option.kind == Kind::kInt64 ? "a 64-bit integer"
                                                   : "a finite number";
  return error(StatusCode::kInvalidArgument, "%s: %s: '%s' is not %s", command_.c_str(),
               option.long_name.c_str(), value.c_str(), want);
}

Status ArgParser::parse(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      help_requested_ = true;
      continue;
    }
    std::string inline_value;
    bool has_inline = false;
    if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
      inline_value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
      has_inline = true;
    }
    const Option* match = nullptr;
    for (const Option& option : options_) {
      if (arg == option.long_name || (!option.short_name.empty() && arg == option.short_name)) match = &option;
    }
    if (match == nullptr) {
      if (positional_ != nullptr && (arg.empty() || arg[0] != '-' || arg == "-")) {
        positional_->push_back(arg);
        continue;
      }
      return error(StatusCode::kInvalidArgument, "%s: unknown option '%s' (see --help)", command_.c_str(), arg.c_str());
    }
    if (match->kind == Kind::kFlag) {
      *static_cast<bool*>(match->out) = true;
      continue;
    }
    if (!has_inline) {
      if (i + 1 >= argc) {
        return error(StatusCode::kInvalidArgument, "%s: option %s needs a value", command_.c_str(), arg.c_str());
      }
      inline_value = argv[++i];
    }
    JF_RETURN_IF_ERROR(assign(*match, inline_value));
  }
  return Status();
}

std::string ArgParser::usage() const {
  std::string out = "usage: " + command_ + " [options]";
  if (positional_name_ != nullptr) out += std::string(" ") + positional_name_;
  out += "\n" + summary_ + "\n\noptions:\n";
  for (const Option& option : options_) {
    std::string names = option.short_name.empty() ? "    " : option.short_name + ", ";
    names += option.long_name;
    if (option.kind != Kind::kFlag) names += " X";
    out += str_printf("  %-24s %s\n", names.c_str(), option.help.c_str());
  }
  return out;
}

Result<std::vector<int>> parse_int_list(const std::string& text) {
  std::vector<int> values;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    long long v = 0;
    if (!parse_integer(item, INT_MIN, INT_MAX, &v)) {
      return error(StatusCode::kInvalidArgument, "'%s' is not a comma-separated list of integers", text.c_str());
    }
    values.push_back(static_cast<int>(v));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return values;
}

Result<std::vector<float>> parse_float_list(const std::string& text) {
  std::vector<float> values;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    double v = 0;
    if (!parse_real(item, FLT_MAX, &v)) {
      return error(StatusCode::kInvalidArgument, "'%s' is not a comma-separated list of numbers", text.c_str());
    }
    values.push_back(static_cast<float>(v));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return values;
}

Result<SparsityMode> parse_sparsity_mode(const std::string& text) {
  if (text == "topk") return SparsityMode::topk;
  if (text == "threshold") return SparsityMode::threshold;
  return error(StatusCode::kInvalidArgument, "--sparsity-mode: '%s' is neither topk nor threshold", text.c_str());
}

std::optional<int> parse_command(ArgParser& parser, int argc, char** argv) {
  if (Status s = parser.parse(argc, argv); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 2;
  }
  if (parser.help_requested()) {
    std::printf("%s", parser.usage().c_str());
    return 0;
  }
  return std::nullopt;
}

}  // namespace jf::cli
