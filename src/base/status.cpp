#include "jitflow/status.h"

#include <cstdio>

namespace jf {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kIoError: return "i/o error";
    case StatusCode::kCorruptFile: return "corrupt file";
    case StatusCode::kUnsupported: return "unsupported";
    case StatusCode::kOutOfRange: return "out of range";
    case StatusCode::kInternal: return "internal error";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  return std::string(status_code_name(code_)) + ": " + message_;
}

std::string str_vprintf(const char* fmt, va_list args) {
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return {};
  std::string out(static_cast<size_t>(n), '\0');
  std::vsnprintf(out.data(), out.size() + 1, fmt, args);
  return out;
}

std::string str_printf(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  std::string out = str_vprintf(fmt, args);
  va_end(args);
  return out;
}

Status error(StatusCode code, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  std::string message = str_vprintf(fmt, args);
  va_end(args);
  return Status(code, std::move(message));
}

}  // namespace jf
