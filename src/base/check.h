// JF_CHECK: invariants that only a bug can break. Never use it on bytes from a file, the network or
// a user: those get a Status (include/jitflow/status.h).
#pragma once

namespace jf {
[[noreturn]] void check_failed(const char* file, int line, const char* condition, const char* message);
}

#define JF_CHECK(cond)                                                        \
  do {                                                                        \
    if (__builtin_expect(!(cond), 0)) ::jf::check_failed(__FILE__, __LINE__, #cond, ""); \
  } while (0)

#define JF_CHECK_MSG(cond, msg)                                                \
  do {                                                                         \
    if (__builtin_expect(!(cond), 0)) ::jf::check_failed(__FILE__, __LINE__, #cond, msg); \
  } while (0)
