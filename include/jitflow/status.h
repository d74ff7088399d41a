// Status and Result<T>: how every jitflow function reports an expected failure.
//
// The library builds without exceptions (it also runs as WebAssembly), so a bad file, a missing
// model or a budget that is too small comes back as a Status with a code and a message that says
// what and where. Programmer errors use JF_CHECK (src/base/check.h) instead.
#pragma once

#include <cstdarg>
#include <string>
#include <utility>
#include <variant>

namespace jf {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the caller passed something unusable (bad option, bad shape)
  kNotFound,           // a file, key or tensor that should exist does not
  kIoError,            // the OS failed a read/write/open
  kCorruptFile,        // a file's bytes contradict its format
  kUnsupported,        // well-formed, but jitflow cannot run it (tensor type, architecture)
  kOutOfRange,         // a limit was hit (context length, memory budget)
  kInternal,           // a bug: should never happen
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corrupt file: <message>"
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// printf-style constructors, e.g. corrupt_file("%s: tensor '%s' at offset %llu ...", ...).
Status error(StatusCode code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
std::string str_printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string str_vprintf(const char* fmt, va_list args);

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                       // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}                // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace jf

#define JF_STATUS_CONCAT_INNER(a, b) a##b
#define JF_STATUS_CONCAT(a, b) JF_STATUS_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the current function if it is not ok.
#define JF_RETURN_IF_ERROR(expr)              \
  do {                                        \
    ::jf::Status jf_status_ = (expr);         \
    if (!jf_status_.ok()) return jf_status_;  \
  } while (0)

// `JF_ASSIGN_OR_RETURN(auto x, make_x());` declares x from a Result or returns its Status.
#define JF_ASSIGN_OR_RETURN(lhs, expr) \
  JF_ASSIGN_OR_RETURN_IMPL(JF_STATUS_CONCAT(jf_result_, __LINE__), lhs, expr)
#define JF_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
